use super::*;
use crate::floor::ShiftConfig;
use crate::vocab::Language;
use crate::wallboard::ReadAccess;

fn parse_ok(text: &str) -> Config {
    match parse(text, "t.toml", &Env::new()) {
        Ok(c) => c,
        Err(e) => panic!("expected valid config, got:\n{e}"),
    }
}

fn parse_err(text: &str) -> Vec<ConfigError> {
    match parse(text, "t.toml", &Env::new()) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(ConfigErrors(e)) => e,
    }
}

#[test]
fn defaults_are_valid() {
    let c = Config::default();
    assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
    assert_eq!(c.floor.windows.rolling_secs, vec![900, 3600]);
    assert_eq!(c.floor.shifts.len(), 3);
    assert_eq!(c.ingest.max_frame_bytes, 1 << 20);
    assert!(c.ingest.token.is_none());
    let empty = parse_ok("");
    assert_eq!(empty.listen, c.listen);
}

#[test]
fn every_file_in_config_dir_is_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("config/ exists") {
        let path = entry.expect("readable entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            if let Err(e) = load(Some(&path), &Env::new()) {
                panic!("{} is invalid:\n{e}", path.display());
            }
            seen += 1;
        }
    }
    assert!(seen >= 1, "no config files checked");
}

#[test]
fn example_config_is_read_as_written() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/floorwatch.toml");
    let c = load(Some(&path), &Env::new()).expect("valid");
    assert_eq!(c.floor.queues.len(), 3);
    assert_eq!(c.floor.queues[1].params.sl_threshold_secs, 30);
    assert_eq!(c.floor.queues[2].params.sl_target, 0.7);
    assert_eq!(c.floor.teams[0].lead.as_deref(), Some("张伟"));
    // Sorted by start: night 00:00, day 08:00, evening 16:00.
    assert_eq!(c.floor.shifts[1], ShiftConfig { name: "day".into(), start_minute: 480 });
}

#[test]
fn syntax_error_has_line_and_column() {
    let e = parse_err("[server]\nlisten = \"127.0.0.1:1\"\nbroken = = 3\n");
    assert_eq!(e.len(), 1, "{}", ConfigErrors(e.clone()));
    assert_eq!(e[0].line, Some(3));
    assert!(e[0].message.starts_with("invalid TOML"), "{}", e[0]);
}

#[test]
fn unknown_key_and_wrong_type_name_the_key_and_line() {
    let e = parse_err("[server]\nlisten = \"127.0.0.1:1\"\n\n[ingest]\nmax_frame_byts = 10\n");
    assert_eq!(e[0].line, Some(5), "{}", e[0]);
    assert!(e[0].message.contains("max_frame_byts"), "{}", e[0]);

    let e = parse_err("[[queues]]\nid = \"billing\"\n\n[[queues]]\nid = \"cards\"\nsl_target = \"high\"\n");
    assert_eq!(e[0].key, "queues[1].sl_target", "{}", e[0]);
    assert_eq!(e[0].line, Some(6), "{}", e[0]);
}

#[test]
fn every_semantic_error_is_reported_with_its_place() {
    let text = r#"
[server]
listen = "not-an-address"

[floor]
timezone = "Mars/Olympus"

[[floor.shifts]]
name = "a"
start = "25:00"

[windows]
rolling_secs = [900, 1234]

[[queues]]
id = "billing"
sl_target = 80

[[queues]]
id = "billing"
"#;
    let e = parse_err(text);
    let got: Vec<(String, Option<usize>)> = e.iter().map(|e| (e.key.clone(), e.line)).collect();
    assert_eq!(
        got,
        vec![
            ("server.listen".to_string(), Some(3)),
            ("floor.timezone".to_string(), Some(6)),
            ("floor.shifts[0].start".to_string(), Some(10)),
            ("windows.rolling_secs[1]".to_string(), Some(13)),
            ("queues[0].sl_target".to_string(), Some(17)),
            ("queues[1].id".to_string(), Some(20)),
        ],
        "{}",
        ConfigErrors(e.clone())
    );
    let shown = ConfigErrors(e).to_string();
    assert!(shown.contains("t.toml:3:1: server.listen: `not-an-address` is not an address"), "{shown}");
}

#[test]
fn env_token_overrides_file() {
    let mut env = Env::new();
    env.insert(ENV_INGEST_TOKEN.into(), "from-env".into());
    let c = parse("[ingest]\ntoken = \"from-file\"\n", "t.toml", &env).expect("valid");
    assert_eq!(c.ingest.token.as_deref(), Some("from-env"));
    let c = parse("[ingest]\ntoken = \"from-file\"\n", "t.toml", &Env::new()).expect("valid");
    assert_eq!(c.ingest.token.as_deref(), Some("from-file"));
}

#[test]
fn unreadable_file_is_an_error_not_a_panic() {
    let e = load(Some(Path::new("/nonexistent/floorwatch.toml")), &Env::new()).expect_err("missing file");
    assert!(e.to_string().contains("cannot read file"), "{e}");
}

#[test]
fn alerts_and_notify_sections_are_validated_in_place() {
    let text = r#"
[alerts]
critical_factor = 0.5
queue_window_secs = 600
answer_rate_min = 80

[alerts.busy_limit_secs]
lunch = 0

[[notify.receivers]]
name = "lead"
kind = "pager"
url = "ftp://x"
"#;
    let e = parse_err(text);
    let keys: Vec<&str> = e.iter().map(|e| e.key.as_str()).collect();
    for want in [
        "alerts.critical_factor",
        "alerts.queue_window_secs",
        "alerts.answer_rate_min",
        "alerts.busy_limit_secs.lunch",
        "notify.receivers[0].kind",
    ] {
        assert!(keys.contains(&want), "no error for {want}: {keys:?}");
    }
    let cf = e.iter().find(|e| e.key == "alerts.critical_factor").expect("critical_factor error");
    assert_eq!(cf.line, Some(3));
    let kind = e.iter().find(|e| e.key == "notify.receivers[0].kind").expect("kind error");
    assert_eq!(kind.line, Some(12));
}

#[test]
fn alert_defaults_follow_the_contract() {
    let c = Config::default();
    assert_eq!(c.alerts.acw_overrun_secs, 120);
    assert_eq!(c.alerts.busy_default_secs, 900);
    assert_eq!(c.alerts.source_timeout_secs, 15);
    assert_eq!(c.alerts.busy_limit_secs.get("lunch"), Some(&3600));
    assert!(c.notify.receivers.is_empty());
}

#[test]
fn wallboard_section_is_validated_and_follows_the_alert_rules() {
    let c = Config::default();
    assert_eq!(c.wallboard.read_access, ReadAccess::Lan);
    assert_eq!(c.wallboard.push_interval_ms, 200);
    assert_eq!(c.wallboard.window, "15m");
    assert_eq!(c.floor.snapshot_interval_ms, 100);
    // Ten wall updates a second are allowed; fewer than that is not a wall.
    assert_eq!(parse_ok("[wallboard]\npush_interval_ms = 100\n").wallboard.push_interval_ms, 100);
    // Thresholds not given follow [alerts], so a tile turns red with its alert.
    let c = parse_ok("[alerts]\nlongest_wait_max_secs = 45\nanswer_rate_min = 0.9\n");
    assert_eq!(c.wallboard.longest_wait_crit_secs, 45);
    assert_eq!(c.wallboard.longest_wait_warn_secs, 22);
    assert_eq!(c.wallboard.answer_rate_crit, 0.9);
    assert!((c.wallboard.answer_rate_warn - 0.95).abs() < 1e-9);
    let c = parse_ok(
        "[windows]\nrolling_secs = [180, 900]\n[wallboard]\nwindow = \"3m\"\nread_access = \"loopback\"\n",
    );
    assert_eq!(c.wallboard.window, "3m");
    assert_eq!(c.wallboard.read_access, ReadAccess::Loopback);
    assert_eq!(c.wallboard.agent_cells_max, 1000, "the default");
    assert_eq!(parse_ok("[wallboard]\nagent_cells_max = 0\n").wallboard.agent_cells_max, 0);

    let errs = parse_err(
        "[wallboard]\npush_interval_ms = 99\nwindow = \"5m\"\nwaiting_warn = 9\nwaiting_crit = 3\n\
         answer_rate_warn = 0.7\nanswer_rate_crit = 0.8\nservice_level_warn_margin = 2.0\n\
         agent_cells_max = 100001\n",
    );
    let keys: Vec<&str> = errs.iter().map(|e| e.key.as_str()).collect();
    for key in [
        "wallboard.push_interval_ms",
        "wallboard.window",
        "wallboard.waiting_warn",
        "wallboard.answer_rate_warn",
        "wallboard.service_level_warn_margin",
        "wallboard.agent_cells_max",
    ] {
        assert!(keys.contains(&key), "{key} not reported: {keys:?}");
    }
    assert!(errs.iter().all(|e| e.line.is_some()), "every problem has its line: {errs:?}");
    let errs = parse_err("[wallboard]\nread_access = \"everyone\"\n");
    assert_eq!(errs[0].key, "wallboard.read_access");
}

#[test]
fn a_misspelt_kind_in_a_receiver_is_refused_with_its_place_and_the_valid_kinds() {
    let text = r#"
[[notify.receivers]]
name = "sup"
kind = "webhook"
url = "https://hooks.example/sup"
kinds = ["system_fault", "acw_overun", "incident"]
"#;
    let e = parse_err(text);
    assert_eq!(e.len(), 1, "{e:?}");
    let k = &e[0];
    assert_eq!(k.key, "notify.receivers[0].kinds[1]");
    assert_eq!((k.line, k.column), (Some(6), Some(26)), "{k}");
    assert!(k.message.contains("\"acw_overun\""), "{k}");
    for valid in crate::vocab::Kind::ALL.map(|k| k.as_str()).into_iter().chain(["incident"]) {
        assert!(k.message.contains(valid), "{valid} not listed: {k}");
    }
    assert!(k.to_string().starts_with("t.toml:6:26: notify.receivers[0].kinds[1]: unknown kind"), "{k}");
    // Spelt right, the same receiver is fine.
    let c = parse_ok(&text.replace("acw_overun", "acw_overrun"));
    assert_eq!(c.notify.receivers[0].kinds.len(), 3);
}

#[test]
fn a_misspelt_kind_in_a_playbook_is_refused_with_its_place_and_the_valid_kinds() {
    let text = r#"
[[incidents.playbooks]]
kind = "traffic_surge"
queue = "cards"

[[incidents.playbooks]]
kind = "trafic_surge"
"#;
    let e = parse_err(text);
    assert_eq!(e.len(), 1, "{e:?}");
    let k = &e[0];
    assert_eq!(k.key, "incidents.playbooks[1].kind");
    assert_eq!((k.line, k.column), (Some(7), Some(1)), "{k}");
    assert!(k.message.contains("\"trafic_surge\""), "{k}");
    for valid in ["traffic_surge", "answer_rate_low", "source_down", "system_fault", "manual"] {
        assert!(k.message.contains(valid), "{valid} not listed: {k}");
    }
    assert!(!k.message.contains("acw_overrun"), "agent kinds open no incident: {k}");
    // An agent's kind is a real kind, but not a playbook's.
    let e = parse_err("[[incidents.playbooks]]\nkind = \"busy_overrun\"\n");
    assert_eq!(e.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(), ["incidents.playbooks[0].kind"]);
    assert!(e[0].message.contains("one agent's alert"), "{}", e[0]);
}

#[test]
fn the_owners_defaults_are_the_sections_of_the_default_config() {
    // Owners' own tests build from these, not from the whole `Config`.
    let c = Config::default();
    assert_eq!(format!("{:?}", crate::floor::FloorConfig::default()), format!("{:?}", c.floor));
    let a = crate::rules::AlertsConfig::default();
    assert_eq!(a.queue_window_secs, c.alerts.queue_window_secs);
    assert_eq!(a.busy_limit_secs, c.alerts.busy_limit_secs);
    assert_eq!((a.language, a.acw_overrun_secs, a.min_calls), (c.alerts.language, 120, 20));
}

#[test]
fn operations_keys_log_format_retention_and_notify_context() {
    let c = parse_ok(
        "[server]\nlog_format = \"json\"\n[floor]\ntimezone = \"Asia/Shanghai\"\n\
         [retention]\nalerts_days = 30\naudit_days = 0\n",
    );
    assert_eq!(c.log_format, LogFormat::Json);
    assert_eq!((c.retention.alerts_days, c.retention.audit_days, c.retention.faults_days), (30, 0, 365));
    assert_eq!(c.notify.timezone, chrono_tz::Asia::Shanghai);
    let env: Env = [("HTTPS_PROXY".to_owned(), "http://proxy:3128".to_owned())].into();
    let c = parse("", "t.toml", &env).expect("valid");
    assert_eq!(c.notify.proxy.https.as_deref(), Some("http://proxy:3128"));
    let keys: Vec<String> = parse_err("[server]\nlog_format = \"xml\"\n[retention]\nfaults_days = 99999\n")
        .into_iter()
        .map(|e| e.key)
        .collect();
    assert_eq!(keys, ["server.log_format", "retention.faults_days"]);
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("f.toml");
    std::fs::write(&f, "[server]\nlog_format = \"json\"\n[oops").expect("write");
    assert_eq!(peek_log_format(&f), None, "an unreadable file: the full load reports it");
    std::fs::write(&f, "[server]\nlog_format = \"json\"\n").expect("write");
    assert_eq!(peek_log_format(&f), Some(LogFormat::Json));
}

/// Six mistakes of three sorts (a syntax error, values serde refuses, semantic
/// checks) used to need three runs; one run reports all six, each at its place.
#[test]
fn six_mistakes_are_reported_in_one_run_each_at_its_line_and_column() {
    let text = "[server]\nlisten = \"nowhere\"\nlisten_port = 3\n\n[ingest]\nmax_frame_bytes = \"big\"\n\n\
                [floor]\ntimezone = \"Mars\"\nbroken = = 1\n\n[[queues]]\nid = \"q\"\nsl_target = 80\n\n\
                [[queues]]\nid = \"r\"\nsl_threshold_secs = 20\n";
    let e = parse_err(text);
    let got: Vec<(Option<usize>, Option<usize>)> = e.iter().map(|e| (e.line, e.column)).collect();
    assert_eq!(e.len(), 6, "{}", ConfigErrors(e.clone()));
    let lines: Vec<usize> = got.iter().map(|(l, _)| l.unwrap_or(0)).collect();
    assert_eq!(lines, vec![2, 3, 6, 9, 10, 14], "{}", ConfigErrors(e.clone()));
    let shown = ConfigErrors(e.clone()).to_string();
    for needle in [
        "t.toml:2:1: server.listen",
        "t.toml:3:1: server.listen_port: unknown field",
        "t.toml:6:19: ingest.max_frame_bytes",
        "t.toml:9:1: floor.timezone",
        "t.toml:10:10: invalid TOML",
        "t.toml:14:1: queues[0].sl_target",
    ] {
        assert!(shown.contains(needle), "{needle} missing from:\n{shown}");
    }
    assert!(!shown.contains("floor.broken"), "a line that is no TOML is reported once:\n{shown}");
}

/// `[limits]` reaches the floor, and a bad limit is placed at its line and column.
#[test]
fn limits_are_read_and_placed() {
    let c = parse_ok("[limits]\nmax_agents = 10000\nmax_field_bytes = 128\n");
    assert_eq!((c.limits.max_agents, c.floor.limits.max_agents), (10_000, 10_000));
    assert_eq!(c.limits.max_field_bytes, 128);
    assert_eq!(c.floor.limits.max_calls, 200_000, "defaults stay");
    let e = parse_err("version = 1\n[limits]\n  max_calls = 0\n");
    assert_eq!((e[0].key.as_str(), e[0].line, e[0].column), ("limits.max_calls", Some(3), Some(3)));
    let e = parse_err("[limits]\nmax_agentz = 5\n");
    assert!(e[0].message.contains("unknown field"), "{}", e[0].message);
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    fn toml_ish() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("\n".to_string()),
            Just("[limits]".to_string()),
            Just("[floor]".to_string()),
            Just("[[queues]]".to_string()),
            Just("[[floor.shifts]]".to_string()),
            Just("[alerts]".to_string()),
            Just("[[notify.receivers]]".to_string()),
            Just("max_agents = ".to_string()),
            Just("id = ".to_string()),
            Just("start = ".to_string()),
            Just("timezone = ".to_string()),
            Just("rolling_secs = ".to_string()),
            Just("sl_target = ".to_string()),
            Just("\"08:00\"".to_string()),
            Just("[1, 2]".to_string()),
            Just("-1".to_string()),
            Just("1e309".to_string()),
            Just("9223372036854775808".to_string()),
            Just("0".to_string()),
            Just("true".to_string()),
            Just("{ a = 1 }".to_string()),
            "\"[^\"\n]{0,20}\"",
            "[ -~]{0,10}",
        ];
        proptest::collection::vec(piece, 0..30).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// The fuzz target's body: the loader never panics, and every error it
        /// reports has a message.
        #[test]
        fn the_loader_never_panics(text in toml_ish()) {
            fuzz_parse(text.as_bytes());
        }

        #[test]
        fn the_loader_never_panics_on_bytes(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            fuzz_parse(&data);
        }
    }
}

#[test]
fn alert_messages_get_the_display_names_of_queues_and_components() {
    let c = parse_ok(include_str!("../../config/demo.toml"));
    let names = &c.alerts.names;
    assert_eq!(names.queue("billing", Language::En), "Billing");
    assert_eq!(names.queue("billing", Language::ZhCn), "账单查询");
    assert_eq!(names.component("trunk-2", Language::En), "trunk line 2");
    assert_eq!(names.component("ivr", Language::ZhCn), "自助语音");
    assert_eq!(names.queue("nowhere", Language::En), "nowhere", "an unknown id is said as it is");
}
