//! `[[sources]]` (contract §6): the feeds the daemon dials out to itself, as
//! written (`RawSource`, serde, unknown keys rejected) and validated
//! ([`SourceConfig`]), with a key path on every problem (`sources[1].address`).
//!
//! Only the dial-out kinds this build runs are accepted: `asterisk-ami` and
//! `freeswitch-esl`. Any other kind (a typo, or `nats` before it exists) is an
//! error rather than a source silently never read.

use std::time::Duration;

use serde::Deserialize;

use crate::event::{Id, valid_id};

/// One `[[sources]]` table as written. Every key is optional here so that a
/// missing one is reported by [`validate`] with its place, like every other
/// problem, instead of serde stopping at the first.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSource {
    pub id: Option<String>,
    pub kind: Option<String>,
    /// `host:port`.
    pub address: Option<String>,
    pub username: Option<String>,
    pub secret: Option<String>,
    /// Seconds of after-call work synthesised after each call (the ACD reports none).
    pub wrapup_secs: Option<u32>,
}

/// A validated dial-out source.
#[derive(Clone)]
pub struct SourceConfig {
    /// The `source` id its events carry.
    pub id: Id,
    /// `host:port`, resolved at each connect (a DNS change is followed).
    pub address: String,
    pub kind: SourceKind,
    /// After-call work after each call, seconds, when the ACD does not say
    /// (Asterisk: a member's own `Wrapuptime` wins; FreeSWITCH: the agent's
    /// `wrap_up_time` wins). 0: straight back to ready.
    pub wrapup_secs: u32,
    pub timing: DialTiming,
}

/// Which ACD, with its credentials.
#[derive(Clone, PartialEq, Eq)]
pub enum SourceKind {
    AsteriskAmi { username: String, secret: String },
    FreeswitchEsl { secret: String },
}

impl SourceKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            SourceKind::AsteriskAmi { .. } => ASTERISK_AMI,
            SourceKind::FreeswitchEsl { .. } => FREESWITCH_ESL,
        }
    }
}

// Hand-written so secrets never reach a log through `{:?}`.
impl std::fmt::Debug for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceKind::AsteriskAmi { username, .. } => {
                write!(f, "asterisk-ami {{ username: {username:?}, secret: <redacted> }}")
            }
            SourceKind::FreeswitchEsl { .. } => f.write_str("freeswitch-esl { secret: <redacted> }"),
        }
    }
}

impl std::fmt::Debug for SourceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceConfig")
            .field("id", &self.id)
            .field("address", &self.address)
            .field("kind", &self.kind)
            .field("wrapup_secs", &self.wrapup_secs)
            .field("timing", &self.timing)
            .finish()
    }
}

/// How a dial-out client paces itself. Not in the config file (the defaults
/// suit every ACD); tests shorten them so a reconnect takes milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DialTiming {
    /// Give up one connect attempt (TCP and login) after this long.
    pub connect_timeout: Duration,
    /// First wait after a failed attempt or a lost link; doubled each time.
    pub backoff_initial: Duration,
    /// Longest wait between attempts.
    pub backoff_max: Duration,
    /// A keepalive is sent this often; each answer is a heartbeat.
    pub ping_every: Duration,
    /// The link is taken as dead when nothing has been read for this long.
    pub silence_timeout: Duration,
}

impl Default for DialTiming {
    fn default() -> Self {
        DialTiming {
            connect_timeout: Duration::from_secs(10),
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            // Below the contract's 5 s heartbeat, with room for a slow answer.
            ping_every: Duration::from_secs(2),
            silence_timeout: Duration::from_secs(10),
        }
    }
}

pub const ASTERISK_AMI: &str = "asterisk-ami";
pub const FREESWITCH_ESL: &str = "freeswitch-esl";

/// Checks every source and reports every problem with its key path.
pub fn validate(raw: Vec<RawSource>) -> Result<Vec<SourceConfig>, Vec<(String, String)>> {
    let mut errs: Vec<(String, String)> = Vec::new();
    let mut out = Vec::new();
    let mut ids: Vec<String> = Vec::new();
    for (i, s) in raw.into_iter().enumerate() {
        let key = |k: &str| format!("sources[{i}].{k}");
        let need = |k: &str, v: Option<String>, errs: &mut Vec<(String, String)>| match v {
            Some(v) if !v.is_empty() => Some(v),
            Some(_) => {
                errs.push((key(k), "must not be empty".into()));
                None
            }
            None => {
                errs.push((key(k), format!("missing key `{k}`")));
                None
            }
        };
        let id = need("id", s.id, &mut errs);
        if let Some(id) = &id {
            if !valid_id(id) {
                errs.push((key("id"), format!("`{id}` is not a valid id (1–64 chars, no spaces)")));
            } else if ids.contains(id) {
                errs.push((key("id"), format!("source `{id}` is defined twice")));
            } else {
                ids.push(id.clone());
            }
        }
        let address = need("address", s.address, &mut errs);
        if let Some(a) = &address
            && !is_host_port(a)
        {
            errs.push((key("address"), format!("`{a}` is not an address like pbx.example:5038")));
        }
        let kind = match need("kind", s.kind, &mut errs).as_deref() {
            Some(ASTERISK_AMI) => {
                let username = need("username", s.username, &mut errs);
                let secret = need("secret", s.secret, &mut errs);
                username.zip(secret).map(|(username, secret)| SourceKind::AsteriskAmi { username, secret })
            }
            Some(FREESWITCH_ESL) => {
                if s.username.is_some() {
                    errs.push((key("username"), "freeswitch-esl takes no username (only `secret`)".into()));
                }
                need("secret", s.secret, &mut errs).map(|secret| SourceKind::FreeswitchEsl { secret })
            }
            Some(other) => {
                errs.push((
                    key("kind"),
                    format!("unknown source kind `{other}` (use {ASTERISK_AMI} or {FREESWITCH_ESL})"),
                ));
                None
            }
            None => None,
        };
        let wrapup_secs = s.wrapup_secs.unwrap_or(0);
        if wrapup_secs > 3600 {
            errs.push((key("wrapup_secs"), "must be at most 3600".into()));
        }
        if let (Some(id), Some(address), Some(kind)) = (id, address, kind) {
            out.push(SourceConfig {
                id: Id::from(id),
                address,
                kind,
                wrapup_secs,
                timing: DialTiming::default(),
            });
        }
    }
    if errs.is_empty() { Ok(out) } else { Err(errs) }
}

/// `host:port` with a non-empty host and a port 1–65535 (`[::1]:5038` too).
fn is_host_port(a: &str) -> bool {
    let Some((host, port)) = a.rsplit_once(':') else { return false };
    let host_ok = !host.is_empty() && !host.contains(char::is_whitespace);
    host_ok && port.parse::<u16>().is_ok_and(|p| p > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(kind: &str) -> RawSource {
        RawSource {
            id: Some("pbx-1".into()),
            kind: Some(kind.into()),
            address: Some("127.0.0.1:5038".into()),
            username: Some("floorwatch".into()),
            secret: Some("s3cret".into()),
            wrapup_secs: Some(15),
        }
    }

    #[test]
    fn both_kinds_validate_and_hide_their_secret() {
        let mut esl = raw(FREESWITCH_ESL);
        esl.id = Some("fs-1".into());
        esl.username = None;
        let s = validate(vec![raw(ASTERISK_AMI), esl]).expect("valid");
        assert_eq!(
            s[0].kind,
            SourceKind::AsteriskAmi { username: "floorwatch".into(), secret: "s3cret".into() }
        );
        assert_eq!(s[1].kind, SourceKind::FreeswitchEsl { secret: "s3cret".into() });
        assert_eq!(s[0].wrapup_secs, 15);
        assert!(!format!("{s:?}").contains("s3cret"), "{s:?}");
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let missing = RawSource { kind: Some(ASTERISK_AMI.into()), ..RawSource::default() };
        let mut unknown = raw("avaya-cms");
        unknown.id = Some("pbx-2".into());
        let mut twice = raw(ASTERISK_AMI);
        twice.address = Some("pbx".into());
        let errs = validate(vec![missing, unknown, raw(ASTERISK_AMI), twice]).expect_err("invalid");
        let keys: Vec<&str> = errs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "sources[0].id",
                "sources[0].address",
                "sources[0].username",
                "sources[0].secret",
                "sources[1].kind",
                "sources[3].id",
                "sources[3].address",
            ]
        );
        assert!(errs[4].1.contains("unknown source kind `avaya-cms`"), "{errs:?}");
        assert!(errs[5].1.contains("defined twice"), "{errs:?}");
    }

    #[test]
    fn addresses_need_a_host_and_a_port() {
        for ok in ["pbx:5038", "10.0.0.5:8021", "[::1]:5038"] {
            assert!(is_host_port(ok), "{ok}");
        }
        for bad in ["pbx", ":5038", "pbx:", "pbx:0", "pbx:99999", "p bx:1"] {
            assert!(!is_host_port(bad), "{bad}");
        }
    }
}
