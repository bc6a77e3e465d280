//! The `nats` source against a real nats-server (JetStream in a temp dir, on a
//! free loopback port): a kill -9 in the middle of a stream loses nothing and
//! counts nothing twice, a NATS server restart is a `source_down` that resolves,
//! daemons on disjoint subjects each see only theirs, messages the stream
//! expired before the floor read them are reported, and the source's metrics
//! say what it applied and what is pending.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use async_nats::jetstream;
use floorwatch::config::Config;
use floorwatch::ingest::sources::{DialTiming, NatsSource, SourceConfig, SourceKind};
use serde_json::{Value, json};

use crate::harness::{
    PATIENCE, TestDaemon, expect_clean_exit, free_port, http_get, metric_sum, serve_child, ts_now,
};

/// A nats-server with JetStream, stopped when dropped.
pub struct NatsServer {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl NatsServer {
    pub async fn start() -> NatsServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut s = NatsServer { port: free_port(), dir, child: None };
        s.spawn().await;
        s
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    async fn spawn(&mut self) {
        let child = Command::new("nats-server")
            .args(["-js", "-sd"])
            .arg(self.dir.path())
            .args(["-p", &self.port.to_string(), "-a", "127.0.0.1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server runs (scripts/test installs it)");
        self.child = Some(child);
        wait_port(self.port).await;
    }

    /// Kills the server (its JetStream store stays) and waits until it is gone.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port and store.
    pub async fn restart(&mut self) {
        self.stop();
        self.spawn().await;
    }

    pub async fn jetstream(&self) -> jetstream::Context {
        let client = async_nats::connect(self.url()).await.expect("connect to nats");
        jetstream::new(client)
    }

    /// The stream every test uses: `FLOOR` on `floor.>`, on disk.
    pub async fn floor_stream(&self) -> jetstream::Context {
        let js = self.jetstream().await;
        js.get_or_create_stream(jetstream::stream::Config {
            name: "FLOOR".into(),
            subjects: vec!["floor.>".into()],
            storage: jetstream::stream::StorageType::File,
            ..Default::default()
        })
        .await
        .expect("stream created");
        js
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn chrono_now_secs() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

async fn wait_port(port: u16) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "nothing listens on {port}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Publishes each message and waits for JetStream's ack (stored).
pub async fn publish(js: &jetstream::Context, subject: &str, messages: &[Value]) {
    for m in messages {
        js.publish(subject.to_string(), m.to_string().into()).await.expect("publish").await.expect("stored");
    }
}

/// Published totals of one queue: offered, answered, abandoned.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
}

/// A floor's stream for `source`: one message logs ten agents in, then one
/// message per call (a batch: offer, then answer and end, or abandon) over
/// three queues. Returns the messages, the events they hold and the totals per
/// queue. Times lie in the last minute, so all fall in the current shift.
pub fn floor_stream(source: &str, calls: usize) -> (Vec<Value>, u64, Vec<(String, Totals)>) {
    let queues = ["billing", "sales", "support"];
    let mut totals: Vec<(String, Totals)> =
        queues.iter().map(|q| (q.to_string(), Totals::default())).collect();
    let logins: Vec<Value> = (0..10)
        .map(|a| json!({"type":"agent_login","ts":ts_now(-60.0),"source":source,"agent":format!("{source}-A{a}")}))
        .collect();
    let mut events = logins.len() as u64;
    let mut messages = vec![Value::Array(logins)];
    for i in 0..calls {
        let t = -50.0 + 40.0 * i as f64 / calls as f64;
        let (call, q) = (format!("{source}-C{i}"), i % queues.len());
        let agent = format!("{source}-A{}", i % 10);
        let mut batch =
            vec![json!({"type":"call_offered","ts":ts_now(t),"source":source,"call":call,"queue":queues[q]})];
        totals[q].1.offered += 1;
        if i % 4 == 3 {
            batch.push(json!({"type":"call_abandoned","ts":ts_now(t + 1.0),"source":source,"call":call}));
            totals[q].1.abandoned += 1;
        } else {
            batch.push(json!({"type":"call_answered","ts":ts_now(t + 0.5),"source":source,"call":call,"agent":agent}));
            batch.push(
                json!({"type":"call_ended","ts":ts_now(t + 2.0),"source":source,"call":call,"agent":agent}),
            );
            totals[q].1.answered += 1;
        }
        events += batch.len() as u64;
        messages.push(Value::Array(batch));
    }
    (messages, events, totals)
}

/// Events the floor holds from `source` (the floor counts every applied event:
/// one applied twice shows here even where the floor's state would not).
pub fn source_events(floor: &Value, source: &str) -> u64 {
    floor["sources"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["id"] == source)
        .map_or(0, |s| s["events"].as_u64().unwrap_or(0))
}

/// What `messages` (of [`floor_stream`]) hold: their events and each queue's
/// totals, for a part of a stream.
pub fn totals_of(messages: &[Value]) -> (u64, Vec<(String, Totals)>) {
    let mut totals: Vec<(String, Totals)> = Vec::new();
    let mut events = 0;
    for batch in messages {
        let batch = batch.as_array().cloned().unwrap_or_default();
        events += batch.len() as u64;
        // A message is one call: its offer names the queue.
        let Some(queue) = batch.iter().find_map(|e| e["queue"].as_str()) else { continue };
        let i = match totals.iter().position(|(q, _)| q == queue) {
            Some(i) => i,
            None => {
                totals.push((queue.to_string(), Totals::default()));
                totals.len() - 1
            }
        };
        for e in &batch {
            match e["type"].as_str() {
                Some("call_offered") => totals[i].1.offered += 1,
                Some("call_answered") => totals[i].1.answered += 1,
                Some("call_abandoned") => totals[i].1.abandoned += 1,
                _ => {}
            }
        }
    }
    (events, totals)
}

pub fn queue_totals(floor: &Value, queue: &str) -> Totals {
    let q = floor["queues"].as_array().into_iter().flatten().find(|q| q["id"] == queue);
    let n = |k: &str| q.and_then(|q| q[k].as_u64()).unwrap_or(0);
    Totals { offered: n("offered"), answered: n("answered"), abandoned: n("abandoned") }
}

async fn floor_at(addr: std::net::SocketAddr) -> Option<Value> {
    let (status, body) = http_get(addr, "/api/floor").await;
    (status == 200).then(|| serde_json::from_str(&body).expect("floor JSON"))
}

async fn eventually_floor(addr: std::net::SocketAddr, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut last = Value::Null;
    loop {
        if let Some(f) = floor_at(addr).await {
            if pred(&f) {
                return f;
            }
            last = f;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what} never happened: {last}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `consumer` has nothing pending and nothing unacked.
async fn eventually_drained(js: &jetstream::Context, consumer: &str) -> (u64, usize) {
    let stream = js.get_stream("FLOOR").await.expect("stream");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let info = stream.consumer_info(consumer).await.expect("consumer exists");
        if info.num_pending == 0 && info.num_ack_pending == 0 {
            return (info.num_pending, info.num_ack_pending);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "consumer {consumer} never drained: {} pending, {} unacked",
            info.num_pending,
            info.num_ack_pending
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A `floorwatch serve` child, killed (SIGKILL) when dropped: a failed
/// assertion leaves no daemon behind.
struct Serve(Child);

impl Serve {
    fn kill_9(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    /// SIGTERM, and waits for a clean exit (its last checkpoint committed).
    async fn stop(mut self) {
        let killed = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status().expect("kill");
        assert!(killed.success());
        expect_clean_exit(&mut self.0, "floorwatch serve after SIGTERM").await;
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(dir: &std::path::Path, port: u16, nats_url: &str) -> Serve {
    let config = dir.join("floorwatch.toml");
    let toml = format!(
        "[floor]\ncheckpoint_secs = 1\n\n[[sources]]\nid = \"site-a\"\nkind = \"nats\"\nurl = \"{nats_url}\"\n\
         stream = \"FLOOR\"\nsubjects = [\"floor.a.>\"]\ndurable = \"fw-a\"\n"
    );
    std::fs::write(&config, toml).expect("config");
    Serve(serve_child(Some(&config), dir, port))
}

/// Publish a floor's stream, kill -9 floorwatch while it is applying the middle
/// of it, publish the rest while it is down, restart: every queue's shift totals
/// and the source's event count equal what was published, exactly (a message
/// lost or applied twice shows), and the consumer has nothing pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_stream_then_restart_counts_every_message_exactly_once() {
    let nats = NatsServer::start().await;
    let js = nats.floor_stream().await;
    let (messages, events, totals) = floor_stream("acd-a", 900);
    let (first, rest) = messages.split_at(301);
    let (middle, last) = rest.split_at(300);
    let events_in = |m: &[Value]| m.iter().map(|b| b.as_array().map_or(0, |a| a.len() as u64)).sum::<u64>();
    let (first_events, middle_events) = (events_in(first), events_in(middle));
    publish(&js, "floor.a.acd", first).await;

    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let child = serve(dir.path(), port, &nats.url());
    wait_port(port).await;
    eventually_floor(addr, "the first part applied", |f| source_events(f, "acd-a") == first_events).await;
    // A checkpoint committed after that holds a stream position: the restart
    // resumes from it, not from the stream's start.
    let applied_at = chrono_now_secs();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (_, text) = http_get(addr, "/metrics").await;
        if metric_sum(&text, "floorwatch_checkpoint_last_success_timestamp_seconds", &[]) > applied_at {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no checkpoint after the first part");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The middle part goes in while floorwatch applies it; it is killed as soon
    // as part of it is on the floor.
    let publisher = {
        let (js, middle) = (js.clone(), middle.to_vec());
        // Paced, so the kill lands while it is still coming in.
        tokio::spawn(async move {
            for m in middle.chunks(5) {
                publish(&js, "floor.a.acd", m).await;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let f =
        eventually_floor(addr, "the middle part begun", |f| source_events(f, "acd-a") > first_events + 30)
            .await;
    child.kill_9();
    publisher.await.expect("publisher");
    let at_kill = source_events(&f, "acd-a");
    assert!(at_kill < first_events + middle_events, "killed mid-stream: {at_kill} events applied");
    // What arrives while the daemon is down is kept by JetStream.
    publish(&js, "floor.a.acd", last).await;

    let child = serve(dir.path(), port, &nats.url());
    wait_port(port).await;
    let f = eventually_floor(addr, "the whole stream applied", |f| source_events(f, "acd-a") >= events).await;
    let (pending, unacked) = eventually_drained(&js, "fw-a").await;
    assert_eq!((pending, unacked), (0, 0));
    // Drained: nothing more can come. Counted once, each.
    let f2 = floor_at(addr).await.expect("floor");
    assert_eq!(source_events(&f2, "acd-a"), events, "every event applied exactly once: {f}");
    for (queue, want) in &totals {
        assert_eq!(queue_totals(&f2, queue), *want, "{queue}");
    }
    assert_eq!(f2["logged_in"], 10);
    child.kill_9();
}

fn fast_timing() -> DialTiming {
    DialTiming {
        connect_timeout: Duration::from_secs(2),
        backoff_initial: Duration::from_millis(50),
        backoff_max: Duration::from_millis(300),
        ping_every: Duration::from_millis(200),
        silence_timeout: Duration::from_secs(1),
    }
}

fn nats_config(nats: &NatsServer, id: &str, subject: &str, durable: &str) -> Config {
    let source = SourceConfig {
        id: id.into(),
        address: nats.url(),
        kind: SourceKind::Nats(NatsSource {
            stream: "FLOOR".into(),
            subjects: vec![subject.into()],
            durable: durable.into(),
        }),
        wrapup_secs: 0,
        timing: fast_timing(),
    };
    let mut cfg = Config { sources: vec![source], ..Config::default() };
    cfg.alerts.source_timeout_secs = 1;
    cfg
}

async fn source_down_alerts(d: &TestDaemon, source: &str) -> Vec<Value> {
    let (status, body) = d.get("/api/alerts?kind=source_down").await;
    assert_eq!(status, 200, "{body}");
    let all: Vec<Value> = serde_json::from_str(&body).expect("alerts JSON");
    all.into_iter().filter(|a| a["subject"]["source"] == source).collect()
}

async fn eventually_alert(d: &TestDaemon, source: &str, what: &str, pred: impl Fn(&[Value]) -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let alerts = source_down_alerts(d, source).await;
        if pred(&alerts) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: {alerts:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A NATS server restart: the source goes down (`source_down` fires for it),
/// comes back by itself, the alert resolves, and what was published after the
/// restart is applied, nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_server_restart_is_a_source_down_that_resolves() {
    let mut nats = NatsServer::start().await;
    let js = nats.floor_stream().await;
    let (messages, events, totals) = floor_stream("acd-a", 60);
    let (before, after) = messages.split_at(31);
    publish(&js, "floor.a.acd", before).await;
    let d = TestDaemon::with_config(nats_config(&nats, "site-a", "floor.a.>", "fw-a")).await;
    d.wait_floor(|f| {
        f["sources"].as_array().into_iter().flatten().any(|s| s["id"] == "site-a" && s["connected"] == true)
    })
    .await;
    assert!(source_down_alerts(&d, "site-a").await.is_empty(), "up at first");

    nats.stop();
    eventually_alert(&d, "site-a", "source_down fires", |a| a.iter().any(|a| a["state"] == "firing")).await;
    nats.restart().await;
    let js = nats.jetstream().await;
    publish(&js, "floor.a.acd", after).await;
    eventually_alert(&d, "site-a", "source_down resolves", |a| {
        !a.is_empty() && a.iter().all(|a| a["state"] == "resolved")
    })
    .await;
    let f = d.wait_floor(|f| source_events(f, "acd-a") >= events).await;
    eventually_drained(&js, "fw-a").await;
    let f2 = d.floor().await;
    assert_eq!(source_events(&f2, "acd-a"), events, "{f}");
    for (queue, want) in &totals {
        assert_eq!(queue_totals(&f2, queue), *want, "{queue}");
    }
    // The lost link counted, the link up again, every message applied once
    // across the two links (the second resumed at the first one's mark).
    let text = eventually_metrics(&d, "the source up again", |m| {
        metric_sum(m, "floorwatch_nats_source_up", &[("source", "site-a")]) == 1.0
    })
    .await;
    assert!(metric_sum(&text, "floorwatch_nats_source_link_failures_total", &[("source", "site-a")]) >= 1.0);
    let applied = [("source", "site-a"), ("subject", "floor.a.>")];
    assert_eq!(metric_sum(&text, "floorwatch_nats_source_applied_total", &applied), messages.len() as f64);
    d.shutdown().await.expect("clean shutdown");
}

/// Two daemons on one stream, each on its own site's subjects with its own
/// durable: each floor holds its site's events and totals, and none of the
/// other's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_on_disjoint_subjects_each_see_only_theirs() {
    let nats = NatsServer::start().await;
    let js = nats.floor_stream().await;
    let (a_msgs, a_events, a_totals) = floor_stream("acd-a", 40);
    let (b_msgs, b_events, b_totals) = floor_stream("acd-b", 70);
    let a = TestDaemon::with_config(nats_config(&nats, "site-a", "floor.a.>", "fw-a")).await;
    let b = TestDaemon::with_config(nats_config(&nats, "site-b", "floor.b.>", "fw-b")).await;
    publish(&js, "floor.a.acd", &a_msgs).await;
    publish(&js, "floor.b.acd", &b_msgs).await;
    a.wait_floor(|f| source_events(f, "acd-a") >= a_events).await;
    b.wait_floor(|f| source_events(f, "acd-b") >= b_events).await;
    eventually_drained(&js, "fw-a").await;
    eventually_drained(&js, "fw-b").await;
    let (fa, fb) = (a.floor().await, b.floor().await);
    assert_eq!(source_events(&fa, "acd-a"), a_events);
    assert_eq!(source_events(&fb, "acd-b"), b_events);
    assert_eq!(source_events(&fa, "acd-b"), 0, "site b's events stay off a's floor");
    assert_eq!(source_events(&fb, "acd-a"), 0, "site a's events stay off b's floor");
    for (queue, want) in &a_totals {
        assert_eq!(queue_totals(&fa, queue), *want, "a: {queue}");
    }
    for (queue, want) in &b_totals {
        assert_eq!(queue_totals(&fb, queue), *want, "b: {queue}");
    }
    assert_eq!(fa["logged_in"], 10);
    assert_eq!(fb["logged_in"], 10);
    // The source's metrics: every message applied once, on its own subject;
    // the pending gauge (refreshed at each keepalive) comes down to 0.
    for (d, source, subject, published) in
        [(&a, "site-a", "floor.a.>", a_msgs.len()), (&b, "site-b", "floor.b.>", b_msgs.len())]
    {
        let labels = [("source", source), ("subject", subject)];
        let text = eventually_metrics(d, "the pending gauge at 0", |m| {
            m.contains(&format!(
                "floorwatch_nats_source_pending{{source=\"{source}\",subject=\"{subject}\"}} 0"
            ))
        })
        .await;
        assert_eq!(
            metric_sum(&text, "floorwatch_nats_source_applied_total", &labels),
            published as f64,
            "{source}"
        );
        assert_eq!(metric_sum(&text, "floorwatch_nats_source_up", &[("source", source)]), 1.0, "{source}");
        assert_eq!(metric_sum(&text, "floorwatch_nats_source_expired_total", &[("source", source)]), 0.0);
        assert_eq!(
            metric_sum(&text, "floorwatch_nats_source_link_failures_total", &[("source", source)]),
            0.0
        );
    }
    let (_, ta) = a.get("/metrics").await;
    assert!(!ta.contains(r#"subject="floor.b.>""#), "site b's subject is not a's");
    a.shutdown().await.expect("clean shutdown");
    b.shutdown().await.expect("clean shutdown");
}

/// `/metrics` of `d` once `pred` holds.
async fn eventually_metrics(d: &TestDaemon, what: &str, pred: impl Fn(&str) -> bool) -> String {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (_, text) = d.get("/metrics").await;
        if pred(&text) {
            return text;
        }
        let ours: Vec<&str> = text.lines().filter(|l| l.starts_with("floorwatch_nats_source")).collect();
        assert!(tokio::time::Instant::now() < deadline, "{what} never happened: {ours:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `/metrics` of a child daemon once `pred` holds.
async fn eventually_metrics_at(
    addr: std::net::SocketAddr,
    what: &str,
    pred: impl Fn(&str) -> bool,
) -> String {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (status, text) = http_get(addr, "/metrics").await;
        if status == 200 && pred(&text) {
            return text;
        }
        let ours: Vec<&str> = text.lines().filter(|l| l.starts_with("floorwatch_nats_source")).collect();
        assert!(tokio::time::Instant::now() < deadline, "{what} never happened: {ours:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The stream's limits drop messages while floorwatch is stopped: a stream
/// keeping the last 50 messages (discard old), 20 applied and checkpointed,
/// the daemon stopped, 80 more published (30 of them pushed out unread),
/// restarted. The loss is reported (the counter, a `system_fault` on
/// `nats-expired:site-a` naming the range, listed in `/api/floor`'s faults) and
/// `floorwatch serve` on a data dir of its own applies `first` (published
/// already) and is stopped cleanly: its last checkpoint holds that position.
async fn first_part_checkpointed(nats: &NatsServer, first: &[Value]) -> (tempfile::TempDir, u16) {
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let child = serve(dir.path(), port, &nats.url());
    wait_port(port).await;
    let (events, _) = totals_of(first);
    let addr = ([127, 0, 0, 1], port).into();
    eventually_floor(addr, "the first part applied", |f| source_events(f, "acd-a") == events).await;
    child.stop().await;
    (dir, port)
}

/// The daemon restarted on `dir`: once its consumer is drained, the floor holds
/// exactly the events of `kept` (`what`), once each, and their per-queue totals.
async fn restart_holds_exactly(
    nats: &NatsServer,
    js: &jetstream::Context,
    dir: &tempfile::TempDir,
    port: u16,
    kept: &[Value],
    what: &str,
) -> (Serve, Value) {
    let child = serve(dir.path(), port, &nats.url());
    wait_port(port).await;
    let addr = ([127, 0, 0, 1], port).into();
    let (events, totals) = totals_of(kept);
    eventually_floor(addr, what, |f| source_events(f, "acd-a") >= events).await;
    eventually_drained(js, "fw-a").await;
    let f = floor_at(addr).await.expect("floor");
    assert_eq!(source_events(&f, "acd-a"), events, "{what}, once each: {f}");
    for (queue, want) in &totals {
        assert_eq!(queue_totals(&f, queue), *want, "{queue}");
    }
    (child, f)
}

/// the floor holds exactly what survived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_the_stream_expired_while_floorwatch_was_down_are_reported() {
    let nats = NatsServer::start().await;
    let js = nats.jetstream().await;
    js.create_stream(jetstream::stream::Config {
        name: "FLOOR".into(),
        subjects: vec!["floor.>".into()],
        storage: jetstream::stream::StorageType::File,
        max_messages: 50,
        discard: jetstream::stream::DiscardPolicy::Old,
        ..Default::default()
    })
    .await
    .expect("stream with limits created");
    let (messages, _, _) = floor_stream("acd-a", 99);
    let (first, rest) = messages.split_at(20);
    let (expired, survived) = rest.split_at(30);
    publish(&js, "floor.a.acd", first).await;
    // Stopped cleanly: its last checkpoint holds sequence 20.
    let (dir, port) = first_part_checkpointed(&nats, first).await;
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();

    publish(&js, "floor.a.acd", expired).await;
    publish(&js, "floor.a.acd", survived).await;
    let info = js.get_stream("FLOOR").await.expect("stream").cached_info().state.clone();
    assert_eq!(
        (info.first_sequence, info.last_sequence, info.messages),
        (51, 100, 50),
        "the limit dropped 21-50"
    );

    let kept: Vec<Value> = first.iter().chain(survived).cloned().collect();
    let (child, f) =
        restart_holds_exactly(&nats, &js, &dir, port, &kept, "the first part and the survivors").await;
    let (lost_events, _) = totals_of(expired);
    assert!(lost_events > 0);

    // Counted: one gap, found once.
    let text = eventually_metrics_at(addr, "the pending gauge at 0", |m| {
        m.contains(r#"floorwatch_nats_source_pending{source="site-a",subject="floor.a.>"} 0"#)
    })
    .await;
    assert_eq!(metric_sum(&text, "floorwatch_nats_source_expired_total", &[("source", "site-a")]), 1.0);
    let applied = [("source", "site-a"), ("subject", "floor.a.>")];
    assert_eq!(metric_sum(&text, "floorwatch_nats_source_applied_total", &applied), survived.len() as f64);
    // Shown: a fault of the link's source naming the range, and its alert.
    let fault = f["faults"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|x| x["component"] == "nats-expired:site-a")
        .unwrap_or_else(|| panic!("no expiry fault: {}", f["faults"]))
        .clone();
    assert_eq!(fault["source"], "site-a");
    let detail = fault["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("FLOOR") && detail.contains("21-50"), "{detail}");
    let (_, body) = http_get(addr, "/api/alerts?kind=system_fault").await;
    let alerts: Vec<Value> = serde_json::from_str(&body).expect("alerts JSON");
    let alert = alerts
        .iter()
        .find(|a| a["subject"]["component"] == "nats-expired:site-a")
        .unwrap_or_else(|| panic!("no expiry alert: {body}"));
    assert_eq!(alert["state"], "firing", "{alert}");
    assert!(alert["messages"]["en"].as_str().is_some_and(|m| m.contains("21-50")), "{alert}");
    child.kill_9();
}

/// A stream deleted and made anew while floorwatch was down restarts its
/// sequences at 1, below the floor's checkpointed mark: resuming after the mark
/// would skip the new stream's first messages unseen. They are all new, so the
/// consumer reads the new stream from its start, and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_made_anew_is_read_from_its_start() {
    let nats = NatsServer::start().await;
    let js = nats.floor_stream().await;
    let (messages, _, _) = floor_stream("acd-a", 40);
    let (first, rest) = messages.split_at(30);
    publish(&js, "floor.a.acd", first).await;
    let (dir, port) = first_part_checkpointed(&nats, first).await;
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();

    // The operator deletes the stream and makes it again; the bridge goes on.
    js.delete_stream("FLOOR").await.expect("stream deleted");
    let js = nats.floor_stream().await;
    let (second, _) = rest.split_at(rest.len().min(10));
    publish(&js, "floor.a.acd", second).await;
    assert_eq!(
        js.get_stream("FLOOR").await.expect("stream").cached_info().state.last_sequence,
        second.len() as u64
    );

    let all: Vec<Value> = first.iter().chain(second).cloned().collect();
    let (child, _) =
        restart_holds_exactly(&nats, &js, &dir, port, &all, "the old stream's part and the new stream's")
            .await;
    let text = eventually_metrics_at(addr, "the reset counted", |m| {
        m.contains(r#"floorwatch_nats_source_stream_resets_total{source="site-a"} 1"#)
    })
    .await;
    assert_eq!(metric_sum(&text, "floorwatch_nats_source_expired_total", &[("source", "site-a")]), 0.0);
    child.kill_9();
}

/// Messages on `subject` as JSON, in order, from a core NATS subscription.
struct Follower(async_nats::Subscriber);

impl Follower {
    async fn start(nats: &NatsServer, subject: &str) -> Follower {
        let client = async_nats::connect(nats.url()).await.expect("connect to nats");
        let sub = client.subscribe(subject.to_string()).await.expect("subscribe");
        client.flush().await.expect("subscription registered");
        Follower(sub)
    }

    /// The next message for which `pred` holds (earlier ones are returned too).
    async fn until(&mut self, what: &str, pred: impl Fn(&str, &Value) -> bool) -> Vec<(String, Value)> {
        use futures_util::StreamExt as _;
        let mut seen = Vec::new();
        loop {
            let m = tokio::time::timeout(PATIENCE, self.0.next())
                .await
                .unwrap_or_else(|_| panic!("{what} never published; saw {seen:?}"))
                .expect("subscription open");
            let v: Value = serde_json::from_slice(&m.payload).expect("sink JSON");
            let subject = m.subject.to_string();
            let done = pred(&subject, &v);
            seen.push((subject, v));
            if done {
                return seen;
            }
        }
    }
}

/// The NATS sink: a fault published on the source's subject fires a
/// `system_fault` alert and opens its incident; its recovery resolves the alert
/// and closes the incident. A follower of `floorwatch.a.>` receives each change
/// with its fields; the sink's counters say what it published.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nats_sink_publishes_alert_and_incident_changes() {
    let nats = NatsServer::start().await;
    let js = nats.floor_stream().await;
    let mut follower = Follower::start(&nats, "floorwatch.a.>").await;
    let mut cfg = nats_config(&nats, "site-a", "floor.a.>", "fw-a");
    cfg.notify.nats = Some(floorwatch::notify::nats::NatsSinkConfig {
        url: nats.url(),
        site: "a".into(),
        subject_prefix: "floorwatch".into(),
        timeout_secs: 2,
    });
    let d = TestDaemon::with_config(cfg).await;
    let fault = |status: &str| json!({"type":"fault","ts":ts_now(0.0),"source":"acd-a","component":"ivr","status":status});
    publish(&js, "floor.a.acd", &[fault("down")]).await;
    let is = |v: &Value, change: &str, key: &str| v["change"] == change && v[key]["kind"] == "system_fault";
    let seen =
        follower.until("the fired alert", |s, v| s == "floorwatch.a.alerts" && is(v, "fired", "alert")).await;
    let (_, fired) = seen.last().expect("fired").clone();
    assert_eq!(fired["site"], "a");
    assert_eq!(fired["alert"]["state"], "firing");
    assert_eq!(fired["alert"]["subject"]["component"], "ivr");
    assert!(fired["alert"]["id"].as_str().is_some_and(|id| !id.is_empty()), "{fired}");
    assert!(fired["alert"]["messages"]["zh-CN"].as_str().is_some_and(|m| !m.is_empty()), "{fired}");
    let id = fired["alert"]["id"].clone();
    let seen = follower
        .until("the incident opened", |s, v| s == "floorwatch.a.incidents" && is(v, "opened", "incident"))
        .await;
    let (_, opened) = seen.last().expect("opened").clone();
    assert_eq!(opened["incident"]["component"], "ivr");
    assert_eq!(opened["incident"]["script"]["version"], 1);
    assert!(opened["incident"]["script"]["en"].as_str().is_some_and(|t| t.contains("ivr")), "{opened}");
    let incident = opened["incident"]["id"].clone();

    publish(&js, "floor.a.acd", &[fault("up")]).await;
    let seen = follower
        .until("the resolved alert", |s, v| s == "floorwatch.a.alerts" && is(v, "resolved", "alert"))
        .await;
    let (_, resolved) = seen.last().expect("resolved").clone();
    assert_eq!(resolved["alert"]["id"], id, "the same alert resolves");
    assert_eq!(resolved["alert"]["state"], "resolved");
    assert!(resolved["alert"]["resolved_at"].is_string(), "{resolved}");
    let seen = follower
        .until("the incident closed", |s, v| s == "floorwatch.a.incidents" && v["change"] == "closed")
        .await;
    assert_eq!(seen.last().expect("closed").1["incident"]["id"], incident);

    let (_, text) = d.get("/metrics").await;
    assert!(metric_sum(&text, "floorwatch_nats_sink_published_total", &[("topic", "alerts")]) >= 2.0);
    assert!(metric_sum(&text, "floorwatch_nats_sink_published_total", &[("topic", "incidents")]) >= 2.0);
    assert_eq!(metric_sum(&text, "floorwatch_nats_sink_up", &[]), 1.0);
    d.shutdown().await.expect("clean shutdown");
}

/// NATS down does not hold up the alerts: with the sink's server gone, a fault
/// still fires its alert on the API; once the server is back, the sink
/// reconnects and the follower gets the alert (from the client's buffer, or
/// as a snapshot after a longer outage).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nats_sink_never_holds_up_alerts_while_its_server_is_down() {
    let source_nats = NatsServer::start().await;
    let js = source_nats.floor_stream().await;
    let mut sink_nats = NatsServer::start().await;
    let mut cfg = nats_config(&source_nats, "site-a", "floor.a.>", "fw-a");
    cfg.notify.nats = Some(floorwatch::notify::nats::NatsSinkConfig {
        url: sink_nats.url(),
        site: "a".into(),
        subject_prefix: "fw".into(),
        timeout_secs: 1,
    });
    // A stream on the sink's subjects keeps what it publishes, so the snapshot
    // sent the moment it reconnects is there whenever the test looks.
    let sink_js = sink_nats.jetstream().await;
    sink_js
        .get_or_create_stream(jetstream::stream::Config {
            name: "SINK".into(),
            subjects: vec!["fw.>".into()],
            storage: jetstream::stream::StorageType::File,
            ..Default::default()
        })
        .await
        .expect("sink stream");
    let d = TestDaemon::with_config(cfg).await;
    sink_nats.stop();
    let fault = json!({"type":"fault","ts":ts_now(0.0),"source":"acd-a","component":"trunk","status":"down"});
    publish(&js, "floor.a.acd", &[fault]).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (_, body) = d.get("/api/alerts?kind=system_fault").await;
        let all: Vec<Value> = serde_json::from_str(&body).expect("alerts JSON");
        if all.iter().any(|a| a["state"] == "firing") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the alert never fired with NATS down: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sink_nats.restart().await;
    let mut stream = sink_nats.jetstream().await.get_stream("SINK").await.expect("sink stream kept");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut last = Value::Null;
    loop {
        // Every message the sink sent since, in order (a publish buffered while
        // the link was down may land after the snapshot).
        let stored = stream.cached_info().state.last_sequence;
        for seq in 1..=stored {
            let Ok(m) = stream.get_raw_message(seq).await else { continue };
            let v: Value = serde_json::from_slice(&m.payload).expect("sink JSON");
            // The client's own buffer may carry `fired` over a short outage; a
            // longer one ends in a resync (`snapshot`). Either way it arrives.
            let told = v["change"] == "snapshot" || v["change"] == "fired";
            if told && v["alert"]["subject"]["component"] == "trunk" {
                last = v;
            }
        }
        if !last.is_null() {
            break;
        }
        stream.info().await.expect("sink stream info");
        if tokio::time::Instant::now() >= deadline {
            let (_, text) = d.get("/metrics").await;
            let sink: Vec<&str> = text.lines().filter(|l| l.starts_with("floorwatch_nats_sink")).collect();
            panic!("the open alert was never resent: {:?} {sink:?}", stream.cached_info().state);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(last["alert"]["state"], "firing");
    let (_, text) = d.get("/metrics").await;
    assert_eq!(metric_sum(&text, "floorwatch_nats_sink_up", &[]), 1.0, "{text}");
    d.shutdown().await.expect("clean shutdown");
}
