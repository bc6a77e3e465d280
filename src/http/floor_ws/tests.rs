use std::sync::Arc;
use std::time::Duration;

use futures_util::stream;
use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::{CancellationToken, PollSender};

use super::*;
use crate::config::Config;
use crate::event::{AgentState, Event, EventKind, Id};
use crate::floor::Floor;

const T0: i64 = 1_795_420_800_000;

/// A floor driven by events, from which snapshots are taken.
struct Fixture {
    floor: Floor,
    now: i64,
}

impl Fixture {
    fn new() -> Fixture {
        let cfg = Config::default();
        let mut fx = Vec::new();
        Fixture { floor: Floor::new(&cfg.floor, &mut fx), now: T0 }
    }

    fn apply(&mut self, kind: EventKind) {
        self.now += 1000;
        let ev = Event { ts: self.now, source: Id::from("t"), seq: None, kind };
        let mut fx = Vec::new();
        self.floor.apply(&ev, self.now, &mut fx);
    }

    fn login(&mut self, agent: &str, name: &str) {
        self.apply(EventKind::AgentLogin {
            agent: agent.into(),
            name: Some(name.into()),
            team: Some("team-1".into()),
            state: AgentState::Ready,
            reason: None,
        });
    }

    fn state(&mut self, agent: &str, state: AgentState) {
        self.apply(EventKind::AgentState {
            agent: agent.into(),
            state,
            reason: None,
            queue: None,
            call: None,
        });
    }

    fn snapshot(&mut self) -> Arc<Snapshot> {
        Arc::new(self.floor.snapshot(self.now))
    }
}

fn feed(first: Arc<Snapshot>) -> (watch::Sender<Arc<Snapshot>>, Arc<FloorFeed>, Feed) {
    let (tx, rx) = watch::channel(first);
    let (handle, feed) = Feed::new(
        rx,
        Arc::from(r#"{"title":"t"}"#),
        Duration::from_millis(250),
        crate::clock::Clock::system(),
    );
    (tx, handle, feed)
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("frame is not JSON ({e}): {text}"))
}

fn ids(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x["id"].as_str().or(x.as_str()).map(String::from))
        .collect();
    out.sort();
    out
}

#[test]
fn first_delta_has_everything_then_only_what_changed() {
    let mut f = Fixture::new();
    f.login("A1", "王芳");
    f.login("A2", "<img src=x onerror=alert(1)>");
    let (_tx, handle, mut feed) = feed(f.snapshot());
    let mut rx = handle.deltas.subscribe();

    feed.publish(&f.snapshot());
    let d1 = rx.try_recv().expect("first delta");
    let v = parse(d1.text.as_str());
    assert_eq!(v["type"], "delta");
    assert_eq!(v["seq"], 1);
    assert_eq!(ids(&v["agents"]), ["A1", "A2"]);
    // Outside text is data in the JSON, nothing more.
    let a2 = v["agents"].as_array().and_then(|l| l.iter().find(|a| a["id"] == "A2")).cloned();
    assert_eq!(a2.map(|a| a["name"].clone()), Some(Value::from("<img src=x onerror=alert(1)>")));
    let snap = parse(handle.state.borrow().text().as_str());
    assert_eq!(snap["type"], "snapshot");
    assert_eq!(snap["seq"], 1);
    assert_eq!(snap["config"]["title"], "t");
    assert_eq!(ids(&snap["agents"]), ["A1", "A2"]);

    // Nothing happened: an empty delta (the time still moves on).
    feed.publish(&f.snapshot());
    let v = parse(rx.try_recv().expect("delta").text.as_str());
    assert_eq!(v["seq"], 2);
    assert_eq!(ids(&v["agents"]), Vec::<String>::new());
    assert!(v.get("shift").is_none(), "unchanged parts are left out");

    f.state("A1", AgentState::Talking);
    feed.publish(&f.snapshot());
    let v = parse(rx.try_recv().expect("delta").text.as_str());
    assert_eq!(ids(&v["agents"]), ["A1"]);
    assert_eq!(v["agents"][0]["state"], "talking");
    assert_eq!(v["head"]["by_state"]["talking"], 1);

    f.apply(EventKind::AgentLogout { agent: "A2".into(), reason: None });
    feed.publish(&f.snapshot());
    let v = parse(rx.try_recv().expect("delta").text.as_str());
    assert_eq!(ids(&v["agents"]), Vec::<String>::new());
    assert_eq!(ids(&v["gone"]["agents"]), ["A2"]);
    let snap = parse(handle.state.borrow().text().as_str());
    assert_eq!(ids(&snap["agents"]), ["A1"]);
}

#[test]
fn merged_deltas_keep_the_latest_of_each() {
    let mut f = Fixture::new();
    f.login("A1", "a");
    f.login("A2", "b");
    let (_tx, handle, mut feed) = feed(f.snapshot());
    let mut rx = handle.deltas.subscribe();
    feed.publish(&f.snapshot());
    let _ = rx.try_recv();
    f.state("A1", AgentState::Talking);
    feed.publish(&f.snapshot());
    f.state("A1", AgentState::Acw);
    f.apply(EventKind::AgentLogout { agent: "A2".into(), reason: None });
    f.login("A3", "c");
    feed.publish(&f.snapshot());
    let ds = vec![rx.try_recv().expect("d2"), rx.try_recv().expect("d3")];
    let v = parse(merge(&ds).expect("merged").as_str());
    assert_eq!(v["seq"], 3);
    assert_eq!(ids(&v["agents"]), ["A1", "A3"]);
    let a1 = v["agents"].as_array().and_then(|l| l.iter().find(|a| a["id"] == "A1")).cloned();
    assert_eq!(a1.map(|a| a["state"].clone()), Some(Value::from("acw")), "the later value wins");
    assert_eq!(ids(&v["gone"]["agents"]), ["A2"]);
    // Gone and back within the merge: present, not gone.
    f.apply(EventKind::AgentLogout { agent: "A3".into(), reason: None });
    feed.publish(&f.snapshot());
    f.login("A3", "c again");
    feed.publish(&f.snapshot());
    let ds = vec![rx.try_recv().expect("d4"), rx.try_recv().expect("d5")];
    let v = parse(merge(&ds).expect("merged").as_str());
    assert_eq!(ids(&v["agents"]), ["A3"]);
    assert_eq!(ids(&v["gone"]["agents"]), Vec::<String>::new());
}

/// A sink the test reads from; capacity 1, so it blocks while the test does not read.
fn client() -> (PollSender<Message>, mpsc::Receiver<Message>) {
    let (tx, rx) = mpsc::channel(1);
    (PollSender::new(tx), rx)
}

fn no_input() -> stream::Pending<Result<Message, std::io::Error>> {
    stream::pending()
}

async fn frame(rx: &mut mpsc::Receiver<Message>) -> Value {
    match tokio::time::timeout(Duration::from_secs(60), rx.recv()).await {
        Ok(Some(Message::Text(t))) => parse(t.as_str()),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_client_gets_a_snapshot_then_deltas_at_most_every_interval() {
    let mut f = Fixture::new();
    f.login("A1", "a");
    let (tx, handle, feed) = feed(f.snapshot());
    let cancel = CancellationToken::new();
    tokio::spawn(feed.run(cancel.clone()));
    let (sink, mut rx) = client();
    let session = tokio::spawn(session(sink, no_input(), handle, cancel.clone()));

    let first = frame(&mut rx).await;
    assert_eq!(first["type"], "snapshot");
    assert_eq!(ids(&first["agents"]), ["A1"]);
    // Twenty changes 50 ms apart: one second's worth, at most five frames.
    let start = Instant::now();
    let mut times = Vec::new();
    let reader = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Some(Message::Text(t)) = rx.recv().await {
            got.push((Instant::now(), parse(t.as_str())));
        }
        got
    });
    for i in 0..20 {
        f.state("A1", if i % 2 == 0 { AgentState::Talking } else { AgentState::Ready });
        tx.send_replace(f.snapshot());
        tokio::time::sleep(Duration::from_millis(50)).await;
        times.push(Instant::now());
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    cancel.cancel();
    assert_eq!(session.await.ok(), Some(End::Shutdown));
    let got = reader.await.expect("reader");
    let deltas: Vec<_> = got.iter().filter(|(_, v)| v["type"] == "delta").collect();
    assert!(!deltas.is_empty() && deltas.len() <= 5, "{} deltas for 1 s of changes", deltas.len());
    for w in deltas.windows(2) {
        assert!(w[1].0 - w[0].0 >= Duration::from_millis(250), "two frames closer than the interval");
        assert_eq!(w[1].1["seq"].as_u64(), w[0].1["seq"].as_u64().map(|s| s + 1), "merged, not skipped");
    }
    let last = &deltas[deltas.len() - 1].1;
    assert_eq!(last["agents"][0]["state"], "ready", "the last change arrives");
    assert!(times.len() == 20 && start.elapsed() >= Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn a_client_that_falls_behind_is_resynced_with_a_snapshot() {
    let mut f = Fixture::new();
    f.login("A1", "a");
    let (_tx, handle, mut feed) = feed(f.snapshot());
    feed.publish(&f.snapshot());
    let cancel = CancellationToken::new();
    let (sink, mut rx) = client();
    let session = tokio::spawn(session(sink, no_input(), handle, cancel.clone()));
    // The snapshot fills the client's one-frame buffer; the next frame blocks.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for i in 0..(BACKLOG + 5) {
        f.state("A1", if i % 2 == 0 { AgentState::Talking } else { AgentState::Ready });
        feed.publish(&f.snapshot());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let latest = feed.seq;
    assert_eq!(frame(&mut rx).await["type"], "snapshot");
    // The frame it was blocked on, then — having missed more than the backlog —
    // a fresh snapshot rather than the deltas it missed.
    assert_eq!(frame(&mut rx).await["type"], "delta");
    let resync = frame(&mut rx).await;
    assert_eq!(resync["type"], "snapshot");
    assert_eq!(resync["seq"].as_u64(), Some(latest));
    assert_eq!(resync["agents"][0]["state"], if BACKLOG % 2 == 0 { "talking" } else { "ready" });
    // And it goes on from there.
    f.state("A1", AgentState::Acw);
    feed.publish(&f.snapshot());
    let next = frame(&mut rx).await;
    assert_eq!(next["seq"].as_u64(), Some(latest + 1));
    assert_eq!(next["agents"][0]["state"], "acw");
    cancel.cancel();
    assert_eq!(session.await.ok(), Some(End::Shutdown));
}

#[tokio::test(start_paused = true)]
async fn a_client_that_takes_nothing_is_dropped() {
    let mut f = Fixture::new();
    f.login("A1", "a");
    let (_tx, handle, mut feed) = feed(f.snapshot());
    feed.publish(&f.snapshot());
    let (sink, rx) = client();
    let session = tokio::spawn(session(sink, no_input(), handle, CancellationToken::new()));
    for _ in 0..3 {
        f.state("A1", AgentState::Talking);
        feed.publish(&f.snapshot());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Nobody reads `rx`: the second frame never leaves.
    let ended = tokio::time::timeout(SEND_TIMEOUT * 3, session).await;
    assert_eq!(ended.ok().and_then(Result::ok), Some(End::SendTimedOut));
    drop(rx);
}

#[tokio::test(start_paused = true)]
async fn the_feed_idles_without_clients_and_wakes_for_one() {
    let mut f = Fixture::new();
    f.login("A1", "a");
    let (tx, handle, feed) = feed(f.snapshot());
    let cancel = CancellationToken::new();
    tokio::spawn(feed.run(cancel.clone()));
    for _ in 0..5 {
        f.state("A1", AgentState::Talking);
        tx.send_replace(f.snapshot());
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(!handle.state.borrow().live, "no client, no work");
    let (sink, mut rx) = client();
    let session = tokio::spawn(session(sink, no_input(), handle.clone(), cancel.clone()));
    let snap = frame(&mut rx).await;
    assert_eq!(snap["type"], "snapshot");
    assert_eq!(snap["agents"][0]["state"], "talking");
    // The client leaves; the feed goes idle again and forgets its picture.
    session.abort();
    let _ = session.await;
    f.state("A1", AgentState::Ready);
    tx.send_replace(f.snapshot());
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!handle.state.borrow().live);
    cancel.cancel();
}
