//! Replay and record (issue 15): the February file to the data set's own
//! figures, a live day recorded and replayed to the daemon's own counts, and
//! the command line writing its JSON and HTML reports.

use std::path::{Path, PathBuf};
use std::process::Command;

use floorwatch::config::Config;
use floorwatch::ingest::anonymous_bank::Service;
use floorwatch::ingest::record::RecordConfig;
use floorwatch::replay::{self, Format, Options, Origin, Stream};
use serde_json::Value;

use crate::harness::{TestDaemon, metric_sum, ts};

const BIN: &str = env!("CARGO_BIN_EXE_floorwatch");

/// The shared data folder: beside the clone in CI, or this machine's.
fn shared_data() -> Option<PathBuf> {
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    [beside, PathBuf::from("/work/shared/data")].into_iter().find(|p| p.is_dir())
}

fn offline(format: Format, text: &str) -> replay::report::Report {
    let cfg = Config::default();
    let stream = Stream::read(format, text).expect("readable");
    let opts = Options::for_format(format, &cfg);
    replay::run(stream, &cfg, &opts, &mut |_, _| {}).0
}

/// The whole of February through the engine: every queue's offered, answered and
/// abandoned are the data set's own (the reader's totals, as its README counts
/// them), and the report says what was inferred.
#[test]
fn february_replays_to_the_data_sets_own_figures() {
    let Some(dir) = shared_data() else { return };
    let path = dir.join("anonymous-bank-1999/data_anonymous_bank_february.txt");
    let Ok(text) = std::fs::read_to_string(&path) else { return };
    let stream = Stream::read(Format::AnonymousBank, &text).expect("the February file reads");
    let Origin::AnonymousBank(reading) = &stream.origin else { unreachable!("anonymous-bank") };
    let totals = reading.totals.clone();
    assert_eq!(
        totals.all().offered + totals.all().ivr_abandoned + totals.all().phantoms,
        reading.rows - reading.rejected.len() as u64
    );
    let cfg = Config::default();
    let opts = Options::for_format(Format::AnonymousBank, &cfg);
    let (r, _) = replay::run(stream, &cfg, &opts, &mut |_, _| {});
    for s in Service::ALL {
        let want = totals.get(s);
        if want.offered == 0 {
            assert!(!r.queues.contains_key(s.queue_id()));
            continue;
        }
        let got = &r.queues[s.queue_id()];
        assert_eq!(
            (got.offered, got.answered, got.abandoned),
            (want.offered, want.answered, want.abandoned),
            "{}",
            s.queue_id()
        );
        assert_eq!(got.days.iter().map(|d| u64::from(d.offered)).sum::<u64>(), got.offered);
    }
    // 33,344 calls in the README; the served and abandoned ones are the floor's.
    assert!(totals.all().offered > 30_000, "{:?}", totals.all());
    assert_eq!(r.period.timezone, "Asia/Jerusalem");
    assert!(r.inferences.iter().any(|i| i.key == "acw") && r.notes.iter().any(|n| n.key == "sources"));
    assert_eq!(r.alerts_by_kind["source_down"], 0, "no heartbeats in the data: sources are not judged");
}

/// A day recorded by the live daemon replays to the totals it counted: a bridge
/// streams a small floor, the daemon (recording) is shut down, the recording is
/// replayed and compared queue by queue with the daemon's `/metrics`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_day_replays_to_the_totals_the_daemon_counted() {
    let rec = tempfile::tempdir().expect("tmp");
    let mut cfg = Config::default();
    cfg.record = Some(RecordConfig {
        path: rec.path().join("floor.jsonl"),
        max_bytes: 4096, // several parts: the parts of a day replay together
        timezone: cfg.floor.timezone,
    });
    let d = TestDaemon::with_config(cfg).await;
    let mut bridge = d.bridge(Some("acd-1")).await;
    let mut seq = 0;
    let mut sent = 0u64;
    let mut frame = Vec::new();
    let mut push = |frame: &mut Vec<String>, body: String| {
        seq += 1;
        frame.push(format!("{{\"seq\":{seq},{body}}}"));
    };
    for a in 0..4 {
        push(&mut frame, format!(r#""type":"agent_login","ts":"{}","agent":"A{a}""#, ts(0.0)));
    }
    for i in 0..120 {
        let t = 1.0 + f64::from(i) * 2.5;
        let q = ["billing", "sales", "support"][i as usize % 3];
        push(
            &mut frame,
            format!(
                r#""type":"call_offered","ts":"{}","call":"C{i}","queue":"{q}","caller":"+86{i}""#,
                ts(t)
            ),
        );
        if i % 4 == 3 {
            push(&mut frame, format!(r#""type":"call_abandoned","ts":"{}","call":"C{i}""#, ts(t + 30.0)));
        } else if i % 4 != 2 {
            push(
                &mut frame,
                format!(
                    r#""type":"call_answered","ts":"{}","call":"C{i}","agent":"A{}""#,
                    ts(t + 3.0),
                    i % 4
                ),
            );
            push(
                &mut frame,
                format!(r#""type":"call_ended","ts":"{}","call":"C{i}","agent":"A{}""#, ts(t + 20.0), i % 4),
            );
        }
        // (i % 4 == 2: still waiting at the end.)
        if frame.len() >= 25 {
            sent += frame.len() as u64;
            bridge.send(format!("[{}]", frame.join(","))).await;
            frame.clear();
        }
    }
    // A resend of an earlier frame's numbers: dropped as duplicates, not recorded.
    push(&mut frame, format!(r#""type":"heartbeat","ts":"{}""#, ts(400.0)));
    sent += frame.len() as u64;
    bridge.send(format!("[{}]", frame.join(","))).await;
    bridge.send(format!(r#"[{{"seq":3,"type":"heartbeat","ts":"{}"}}]"#, ts(401.0))).await;
    d.wait_events(sent).await;
    let metrics = d.metrics().await;
    bridge.close().await;
    d.shutdown().await.expect("clean shutdown");

    let mut parts: Vec<PathBuf> =
        std::fs::read_dir(rec.path()).expect("dir").flatten().map(|e| e.path()).collect();
    // Named so that name order is the order written.
    parts.sort();
    assert!(parts.len() > 1, "rotated by size: {parts:?}");
    let text: String = parts.iter().map(|p| std::fs::read_to_string(p).expect("part")).collect();
    assert_eq!(text.lines().count() as u64, sent, "every accepted event recorded once, nothing else");
    assert!(text.lines().all(|l| l.contains("\"source\":\"acd-1\"") && l.contains("\"seq\":")));
    let r = offline(Format::Canonical, &text);
    for q in ["billing", "sales", "support"] {
        let live = |name| metric_sum(&metrics, name, &[("queue", q)]) as u64;
        let got = &r.queues[q];
        assert_eq!(
            (got.offered, got.answered, got.abandoned),
            (
                live("floorwatch_calls_offered_total"),
                live("floorwatch_calls_answered_total"),
                live("floorwatch_calls_abandoned_total")
            ),
            "{q}"
        );
        assert_eq!(got.offered, 40);
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Asserts `v` has each key with one of the given types.
fn shape(v: &Value, what: &str, keys: &[(&str, &[&str])]) {
    for (k, types) in keys {
        let t = v.get(*k).map_or("missing", kind);
        assert!(types.contains(&t), "{what}.{k} is {t}, not {types:?}: {v}");
    }
}

/// The built binary on a small canonical file: a JSON report of contract §1's
/// shape (keys and types checked) and an HTML page, both from the same run.
#[test]
fn the_command_writes_json_and_html_reports() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("day.jsonl");
    let t = |s: u32| format!("2026-11-23T08:{:02}:{:02}.000Z", s / 60, s % 60);
    let mut lines = vec![
        format!(r#"{{"type":"agent_login","ts":"{}","source":"acd","seq":1,"agent":"A1"}}"#, t(0)),
        format!(
            r#"{{"type":"call_offered","ts":"{}","source":"acd","seq":2,"call":"C1","queue":"billing"}}"#,
            t(5)
        ),
        format!(
            r#"{{"type":"call_answered","ts":"{}","source":"acd","seq":3,"call":"C1","agent":"A1"}}"#,
            t(9)
        ),
        format!(
            r#"{{"type":"call_ended","ts":"{}","source":"acd","seq":4,"call":"C1","agent":"A1"}}"#,
            t(60)
        ),
        format!(
            r#"{{"type":"agent_state","ts":"{}","source":"acd","seq":5,"agent":"A1","state":"acw"}}"#,
            t(60)
        ),
        format!(
            r#"{{"type":"call_offered","ts":"{}","source":"acd","seq":6,"call":"C2","queue":"billing"}}"#,
            t(70)
        ),
        format!(r#"{{"type":"call_abandoned","ts":"{}","source":"acd","seq":7,"call":"C2"}}"#, t(100)),
    ];
    lines.push("not json".to_owned());
    std::fs::write(&file, lines.join("\n")).expect("write");

    let json = dir.path().join("out.json");
    let out = Command::new(BIN)
        .args(["replay", "--format", "canonical"])
        .arg(&file)
        .arg("--report")
        .arg(&json)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Not a terminal: no progress bar.
    assert!(!String::from_utf8_lossy(&out.stderr).contains('\r'));
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("report")).expect("JSON");
    shape(
        &r,
        "report",
        &[
            ("format", &["string"]),
            ("period", &["object"]),
            ("events", &["object"]),
            ("queues", &["object"]),
            ("alerts", &["array"]),
            ("alerts_by_kind", &["object"]),
            ("incidents", &["array"]),
            ("lost_callers", &["number"]),
            ("inferences", &["array"]),
            ("notes", &["array"]),
            ("canonical", &["object"]),
        ],
    );
    shape(
        &r["period"],
        "period",
        &[("from", &["string"]), ("to", &["string"]), ("timezone", &["string"]), ("days", &["number"])],
    );
    let q = &r["queues"]["billing"];
    shape(
        q,
        "queue",
        &[
            ("offered", &["number"]),
            ("answered", &["number"]),
            ("abandoned", &["number"]),
            ("answer_rate", &["number", "null"]),
            ("service_level", &["number", "null"]),
            ("asa_secs", &["number", "null"]),
            ("days", &["array"]),
            ("busiest", &["array"]),
            ("worst", &["array"]),
        ],
    );
    assert_eq!(
        (q["offered"].as_u64(), q["answered"].as_u64(), q["abandoned"].as_u64()),
        (Some(2), Some(1), Some(1))
    );
    shape(
        &q["days"][0],
        "day",
        &[
            ("date", &["string"]),
            ("offered", &["number"]),
            ("answer_rate", &["number", "null"]),
            ("service_level", &["number", "null"]),
        ],
    );
    shape(
        &q["busiest"][0],
        "interval",
        &[
            ("start", &["string"]),
            ("end", &["string"]),
            ("offered", &["number"]),
            ("expected", &["number", "null"]),
        ],
    );
    assert_eq!(r["canonical"]["rejected"]["bad_json"].as_u64(), Some(1), "{}", r["canonical"]);
    // The agent left in ACW is overrun (contract §5's shape, both languages).
    let a = r["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .find(|a| a["kind"] == "acw_overrun")
        .expect("an acw overrun");
    shape(
        a,
        "alert",
        &[
            ("id", &["string"]),
            ("kind", &["string"]),
            ("severity", &["string"]),
            ("state", &["string"]),
            ("subject", &["object"]),
            ("started_at", &["string"]),
            ("raised_at", &["string"]),
            ("message", &["string"]),
            ("messages", &["object"]),
        ],
    );
    assert_eq!(a["subject"]["agent"], "A1");
    assert_eq!(a["raised_at"], "2026-11-23T08:03:00.000Z", "at the 120 s threshold in stream time");
    assert!(a["messages"]["zh-CN"].is_string() && a["messages"]["en"].is_string());

    let html = dir.path().join("out.html");
    let out = Command::new(BIN)
        .args(["replay", "--format", "canonical"])
        .arg(&file)
        .arg("--report")
        .arg(&html)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let page = std::fs::read_to_string(&html).expect("page");
    assert!(page.starts_with("<!doctype html>") && page.contains("<svg") && page.contains("billing"));
    assert!(page.contains("接通率") && page.contains("Answer rate"), "both languages");
    assert!(
        !page.contains("<script") && !page.contains("http://") && !page.contains("https://"),
        "self-contained"
    );

    // A report name the command cannot write is refused before any work.
    let out = Command::new(BIN)
        .args(["replay", "--format", "canonical"])
        .arg(&file)
        .args(["--report", "x.pdf"])
        .output()
        .expect("run");
    assert!(!out.status.success());
}
