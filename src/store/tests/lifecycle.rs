//! Tests of the store's life cycle: durability across close, drop and kill -9,
//! migrations, connection settings, open failures, close and back-pressure.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use super::*;

#[tokio::test]
async fn an_answered_write_is_already_in_the_file() {
    let t = tmp();
    let s = open(t.path());
    s.save_alert(full_alert()).await.expect("save");
    s.put_kv("k".into(), "v".into()).await.expect("put");
    let r = reader(t.path());
    let n: i64 = r.query_row("SELECT count(*) FROM alerts", [], |x| x.get(0)).expect("count");
    let v: String = r.query_row("SELECT value FROM kv WHERE key = 'k'", [], |x| x.get(0)).expect("kv");
    assert_eq!((n, v.as_str()), (1, "v"));
}

/// The "open" alert of [`write_everything`] after its ack.
fn acked_open() -> AlertRecord {
    let mut a = alert("open", "source_down", "acknowledged", T0);
    a.acked_by = Some("sup".into());
    a.acked_at = Some(T0 + 3);
    a.ack_note = Some("n".into());
    a.updated_at = T0 + 3;
    a
}

async fn write_everything(s: &StoreHandle) {
    s.save_alert(full_alert()).await.expect("save");
    s.save_alert(alert("open", "source_down", "firing", T0)).await.expect("save");
    s.put_kv("k".into(), "v".into()).await.expect("put");
    let acked = s.ack_alert("open".into(), "sup".into(), Some("n".into()), T0 + 3).await.expect("ack");
    assert_eq!(acked, Some(acked_open()));
}

async fn assert_everything_there(dir: &Path) {
    let s = open(dir);
    assert_eq!(s.get_alert(full_alert().id).await.expect("get"), Some(full_alert()));
    assert_eq!(s.get_alert("open".into()).await.expect("get"), Some(acked_open()));
    assert_eq!(ids(&s.open_alerts().await.expect("open")), ["open", full_alert().id.as_str()]);
    assert_eq!(s.get_kv("k".into()).await.expect("kv").as_deref(), Some("v"));
    assert_eq!(audit_rows(&reader(dir)).len(), 1);
    s.close().await;
}

#[tokio::test]
async fn everything_survives_close_and_reopen() {
    let t = tmp();
    let s = open(t.path());
    write_everything(&s).await;
    // An idle second connection: SQLite then does not fold the WAL in by itself
    // at close, so only the store's own checkpoint can empty it.
    let other = reader(t.path());
    let _: i64 = other.query_row("SELECT count(*) FROM alerts", [], |r| r.get(0)).expect("read");
    let wal = t.path().join(format!("{DB_FILE}-wal"));
    assert!(std::fs::metadata(&wal).expect("wal exists").len() > 0);
    s.close().await;
    drop(s);
    assert_eq!(
        std::fs::metadata(&wal).expect("wal kept open by the reader").len(),
        0,
        "wal not checkpointed"
    );
    drop(other);
    assert_everything_there(t.path()).await;
}

#[tokio::test]
async fn everything_survives_dropping_the_handle_without_close() {
    let t = tmp();
    let s = open(t.path());
    write_everything(&s).await;
    drop(s);
    assert_everything_there(t.path()).await;
}

/// Set only in the child process of [`answered_writes_survive_kill_9`].
const CRASH_DIR_ENV: &str = "FLOORWATCH_STORE_CRASH_DIR";
/// The child's "writes answered" line (libtest may print it after the test name).
const READY: &str = "store-crash-child-ready";

/// Not a test on its own: a no-op unless spawned by the crash test, where it
/// writes, says so and waits to be killed.
#[tokio::test]
async fn crash_child() {
    let Some(dir) = std::env::var_os(CRASH_DIR_ENV) else { return };
    let s = open(Path::new(&dir));
    write_everything(&s).await;
    println!("{READY}");
    std::thread::sleep(Duration::from_secs(30));
}

#[tokio::test]
async fn answered_writes_survive_kill_9() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let t = tmp();
    let exe = std::env::current_exe().expect("test binary");
    // Test names are paths below the crate root.
    let name = format!("{}::crash_child", module_path!().split_once("::").map_or("", |p| p.1));
    let mut child = Command::new(exe)
        .args(["--exact", name.as_str(), "--nocapture", "--test-threads=1"])
        .env(CRASH_DIR_ENV, t.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let out = child.stdout.take().expect("child stdout");
    let ready = std::io::BufReader::new(out).lines().map_while(Result::ok).any(|l| l.contains(READY));
    // SIGKILL: no close, no destructor, no checkpoint; only what was committed.
    let _ = child.kill();
    let _ = child.wait();
    assert!(ready, "child never got its writes answered");
    assert_everything_there(t.path()).await;
}

#[tokio::test]
async fn migrations_are_idempotent() {
    let t = tmp();
    let s = open(t.path());
    s.save_alert(full_alert()).await.expect("save");
    // A second handle while the first is open, then a reopen after close.
    let s2 = open(t.path());
    s2.close().await;
    s.close().await;
    let s = open(t.path());
    let known = i64::from(schema::MIGRATIONS.last().map_or(0, |m| m.0));
    assert_eq!(s.inspect(|c| schema::user_version(c)).await.expect("inspect").expect("version"), known);
    assert_eq!(s.get_alert(full_alert().id).await.expect("get"), Some(full_alert()));
}

#[test]
fn migrations_are_numbered_from_one_without_gaps() {
    for (i, (v, _)) in schema::MIGRATIONS.iter().enumerate() {
        assert_eq!(*v as usize, i + 1);
    }
}

#[test]
fn a_failed_migration_leaves_the_previous_version() {
    let mut c = Connection::open_in_memory().expect("memory db");
    let bad: &[(u32, &str)] = &[(1, "CREATE TABLE a (x);"), (2, "CREATE TABLE b (y); CREATE TABLE oops (;")];
    let err = schema::migrate(&mut c, bad).expect_err("must fail");
    assert!(matches!(err, StoreError::Migration { version: 2, .. }), "{err:?}");
    assert_eq!(schema::user_version(&c).expect("version"), 1);
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
        .expect("tables");
    assert_eq!(tables, ["a"]);
}

#[test]
fn a_newer_schema_is_refused() {
    let t = tmp();
    let c = Connection::open(t.path().join(DB_FILE)).expect("create");
    c.pragma_update(None, "user_version", 99).expect("set version");
    drop(c);
    let err = StoreHandle::open(t.path()).expect_err("must refuse");
    assert!(matches!(err, StoreError::SchemaTooNew { found: 99, .. }), "{err:?}");
}

#[tokio::test]
async fn wal_full_sync_and_foreign_keys_are_in_effect() {
    let t = tmp();
    let s = open(t.path());
    let pragmas = s
        .inspect(|c| -> rusqlite::Result<(String, i64, i64, i64)> {
            let q =
                |p: &str| c.query_row(&format!("PRAGMA {p}"), [], |r| r.get::<_, rusqlite::types::Value>(0));
            let int = |v| if let rusqlite::types::Value::Integer(i) = v { i } else { -1 };
            let mode = match q("journal_mode")? {
                rusqlite::types::Value::Text(m) => m,
                other => format!("{other:?}"),
            };
            Ok((mode, int(q("synchronous")?), int(q("foreign_keys")?), int(q("busy_timeout")?)))
        })
        .await
        .expect("inspect")
        .expect("pragmas");
    assert_eq!(pragmas, ("wal".to_string(), 2, 1, 5_000));
    // WAL is a property of the file: an independent connection sees it too.
    let mode: String = reader(t.path()).query_row("PRAGMA journal_mode", [], |r| r.get(0)).expect("mode");
    assert_eq!(mode, "wal");
}

#[test]
fn an_uncreatable_directory_is_an_open_error() {
    let t = tmp();
    let file = t.path().join("plain-file");
    std::fs::write(&file, b"x").expect("write");
    let err = StoreHandle::open(&file.join("sub")).expect_err("must fail");
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    // The database path taken by a directory: the file itself cannot be opened.
    let d = t.path().join("d");
    std::fs::create_dir_all(d.join(DB_FILE)).expect("mkdir");
    let err = StoreHandle::open(&d).expect_err("must fail");
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
}

#[tokio::test]
async fn after_close_every_call_is_closed() {
    let t = tmp();
    let s = open(t.path());
    let other = s.clone();
    s.close().await;
    s.close().await; // idempotent
    other.close().await;
    assert!(matches!(s.save_alert(full_alert()).await, Err(StoreError::Closed)));
    assert!(matches!(other.get_alert("x".into()).await, Err(StoreError::Closed)));
    assert!(matches!(s.ack_alert("x".into(), "a".into(), None, 0).await, Err(StoreError::Closed)));
    assert!(matches!(s.open_alerts().await, Err(StoreError::Closed)));
    assert!(matches!(s.list_alerts(AlertFilter::default()).await, Err(StoreError::Closed)));
    assert!(matches!(s.ping().await, Err(StoreError::Closed)));
    assert!(matches!(s.put_kv("k".into(), "v".into()).await, Err(StoreError::Closed)));
    assert!(matches!(s.get_kv("k".into()).await, Err(StoreError::Closed)));
}

/// Holds the writer inside a command until the returned sender is used, so a
/// test can fill the channel deterministically.
async fn hold_writer(s: &StoreHandle) -> std::sync::mpsc::Sender<()> {
    let (release, gate) = std::sync::mpsc::channel::<()>();
    let (entered_tx, entered) = tokio::sync::oneshot::channel();
    let s = s.clone();
    tokio::spawn(async move {
        let _ = s
            .inspect(move |_| {
                let _ = entered_tx.send(());
                let _ = gate.recv_timeout(Duration::from_secs(20));
            })
            .await;
    });
    entered.await.expect("writer entered the gate");
    release
}

async fn wait_queued(s: &StoreHandle, n: usize) {
    while s.queued() < n {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test]
async fn close_finishes_every_command_queued_before_it() {
    let t = tmp();
    let s = open(t.path());
    let run = async {
        let release = hold_writer(&s).await;
        let mut saves = Vec::new();
        for i in 0..20 {
            let h = s.clone();
            saves.push(tokio::spawn(async move {
                h.save_alert(alert(&format!("q{i}"), "system_fault", "firing", T0)).await
            }));
            wait_queued(&s, i + 1).await; // keeps send order = i
        }
        let closer = tokio::spawn({
            let s = s.clone();
            async move { s.close().await }
        });
        wait_queued(&s, 21).await;
        release.send(()).expect("release");
        for h in saves {
            h.await.expect("join").expect("queued save answered ok");
        }
        closer.await.expect("join close");
        assert!(matches!(s.get_kv("k".into()).await, Err(StoreError::Closed)));
    };
    tokio::time::timeout(Duration::from_secs(30), run).await.expect("no hang");
    let s = open(t.path());
    assert_eq!(s.list_alerts(AlertFilter::default()).await.expect("list").len(), 20);
}

#[tokio::test]
async fn a_full_channel_makes_callers_wait_and_loses_nothing() {
    let t = tmp();
    let s = open(t.path());
    let run = async {
        let release = hold_writer(&s).await;
        let mut calls = Vec::new();
        for i in 0..(CHANNEL_CAPACITY + 50) {
            let s = s.clone();
            calls.push(tokio::spawn(async move { s.get_kv(format!("k{i}")).await }));
        }
        wait_queued(&s, CHANNEL_CAPACITY).await;
        // Full: the last 50 callers are waiting to send, not failed.
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(calls.iter().all(|h| !h.is_finished()));
        release.send(()).expect("release");
        for h in calls {
            assert_eq!(h.await.expect("join").expect("answered"), None);
        }
    };
    tokio::time::timeout(Duration::from_secs(30), run).await.expect("no hang");
}
