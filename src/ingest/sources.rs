//! `[[sources]]` (contract §6): the feeds the daemon dials out to itself, as
//! written (`RawSource`, serde, unknown keys rejected) and validated
//! ([`SourceConfig`]), with a key path on every problem (`sources[1].address`).
//!
//! Only the kinds this build runs are accepted: `asterisk-ami`,
//! `freeswitch-esl` (dialled by [`super::dial`]) and `nats` (a JetStream
//! consumer, [`super::nats`]). Any other kind (a typo) is an error rather than
//! a source silently never read.

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
    /// `nats`: the server, `nats://host:4222` (or `host:port`).
    pub url: Option<String>,
    /// `nats`: the JetStream stream the subjects are stored in.
    pub stream: Option<String>,
    /// `nats`: the subjects consumed, one durable consumer each.
    pub subjects: Option<Vec<String>>,
    /// `nats`: the durable consumer's name (a suffix per subject when several).
    pub durable: Option<String>,
}

/// A validated dial-out source.
#[derive(Clone)]
pub struct SourceConfig {
    /// The `source` id its events carry.
    pub id: Id,
    /// `host:port`, resolved at each connect (a DNS change is followed); for
    /// `nats`, the server's URL.
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
    Nats(NatsSource),
}

/// A `nats` source: a JetStream stream read through durable pull consumers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsSource {
    pub stream: String,
    /// One consumer per subject (nats-server 2.9 filters a consumer on one subject).
    pub subjects: Vec<String>,
    pub durable: String,
}

impl NatsSource {
    /// The durable consumer of the `i`th subject: `durable` alone for a single
    /// subject, `durable-<subject>` otherwise (a consumer name has no `.`, `*`
    /// or `>`), so reordering the list keeps every subject's position.
    pub fn consumer_name(&self, i: usize) -> String {
        if self.subjects.len() == 1 {
            return self.durable.clone();
        }
        let subject: String = self.subjects[i]
            .chars()
            .map(|c| match c {
                '.' => '_',
                '*' => 'S',
                '>' => 'R',
                c => c,
            })
            .collect();
        format!("{}-{subject}", self.durable)
    }
}

impl SourceKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            SourceKind::AsteriskAmi { .. } => ASTERISK_AMI,
            SourceKind::FreeswitchEsl { .. } => FREESWITCH_ESL,
            SourceKind::Nats(_) => NATS,
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
            SourceKind::Nats(n) => write!(f, "nats {n:?}"),
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
pub const NATS: &str = "nats";

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
        let kind_name = need("kind", s.kind, &mut errs);
        let is_nats = kind_name.as_deref() == Some(NATS);
        let nats_keys = [
            ("url", s.url.is_some()),
            ("stream", s.stream.is_some()),
            ("subjects", s.subjects.is_some()),
            ("durable", s.durable.is_some()),
        ];
        let address = if is_nats {
            for (k, given) in [("address", s.address.is_some()), ("username", s.username.is_some())] {
                if given {
                    errs.push((key(k), format!("nats takes no `{k}` (use `url`)")));
                }
            }
            let url = need("url", s.url.clone(), &mut errs);
            if let Some(u) = &url
                && !is_nats_url(u)
            {
                errs.push((key("url"), format!("`{u}` is not a URL like nats://127.0.0.1:4222")));
            }
            url
        } else {
            for (k, given) in nats_keys {
                if given {
                    errs.push((key(k), format!("`{k}` is a key of nats sources only")));
                }
            }
            let address = need("address", s.address, &mut errs);
            if let Some(a) = &address
                && !is_host_port(a)
            {
                errs.push((key("address"), format!("`{a}` is not an address like pbx.example:5038")));
            }
            address
        };
        let kind = match kind_name.as_deref() {
            Some(NATS) => {
                if s.secret.is_some() {
                    errs.push((key("secret"), "nats takes no `secret` (put credentials in `url`)".into()));
                }
                nats_source(s.stream, s.subjects, s.durable, &key, &mut errs).map(SourceKind::Nats)
            }
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
                    format!("unknown source kind `{other}` (use {ASTERISK_AMI}, {FREESWITCH_ESL} or {NATS})"),
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

/// The `nats` keys: a stream name, at least one subject, a durable name, each
/// as JetStream allows it.
fn nats_source(
    stream: Option<String>,
    subjects: Option<Vec<String>>,
    durable: Option<String>,
    key: &dyn Fn(&str) -> String,
    errs: &mut Vec<(String, String)>,
) -> Option<NatsSource> {
    let name = |k: &str, v: Option<String>, errs: &mut Vec<(String, String)>| match v {
        Some(v) if is_nats_name(&v) => Some(v),
        Some(v) => {
            errs.push((
                key(k),
                format!("`{v}` is not a JetStream name (1–32 characters, no spaces, `.`, `*`, `>`, `/`)"),
            ));
            None
        }
        None => {
            errs.push((key(k), format!("missing key `{k}`")));
            None
        }
    };
    let stream = name("stream", stream, errs);
    let durable = name("durable", durable, errs);
    let subjects = match subjects {
        None => {
            errs.push((key("subjects"), "missing key `subjects`".into()));
            None
        }
        Some(list) if list.is_empty() => {
            errs.push((key("subjects"), "must name at least one subject".into()));
            None
        }
        Some(list) => {
            let mut good = true;
            for (j, subject) in list.iter().enumerate() {
                if !is_subject(subject) {
                    errs.push((key(&format!("subjects[{j}]")), format!("`{subject}` is not a NATS subject")));
                    good = false;
                } else if list[..j].contains(subject) {
                    errs.push((key(&format!("subjects[{j}]")), format!("`{subject}` is listed twice")));
                    good = false;
                }
            }
            good.then_some(list)
        }
    };
    Some(NatsSource { stream: stream?, subjects: subjects?, durable: durable? })
}

/// `nats://`, `tls://` or a bare `host:port`.
fn is_nats_url(u: &str) -> bool {
    let rest = u.strip_prefix("nats://").or_else(|| u.strip_prefix("tls://")).unwrap_or(u);
    // Credentials may precede the host: `nats://user:pass@host:4222`.
    let host_port = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    is_host_port(host_port.trim_end_matches('/'))
}

/// A stream or consumer name: what JetStream accepts in a subject token.
fn is_nats_name(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !matches!(c, '.' | '*' | '>' | '/' | '\\'))
}

/// Dot-separated tokens, none empty; `*` a whole token, `>` only the last.
fn is_subject(s: &str) -> bool {
    let tokens: Vec<&str> = s.split('.').collect();
    s.len() <= 256
        && tokens.iter().enumerate().all(|(i, t)| {
            !t.is_empty()
                && !t.chars().any(|c| c.is_whitespace() || c.is_control())
                && (!t.contains('*') || *t == "*")
                && (!t.contains('>') || (*t == ">" && i == tokens.len() - 1))
        })
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
            ..RawSource::default()
        }
    }

    fn raw_nats() -> RawSource {
        RawSource {
            id: Some("site-a".into()),
            kind: Some(NATS.into()),
            url: Some("nats://127.0.0.1:4222".into()),
            stream: Some("FLOOR".into()),
            subjects: Some(vec!["floor.site-a.*".into(), "floor.site-a.cti".into()]),
            durable: Some("fw-a".into()),
            ..RawSource::default()
        }
    }

    #[test]
    fn a_nats_source_validates_with_a_consumer_per_subject() {
        let s = validate(vec![raw_nats()]).expect("valid");
        let SourceKind::Nats(n) = &s[0].kind else { panic!("{:?}", s[0].kind) };
        assert_eq!(s[0].address, "nats://127.0.0.1:4222");
        assert_eq!(n.stream, "FLOOR");
        assert_eq!(n.consumer_name(0), "fw-a-floor_site-a_S");
        assert_eq!(n.consumer_name(1), "fw-a-floor_site-a_cti");
        let one = NatsSource { subjects: vec!["floor.>".into()], ..n.clone() };
        assert_eq!(one.consumer_name(0), "fw-a");
    }

    #[test]
    fn nats_keys_are_checked_and_kept_to_nats() {
        let mut bad = raw_nats();
        bad.url = Some("http://x".into());
        bad.stream = Some("FLO OR".into());
        bad.subjects = Some(vec!["a..b".into(), "a.>.b".into(), "ok.*".into(), "ok.*".into()]);
        bad.durable = None;
        bad.address = Some("127.0.0.1:4222".into());
        let mut ami = raw(ASTERISK_AMI);
        ami.stream = Some("FLOOR".into());
        let errs = validate(vec![bad, ami]).expect_err("invalid");
        let keys: Vec<&str> = errs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "sources[0].address",
                "sources[0].url",
                "sources[0].stream",
                "sources[0].durable",
                "sources[0].subjects[0]",
                "sources[0].subjects[1]",
                "sources[0].subjects[3]",
                "sources[1].stream",
            ]
        );
        let mut empty = raw_nats();
        empty.subjects = Some(vec![]);
        assert!(validate(vec![empty]).is_err());
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
