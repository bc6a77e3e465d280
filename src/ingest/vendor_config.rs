//! The `[[vendor_sources]]` config section: per source of a vendor format
//! (`WS|POST /ingest/{format}`), how its agent statuses become floorwatch states
//! and what its queues are called. A source that is not configured gets its
//! vendor's defaults, so `POST /ingest/twilio` works with no config at all.
//!
//! ```toml
//! [[vendor_sources]]
//! id = "connect-eu"                 # the source id: ?source=connect-eu
//! format = "amazon-connect"         # amazon-connect | genesys-cloud | twilio
//! statuses = { "Lunch" = "not_ready:lunch", "Coaching" = "not_ready:training", "Offline" = "logout" }
//! queues = { "8d9b1c2e-0000-4000-8000-000000000001" = "billing" }
//! ```
//!
//! A status value is a state (`ready`, `ringing`, `talking`, `hold`, `acw`,
//! `not_ready`), `not_ready:REASON`, `logout`, or `ignore` (no event). Status
//! names match without regard to case; given entries are laid over the vendor's
//! defaults. A status named nowhere becomes `not_ready` with its name, lowercased
//! and with non-alphanumerics as `_`, as the reason: custom statuses are how ACDs
//! spell "not ready, because…".

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use crate::event::{AgentState, Id, valid_id};

/// The vendor formats floorwatch reads, as they appear in the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    AmazonConnect,
    GenesysCloud,
    Twilio,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::AmazonConnect, Format::GenesysCloud, Format::Twilio];

    /// The path segment and config spelling; also the default source id.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::AmazonConnect => "amazon-connect",
            Format::GenesysCloud => "genesys-cloud",
            Format::Twilio => "twilio",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// What a vendor status becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapped {
    /// `agent_state` (or `agent_login`) in this state, with this reason.
    State(AgentState, Option<Id>),
    /// `agent_logout`.
    Logout,
    /// Nothing: another message carries what this one would say.
    Ignore,
}

impl Mapped {
    /// The config spelling: `ready`, `not_ready:lunch`, `logout`, `ignore`.
    pub fn parse(s: &str) -> Option<Mapped> {
        match s {
            "logout" => return Some(Mapped::Logout),
            "ignore" => return Some(Mapped::Ignore),
            _ => {}
        }
        let (state, reason) = match s.split_once(':') {
            Some((st, r)) => (st, Some(r)),
            None => (s, None),
        };
        let state = AgentState::parse(state)?;
        match reason {
            None => Some(Mapped::State(state, None)),
            Some(r) if state == AgentState::NotReady && valid_id(r) => {
                Some(Mapped::State(state, Some(Id::from(r))))
            }
            Some(_) => None,
        }
    }
}

/// Vendor status name → [`Mapped`], case-insensitively, with the fallback the
/// module doc describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusMap {
    /// Keys lowercased.
    map: HashMap<String, Mapped>,
}

impl StatusMap {
    fn from_pairs(pairs: &[(&str, &str)]) -> StatusMap {
        let map = pairs.iter().filter_map(|(k, v)| Some((k.to_lowercase(), Mapped::parse(v)?))).collect();
        StatusMap { map }
    }

    /// The vendor's defaults (see docs/feeds.md for the tables).
    pub fn defaults(format: Format) -> StatusMap {
        match format {
            // Connect: "Available" is the one routable status; every custom
            // status is not routable, so its name is the reason.
            Format::AmazonConnect => StatusMap::from_pairs(&[
                ("Available", "ready"),
                ("Offline", "logout"),
                ("Lunch", "not_ready:lunch"),
                ("Break", "not_ready:break"),
                ("Training", "not_ready:training"),
                ("Meeting", "not_ready:meeting"),
            ]),
            // Genesys: presences (system names) while off queue; on queue, the
            // routing status decides (fixed, see genesys_cloud).
            Format::GenesysCloud => StatusMap::from_pairs(&[
                ("On Queue", "ignore"),
                ("On_Queue", "ignore"),
                ("Offline", "logout"),
                ("Available", "not_ready:off_queue"),
                ("Away", "not_ready:away"),
                ("Idle", "not_ready:away"),
                ("Busy", "not_ready:busy"),
                ("Break", "not_ready:break"),
                ("Meal", "not_ready:lunch"),
                ("Meeting", "not_ready:meeting"),
                ("Training", "not_ready:training"),
            ]),
            // Twilio's default workspace activities, and the usual additions.
            Format::Twilio => StatusMap::from_pairs(&[
                ("Offline", "logout"),
                ("Available", "ready"),
                ("Idle", "ready"),
                ("Unavailable", "not_ready:unavailable"),
                ("Busy", "not_ready:busy"),
                ("Break", "not_ready:break"),
                ("Lunch", "not_ready:lunch"),
                ("WrapUp", "acw"),
            ]),
        }
    }

    /// What `status` becomes when it is named in the map (defaults or config).
    pub fn get(&self, status: &str) -> Option<Mapped> {
        self.map.get(status).or_else(|| self.map.get(&status.to_lowercase())).cloned()
    }

    /// What `status` becomes.
    pub fn map(&self, status: &str) -> Mapped {
        if let Some(m) = self.map.get(status) {
            return m.clone();
        }
        if let Some(m) = self.map.get(&status.to_lowercase()) {
            return m.clone();
        }
        Mapped::State(AgentState::NotReady, reason_of(status))
    }
}

/// `"Coffee Break"` → `coffee_break`: lowercase, runs of anything else as one `_`,
/// at most 64 characters; `None` when nothing is left.
pub fn reason_of(status: &str) -> Option<Id> {
    let mut out = String::with_capacity(status.len().min(64));
    for c in status.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
        if out.chars().count() >= 64 {
            break;
        }
    }
    let out = out.trim_end_matches('_');
    valid_id(out).then(|| Id::from(out))
}

/// One source's settings: what its decoder maps with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorSettings {
    pub statuses: StatusMap,
    /// Vendor queue id (Connect queue ARN's id, Genesys queue id, Twilio
    /// TaskQueue sid or name) → floorwatch queue id.
    pub queues: HashMap<String, Id>,
}

impl VendorSettings {
    pub fn defaults(format: Format) -> VendorSettings {
        VendorSettings { statuses: StatusMap::defaults(format), queues: HashMap::new() }
    }

    /// The floorwatch queue for a vendor queue id.
    pub fn queue(&self, vendor: &str) -> Option<Id> {
        match self.queues.get(vendor) {
            Some(q) => Some(q.clone()),
            None => valid_id(vendor).then(|| Id::from(vendor)),
        }
    }
}

/// One configured vendor source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorSourceConfig {
    pub id: Id,
    pub format: Format,
    pub settings: VendorSettings,
    /// Twilio only: check `X-Twilio-Signature` on every POST.
    pub twilio: Option<TwilioAuth>,
}

/// `auth_token` and `public_url` of a Twilio source: a POST is taken only with
/// Twilio's signature, computed over `public_url` + the request's path and query
/// (the URL Twilio called, which a proxy in front hides from floorwatch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwilioAuth {
    pub token: crate::ingest::twilio::signature::AuthToken,
    /// Scheme and host (and a path prefix a proxy strips), no trailing `/`.
    pub public_url: String,
}

impl TwilioAuth {
    /// The URL Twilio signed for a request to `path_and_query`.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.public_url)
    }
}

/// The validated `[[vendor_sources]]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VendorConfig {
    pub sources: Vec<VendorSourceConfig>,
}

impl VendorConfig {
    /// The settings of `source` reading `format`: its own, or the vendor's defaults.
    pub fn settings(&self, format: Format, source: &str) -> VendorSettings {
        self.sources
            .iter()
            .find(|s| s.format == format && s.id == source)
            .map_or_else(|| VendorSettings::defaults(format), |s| s.settings.clone())
    }
}

/// `[[vendor_sources]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVendorSource {
    id: String,
    format: String,
    #[serde(default)]
    statuses: HashMap<String, String>,
    #[serde(default)]
    queues: HashMap<String, String>,
    /// Twilio: the account's auth token, to check `X-Twilio-Signature`.
    auth_token: Option<String>,
    /// Twilio: the scheme and host Twilio calls (`https://floor.example.com`).
    public_url: Option<String>,
}

/// Validates every entry, reporting every problem as (key, message).
pub fn validate(raw: Vec<RawVendorSource>) -> Result<VendorConfig, Vec<(String, String)>> {
    let mut errs = Vec::new();
    let mut sources = Vec::with_capacity(raw.len());
    let mut seen = HashSet::new();
    for (i, r) in raw.into_iter().enumerate() {
        let key = |f: &str| format!("vendor_sources[{i}].{f}");
        let format = Format::parse(&r.format);
        if format.is_none() {
            errs.push((key("format"), "must be one of amazon-connect, genesys-cloud, twilio".to_owned()));
        }
        if !valid_id(&r.id) {
            errs.push((key("id"), format!("`{}` is not a valid source id (1–64 chars, no spaces)", r.id)));
        } else if !seen.insert((r.format.clone(), r.id.clone())) {
            errs.push((key("id"), format!("source `{}` of {} is configured twice", r.id, r.format)));
        }
        let Some(format) = format else { continue };
        let mut settings = VendorSettings::defaults(format);
        for (name, value) in r.statuses {
            match Mapped::parse(&value) {
                Some(m) => {
                    settings.statuses.map.insert(name.to_lowercase(), m);
                }
                None => errs.push((
                    key(&format!("statuses.{name}")),
                    format!(
                        "`{value}` is not a state (ready, ringing, talking, hold, acw, not_ready, not_ready:REASON), logout or ignore"
                    ),
                )),
            }
        }
        for (vendor, ours) in r.queues {
            if valid_id(&ours) {
                settings.queues.insert(vendor, Id::from(ours));
            } else {
                errs.push((key(&format!("queues.{vendor}")), format!("`{ours}` is not a valid queue id")));
            }
        }
        let twilio = match (r.auth_token.filter(|t| !t.is_empty()), r.public_url) {
            (None, None) => None,
            _ if format != Format::Twilio => {
                errs.push((
                    key("auth_token"),
                    "`auth_token` and `public_url` are for twilio sources only".into(),
                ));
                None
            }
            (Some(token), Some(url)) => {
                let url = url.trim_end_matches('/').to_owned();
                if url.starts_with("https://") || url.starts_with("http://") {
                    Some(TwilioAuth {
                        token: crate::ingest::twilio::signature::AuthToken::new(token),
                        public_url: url,
                    })
                } else {
                    errs.push((
                        key("public_url"),
                        format!("`{url}` must start with https:// (the URL Twilio calls)"),
                    ));
                    None
                }
            }
            (Some(_), None) => {
                errs.push((
                    key("public_url"),
                    "`auth_token` needs `public_url`: the scheme and host Twilio calls".into(),
                ));
                None
            }
            (None, Some(_)) => {
                errs.push((key("auth_token"), "`public_url` is only used with `auth_token`".into()));
                None
            }
        };
        sources.push(VendorSourceConfig { id: Id::from(r.id), format, settings, twilio });
    }
    if errs.is_empty() { Ok(VendorConfig { sources }) } else { Err(errs) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_parse_from_their_config_spelling_only() {
        assert_eq!(Mapped::parse("ready"), Some(Mapped::State(AgentState::Ready, None)));
        assert_eq!(
            Mapped::parse("not_ready:lunch"),
            Some(Mapped::State(AgentState::NotReady, Some(Id::from("lunch"))))
        );
        assert_eq!(Mapped::parse("logout"), Some(Mapped::Logout));
        assert_eq!(Mapped::parse("ignore"), Some(Mapped::Ignore));
        for bad in ["", "Ready", "ready:x", "not_ready:", "not_ready:a b", "away"] {
            assert_eq!(Mapped::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn unknown_statuses_become_not_ready_with_their_name_as_reason() {
        let m = StatusMap::defaults(Format::AmazonConnect);
        assert_eq!(m.map("Available"), Mapped::State(AgentState::Ready, None));
        assert_eq!(m.map("AVAILABLE"), Mapped::State(AgentState::Ready, None));
        assert_eq!(m.map("Offline"), Mapped::Logout);
        assert_eq!(
            m.map("Coffee  Break!"),
            Mapped::State(AgentState::NotReady, Some(Id::from("coffee_break")))
        );
        assert_eq!(m.map("!!"), Mapped::State(AgentState::NotReady, None));
        let long = "x".repeat(300);
        assert!(matches!(m.map(&long), Mapped::State(AgentState::NotReady, Some(r)) if r.len() == 64));
    }

    #[test]
    fn a_configured_source_lays_its_statuses_over_the_defaults() {
        let raw: Vec<RawVendorSource> = toml::from_str::<HashMap<String, Vec<RawVendorSource>>>(
            r#"
            [[s]]
            id = "tw-1"
            format = "twilio"
            statuses = { "Break" = "not_ready:rest", "Wrap" = "acw" }
            queues = { "WQ1" = "billing" }
            "#,
        )
        .map(|mut m| m.remove("s").unwrap_or_default())
        .unwrap_or_default();
        let cfg = validate(raw).unwrap_or_default();
        let s = cfg.settings(Format::Twilio, "tw-1");
        assert_eq!(s.statuses.map("break"), Mapped::State(AgentState::NotReady, Some(Id::from("rest"))));
        assert_eq!(s.statuses.map("wrap"), Mapped::State(AgentState::Acw, None));
        assert_eq!(s.statuses.map("Available"), Mapped::State(AgentState::Ready, None));
        assert_eq!(s.queue("WQ1"), Some(Id::from("billing")));
        assert_eq!(s.queue("WQ2"), Some(Id::from("WQ2")));
        // Another source of the same vendor keeps the defaults.
        assert_eq!(cfg.settings(Format::Twilio, "tw-2"), VendorSettings::defaults(Format::Twilio));
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let raw = vec![
            RawVendorSource {
                id: "a b".into(),
                format: "avaya".into(),
                statuses: HashMap::new(),
                queues: HashMap::new(),
                auth_token: None,
                public_url: None,
            },
            RawVendorSource {
                id: "c".into(),
                format: "twilio".into(),
                statuses: [("Break".to_owned(), "napping".to_owned())].into(),
                queues: [("WQ1".to_owned(), "has space".to_owned())].into(),
                auth_token: Some("tok".into()),
                public_url: None,
            },
        ];
        let errs = validate(raw).err().unwrap_or_default();
        let keys: Vec<&str> = errs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "vendor_sources[0].format",
                "vendor_sources[0].id",
                "vendor_sources[1].statuses.Break",
                "vendor_sources[1].queues.WQ1",
                "vendor_sources[1].public_url"
            ]
        );
    }
}
