//! Notification config: the `[notify]` TOML section as written (`Raw*`, serde, unknown keys
//! rejected) and its validated form (`NotifyConfig`), with key paths on every problem.

use serde::Deserialize;

use super::NoticeKind;
use crate::vocab::{self, Severity};

/// Default length of each receiver's queue.
pub const DEFAULT_QUEUE_CAPACITY: usize = 256;
/// Default number of retries after the first attempt.
pub const DEFAULT_MAX_RETRIES: u32 = 3;
/// Default per-request timeout.
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;
/// How often every active alert is sent to Alertmanager again. Its client
/// protocol wants active alerts re-sent continuously (Prometheus does it every
/// minute at most); an alert not heard of by its `endsAt` (or, without one,
/// within `resolve_timeout`, 5 min by default) is resolved behind our back.
pub const DEFAULT_RESEND_SECS: u64 = 60;
/// `endsAt` of an active alert is this many resend periods ahead of now, as
/// Prometheus does (4 × its resend delay): three re-sends may be lost in a row
/// before Alertmanager resolves it.
pub(crate) const ENDS_AT_PERIODS: u32 = 4;
/// The robots' documented limits, per robot (one webhook URL).
/// DingTalk custom robot: 20 messages a minute, then it refuses for 10 min.
pub(crate) const DINGTALK_PER_MINUTE: u32 = 20;
/// WeCom group robot: 20 messages a minute.
pub(crate) const WECOM_PER_MINUTE: u32 = 20;
/// Feishu custom bot: 100 requests a minute (and 5 a second) per bot.
pub(crate) const FEISHU_PER_MINUTE: u32 = 100;

/// Validated notification config.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifyConfig {
    pub receivers: Vec<ReceiverConfig>,
    pub queue_capacity: usize,
    pub max_retries: u32,
    pub timeout_secs: u64,
    /// Where people reach this daemon (`https://floorwatch.example/`): links in
    /// pushes, such as Alertmanager's `generatorURL`. `None`: no links.
    pub external_url: Option<String>,
    /// The floor's time zone: times in robot messages are the floor's clock
    /// (set from `floor.timezone`, not the host's zone).
    pub timezone: chrono_tz::Tz,
    /// The outbound proxy, from the environment (`HTTPS_PROXY`, `NO_PROXY`).
    pub proxy: ProxyConfig,
    /// `[notify.nats]`: alert and incident changes to NATS subjects; `None`: off.
    pub nats: Option<super::nats::NatsSinkConfig>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            receivers: Vec::new(),
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            max_retries: DEFAULT_MAX_RETRIES,
            timeout_secs: DEFAULT_TIMEOUT_SECS,
            external_url: None,
            timezone: chrono_tz::Tz::UTC,
            proxy: ProxyConfig::default(),
            nats: None,
        }
    }
}

/// The proxy settings curl and most tools read: `HTTPS_PROXY` (or `https_proxy`,
/// or `ALL_PROXY`) for `https://` receivers, `NO_PROXY` for the hosts that go
/// direct. `http://` receivers always go direct (a plain-HTTP receiver is a
/// local one: Alertmanager beside the daemon, an intranet webhook).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyConfig {
    pub https: Option<String>,
    pub no: Option<String>,
}

impl ProxyConfig {
    /// From the process environment as the caller read it (never read here).
    pub fn from_env(env: &std::collections::HashMap<String, String>) -> ProxyConfig {
        let get =
            |names: &[&str]| names.iter().find_map(|n| env.get(*n)).filter(|v| !v.trim().is_empty()).cloned();
        ProxyConfig {
            https: get(&["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]),
            no: get(&["NO_PROXY", "no_proxy"]),
        }
    }
}

/// One push target and the alerts it wants.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceiverConfig {
    pub name: String,
    pub kind: SinkKind,
    /// `http://` or `https://`. For Alertmanager the base URL; `/api/v2/alerts` is appended
    /// unless already there. The first of `urls`.
    pub url: String,
    /// Every URL this receiver posts to: one, or an Alertmanager cluster's
    /// members (each gets every alert, as Prometheus does).
    pub urls: Vec<String>,
    /// Alertmanager: every active alert is sent again this often.
    pub resend_secs: u64,
    /// Pushes a minute this receiver takes (the robots' documented limits by
    /// default); `None`: unlimited. Over it, pushes wait and are sent as one.
    pub per_minute: Option<u32>,
    /// Extra trusted CA certificates (PEM), beside the public roots: an
    /// intranet Alertmanager or webhook with its own CA.
    pub ca_file: Option<std::path::PathBuf>,
    pub language: Lang,
    /// Empty = every team.
    pub teams: Vec<String>,
    pub min_severity: Severity,
    /// Empty = every alert kind (incident notices go only to receivers that list them).
    pub kinds: Vec<NoticeKind>,
    /// Receives escalations (re-notifications of unacknowledged criticals).
    pub escalations: bool,
    /// This receiver's queue, overriding `notify.queue_capacity` (a busy
    /// supervisor robot may want more room than a team lead's).
    pub queue_capacity: Option<usize>,
}

/// Where and how a receiver's pushes go.
#[derive(Clone, PartialEq, Eq)]
pub enum SinkKind {
    /// Generic JSON POST.
    Webhook,
    /// WeCom (企业微信) group robot.
    WeCom,
    /// DingTalk (钉钉) custom robot, optionally with its signing secret.
    DingTalk { secret: Option<String> },
    /// Feishu/Lark (飞书) custom bot, optionally with its signing secret.
    Feishu { secret: Option<String> },
    /// Prometheus Alertmanager, API v2.
    Alertmanager,
}

impl SinkKind {
    /// The config spelling of this kind.
    pub fn as_str(&self) -> &'static str {
        match self {
            SinkKind::Webhook => "webhook",
            SinkKind::WeCom => "wecom",
            SinkKind::DingTalk { .. } => "dingtalk",
            SinkKind::Feishu { .. } => "feishu",
            SinkKind::Alertmanager => "alertmanager",
        }
    }
}

// Hand-written so secrets never reach a log through `{:?}`.
impl std::fmt::Debug for SinkKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SinkKind::DingTalk { secret } | SinkKind::Feishu { secret } => {
                let shown = if secret.is_some() { "Some(<redacted>)" } else { "None" };
                write!(f, "{} {{ secret: {shown} }}", self.as_str())
            }
            _ => f.write_str(self.as_str()),
        }
    }
}

/// Language of a receiver's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    ZhCn,
    En,
}

/// The `[notify]` section as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawNotifyConfig {
    pub receivers: Vec<RawReceiver>,
    pub queue_capacity: Option<usize>,
    pub max_retries: Option<u32>,
    pub timeout_secs: Option<u64>,
    pub external_url: Option<String>,
    pub nats: Option<super::nats::RawNatsSink>,
}

/// One `[[notify.receivers]]` entry as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawReceiver {
    pub name: String,
    /// `webhook`, `wecom`, `dingtalk`, `feishu` or `alertmanager`.
    pub kind: String,
    pub url: String,
    /// Signing secret (DingTalk "加签", Feishu "签名校验").
    pub secret: Option<String>,
    /// `zh-CN` or `en`; default `zh-CN` for WeCom/DingTalk/Feishu, `en` otherwise.
    pub language: Option<String>,
    pub teams: Vec<String>,
    /// Default `warning`.
    pub min_severity: Option<String>,
    pub kinds: Vec<String>,
    pub escalations: bool,
    pub queue_capacity: Option<usize>,
    /// Alertmanager cluster: more URLs beside `url` (or instead of it).
    pub urls: Vec<String>,
    /// Alertmanager only; default 60.
    pub resend_secs: Option<u64>,
    /// 0: unlimited. Default: the robots' documented limits, else unlimited.
    pub rate_limit_per_minute: Option<u32>,
    /// PEM file of extra CA certificates.
    pub ca_file: Option<String>,
}

type Problems = Vec<(String, String)>;

impl RawNotifyConfig {
    /// Checks everything and reports every problem with its key path (`notify.receivers[0].url`).
    pub fn validate(self) -> Result<NotifyConfig, Problems> {
        let mut errs: Problems = Vec::new();
        let mut err = |k: String, m: &str| errs.push((k, m.to_owned()));
        let queue_capacity = self.queue_capacity.unwrap_or(DEFAULT_QUEUE_CAPACITY);
        if !(1..=1_000_000).contains(&queue_capacity) {
            err("notify.queue_capacity".into(), "must be between 1 and 1000000");
        }
        let max_retries = self.max_retries.unwrap_or(DEFAULT_MAX_RETRIES);
        if max_retries > 20 {
            err("notify.max_retries".into(), "must be at most 20");
        }
        let timeout_secs = self.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS);
        if !(1..=300).contains(&timeout_secs) {
            err("notify.timeout_secs".into(), "must be between 1 and 300");
        }
        let mut receivers = Vec::with_capacity(self.receivers.len());
        let mut seen = std::collections::HashSet::new();
        for (i, r) in self.receivers.into_iter().enumerate() {
            let key = |f: &str| format!("notify.receivers[{i}].{f}");
            if r.name.trim().is_empty() {
                err(key("name"), "must not be empty");
            } else if !seen.insert(r.name.clone()) {
                err(key("name"), "duplicate receiver name");
            }
            let kind = match r.kind.as_str() {
                "webhook" => Some(SinkKind::Webhook),
                "wecom" => Some(SinkKind::WeCom),
                "dingtalk" => Some(SinkKind::DingTalk { secret: r.secret.clone() }),
                "feishu" | "lark" => Some(SinkKind::Feishu { secret: r.secret.clone() }),
                "alertmanager" => Some(SinkKind::Alertmanager),
                _ => {
                    err(key("kind"), "must be one of webhook, wecom, dingtalk, feishu, alertmanager");
                    None
                }
            };
            if let Some(secret) = &r.secret {
                match kind {
                    Some(SinkKind::DingTalk { .. } | SinkKind::Feishu { .. }) if secret.is_empty() => {
                        err(key("secret"), "must not be empty when set");
                    }
                    Some(SinkKind::DingTalk { .. } | SinkKind::Feishu { .. }) | None => {}
                    Some(_) => err(key("secret"), "only dingtalk and feishu receivers take a secret"),
                }
            }
            let mut urls: Vec<String> = Vec::with_capacity(1 + r.urls.len());
            if !r.url.is_empty() || r.urls.is_empty() {
                if let Err(m) = check_url(&r.url) {
                    err(key("url"), m);
                }
                urls.push(r.url.clone());
            }
            for (j, u) in r.urls.iter().enumerate() {
                if let Err(m) = check_url(u) {
                    err(key(&format!("urls[{j}]")), m);
                }
                urls.push(u.clone());
            }
            let am = kind == Some(SinkKind::Alertmanager);
            if !r.urls.is_empty() && !am && kind.is_some() {
                err(key("urls"), "only alertmanager receivers take several urls");
            }
            if r.resend_secs.is_some() && !am && kind.is_some() {
                err(key("resend_secs"), "only alertmanager receivers re-send");
            }
            let resend_secs = r.resend_secs.unwrap_or(DEFAULT_RESEND_SECS);
            if !(1..=3600).contains(&resend_secs) {
                err(key("resend_secs"), "must be between 1 and 3600");
            }
            let per_minute = match (r.rate_limit_per_minute, &kind) {
                (Some(0), _) => None,
                (Some(n), _) => Some(n),
                (None, Some(SinkKind::DingTalk { .. })) => Some(DINGTALK_PER_MINUTE),
                (None, Some(SinkKind::WeCom)) => Some(WECOM_PER_MINUTE),
                (None, Some(SinkKind::Feishu { .. })) => Some(FEISHU_PER_MINUTE),
                (None, _) => None,
            };
            if per_minute.is_some_and(|n| n > 60_000) {
                err(key("rate_limit_per_minute"), "must be at most 60000 (0: unlimited)");
            }
            if r.ca_file.as_deref().is_some_and(str::is_empty) {
                err(key("ca_file"), "must not be empty when set");
            }
            let default_lang = match kind {
                Some(SinkKind::Webhook | SinkKind::Alertmanager) => Lang::En,
                _ => Lang::ZhCn,
            };
            let language = match r.language.as_deref() {
                None => default_lang,
                Some("zh-CN" | "zh-cn" | "zh") => Lang::ZhCn,
                Some("en" | "en-US") => Lang::En,
                Some(_) => {
                    err(key("language"), "must be zh-CN or en");
                    default_lang
                }
            };
            let min_severity = match r.min_severity.as_deref() {
                None => Severity::Warning,
                Some(s) => Severity::parse(s).unwrap_or_else(|| {
                    let valid = vocab::one_of(Severity::ALL.map(Severity::as_str));
                    err(key("min_severity"), &format!("must be {valid}"));
                    Severity::Warning
                }),
            };
            for (j, t) in r.teams.iter().enumerate() {
                if t.is_empty() {
                    err(key(&format!("teams[{j}]")), "must not be empty");
                }
            }
            // A misspelt kind would silently route nothing: refuse it.
            let mut kinds = Vec::with_capacity(r.kinds.len());
            for (j, k) in r.kinds.iter().enumerate() {
                match NoticeKind::parse(k) {
                    Some(kind) => kinds.push(kind),
                    None if k.is_empty() => err(key(&format!("kinds[{j}]")), "must not be empty"),
                    None => err(
                        key(&format!("kinds[{j}]")),
                        &format!("unknown kind {k:?}: must be {}", vocab::one_of(NoticeKind::names())),
                    ),
                }
            }
            if r.queue_capacity.is_some_and(|c| !(1..=1_000_000).contains(&c)) {
                err(key("queue_capacity"), "must be between 1 and 1000000");
            }
            if am {
                for url in &mut urls {
                    if !url.trim_end_matches('/').ends_with("/api/v2/alerts") {
                        *url = format!("{}/api/v2/alerts", url.trim_end_matches('/'));
                    }
                }
            }
            let url = urls.first().cloned().unwrap_or_default();
            if let Some(kind) = kind {
                receivers.push(ReceiverConfig {
                    name: r.name,
                    kind,
                    url,
                    urls,
                    resend_secs,
                    per_minute,
                    ca_file: r.ca_file.map(std::path::PathBuf::from),
                    language,
                    teams: r.teams,
                    min_severity,
                    kinds,
                    escalations: r.escalations,
                    queue_capacity: r.queue_capacity,
                });
            }
        }
        let external_url = self.external_url.filter(|u| !u.trim().is_empty());
        if let Some(u) = &external_url
            && let Err(m) = check_url(u)
        {
            err("notify.external_url".into(), m);
        }
        let nats = match self.nats.map(super::nats::RawNatsSink::validate) {
            None => None,
            Some(Ok(n)) => Some(n),
            Some(Err(problems)) => {
                errs.extend(problems);
                None
            }
        };
        if errs.is_empty() {
            Ok(NotifyConfig {
                receivers,
                queue_capacity,
                max_retries,
                timeout_secs,
                external_url,
                nats,
                ..NotifyConfig::default()
            })
        } else {
            Err(errs)
        }
    }
}

fn check_url(url: &str) -> Result<(), &'static str> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or("must start with http:// or https://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() {
        return Err("has no host");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain whitespace");
    }
    url.parse::<hyper::Uri>().map(|_| ()).map_err(|_| "is not a valid URL")
}
