//! floorwatch as a Prometheus and Grafana site runs it: a real Prometheus (Debian
//! package `prometheus`, installed by ./scripts/test) scrapes a daemon fed by the
//! demo simulator and loads `deploy/prometheus/rules.yml`; every rule must be
//! healthy and every query of every dashboard in `dashboards/` must return data,
//! with Grafana's variables substituted. Around it: promtool over the rules and the
//! deployment config, the dashboards' structure, the provisioning files, and the
//! metric names every dashboard and document uses.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use floorwatch::config::{Config, Env, parse};
use floorwatch::sim::{SimConfig, SimModel};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

use crate::harness::{Bridge, PATIENCE, TestDaemon, http_get, metric_sum, ts_now};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

const RULES: &str = "deploy/prometheus/rules.yml";

/// Runs promtool; its output when it fails.
fn promtool(args: &[&str]) -> Result<(), String> {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(root())
        .output()
        .expect("promtool not found: run ./scripts/test, which installs the Debian package `prometheus`");
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() { Ok(()) } else { Err(format!("promtool {}:\n{report}", args.join(" "))) }
}

#[test]
fn promtool_accepts_the_rules_their_unit_tests_and_the_example_config() {
    promtool(&["check", "rules", RULES]).unwrap_or_else(|e| panic!("{e}"));
    promtool(&["test", "rules", "deploy/prometheus/rules_test.yml"]).unwrap_or_else(|e| panic!("{e}"));
    // Also loads the rule file it names, resolved beside it.
    promtool(&["check", "config", "deploy/prometheus.yml"]).unwrap_or_else(|e| panic!("{e}"));
}

// ---------------------------------------------------------------- the dashboards

struct Dashboard {
    file: String,
    json: Value,
}

fn dashboards() -> Vec<Dashboard> {
    let mut v: Vec<Dashboard> = std::fs::read_dir(root().join("dashboards"))
        .expect("dashboards/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let file = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let json = serde_json::from_str(&read(&p)).unwrap_or_else(|e| panic!("{file}: not JSON: {e}"));
            Dashboard { file, json }
        })
        .collect();
    v.sort_by(|a, b| a.file.cmp(&b.file));
    assert!(v.len() >= 5, "dashboards/ has {} dashboards", v.len());
    v
}

/// A query a dashboard runs: a panel target, or a variable's `label_values`.
struct Query {
    at: String,
    expr: String,
    /// Stat-like panels ask for one value; time series for a range.
    instant: bool,
}

fn panels(d: &Dashboard) -> Vec<&Value> {
    d.json["panels"].as_array().map(|p| p.iter().filter(|p| p["type"] != "row").collect()).unwrap_or_default()
}

fn queries(d: &Dashboard) -> Vec<Query> {
    let mut out = Vec::new();
    for p in panels(d) {
        for t in p["targets"].as_array().into_iter().flatten() {
            let expr = t["expr"].as_str().unwrap_or_default().to_owned();
            let at = format!("{} panel {:?} target {}", d.file, p["title"], t["refId"]);
            out.push(Query { at, expr, instant: t["instant"] == true });
        }
    }
    out
}

/// Grafana variables of a dashboard: name → `label_values(...)` query (None for
/// the data-source picker).
fn variables(d: &Dashboard) -> BTreeMap<String, Option<String>> {
    d.json["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            let q = v["query"]["query"].as_str().or(v["definition"].as_str()).map(str::to_owned);
            let name = v["name"].as_str().unwrap_or_default().to_owned();
            (name, if v["type"] == "query" { q } else { None })
        })
        .collect()
}

/// Replaces `$name` and `${name}` by the values given; the rest of the text as is.
fn substitute(expr: &str, values: &[(&str, &str)]) -> String {
    let mut s = expr.to_owned();
    // Longest names first, so `$__range` is not taken for a `$__r…` prefix.
    let mut values = values.to_vec();
    values.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    for (name, value) in values {
        s = s.replace(&format!("${{{name}}}"), value).replace(&format!("${name}"), value);
    }
    s
}

/// What Grafana puts in for its own variables, sized for a Prometheus scraping
/// every second that has only seconds of data.
const GRAFANA_BUILTINS: &[(&str, &str)] =
    &[("__rate_interval", "1m"), ("__interval", "15s"), ("__range", "5m")];

/// floorwatch metric names in a PromQL expression: the identifiers outside label
/// matchers and strings that name one (functions, keywords and grouping labels do
/// not; recording rules do, with their colons).
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut in_braces = 0;
    let mut in_string = false;
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if in_string {
            if c == '"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => in_braces += 1,
            '}' => in_braces -= 1,
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                if in_braces == 0 && word.contains("floorwatch_") {
                    names.insert(word);
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    names
}

/// The metric families `/metrics` exposes (from its `# TYPE` lines), with the
/// sample names a histogram adds.
fn exported(metrics: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for l in metrics.lines() {
        let Some(rest) = l.strip_prefix("# TYPE ") else { continue };
        let mut it = rest.split_whitespace();
        let (Some(name), Some(kind)) = (it.next(), it.next()) else { continue };
        names.insert(name.to_owned());
        if kind == "histogram" {
            for s in ["_bucket", "_sum", "_count"] {
                names.insert(format!("{name}{s}"));
            }
        }
    }
    names
}

/// Names recorded by the rule file.
fn recorded() -> BTreeSet<String> {
    read(&root().join(RULES))
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- record:").map(|n| n.trim().to_owned()))
        .collect()
}

/// The daemon the structural tests read `/metrics` from: configured queues (one
/// never offered a call) and a notification receiver, so every family that has a
/// label per queue or receiver is there before the first event.
async fn configured_daemon(receiver_url: &str) -> TestDaemon {
    let toml = format!(
        r#"
[[queues]]
id = "billing"

[[queues]]
id = "cards"
sl_threshold_secs = 30
sl_abandons = "met_within_threshold"

[[queues]]
id = "tech"
sl_threshold_secs = 60
sl_abandons = "exclude_within_threshold"

[[queues]]
id = "vip"

[[teams]]
id = "team-1"

[[notify.receivers]]
name = "hook"
kind = "webhook"
url = "{receiver_url}"
"#
    );
    let cfg: Config = match parse(&toml, "prometheus-test.toml", &Env::new()) {
        Ok(c) => c,
        Err(e) => panic!("test config is invalid:\n{e}"),
    };
    TestDaemon::with_config(cfg).await
}

/// `/metrics` after a handful of calls and a component down: the families that
/// have series only once something happened (window ratios, ASA, faults) are there too.
async fn metrics_after_some_traffic(d: &TestDaemon) -> String {
    let mut b = d.bridge(Some("pbx")).await;
    // One base for every stamp, so the durations are exact.
    let now = chrono::Utc::now().timestamp_millis();
    let ts = |secs: i64| floorwatch::event::format_ts(now + secs * 1000);
    b.send(
        json!([
            {"type":"agent_login","ts":ts(-60),"agent":"A1","team":"team-1"},
            {"type":"call_offered","ts":ts(-50),"call":"C1","queue":"billing"},
            {"type":"call_offered","ts":ts(-50),"call":"C2","queue":"billing"},
            {"type":"call_answered","ts":ts(-45),"call":"C1","agent":"A1"},
            {"type":"call_abandoned","ts":ts(-30),"call":"C2"},
            {"type":"agent_state","ts":ts(-20),"agent":"A1","state":"acw"},
            {"type":"agent_state","ts":ts(-10),"agent":"A1","state":"ready"},
            {"type":"fault","ts":ts(0),"component":"trunk-2","status":"down"}
        ])
        .to_string(),
    )
    .await;
    d.wait_events(8).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let m = d.metrics().await;
        if metric_sum(&m, "floorwatch_faults_active", &[]) == 1.0
            && metric_sum(&m, "floorwatch_queue_asa_seconds", &[("queue", "billing"), ("window", "15m")])
                == 5.0
        {
            assert_eq!(metric_sum(&m, "floorwatch_acw_seconds_sum", &[("queue", "billing")]), 10.0);
            assert_eq!(metric_sum(&m, "floorwatch_talk_seconds_sum", &[("queue", "billing")]), 25.0);
            return m;
        }
        assert!(tokio::time::Instant::now() < deadline, "the calls and the fault never showed in /metrics");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn dashboards_are_well_formed_and_query_only_what_floorwatch_exports() {
    let d = configured_daemon("http://127.0.0.1:9/hook").await;
    let exported = exported(&metrics_after_some_traffic(&d).await);
    let recorded = recorded();
    assert!(recorded.len() >= 8, "recording rules not found in {RULES}: {recorded:?}");
    let mut uids = BTreeSet::new();
    for dash in dashboards() {
        let f = &dash.file;
        let j = &dash.json;
        assert!(j["title"].as_str().is_some_and(|t| t.starts_with("floorwatch")), "{f}: title");
        let uid = j["uid"].as_str().unwrap_or_else(|| panic!("{f}: no uid"));
        assert!(uids.insert(uid.to_owned()), "{f}: uid {uid} used twice");
        let vars = variables(&dash);
        assert!(vars.contains_key("datasource"), "{f}: no data-source picker");
        // The site picker: every daemon exports floorwatch_events_total; several
        // sites or All (a regex, so "All" also matches a target without a site).
        let site = j["templating"]["list"]
            .as_array()
            .and_then(|l| l.iter().find(|v| v["name"] == "site"))
            .unwrap_or_else(|| panic!("{f}: no site variable"));
        assert_eq!(vars["site"].as_deref(), Some("label_values(floorwatch_events_total, site)"), "{f}");
        assert_eq!(
            (&site["multi"], &site["includeAll"], &site["allValue"]),
            (&json!(true), &json!(true), &json!(".*")),
            "{f}"
        );

        let mut ids = BTreeSet::new();
        for p in j["panels"].as_array().unwrap_or_else(|| panic!("{f}: no panels")) {
            assert!(ids.insert(p["id"].as_u64()), "{f}: panel id {} twice", p["id"]);
            let g = &p["gridPos"];
            let (x, w) = (g["x"].as_u64().unwrap_or(99), g["w"].as_u64().unwrap_or(99));
            assert!(x + w <= 24 && g["h"].as_u64().is_some(), "{f}: panel {:?} gridPos {g}", p["title"]);
        }
        let ps = panels(&dash);
        assert!(ps.len() >= 5, "{f}: only {} panels", ps.len());
        for p in &ps {
            let title = &p["title"];
            assert!(
                p["datasource"]["uid"] == "${datasource}",
                "{f}: panel {title} not on the picked data source"
            );
            let targets = p["targets"].as_array().map(Vec::len).unwrap_or(0);
            assert!(targets > 0, "{f}: panel {title} queries nothing");
            assert!(
                p["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{f}: panel {title} unexplained"
            );
        }

        let mut all: Vec<Query> = queries(&dash);
        all.extend(vars.iter().filter_map(|(n, q)| {
            q.clone().map(|expr| Query { at: format!("{f} variable {n}"), expr, instant: true })
        }));
        for q in &all {
            assert!(!q.expr.trim().is_empty(), "{}: empty query", q.at);
            // Every variable it uses is the dashboard's or Grafana's own.
            let mut values: Vec<(&str, &str)> = vars.keys().map(|k| (k.as_str(), "x")).collect();
            values.extend_from_slice(GRAFANA_BUILTINS);
            let rest = substitute(&q.expr, &values);
            assert!(!rest.contains('$'), "{}: unknown variable in {}", q.at, q.expr);
            // One view across sites: every selector (the site picker's own
            // aside) follows the site picker.
            let selectors = q.expr.matches('{').count();
            assert!(
                q.at.ends_with(" variable site")
                    || selectors > 0 && q.expr.matches(r#"site=~"$site""#).count() == selectors,
                "{}: a selector without site=~\"$site\" in {}",
                q.at,
                q.expr
            );
            let names = metric_names(&q.expr);
            // Otherwise it is about Prometheus's scrape of floorwatch (up, scrape_duration_seconds).
            assert!(
                !names.is_empty() || q.expr.contains(r#"job="floorwatch""#),
                "{}: neither a floorwatch metric nor its scrape in {}",
                q.at,
                q.expr
            );
            for n in names {
                let known = if n.contains(':') { recorded.contains(&n) } else { exported.contains(&n) };
                assert!(known, "{}: {n} is neither exported by floorwatch nor recorded by {RULES}", q.at);
            }
        }
    }
}

#[test]
fn grafana_provisioning_loads_the_dashboards_from_their_folder() {
    let ds = read(&root().join("dashboards/provisioning/datasources/floorwatch.yml"));
    let dash = read(&root().join("dashboards/provisioning/dashboards/floorwatch.yml"));
    assert!(ds.lines().any(|l| l.trim() == "type: prometheus"), "datasource provisioning: {ds}");
    let uid = ds
        .lines()
        .find_map(|l| l.trim().strip_prefix("uid: "))
        .unwrap_or_else(|| panic!("the provisioned data source has no fixed uid: {ds}"));
    assert!(dash.lines().any(|l| l.trim() == "type: file"), "dashboard provider: {dash}");
    assert!(
        dash.lines().any(|l| l.trim() == "path: ${FLOORWATCH_DASHBOARDS}"),
        "the provider reads the folder the README names: {dash}"
    );
    let readme = read(&root().join("README.md"));
    for needle in ["FLOORWATCH_DASHBOARDS=", "GF_PATHS_PROVISIONING=", "dashboards/provisioning"] {
        assert!(
            readme.contains(needle),
            "README does not say how to point Grafana at the dashboards ({needle})"
        );
    }
    // Each dashboard's picker starts on the provisioned data source.
    for d in dashboards() {
        let picker = d.json["templating"]["list"]
            .as_array()
            .and_then(|l| l.iter().find(|v| v["name"] == "datasource"))
            .cloned()
            .unwrap_or_default();
        assert_eq!(picker["type"], "datasource", "{}", d.file);
        assert_eq!(picker["query"], "prometheus", "{}", d.file);
        assert_eq!(picker["current"]["value"], uid, "{}: picker does not start on {uid}", d.file);
    }
}

#[tokio::test]
async fn known_label_values_start_at_zero_before_the_first_event() {
    let d = configured_daemon("http://127.0.0.1:9/hook").await;
    let m = d.metrics().await;
    let has = |name: &str, labels: &[(&str, &str)]| {
        let found = m.lines().filter(|l| !l.starts_with('#')).any(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap_or((l, ""));
            let (n, lbls) = series.split_once('{').unwrap_or((series, ""));
            n == name && value == "0" && labels.iter().all(|(k, v)| lbls.contains(&format!("{k}=\"{v}\"")))
        });
        assert!(found, "{name}{labels:?} is not exported at 0 before the first event");
    };
    for kind in [
        "acw_overrun",
        "busy_overrun",
        "traffic_surge",
        "answer_rate_low",
        "service_level_low",
        "longest_wait_high",
        "source_down",
        "system_fault",
    ] {
        has("floorwatch_alerts_firing", &[("kind", kind)]);
        has("floorwatch_alerts_acknowledged", &[("kind", kind)]);
    }
    for state in ["ready", "ringing", "talking", "hold", "acw", "not_ready"] {
        has("floorwatch_agents", &[("state", state)]);
        has("floorwatch_team_agents", &[("team", "team-1"), ("state", state)]);
    }
    for reason in ["break", "lunch", "system", "training", "meeting", "other"] {
        has("floorwatch_agents_not_ready", &[("reason", reason)]);
    }
    for q in ["billing", "cards", "tech", "vip"] {
        for name in [
            "floorwatch_calls_offered_total",
            "floorwatch_calls_answered_total",
            "floorwatch_calls_abandoned_total",
            "floorwatch_calls_abandoned_short_total",
            "floorwatch_calls_sl_met_total",
            "floorwatch_calls_sl_excluded_total",
            "floorwatch_calls_waiting",
            "floorwatch_talk_seconds_count",
            "floorwatch_acw_seconds_count",
        ] {
            has(name, &[("queue", q)]);
        }
        has("floorwatch_queue_wait_seconds_count", &[("queue", q), ("outcome", "answered")]);
        has("floorwatch_queue_wait_seconds_count", &[("queue", q), ("outcome", "abandoned")]);
        has("floorwatch_queue_window_calls", &[("queue", q), ("window", "15m"), ("outcome", "offered")]);
    }
    for name in
        ["floorwatch_notify_sent_total", "floorwatch_notify_dropped_total", "floorwatch_notify_failed_total"]
    {
        has(name, &[("receiver", "hook")]);
    }
    for reason in ["bad_json", "duplicate", "unknown_state"] {
        has("floorwatch_events_rejected_total", &[("reason", reason)]);
    }
}

#[tokio::test]
async fn every_exported_metric_is_documented() {
    let d = configured_daemon("http://127.0.0.1:9/hook").await;
    let metrics = metrics_after_some_traffic(&d).await;
    let docs = read(&root().join("docs/metrics.md"));
    let readme = read(&root().join("README.md"));
    let families: Vec<&str> =
        metrics.lines().filter_map(|l| l.strip_prefix("# HELP ")?.split(' ').next()).collect();
    assert!(families.len() > 30, "{families:?}");
    for f in families {
        let quoted = format!("`{f}`");
        assert!(docs.contains(&quoted), "docs/metrics.md does not document {f}");
        assert!(readme.contains(&quoted), "README's metrics table does not list {f}");
    }
    for r in recorded() {
        assert!(docs.contains(&format!("`{r}`")), "docs/metrics.md does not document recording rule {r}");
    }
}

#[test]
fn deployment_examples_are_referenced_and_their_commands_parse() {
    let readme = read(&root().join("README.md"));
    for f in [
        "deploy/prometheus.yml",
        "deploy/prometheus/rules.yml",
        "deploy/floorwatch.service",
        "deploy/Containerfile",
        "dashboards/",
        "docs/metrics.md",
        "docs/runbook.md",
    ] {
        assert!(root().join(f).exists(), "{f} missing");
        assert!(readme.contains(f), "README does not point to {f}");
    }
    // The command lines the unit and the image run: each flag is one `floorwatch`
    // knows (clap refuses an unknown one before it reaches `--help`).
    let unit = read(&root().join("deploy/floorwatch.service"));
    let exec = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).expect("ExecStart");
    let unit_args: Vec<&str> = exec.split_whitespace().skip(1).collect();
    let containerfile = read(&root().join("deploy/Containerfile"));
    let cmd = containerfile.lines().find_map(|l| l.strip_prefix("CMD ")).expect("CMD");
    let image_args: Vec<String> = serde_json::from_str(cmd).expect("CMD is an exec-form JSON array");
    for args in [unit_args.iter().map(|s| s.to_string()).collect::<Vec<_>>(), image_args] {
        assert_eq!(args.first().map(String::as_str), Some("serve"), "{args:?}");
        let out = Command::new(env!("CARGO_BIN_EXE_floorwatch"))
            .args(&args)
            .arg("--help")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .expect("run floorwatch");
        assert!(out.status.success(), "floorwatch {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

// ---------------------------------------------------------------- a real Prometheus

/// The `site` target label the test's Prometheus gives the daemon, as each
/// site's Prometheus does (docs/scale-out.md "One view").
const SITE: &str = "east";

struct Prometheus {
    child: std::process::Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    async fn start(target: SocketAddr) -> Prometheus {
        let dir = tempfile::tempdir().expect("tmp");
        let cfg = dir.path().join("prometheus.yml");
        let rules = root().join(RULES);
        // Scrape and evaluate every second so the test sees several rounds in seconds.
        std::fs::write(
            &cfg,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\n\
                 scrape_configs:\n  - job_name: floorwatch\n    static_configs:\n      - targets: ['{target}']\n\
                 \x20       labels:\n          site: {SITE}\n",
                rules.display()
            ),
        )
        .expect("write prometheus config");
        // Prometheus takes an address, not a listener: find a free loopback port.
        // (Another process could take it in between; the readiness wait would then fail loudly.)
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log file");
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect(
                "prometheus not found: run ./scripts/test, which installs the Debian package `prometheus`",
            );
        let p = Prometheus { child, addr, dir };
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            // Refused until it listens: probe the port before speaking HTTP.
            if tokio::net::TcpStream::connect(p.addr).await.is_ok()
                && http_get(p.addr, "/-/ready").await.0 == 200
            {
                return p;
            }
            assert!(tokio::time::Instant::now() < deadline, "prometheus never became ready:\n{}", p.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// GET an API path; its `data` (the API's `status` must be `success`).
    async fn api(&self, path: &str) -> Value {
        let (status, body) = http_get(self.addr, path).await;
        let v: Value =
            serde_json::from_str(&body).unwrap_or_else(|_| panic!("{path}: HTTP {status}: {body}"));
        assert_eq!(v["status"], "success", "{path}: {v}");
        v["data"].clone()
    }

    /// Runs a query as Grafana would: instant at now, or over the last 30 s.
    async fn query(&self, expr: &str, instant: bool) -> Value {
        let q = utf8_percent_encode(expr, NON_ALPHANUMERIC);
        let now = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
        if instant {
            self.api(&format!("/api/v1/query?query={q}&time={now}")).await
        } else {
            self.api(&format!("/api/v1/query_range?query={q}&start={}&end={now}&step=2", now - 30.0)).await
        }
    }

    /// A variable's `label_values(selector, label)` through the labels API, as Grafana asks it.
    async fn label_values(&self, expr: &str) -> Value {
        let inner = expr.trim().strip_prefix("label_values(").and_then(|s| s.strip_suffix(')'));
        let (selector, label) =
            inner.and_then(|s| s.rsplit_once(',')).unwrap_or_else(|| panic!("not label_values: {expr}"));
        let m = utf8_percent_encode(selector.trim(), NON_ALPHANUMERIC);
        self.api(&format!("/api/v1/label/{}/values?match[]={m}", label.trim())).await
    }
}

fn has_data(data: &Value) -> bool {
    match data["result"].as_array() {
        Some(r) => {
            r.iter().any(|s| s["value"].is_array() || s["values"].as_array().is_some_and(|v| !v.is_empty()))
        }
        None => data.as_array().is_some_and(|v| !v.is_empty()),
    }
}

/// The demo simulator's floor, speaking to the daemon like a CTI bridge.
struct SimulatedFloor {
    model: SimModel,
    bridge: Bridge,
    source: String,
    seq: u64,
}

impl SimulatedFloor {
    /// A floor that started `history` ago; nothing sent yet.
    async fn connect(d: &TestDaemon, history: chrono::Duration) -> SimulatedFloor {
        let cfg = SimConfig {
            url: d.ws_url(Some("demo-acd")),
            seed: 7,
            // Fewer agents than the traffic needs: calls wait past T and some
            // abandon, so answer rate and service level are not all 100%.
            agents: 40,
            calls_per_min: Some(16.0),
            flat_curve: true,
            surge_every_secs: 0,
            fault_every_secs: 0,
            link_outage_every_secs: 0,
            ..SimConfig::default()
        };
        let model = SimModel::new(&cfg, chrono::Utc::now() - history);
        let bridge = Bridge::connect(&cfg.url, None).await.expect("ingest handshake");
        SimulatedFloor { model, bridge, source: cfg.source, seq: 0 }
    }

    /// Sends what happened up to now; how many events that was.
    async fn catch_up(&mut self) -> usize {
        let mut out = Vec::new();
        self.model.advance_to(chrono::Utc::now(), &mut out);
        for chunk in out.chunks(500) {
            let mut frame = Vec::with_capacity(chunk.len());
            for e in chunk {
                self.seq += 1;
                frame.push(e.to_json(self.seq, &self.source));
            }
            self.bridge.send(format!("[{}]", frame.join(","))).await;
        }
        out.len()
    }

    /// Sends the history in one burst, then keeps up with the clock until the
    /// returned task is aborted.
    async fn run(mut self) -> tokio::task::JoinHandle<()> {
        let n = self.catch_up().await;
        assert!(n > 1000, "the simulated history is only {n} events");
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                self.catch_up().await;
            }
        })
    }
}

/// A webhook receiver that answers every push with 200.
async fn accepting_receiver() -> SocketAddr {
    let app = axum::Router::new().route("/hook", axum::routing::post(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_prometheus_scrapes_evaluates_every_rule_and_answers_every_dashboard_query() {
    let hook = accepting_receiver().await;
    let d = configured_daemon(&format!("http://{hook}/hook")).await;
    let prom = Prometheus::start(d.addr).await;

    // Prometheus has the counters at 0 before the floor's history arrives, so the
    // whole burst shows up as an increase within its ranges.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !has_data(&prom.query("floorwatch_calls_offered_total", true).await) {
        assert!(tokio::time::Instant::now() < deadline, "the target was never scraped:\n{}", prom.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Twelve minutes: all of it inside the daemon's 15-minute window for the whole
    // test, so the recorded 15-minute ratios and the daemon's own must agree.
    let feeder = SimulatedFloor::connect(&d, chrono::Duration::minutes(12)).await.run().await;
    // A component down, reported by a second source, for the faults panels.
    let mut pbx = d.bridge(Some("pbx")).await;
    pbx.send(
        json!({"type":"fault","ts":ts_now(-30.0),"component":"trunk-2","status":"down","detail":"E1 loss"})
            .to_string(),
    )
    .await;

    let dashboards = dashboards();
    // What Prometheus calls this target, as the dashboards' instance picker lists it.
    let instance = d.addr.to_string();
    let mut pending: Vec<String> = Vec::new();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        pending.clear();
        // Every rule loaded, evaluated, healthy.
        let groups = prom.api("/api/v1/rules").await;
        let rules: Vec<&Value> = groups["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_array().into_iter().flatten())
            .collect();
        assert_eq!(
            rules.len(),
            recorded().len() + read(&root().join(RULES)).matches("- alert:").count(),
            "{groups}"
        );
        for r in &rules {
            assert_ne!(r["health"], "err", "rule {} fails: {}", r["name"], r["lastError"]);
            if r["health"] != "ok" {
                pending.push(format!("rule {} is {}", r["name"], r["health"]));
            }
        }
        // Every dashboard query, for every value a user is likely to pick.
        for dash in &dashboards {
            let vars = variables(dash);
            for (name, q) in vars.iter().filter_map(|(n, q)| Some((n, q.as_ref()?))) {
                let q = substitute(q, &[("site", ".*"), ("instance", ".*")]);
                if !has_data(&prom.label_values(&q).await) {
                    pending.push(format!("{}: variable {name}: {q} lists nothing", dash.file));
                }
            }
            let choices: &[&[(&str, &str)]] = &[
                &[("site", ".*"), ("instance", ".*"), ("queue", ".*"), ("team", ".*")],
                &[("site", SITE), ("instance", &instance), ("queue", "billing"), ("team", "team-1")],
            ];
            for choice in choices {
                for q in queries(dash) {
                    let mut values = choice.to_vec();
                    values.extend_from_slice(GRAFANA_BUILTINS);
                    let expr = substitute(&q.expr, &values);
                    if !has_data(&prom.query(&expr, q.instant).await) {
                        pending.push(format!("{}: no data for {expr}", q.at));
                    }
                }
            }
        }
        if pending.is_empty() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still, after {PATIENCE:?}:\n{}", pending.join("\n"));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    // The scrape itself is clean.
    let targets = prom.api("/api/v1/targets").await;
    let active = &targets["activeTargets"];
    assert_eq!(active.as_array().map(Vec::len), Some(1), "{targets}");
    assert_eq!(active[0]["health"], "up", "{targets}");
    assert_eq!(active[0]["lastError"], "", "{targets}");
    // The site picker lists the daemon's site, and picking it picks the daemon.
    assert_eq!(active[0]["labels"]["site"], SITE, "{targets}");
    assert_eq!(prom.label_values("label_values(floorwatch_events_total, site)").await, json!([SITE]));
    assert_eq!(
        prom.label_values(&format!("label_values(floorwatch_events_total{{site=~\"{SITE}\"}}, instance)"))
            .await,
        json!([instance])
    );

    // Every alerting rule carries a severity and a runbook that exists.
    let runbook = read(&root().join("docs/runbook.md"));
    let groups = prom.api("/api/v1/rules?type=alert").await;
    for r in groups["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_array().into_iter().flatten())
    {
        let name = r["name"].as_str().unwrap_or_default();
        assert!(matches!(r["labels"]["severity"].as_str(), Some("warning" | "critical")), "{name}: severity");
        let link = r["annotations"]["runbook"].as_str().unwrap_or_default();
        let anchor =
            link.strip_prefix("docs/runbook.md#").unwrap_or_else(|| panic!("{name}: runbook {link:?}"));
        assert_eq!(anchor, name.to_lowercase(), "{name}: runbook anchor");
        assert!(runbook.lines().any(|l| l == format!("## {name}")), "docs/runbook.md has no section {name}");
        for a in ["summary", "description"] {
            assert!(r["annotations"][a].as_str().is_some_and(|s| !s.is_empty()), "{name}: no {a}");
        }
    }

    // The recording rules, built from counters, give the daemon's own 15-minute
    // figures in every sl_abandons variant (billing: count, cards:
    // met_within_threshold, tech: exclude_within_threshold). Once the floor stops
    // and Prometheus has scraped and evaluated past the last event, exactly: the
    // history lies within both 15-minute ranges, and every counter's samples share
    // their times and start at 0, so increase() extrapolates them all alike.
    feeder.abort();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let m = loop {
        let m = d.metrics().await;
        let mut apart = Vec::new();
        for q in ["billing", "cards", "tech"] {
            for (rule, gauge) in [
                ("queue:floorwatch_answer_rate:ratio15m", "floorwatch_queue_answer_rate"),
                ("queue:floorwatch_service_level:ratio15m", "floorwatch_queue_service_level"),
            ] {
                let own = metric_sum(&m, gauge, &[("queue", q), ("window", "15m")]);
                let data = prom.query(&format!("{rule}{{queue=\"{q}\"}}"), true).await;
                let recorded: f64 =
                    data["result"][0]["value"][1].as_str().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN);
                if q == "billing" {
                    // The busiest queue: calls wait past T and some abandon.
                    assert!(
                        own > 0.0 && own < 1.0,
                        "{gauge} of {q} is {own}: the floor is not loaded enough to tell"
                    );
                }
                if (recorded - own).abs() > 1e-9 {
                    apart.push(format!("{rule} for {q}: Prometheus {recorded}, floorwatch {own}"));
                }
            }
        }
        if apart.is_empty() {
            break m;
        }
        assert!(tokio::time::Instant::now() < deadline, "{}", apart.join("\n"));
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let calls = metric_sum(&m, "floorwatch_calls_answered_total", &[]);
    assert!(calls > 50.0, "the simulated floor answered only {calls} calls");
}
