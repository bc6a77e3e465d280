//! `X-Twilio-Signature`: Twilio signs every webhook it sends with the
//! account's auth token, so a callback can be told from a forgery even where
//! the URL's Basic credentials have leaked (they sit in Twilio's console and in
//! proxies' logs).
//!
//! The rule (Twilio's "Webhooks security"): HMAC-SHA1, keyed by the auth token,
//! over the full URL Twilio called; for a form-encoded body, followed by every
//! POST parameter, sorted by name, as name then value with nothing between;
//! base64 of the digest. For a JSON body (Event Streams), the URL carries a
//! `bodySHA256` query parameter, the hex SHA-256 of the body, and the signature
//! covers the URL alone.

use std::fmt;

use base64::Engine as _;
use ring::{digest, hmac};

/// What Twilio signs with. Kept out of `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthToken(String);

impl AuthToken {
    pub fn new(token: String) -> AuthToken {
        AuthToken(token)
    }
}

impl fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthToken(<redacted>)")
    }
}

/// Why a request's signature does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no X-Twilio-Signature header (this source checks Twilio's signature)")]
    Missing,
    #[error(
        "X-Twilio-Signature does not match (wrong auth token, or `public_url` is not the URL Twilio calls)"
    )]
    Mismatch,
    #[error("the body's SHA-256 is not the URL's bodySHA256")]
    BodyHash,
    #[error("a JSON body must be signed with a bodySHA256 query parameter in the URL")]
    NoBodyHash,
}

/// Checks `signature` for a request Twilio sent to `url` (scheme, host, path
/// and query, exactly as configured in Twilio) with `body`.
pub fn verify(
    token: &AuthToken,
    url: &str,
    body: &[u8],
    signature: Option<&str>,
) -> Result<(), SignatureError> {
    let signature = signature.ok_or(SignatureError::Missing)?;
    let Ok(given) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return Err(SignatureError::Mismatch);
    };
    if is_json(body) {
        let want = query_param(url, "bodySHA256").ok_or(SignatureError::NoBodyHash)?;
        let got = hex(digest::digest(&digest::SHA256, body).as_ref());
        if !want.eq_ignore_ascii_case(&got) {
            return Err(SignatureError::BodyHash);
        }
    }
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, token.0.as_bytes());
    // `verify` compares in constant time.
    hmac::verify(&key, signed_text(url, body).as_bytes(), &given).map_err(|_| SignatureError::Mismatch)
}

/// The signature Twilio would send (for tests and for a bridge that replays).
pub fn sign(token: &AuthToken, url: &str, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, token.0.as_bytes());
    base64::engine::general_purpose::STANDARD
        .encode(hmac::sign(&key, signed_text(url, body).as_bytes()).as_ref())
}

/// Event Streams deliver JSON; TaskRouter callbacks are form-encoded.
fn is_json(body: &[u8]) -> bool {
    matches!(body.iter().find(|b| !b.is_ascii_whitespace()), Some(b'[' | b'{'))
}

/// What Twilio signs: the URL, then for a form body every parameter sorted by
/// name, as name then value (a JSON body is held by the URL's `bodySHA256`).
fn signed_text(url: &str, body: &[u8]) -> String {
    let mut s = url.to_owned();
    if !is_json(body) {
        let mut params: Vec<(String, String)> =
            form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        params.sort();
        for (k, v) in params {
            s.push_str(&k);
            s.push_str(&v);
        }
    }
    s
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let (_, query) = url.split_once('?')?;
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Twilio's documented example (the "Webhooks security" page): auth token
    // 12345, this URL and these parameters give this signature.
    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const BODY: &str =
        "CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212";

    #[test]
    fn twilio_s_own_example_verifies() {
        let token = AuthToken::new("12345".into());
        assert_eq!(sign(&token, URL, BODY.as_bytes()), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        assert_eq!(verify(&token, URL, BODY.as_bytes(), Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ=")), Ok(()));
    }

    #[test]
    fn a_changed_parameter_url_or_token_fails() {
        let token = AuthToken::new("12345".into());
        let sig = sign(&token, URL, BODY.as_bytes());
        let forged = BODY.replace("Digits=1234", "Digits=9999");
        assert_eq!(verify(&token, URL, forged.as_bytes(), Some(&sig)), Err(SignatureError::Mismatch));
        assert_eq!(
            verify(&token, "https://mycompany.com/other", BODY.as_bytes(), Some(&sig)),
            Err(SignatureError::Mismatch)
        );
        let other = AuthToken::new("54321".into());
        assert_eq!(verify(&other, URL, BODY.as_bytes(), Some(&sig)), Err(SignatureError::Mismatch));
        assert_eq!(verify(&token, URL, BODY.as_bytes(), None), Err(SignatureError::Missing));
        assert_eq!(verify(&token, URL, BODY.as_bytes(), Some("not base64!")), Err(SignatureError::Mismatch));
    }

    #[test]
    fn json_bodies_are_held_by_the_url_s_body_hash() {
        let token = AuthToken::new("12345".into());
        let body = br#"[{"id":"EV1","type":"com.twilio.taskrouter.task.created"}]"#;
        let hash = hex(digest::digest(&digest::SHA256, body).as_ref());
        let url = format!("https://fw.example/ingest/twilio?source=tw&bodySHA256={hash}");
        let sig = sign(&token, &url, body);
        assert_eq!(verify(&token, &url, body, Some(&sig)), Ok(()));
        let tampered = br#"[{"id":"EV2","type":"com.twilio.taskrouter.task.created"}]"#;
        assert_eq!(verify(&token, &url, tampered, Some(&sig)), Err(SignatureError::BodyHash));
        let plain = "https://fw.example/ingest/twilio?source=tw";
        assert_eq!(
            verify(&token, plain, body, Some(&sign(&token, plain, body))),
            Err(SignatureError::NoBodyHash)
        );
    }
}
