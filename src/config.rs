//! Configuration: TOML file → `RawConfig` (serde) → validated [`Config`].
//!
//! Every problem is reported at once, each with file, line, column and key
//! (`config/floorwatch.toml:12:1: queues[1].sl_target: must be in (0, 1]`), and the
//! same [`load`] runs for `serve`, `demo` and `check-config`, so a file that passes
//! `check-config` is a file `serve` accepts. The process environment is passed in as
//! an [`Env`] map, never read here, so tests can give their own.
//!
//! Without a file every key has its default: `floorwatch serve` works on a bare
//! machine. The annotated defaults live in `config/floorwatch.toml`.

//!
//! Each section's types and checks live beside the module that owns it
//! (`ingest::config`, `floor::config`, `rules::config`, `wallboard::config`,
//! `notify`, `incidents::config`): the owners know nothing of this module. What
//! stays here is what no one section owns: the `[server]` keys and `version`,
//! the environment, reading and placing (every owner reports `(key, message)`
//! problems, placed here at file:line:column), the checks across sections
//! (playbooks name receivers; the wallboard's window is one of the floor's) and
//! the composition, [`Config`].

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::floor::FloorConfig;
use crate::floor::config::{RawFloor, RawFloorTables, RawQueue, RawQueueParams, RawTeam, RawWindows};
use crate::incidents::{IncidentsConfig, RawIncidentsConfig};
use crate::ingest::IngestConfig;
use crate::ingest::config::RawIngest;
use crate::notify::{NotifyConfig, RawNotifyConfig};
use crate::rules::AlertsConfig;
use crate::rules::config::RawAlerts;
use crate::wallboard::WallboardConfig;
use crate::wallboard::config::{AlertThresholds, RawWallboard};

/// The process environment, as given to [`load`].
pub type Env = HashMap<String, String>;

/// Environment variable that sets (and overrides the config's) ingest token.
pub const ENV_INGEST_TOKEN: &str = "FLOORWATCH_INGEST_TOKEN";

/// Environment variable that sets (and overrides the config's) admin token for
/// writes under `/api/`.
pub const ENV_ADMIN_TOKEN: &str = "FLOORWATCH_ADMIN_TOKEN";

pub const DEFAULT_LISTEN: &str = "127.0.0.1:9720";

/// How log lines are written to stderr: `text` for a person, `json` (one
/// object a line) for a log collector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl LogFormat {
    pub fn parse(s: &str) -> Option<LogFormat> {
        match s {
            "text" => Some(LogFormat::Text),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }
}

/// `server.log_format` of a config file, read before logging starts; `None`
/// when the file or the key is missing or unreadable (the full load that
/// follows reports every problem, in the format chosen).
pub fn peek_log_format(path: &Path) -> Option<LogFormat> {
    #[derive(Deserialize)]
    struct Peek {
        server: Option<PeekServer>,
    }
    #[derive(Deserialize)]
    struct PeekServer {
        log_format: Option<String>,
    }
    let text = std::fs::read_to_string(path).ok()?;
    let peek: Peek = toml::from_str(&text).ok()?;
    LogFormat::parse(&peek.server?.log_format?)
}

// ---------------------------------------------------------------------------
// The composition: `[server]` here, every other section from its owner
// ---------------------------------------------------------------------------

/// The validated file, what `app` and `cli` wire the daemon from: the `[server]`
/// keys plus each owner's section, handed to that owner alone.
#[derive(Debug, Clone)]
pub struct Config {
    /// The one HTTP/WebSocket address (contract §2).
    pub listen: SocketAddr,
    /// Where the embedded database lives.
    pub data_dir: PathBuf,
    /// How long shutdown waits for sessions to drain before giving up.
    pub shutdown_grace: Duration,
    /// `server.log_format`; `--log-format` wins (logging starts before the
    /// config is loaded, so `main` reads the key with [`peek_log_format`]).
    pub log_format: LogFormat,
    /// How long the store keeps history (`[retention]`).
    pub retention: crate::store::RetentionConfig,
    /// `[qa]`: the call log's retention and the score sheet.
    pub qa: crate::qa::QaConfig,
    /// Bearer token for writes under `/api/` (acknowledgements, …); `None` means
    /// loopback clients only.
    pub admin_token: Option<String>,
    pub ingest: IngestConfig,
    /// `[limits]`: bounds on what any input can make floorwatch hold; the
    /// floor's part is in `floor.limits` too.
    pub limits: crate::ingest::LimitsConfig,
    pub floor: FloorConfig,
    pub alerts: AlertsConfig,
    /// Where alert changes are pushed (team leads' robots, Alertmanager, …).
    pub notify: NotifyConfig,
    pub wallboard: WallboardConfig,
    /// Playbooks: which alerts open an incident and the unified reply script.
    pub incidents: IncidentsConfig,
    /// `serve --record`: accepted events written as canonical JSON lines (a flag,
    /// not a config key: whether to record is a runtime choice).
    pub record: Option<crate::ingest::record::RecordConfig>,
    /// `[[vendor_sources]]`: how each vendor-format source's statuses and queues map.
    pub vendor_sources: crate::ingest::vendor_config::VendorConfig,
    /// Feeds the daemon dials out to (`[[sources]]`: Asterisk AMI, FreeSWITCH ESL).
    pub sources: Vec<crate::ingest::sources::SourceConfig>,
    /// `[[access.tokens]]` and `[[ingest.tokens]]`: the token table SIGHUP reloads.
    pub tokens: crate::access::Tokens,
    /// `server.trusted_proxies`: peers whose forwarding headers are believed.
    pub trusted_proxies: Vec<crate::access::Cidr>,
    /// The duty team's shift: patrols, sign-in window, overrun tiers, the seat plan
    /// (`[shift]`, `[floor_plan]`).
    pub shift: crate::shift::DutyConfig,
    /// The file and environment this config came from, for SIGHUP (set by the
    /// command line; `None`: nothing to re-read).
    pub reload: Option<Reload>,
}

/// Where SIGHUP re-reads the config from.
#[derive(Debug, Clone)]
pub struct Reload {
    pub file: PathBuf,
    pub env: Env,
}

impl Default for Config {
    fn default() -> Self {
        match RawConfig::default().validate(&Env::new()) {
            Ok(c) => c,
            // The defaults are validated by a unit test; reaching this is a bug.
            Err(e) => unreachable!("built-in defaults are invalid: {e:?}"),
        }
    }
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    /// 1-based; `None` when the problem has no place (e.g. the file is unreadable).
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// Dotted key path, e.g. `queues[1].sl_target`; empty for whole-file problems.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in one file.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// A validation problem before it is placed in the file: `(key, message)`, the
/// form every section's `validate` reports in.
type Problem = (String, String);

fn problem(key: impl Into<String>, message: impl Into<String>) -> Problem {
    (key.into(), message.into())
}

// ---------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------

/// Loads and validates the file at `path`, or the defaults when `path` is `None`.
pub fn load(path: Option<&Path>, env: &Env) -> Result<Config, ConfigErrors> {
    match path {
        None => RawConfig::default().validate(env).map_err(|problems| {
            ConfigErrors(problems.into_iter().map(|p| place(&p, "<defaults>", "", None)).collect())
        }),
        Some(path) => {
            let file = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|e| {
                ConfigErrors(vec![ConfigError {
                    file: file.clone(),
                    line: None,
                    column: None,
                    key: String::new(),
                    message: format!("cannot read file: {e}"),
                }])
            })?;
            parse(&text, &file, env)
        }
    }
}

/// Parses and validates config text; `file` names it in errors. Every mistake
/// of the file comes back in one run, in the file's order: syntax errors, values
/// serde refuses (each cut so the rest can still be read: [`lenient`]) and the
/// sections' semantic checks over what remains.
pub fn parse(text: &str, file: &str, env: &Env) -> Result<Config, ConfigErrors> {
    let lenient::Parsed { value, refusals } = lenient::parse::<RawConfig>(text);
    let mut errors: Vec<ConfigError> = refusals
        .iter()
        .map(|r| {
            let (line, column) = r.span.as_ref().map(|s| line_col(text, s.start)).unzip();
            ConfigError {
                file: file.to_owned(),
                line,
                column,
                key: r.key.clone(),
                message: r.message.clone(),
            }
        })
        .collect();
    let Some(raw) = value else {
        return Err(ConfigErrors(errors));
    };
    let problems = match raw.validate(env) {
        Ok(cfg) if errors.is_empty() => return Ok(cfg),
        Ok(_) => Vec::new(),
        Err(problems) => problems,
    };
    let root = toml::de::DeTable::parse_recoverable(text).0;
    errors.extend(
        problems
            .iter()
            // A refused key was read as its default: what the checks say of it
            // is not about the file.
            .filter(|(key, _)| !lenient::covers(&refusals, key))
            .map(|p| place(p, file, text, Some(root.get_ref()))),
    );
    errors.sort_by_key(|e| (e.line.is_none(), e.line, e.column));
    Err(ConfigErrors(errors))
}

/// The fuzz target's body (`fuzz/fuzz_targets/config.rs`), here so the
/// proptest suite runs it on every `cargo test`: any bytes as a config file.
/// Never panics; every error it reports has a message and a 1-based place.
pub fn fuzz_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(ConfigErrors(errors)) = parse(text, "fuzz.toml", &Env::new()) {
        assert!(!errors.is_empty(), "an error names at least one problem");
        for e in errors {
            assert!(!e.message.is_empty(), "{e:?}");
            assert!(e.line.is_none_or(|l| l >= 1) && e.column.is_none_or(|c| c >= 1), "{e:?}");
        }
    }
}

/// Attaches a file position to a problem by walking its key path in the spanned
/// document; falls back to the nearest existing parent key.
fn place(p: &Problem, file: &str, text: &str, root: Option<&toml::de::DeTable<'_>>) -> ConfigError {
    let (key, message) = p;
    let span = root.and_then(|root| span_of(root, key));
    let (line, column) = span.map(|start| line_col(text, start)).unzip();
    ConfigError { file: file.to_owned(), line, column, key: key.clone(), message: message.clone() }
}

/// Byte offset of the deepest existing part of `path` (`a.b[2].c`).
fn span_of(root: &toml::de::DeTable<'_>, path: &str) -> Option<usize> {
    use toml::de::DeValue;
    let mut segments = Vec::new();
    for part in path.split('.') {
        let (name, rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        segments.push((name, None));
        for idx in rest.split('[').filter(|s| !s.is_empty()) {
            let n = idx.trim_end_matches(']').parse::<usize>().ok();
            segments.push(("", n));
        }
    }
    let mut best = None;
    let mut current: Option<&DeValue<'_>> = None;
    for (name, index) in segments {
        let next = match (current, index) {
            (None, None) => root
                .iter()
                .find(|(k, _)| k.get_ref().as_ref() == name)
                .map(|(k, v)| (k.span().start, v.get_ref())),
            (Some(DeValue::Table(t)), None) => t
                .iter()
                .find(|(k, _)| k.get_ref().as_ref() == name)
                .map(|(k, v)| (k.span().start, v.get_ref())),
            (Some(DeValue::Array(a)), Some(i)) => a.get(i).map(|v| (v.span().start, v.get_ref())),
            _ => None,
        };
        match next {
            Some((start, value)) => {
                best = Some(start);
                current = Some(value);
            }
            None => break,
        }
    }
    best
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(offset, |nl| offset - nl - 1) + 1;
    (line, column)
}

// ---------------------------------------------------------------------------
// Raw (as written) configuration
// ---------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawConfig {
    version: Option<u32>,
    server: RawServer,
    ingest: RawIngest,
    floor: RawFloor,
    windows: RawWindows,
    queue_defaults: RawQueueParams,
    queues: Vec<RawQueue>,
    teams: Vec<RawTeam>,
    alerts: RawAlerts,
    notify: RawNotifyConfig,
    retention: crate::store::RawRetentionConfig,
    qa: crate::qa::RawQaConfig,
    wallboard: RawWallboard,
    incidents: RawIncidentsConfig,
    vendor_sources: Vec<crate::ingest::vendor_config::RawVendorSource>,
    sources: Vec<crate::ingest::sources::RawSource>,
    access: crate::access::RawAccess,
    limits: crate::ingest::limits::RawLimits,
    shift: crate::shift::RawDuty,
    floor_plan: crate::shift::RawFloorPlan,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawServer {
    listen: Option<String>,
    data_dir: Option<String>,
    shutdown_grace_secs: Option<u64>,
    admin_token: Option<String>,
    log_format: Option<String>,
    trusted_proxies: Vec<String>,
}

const SUPPORTED_VERSION: u32 = 1;

impl RawConfig {
    fn validate(mut self, env: &Env) -> Result<Config, Vec<Problem>> {
        let mut errs = Vec::new();
        let bridge_tokens = self.ingest.take_tokens();
        let tokens = crate::access::validate(self.access, bridge_tokens, &mut errs);
        let trusted_proxies = crate::access::validate_proxies(&self.server.trusted_proxies, &mut errs);

        if let Some(v) = self.version
            && v != SUPPORTED_VERSION
        {
            errs.push(problem(
                "version",
                format!("unsupported config version {v} (this floorwatch reads version {SUPPORTED_VERSION})"),
            ));
        }

        let listen_text = self.server.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen = listen_text.parse::<SocketAddr>().unwrap_or_else(|_| {
            errs.push(problem(
                "server.listen",
                format!("`{listen_text}` is not an address like 127.0.0.1:9720"),
            ));
            SocketAddr::from(([127, 0, 0, 1], 9720))
        });
        let data_dir = PathBuf::from(self.server.data_dir.as_deref().unwrap_or("floorwatch-data"));
        let shutdown_grace = Duration::from_secs(self.server.shutdown_grace_secs.unwrap_or(10));
        let log_format = match self.server.log_format.as_deref().map(LogFormat::parse) {
            None => LogFormat::Text,
            Some(Some(f)) => f,
            Some(None) => {
                errs.push(problem("server.log_format", "must be \"text\" or \"json\""));
                LogFormat::Text
            }
        };
        let retention = match self.retention.validate() {
            Ok(r) => r,
            Err(problems) => {
                errs.extend(problems.into_iter().map(|(key, message)| problem(key, message)));
                crate::store::RetentionConfig::default()
            }
        };
        let qa = match self.qa.validate() {
            Ok(q) => q,
            Err(problems) => {
                errs.extend(problems.into_iter().map(|(key, message)| problem(key, message)));
                crate::qa::QaConfig::default()
            }
        };
        let admin_token =
            env.get(ENV_ADMIN_TOKEN).cloned().or(self.server.admin_token).filter(|t| !t.is_empty());

        let ingest = self.ingest.validate(env.get(ENV_INGEST_TOKEN).cloned(), &mut errs);
        let limits = self.limits.validate(&mut errs);
        let mut floor = RawFloorTables {
            floor: self.floor,
            windows: self.windows,
            queue_defaults: self.queue_defaults,
            queues: self.queues,
            teams: self.teams,
        }
        .validate(&mut errs);
        floor.limits = crate::floor::FloorLimits {
            max_agents: limits.max_agents,
            max_calls: limits.max_calls,
            max_sources: limits.max_sources,
            max_teams: limits.max_teams,
            max_components: limits.max_components,
        };

        let mut alerts = self.alerts.validate(&floor.windows.rolling_secs, &mut errs);
        // Messages say queues by their display names, which the floor owns.
        alerts.names.queues = floor.queues.iter().map(|q| (q.id.clone(), q.names.clone())).collect();
        let shift = self.shift.validate(self.floor_plan, &mut errs);
        // The wallboard's window must be one of the floor's, and its tiles follow
        // the alert rules' thresholds where the section does not set its own.
        let thresholds = AlertThresholds {
            longest_wait_max_secs: alerts.longest_wait_max_secs,
            answer_rate_min: alerts.answer_rate_min,
        };
        let wallboard = self.wallboard.validate(&floor.windows.labels(), thresholds, &mut errs);
        let notify = match self.notify.validate() {
            Ok(mut n) => {
                n.timezone = floor.timezone;
                n.proxy = crate::notify::ProxyConfig::from_env(env);
                Some(n)
            }
            Err(problems) => {
                errs.extend(problems);
                None
            }
        };

        let incidents = match self.incidents.validate() {
            Ok(mut i) => {
                // Scripts say queues by their display names, which the floor owns.
                i.queue_names = floor.queues.iter().map(|q| (q.id.clone(), q.names.clone())).collect();
                // And components by theirs, which `[incidents.components]` gives.
                alerts.names.components =
                    i.components.iter().map(|(id, n)| (id.clone(), n.clone())).collect();
                Some(i)
            }
            Err(problems) => {
                errs.extend(problems);
                None
            }
        };

        let vendor_sources = match crate::ingest::vendor_config::validate(self.vendor_sources) {
            Ok(v) => v,
            Err(problems) => {
                errs.extend(problems.into_iter().map(|(key, message)| problem(key, message)));
                Default::default()
            }
        };
        let sources = crate::ingest::sources::validate(self.sources).unwrap_or_else(|problems| {
            errs.extend(problems.into_iter().map(|(key, message)| problem(key, message)));
            Vec::new()
        });

        let (Some(notify), Some(incidents)) = (notify, incidents) else {
            return Err(errs);
        };
        // Playbooks name receivers: they must exist.
        for (i, p) in incidents.playbooks.iter().enumerate() {
            for name in &p.notify {
                if !notify.receivers.iter().any(|r| &r.name == name) {
                    errs.push(problem(
                        format!("incidents.playbooks[{i}].notify"),
                        format!("no [[notify.receivers]] is named {name:?}"),
                    ));
                }
            }
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        Ok(Config {
            shift,
            tokens,
            trusted_proxies,
            reload: None,
            record: None,
            vendor_sources,
            sources,
            alerts,
            notify,
            wallboard,
            incidents,
            admin_token,
            listen,
            data_dir,
            shutdown_grace,
            log_format,
            retention,
            qa,
            ingest,
            limits,
            floor,
        })
    }
}

mod lenient;

#[cfg(test)]
mod tests;
