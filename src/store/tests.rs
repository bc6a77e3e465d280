//! Tests of the store against real SQLite files in temporary directories.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use tempfile::TempDir;

use super::*;
use crate::event::Id;

mod lifecycle;

const T0: i64 = 1_795_420_800_000;

fn alert(id: &str, kind: &str, state: &str, started_at: i64) -> AlertRecord {
    AlertRecord {
        id: id.into(),
        kind: Kind::parse(kind).expect("a kind"),
        severity: Severity::Warning,
        state: AlertState::parse(state).expect("a state"),
        agent: None,
        team: None,
        queue: None,
        source: None,
        component: None,
        started_at,
        updated_at: started_at,
        resolved_at: None,
        acked_by: None,
        acked_at: None,
        ack_note: None,
        message: format!("{kind} fired"),
        message_zh: format!("{kind} 告警"),
        message_en: format!("{kind} fired"),
        fired_severity: Severity::Warning,
        value: None,
        threshold: None,
        notified_at: None,
        escalated: false,
    }
}

/// Every optional field set, so a mapping slip on any column shows up.
fn full_alert() -> AlertRecord {
    AlertRecord {
        id: "acw_overrun:agent=A0007:1795420801250".into(),
        kind: Kind::AcwOverrun,
        severity: Severity::Critical,
        state: AlertState::Firing,
        agent: Some("A0007".into()),
        team: Some("billing-1".into()),
        queue: Some("billing".into()),
        source: Some("acd-east".into()),
        component: Some("ingest".into()),
        started_at: T0 + 1_250,
        updated_at: T0 + 9_000,
        resolved_at: Some(T0 + 20_000),
        acked_by: Some("sup-li".into()),
        acked_at: Some(T0 + 5_000),
        ack_note: Some("calling back, 中文 ok".into()),
        message: "ACW 95 s over 60 s".into(),
        message_zh: "话后处理 95 秒，超过 60 秒".into(),
        message_en: "ACW 95 s over 60 s".into(),
        fired_severity: Severity::Warning,
        value: Some(35.5),
        threshold: Some(60.0),
        notified_at: Some(T0 + 2_000),
        escalated: true,
    }
}

fn open(dir: &Path) -> StoreHandle {
    match StoreHandle::open(dir) {
        Ok(s) => s,
        Err(e) => panic!("open {}: {e}", dir.display()),
    }
}

fn tmp() -> TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// A second, independent connection: sees only what was committed to the file.
fn reader(dir: &Path) -> Connection {
    Connection::open_with_flags(dir.join(DB_FILE), OpenFlags::SQLITE_OPEN_READ_ONLY).expect("read-only open")
}

fn ids(v: &[AlertRecord]) -> Vec<&str> {
    v.iter().map(|a| a.id.as_str()).collect()
}

/// `(ts, actor, action, alert_id, note)`.
type AuditRow = (i64, String, String, Option<String>, Option<String>);

fn audit_rows(conn: &Connection) -> Vec<AuditRow> {
    let mut stmt =
        conn.prepare("SELECT ts, actor, action, alert_id, note FROM audit ORDER BY id").expect("prepare");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

#[tokio::test]
async fn open_creates_the_directory_and_the_file() {
    let t = tmp();
    let dir = t.path().join("a/b/c");
    let s = open(&dir);
    assert!(dir.join(DB_FILE).is_file());
    s.ping().await.expect("ping");
    s.close().await;
}

#[tokio::test]
async fn save_then_get_returns_the_same_record() {
    let t = tmp();
    let s = open(t.path());
    let full = full_alert();
    let bare = alert("bare", "traffic_surge", "firing", T0);
    s.save_alert(full.clone()).await.expect("save full");
    s.save_alert(bare.clone()).await.expect("save bare");
    assert_eq!(s.get_alert(full.id.clone()).await.expect("get"), Some(full));
    assert_eq!(s.get_alert("bare".into()).await.expect("get"), Some(bare));
    assert_eq!(s.get_alert("nope".into()).await.expect("get"), None);
}

#[tokio::test]
async fn save_replaces_the_whole_record() {
    let t = tmp();
    let s = open(t.path());
    let full = full_alert();
    s.save_alert(full.clone()).await.expect("save");
    // Same id, every optional field cleared: nothing of the old row may survive.
    let mut next = alert(&full.id, "acw_overrun", "resolved", full.started_at);
    next.updated_at = T0 + 99_000;
    s.save_alert(next.clone()).await.expect("replace");
    assert_eq!(s.get_alert(full.id.clone()).await.expect("get"), Some(next));
    let n: i64 = s
        .inspect(|c| c.query_row("SELECT count(*) FROM alerts", [], |r| r.get(0)))
        .await
        .expect("inspect")
        .expect("count");
    assert_eq!(n, 1);
}

#[tokio::test]
async fn save_still_replaces_an_audited_alert() {
    // The audit table references alerts: a delete-and-insert replace would fail here.
    let t = tmp();
    let s = open(t.path());
    s.save_alert(alert("x", "acw_overrun", "firing", T0)).await.expect("save");
    s.ack_alert("x".into(), "sup".into(), None, T0 + 1).await.expect("ack");
    let resolved = alert("x", "acw_overrun", "resolved", T0);
    s.save_alert(resolved.clone()).await.expect("replace after ack");
    assert_eq!(s.get_alert("x".into()).await.expect("get"), Some(resolved));
}

#[tokio::test]
async fn invalid_state_is_refused_and_the_store_goes_on() {
    // `AlertRecord` cannot spell a bad state or severity; the schema still refuses
    // one from any other writer of the file.
    let t = tmp();
    let s = open(t.path());
    let insert = |id: &'static str, severity: &'static str, state: &'static str| {
        s.inspect(move |c| {
            c.execute(
                "INSERT INTO alerts (id, kind, severity, state, started_at, updated_at, message, escalated)
                 VALUES (?1, 'acw_overrun', ?2, ?3, 0, 0, 'm', 0)",
                rusqlite::params![id, severity, state],
            )
        })
    };
    let err = insert("x", "warning", "open").await.expect("inspect").expect_err("bad state");
    assert!(matches!(err, rusqlite::Error::SqliteFailure(..)), "{err:?}");
    assert!(insert("y", "fatal", "firing").await.expect("inspect").is_err(), "bad severity");
    assert_eq!(s.get_alert("x".into()).await.expect("get"), None);
    s.save_alert(alert("z", "acw_overrun", "firing", T0)).await.expect("store still works");
}

#[tokio::test]
async fn a_row_of_an_unknown_kind_reads_as_an_error_naming_it() {
    let t = tmp();
    let s = open(t.path());
    s.inspect(|c| {
        c.execute(
            "INSERT INTO alerts (id, kind, severity, state, started_at, updated_at, message, escalated)
             VALUES ('x', 'coffee_break', 'info', 'firing', 0, 0, 'm', 0)",
            [],
        )
    })
    .await
    .expect("inspect")
    .expect("kind has no CHECK");
    let err = s.get_alert("x".into()).await.expect_err("unknown kind");
    assert!(matches!(err, StoreError::Sqlite(_)) && err.to_string().contains("coffee_break"), "{err}");
    s.save_alert(alert("z", "acw_overrun", "firing", T0)).await.expect("store still works");
}

async fn seed_for_filters(s: &StoreHandle) {
    let mut a = alert("a", "acw_overrun", "firing", T0 + 1_000);
    a.team = Some("t1".into());
    a.queue = Some("billing".into());
    let mut b = alert("b", "traffic_surge", "resolved", T0 + 2_000);
    b.queue = Some("billing".into());
    let mut c = alert("c", "acw_overrun", "acknowledged", T0 + 3_000);
    c.team = Some("t2".into());
    let mut d = alert("d", "service_level_low", "firing", T0 + 4_000);
    d.team = Some("t1".into());
    d.queue = Some("sales".into());
    for x in [a, b, c, d] {
        s.save_alert(x).await.expect("seed");
    }
}

#[tokio::test]
async fn list_alerts_applies_each_filter_newest_first() {
    let t = tmp();
    let s = open(t.path());
    seed_for_filters(&s).await;
    let list = |f: AlertFilter| {
        let s = s.clone();
        async move { s.list_alerts(f).await.expect("list") }
    };
    let some = |v: &str| Some(v.to_string());
    let state = |v: &str| AlertState::parse(v);
    let kind = |v: &str| Kind::parse(v);
    assert_eq!(ids(&list(AlertFilter::default()).await), ["d", "c", "b", "a"]);
    assert_eq!(ids(&list(AlertFilter { state: state("firing"), ..Default::default() }).await), ["d", "a"]);
    assert_eq!(ids(&list(AlertFilter { kind: kind("acw_overrun"), ..Default::default() }).await), ["c", "a"]);
    assert_eq!(ids(&list(AlertFilter { team: some("t1"), ..Default::default() }).await), ["d", "a"]);
    assert_eq!(ids(&list(AlertFilter { queue: some("billing"), ..Default::default() }).await), ["b", "a"]);
    assert_eq!(
        ids(&list(AlertFilter { since_ms: Some(T0 + 2_000), ..Default::default() }).await),
        ["d", "c", "b"]
    );
    assert_eq!(ids(&list(AlertFilter { limit: 2, ..Default::default() }).await), ["d", "c"]);
    let all = AlertFilter {
        state: state("firing"),
        kind: kind("acw_overrun"),
        team: some("t1"),
        queue: some("billing"),
        since_ms: Some(T0),
        limit: 10,
    };
    assert_eq!(ids(&list(all).await), ["a"]);
    // Values are parameters, never SQL.
    assert!(list(AlertFilter { team: some("t1' OR 1=1 --"), ..Default::default() }).await.is_empty());
}

#[tokio::test]
async fn list_alerts_defaults_to_500() {
    let t = tmp();
    let s = open(t.path());
    // One transaction for the bulk: 510 separate FULL-sync commits would be slow.
    s.inspect(|c| -> rusqlite::Result<()> {
        let tx = c.transaction()?;
        for i in 0..510_i64 {
            tx.execute(
                "INSERT INTO alerts (id, kind, severity, state, started_at, updated_at, message, escalated)
                 VALUES (?1, 'traffic_surge', 'info', 'resolved', ?2, ?2, 'm', 0)",
                rusqlite::params![format!("bulk{i:04}"), T0 + i],
            )?;
        }
        tx.commit()
    })
    .await
    .expect("inspect")
    .expect("bulk insert");
    let got = s.list_alerts(AlertFilter::default()).await.expect("list");
    assert_eq!(got.len(), 500);
    assert_eq!(got[0].id, "bulk0509");
    assert_eq!(
        s.list_alerts(AlertFilter { limit: 600, ..Default::default() }).await.expect("list").len(),
        510
    );
}

#[tokio::test]
async fn ack_updates_the_record_and_writes_an_audit_row() {
    let t = tmp();
    let s = open(t.path());
    s.save_alert(alert("x", "acw_overrun", "firing", T0)).await.expect("save");
    let got = s.ack_alert("x".into(), "sup-li".into(), Some("on it".into()), T0 + 7_000).await.expect("ack");
    let mut want = alert("x", "acw_overrun", "acknowledged", T0);
    want.acked_by = Some("sup-li".into());
    want.acked_at = Some(T0 + 7_000);
    want.ack_note = Some("on it".into());
    want.updated_at = T0 + 7_000;
    assert_eq!(got, Some(want.clone()));
    assert_eq!(s.get_alert("x".into()).await.expect("get"), Some(want));
    let rows = audit_rows(&reader(t.path()));
    assert_eq!(rows, [(T0 + 7_000, "sup-li".into(), "ack".into(), Some("x".into()), Some("on it".into()))]);
}

#[tokio::test]
async fn ack_of_an_unknown_id_is_none_and_audits_nothing() {
    let t = tmp();
    let s = open(t.path());
    s.save_alert(alert("x", "acw_overrun", "firing", T0)).await.expect("save");
    assert_eq!(s.ack_alert("nope".into(), "sup".into(), None, T0).await.expect("ack"), None);
    assert!(audit_rows(&reader(t.path())).is_empty());
    assert_eq!(s.get_alert("x".into()).await.expect("get").map(|a| a.state), Some(AlertState::Firing));
}

#[tokio::test]
async fn ack_of_a_resolved_alert_keeps_it_resolved() {
    let t = tmp();
    let s = open(t.path());
    s.save_alert(alert("x", "acw_overrun", "resolved", T0)).await.expect("save");
    let got = s.ack_alert("x".into(), "sup".into(), None, T0 + 5).await.expect("ack").expect("found");
    assert_eq!((got.state, got.acked_by.as_deref()), (AlertState::Resolved, Some("sup")));
    assert!(s.open_alerts().await.expect("open").is_empty());
    assert_eq!(audit_rows(&reader(t.path())).len(), 1);
}

#[tokio::test]
async fn open_alerts_excludes_resolved_oldest_first() {
    let t = tmp();
    let s = open(t.path());
    seed_for_filters(&s).await;
    assert_eq!(ids(&s.open_alerts().await.expect("open")), ["a", "c", "d"]);
}

#[tokio::test]
async fn kv_round_trip() {
    let t = tmp();
    let s = open(t.path());
    assert_eq!(s.get_kv("baseline".into()).await.expect("get"), None);
    s.put_kv("baseline".into(), r#"{"mon":[1,2]}"#.into()).await.expect("put");
    assert_eq!(s.get_kv("baseline".into()).await.expect("get").as_deref(), Some(r#"{"mon":[1,2]}"#));
    s.put_kv("baseline".into(), "v2".into()).await.expect("overwrite");
    assert_eq!(s.get_kv("baseline".into()).await.expect("get").as_deref(), Some("v2"));
    assert_eq!(s.get_kv("other".into()).await.expect("get"), None);
}

/// Baselines live under the store's own keys (the same ones earlier versions
/// wrote, so a data directory's profiles still load), apart from other pairs.
#[tokio::test]
async fn baselines_round_trip_under_their_own_keys() {
    let t = tmp();
    let s = open(t.path());
    s.put_kv("other".into(), "x".into()).await.expect("put");
    assert!(s.load_baselines().await.expect("load").is_empty());
    let saved =
        vec![(Id::from("billing"), "{\"b\":1}".to_string()), (Id::from("cards"), "{\"c\":2}".to_string())];
    s.save_baselines(saved.clone()).await.expect("save");
    assert_eq!(s.load_baselines().await.expect("load"), saved);
    assert_eq!(s.get_kv("surge-baseline:billing".into()).await.expect("get").as_deref(), Some("{\"b\":1}"));
}

/// The saver keeps only what matters: the latest value, saved after the sender
/// is gone too, and then it ends.
#[tokio::test]
async fn the_baseline_saver_saves_the_last_value_and_ends() {
    let t = tmp();
    let s = open(t.path());
    let (tx, rx) = tokio::sync::watch::channel(Vec::new());
    let saver = s.keep_baselines(rx);
    tx.send_replace(vec![(Id::from("billing"), "v1".to_string())]);
    tx.send_replace(vec![(Id::from("billing"), "v2".to_string())]);
    drop(tx);
    saver.await.expect("saver ends");
    assert_eq!(s.load_baselines().await.expect("load"), [(Id::from("billing"), "v2".to_string())]);
}

/// The floor's own callers, logged without reading rows back: one row per number
/// and incident (a number again is merged, with its occurrences counted), kept
/// across a reopen of the database — the same rows `log_callbacks` writes.
#[tokio::test]
async fn lost_callers_are_logged_merged_per_incident_and_kept() {
    use super::incidents::{Batch, CallbackFilter, IncidentRecord, NewCallback};
    let t = tmp();
    let s = open(t.path());
    let incident = IncidentRecord {
        id: "INC-1".into(),
        kind: "system_fault".into(),
        state: "open".into(),
        title: "trunk down".into(),
        queue: None,
        component: Some("trunk-1".into()),
        opened_at: T0,
        opened_by: "floorwatch".into(),
        closed_at: None,
        closed_by: None,
        summary: None,
        expected_recovery_mins: None,
        published_version: 0,
    };
    s.write_incidents(Batch { incidents: vec![incident], ..Batch::default() }).await.expect("incident");
    let lost = |caller: &str, call: &str, at: i64| NewCallback {
        caller: caller.into(),
        incident_id: Some("INC-1".into()),
        queue: Some("billing".into()),
        call_id: Some(call.into()),
        origin: "abandoned".into(),
        agent: None,
        note: None,
        at,
    };
    let logged = s
        .log_lost_callers(vec![lost("+8613900000001", "c1", T0 + 1), lost("+8613900000002", "c2", T0 + 2)])
        .await
        .expect("log");
    assert_eq!(logged, 2);
    // The first number again, in a later burst: merged into its entry.
    s.log_lost_callers(vec![lost("+8613900000001", "c3", T0 + 3)]).await.expect("log again");
    s.close().await;

    let s = open(t.path());
    let mut rows = s
        .list_callbacks(CallbackFilter { incident_id: Some("INC-1".into()), ..CallbackFilter::default() })
        .await
        .expect("list");
    rows.sort_by(|a, b| a.caller.cmp(&b.caller));
    let got: Vec<_> =
        rows.iter().map(|r| (r.caller.as_str(), r.occurrences, r.status.as_str(), r.updated_at)).collect();
    assert_eq!(got, [("+8613900000001", 2, "pending", T0 + 3), ("+8613900000002", 1, "pending", T0 + 2)]);
}

#[test]
fn version_5_gives_old_rows_their_one_message_in_both_languages() {
    let mut c = Connection::open_in_memory().expect("memory db");
    schema::migrate(&mut c, &schema::MIGRATIONS[..4]).expect("to version 4");
    c.execute(
        "INSERT INTO alerts (id, kind, severity, state, started_at, updated_at, message)
         VALUES ('old', 'system_fault', 'critical', 'firing', 1, 1, '系统故障：trunk-2 中断')",
        [],
    )
    .expect("a version-4 row");
    schema::migrate(&mut c, schema::MIGRATIONS).expect("to the newest");
    let row: (String, String, String) = c
        .query_row("SELECT message_zh, message_en, fired_severity FROM alerts WHERE id = 'old'", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .expect("row");
    assert_eq!(row, ("系统故障：trunk-2 中断".into(), "系统故障：trunk-2 中断".into(), "critical".into()));
}

#[tokio::test]
async fn retention_deletes_only_what_is_old_and_finished() {
    let t = tmp();
    let s = open(t.path());
    let day = 86_400_000;
    let now = T0 + 400 * day;
    let mut old_resolved = alert("old-resolved", "system_fault", "resolved", T0);
    old_resolved.resolved_at = Some(T0 + 1_000);
    let mut old_audited = alert("old-audited", "system_fault", "resolved", T0);
    old_audited.resolved_at = Some(T0 + 1_000);
    let mut recent = alert("recent", "system_fault", "resolved", now - day);
    recent.resolved_at = Some(now - day);
    // Open for a long time: never purged, however old.
    let old_open = alert("old-open", "system_fault", "firing", T0);
    // 2500 old resolved alerts: more than two chunks.
    let mut many: Vec<AlertRecord> = (0..2500)
        .map(|i| {
            let mut a = alert(&format!("bulk-{i}"), "acw_overrun", "resolved", T0);
            a.resolved_at = Some(T0 + 5_000);
            a
        })
        .collect();
    many.extend([old_resolved, old_audited, recent, old_open]);
    s.save_alerts(many).await.expect("save");
    // An acknowledgement 100 days ago: its audit row is within audit's 365 days.
    s.ack_alert("old-audited".into(), "sup".into(), None, now - 100 * day).await.expect("ack");
    let cfg = RetentionConfig::default();
    let mut chunks = Vec::new();
    let p = s.purge(&cfg, now, |t, n| chunks.push((t, n))).await.expect("purge");
    assert_eq!(p.of(Table::Alerts), 2501);
    assert_eq!(p.of(Table::Audit), 0);
    assert!(chunks.iter().all(|(_, n)| *n <= retention::CHUNK_ROWS), "{chunks:?}");
    assert_eq!(chunks.iter().filter(|(t, _)| *t == Table::Alerts).count(), 3);
    let mut left =
        ids(&s.list_alerts(AlertFilter { limit: 10_000, ..AlertFilter::default() }).await.expect("list"))
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
    left.sort();
    assert_eq!(left, ["old-audited", "old-open", "recent"]);
    // Keep forever: nothing goes.
    let keep =
        RetentionConfig { alerts_days: 0, audit_days: 0, callbacks_days: 0, faults_days: 0, ..cfg.clone() };
    assert_eq!(s.purge(&keep, now + 1000 * day, |_, _| {}).await.expect("purge"), Purged::default());
    // A year later the audit row goes, and then the alert it named.
    let p = s.purge(&cfg, now + 400 * day, |_, _| {}).await.expect("purge");
    assert_eq!((p.of(Table::Audit), p.of(Table::Alerts)), (1, 2));
    s.close().await;
}

mod qa_tables {
    use super::*;
    use crate::store::incidents::Audit;
    use crate::store::qa::{CallFilter, CallRow, Registered, RuleRow};

    fn call(id: &str, agent: &str, at: i64) -> CallRow {
        CallRow {
            call: id.into(),
            offered_at: at,
            queue: Some("billing".into()),
            agent: Some(agent.into()),
            caller: Some("13800138000".into()),
            answered_at: Some(at + 5000),
            abandoned_at: None,
            ended_at: Some(at + 65_000),
        }
    }

    fn audit() -> Audit {
        Audit { at: 1, actor: "qa-1".into(), action: "qa.rule.register".into(), target: None, detail: None }
    }

    #[tokio::test]
    async fn calls_are_kept_once_filtered_and_purged() {
        let t = tempfile::tempdir().expect("tempdir");
        let s = StoreHandle::open(t.path()).expect("open");
        s.save_calls(vec![call("c1", "A1", 1000), call("c2", "A2", 2000), call("c3", "A1", 3000)])
            .await
            .expect("save");
        // The same call again (a resent end) is kept once.
        s.save_calls(vec![call("c1", "A1", 1000)]).await.expect("save again");
        let all = s.list_calls(CallFilter::default()).await.expect("list");
        assert_eq!(all.iter().map(|c| c.call.as_str()).collect::<Vec<_>>(), ["c1", "c2", "c3"]);
        assert_eq!(all[0], call("c1", "A1", 1000));
        let f = CallFilter { agent: Some("A1".into()), from_ms: Some(1500), ..CallFilter::default() };
        let got = s.list_calls(f).await.expect("list");
        assert_eq!(got.iter().map(|c| c.call.as_str()).collect::<Vec<_>>(), ["c3"]);
        let f = CallFilter { to_ms: Some(2000), ..CallFilter::default() };
        assert_eq!(s.list_calls(f).await.expect("list").len(), 1);
        assert_eq!(s.purge_calls(2500).await.expect("purge"), 2);
        assert_eq!(s.list_calls(CallFilter::default()).await.expect("list").len(), 1);
        s.close().await;
    }

    #[tokio::test]
    async fn a_registered_rule_cannot_change() {
        let t = tempfile::tempdir().expect("tempdir");
        let s = StoreHandle::open(t.path()).expect("open");
        let r = RuleRow {
            id: "r1".into(),
            name: "November".into(),
            from_ms: 10,
            to_ms: 20,
            body: "{}".into(),
            digest: "d1".into(),
            registered_at: 1,
            registered_by: "qa-1".into(),
        };
        assert_eq!(s.register_rule(r.clone(), audit()).await.expect("register"), Registered::Created);
        let other = RuleRow { digest: "d2".into(), ..r.clone() };
        assert_eq!(s.register_rule(other, audit()).await.expect("again"), Registered::Exists(r.clone()));
        // Not even by hand at the SQL level.
        let changed = s
            .inspect(|c| c.execute("UPDATE qa_rules SET body = '{\"rate\":1}' WHERE id = 'r1'", []))
            .await
            .expect("inspect");
        assert!(changed.is_err(), "an UPDATE of a rule must be refused");
        let deleted = s.inspect(|c| c.execute("DELETE FROM qa_rules", [])).await.expect("inspect");
        assert!(deleted.is_err(), "a DELETE of a rule must be refused");
        assert_eq!(s.get_rule("r1".into()).await.expect("get"), Some(r));
        s.close().await;
    }

    #[tokio::test]
    async fn rotation_members_sessions_and_one_approval_per_month() {
        use crate::store::qa::{ApprovalRow, Approved, MonitoringRow, RosterMember};
        use crate::store::shift::RosterEntry;
        let t = tempfile::tempdir().expect("tempdir");
        let s = StoreHandle::open(t.path()).expect("open");
        let line = |date: &str, team: &str, agent: &str, name: Option<&str>| RosterEntry {
            date: date.into(),
            shift: "day".into(),
            team: team.into(),
            agent: agent.into(),
            name: name.map(String::from),
            seat: None,
        };
        for rows in [
            vec![line("2026-11-30", "t1", "A1", Some("王芳")), line("2026-11-30", "t1", "A9", None)],
            vec![line("2026-12-01", "t1", "A1", Some("王芳")), line("2026-12-01", "t1", "A2", None)],
            vec![line("2026-12-02", "t1", "A2", Some("Alice")), line("2026-12-02", "t2", "B1", None)],
            vec![line("2027-01-01", "t1", "A3", None)],
        ] {
            s.put_roster(rows, audit()).await.expect("roster");
        }
        // December's t1: each agent once, named by their latest named line.
        let got =
            s.roster_members("t1".into(), "2026-12-01".into(), "2027-01-01".into()).await.expect("members");
        let want = [
            RosterMember { agent: "A1".into(), name: Some("王芳".into()) },
            RosterMember { agent: "A2".into(), name: Some("Alice".into()) },
        ];
        assert_eq!(got, want);

        let m = |agent: &str, outcome: &str, reason: Option<&str>| MonitoringRow {
            id: 0,
            team: "t1".into(),
            month: "2026-12".into(),
            agent: agent.into(),
            outcome: outcome.into(),
            reason: reason.map(String::from),
            at: 5,
            by: "qa-1".into(),
        };
        let done = s.add_monitoring(m("A1", "done", None), audit()).await.expect("done");
        assert!(done.id > 0);
        // The schema holds a skip to its reason and the outcome to its two values.
        assert!(s.add_monitoring(m("A2", "skipped", None), audit()).await.is_err());
        assert!(s.add_monitoring(m("A2", "later", None), audit()).await.is_err());
        s.add_monitoring(m("A2", "skipped", Some("leave")), audit()).await.expect("skip");
        let list = s.list_monitoring("t1".into(), "2026-12".into()).await.expect("list");
        assert_eq!(list.iter().map(|r| r.agent.as_str()).collect::<Vec<_>>(), ["A1", "A2"]);
        assert!(s.list_monitoring("t1".into(), "2026-11".into()).await.expect("list").is_empty());

        let a = ApprovalRow {
            month: "2026-11".into(),
            approved_at: 9,
            approved_by: "director".into(),
            note: None,
        };
        assert_eq!(s.approve_analysis(a.clone(), audit()).await.expect("approve"), Approved::Done(a.clone()));
        let again = ApprovalRow { approved_by: "someone".into(), ..a.clone() };
        assert_eq!(s.approve_analysis(again, audit()).await.expect("again"), Approved::Already(a.clone()));
        assert_eq!(s.get_approval("2026-11".into()).await.expect("get"), Some(a));
        assert_eq!(s.get_approval("2026-12".into()).await.expect("get"), None);
        s.close().await;
    }
}
