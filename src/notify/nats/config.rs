//! `[notify.nats]`: the NATS sink, as written and validated.

use serde::Deserialize;

/// Default first word of the sink's subjects.
pub const DEFAULT_SUBJECT_PREFIX: &str = "floorwatch";

/// Validated `[notify.nats]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsSinkConfig {
    /// `nats://host:port` (or `tls://`).
    pub url: String,
    /// This daemon's site, the middle word of every subject.
    pub site: String,
    /// First word of every subject: `<prefix>.<site>.alerts` and `.incidents`.
    pub subject_prefix: String,
    /// Longest wait for a connect or a flush before the link counts as down.
    pub timeout_secs: u64,
}

impl NatsSinkConfig {
    /// Where alert changes go.
    pub fn alerts_subject(&self) -> String {
        format!("{}.{}.alerts", self.subject_prefix, self.site)
    }

    /// Where incident changes go.
    pub fn incidents_subject(&self) -> String {
        format!("{}.{}.incidents", self.subject_prefix, self.site)
    }
}

/// `[notify.nats]` as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawNatsSink {
    pub url: String,
    pub site: String,
    pub subject_prefix: Option<String>,
    pub timeout_secs: Option<u64>,
}

/// A subject token: no dots, wildcards or whitespace, so `<prefix>.<site>.alerts`
/// has exactly three tokens a subscriber can filter on.
fn token_ok(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl RawNatsSink {
    pub fn validate(self) -> Result<NatsSinkConfig, Vec<(String, String)>> {
        let mut errs = Vec::new();
        let mut err = |k: &str, m: &str| errs.push((format!("notify.nats.{k}"), m.to_owned()));
        let scheme_ok = ["nats://", "tls://"].iter().any(|p| {
            self.url
                .strip_prefix(p)
                .is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace))
        });
        if !scheme_ok {
            err("url", "must be nats://host:port or tls://host:port");
        }
        if !token_ok(&self.site) {
            err("site", "must be a non-empty subject token (letters, digits, - and _)");
        }
        let subject_prefix = self.subject_prefix.unwrap_or_else(|| DEFAULT_SUBJECT_PREFIX.to_owned());
        if !token_ok(&subject_prefix) {
            err("subject_prefix", "must be a non-empty subject token (letters, digits, - and _)");
        }
        let timeout_secs = self.timeout_secs.unwrap_or(5);
        if !(1..=300).contains(&timeout_secs) {
            err("timeout_secs", "must be between 1 and 300");
        }
        if errs.is_empty() {
            Ok(NatsSinkConfig { url: self.url, site: self.site, subject_prefix, timeout_secs })
        } else {
            Err(errs)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_follow_prefix_and_site_and_bad_keys_are_named() {
        let ok =
            RawNatsSink { url: "nats://127.0.0.1:4222".into(), site: "sh-1".into(), ..Default::default() }
                .validate()
                .expect("valid");
        assert_eq!(ok.alerts_subject(), "floorwatch.sh-1.alerts");
        assert_eq!(ok.incidents_subject(), "floorwatch.sh-1.incidents");
        let bad = RawNatsSink {
            url: "http://x".into(),
            site: "a.b".into(),
            subject_prefix: Some(">".into()),
            timeout_secs: Some(0),
        }
        .validate()
        .expect_err("invalid");
        let keys: Vec<&str> = bad.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["notify.nats.url", "notify.nats.site", "notify.nats.subject_prefix", "notify.nats.timeout_secs"]
        );
    }
}
