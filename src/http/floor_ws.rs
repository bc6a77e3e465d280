//! `WS /ws/floor`: the live floor for the wallboard and the team-lead console.
//!
//! One feed task turns the engine's snapshots into numbered deltas — the queues,
//! teams and agents that changed, each rendered to JSON once and shared by every
//! client — and sends them on a `broadcast`. Each session forwards them to its
//! browser:
//!
//! - on connect a full `snapshot` frame, then `delta` frames;
//! - the feed publishes on a grid of `wallboard.push_interval_ms` (at least
//!   100 ms, 200 by default), so a client gets at most one frame per slot; deltas
//!   that queue up while its socket is busy go out merged as one;
//! - a client that falls behind the broadcast (its socket drains too slowly) gets
//!   a fresh snapshot instead of what it missed; one whose socket takes nothing
//!   for [`SEND_TIMEOUT`] is dropped, and its page reconnects by itself.
//!
//! Nothing here can slow the engine: the feed reads the snapshot `watch` (latest
//! value only) and the `broadcast` never waits for a receiver. With no client
//! connected the feed does no work and holds no state.
//!
//! Frames (JSON text; times are floor time in Unix milliseconds):
//!
//! ```text
//! {"type":"snapshot","seq":N,"config":{..},"head":{..},"shift":{..},"faults":[..],
//!  "sources":[..],"queues":[..],"teams":[..],"agents":[..]}
//! {"type":"delta","seq":N+1,"head":{..},["shift","faults","sources" when changed],
//!  "queues":[changed..],"teams":[..],"agents":[..],
//!  "gone":{"queues":[ids],"teams":[ids],"agents":[ids]}}
//! ```
//!
//! A delta applies to the state of the frame numbered one less; a client that
//! sees a gap reconnects (the server never leaves one).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, Utf8Bytes, WebSocketUpgrade};
use axum::response::Response;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use serde::Serialize;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{Notify, broadcast, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::AppState;
use super::dto::{
    WallAgentDto, WallConfigDto, WallFaultDto, WallHeadDto, WallQueueDto, WallShiftDto, WallSourceDto,
    WallTeamDto,
};
use crate::clock::Clock;
use crate::config::Config;
use crate::event::{FastMap, Id};
use crate::floor::{Agent, Snapshot};

/// A client whose socket takes nothing for this long is dropped: a browser that
/// is alive drains a frame in milliseconds, even a large one on a slow LAN.
const SEND_TIMEOUT: Duration = Duration::from_secs(20);

/// How long after a grid point the feed reads the engine's snapshot: time for the
/// engine, waking at the same point, to take it (well under a millisecond for
/// thousands of agents, a few for tens of thousands, plus a round of input it may
/// be in the middle of).
const FEED_LAG: Duration = Duration::from_millis(10);

/// Deltas kept for clients that are a little behind (at four a second, four
/// seconds); further behind, a client is resynced with a snapshot.
const BACKLOG: usize = 16;

/// The entity kinds a frame carries, in the order of [`Delta::changes`].
const KINDS: [&str; 3] = ["queues", "teams", "agents"];

/// The wallboard's end of the feed, held in [`AppState`].
pub struct FloorFeed {
    deltas: broadcast::Sender<Arc<Delta>>,
    state: watch::Receiver<Arc<FeedState>>,
    wake: Arc<Notify>,
}

impl FloorFeed {
    /// Starts the feed task; it ends when the engine's snapshot channel closes or
    /// at `cancel`.
    pub fn spawn(
        snapshot: watch::Receiver<Arc<Snapshot>>,
        cfg: &Config,
        clock: Clock,
        cancel: CancellationToken,
    ) -> (Arc<FloorFeed>, tokio::task::JoinHandle<()>) {
        let config =
            json(&WallConfigDto::new(&cfg.wallboard, &cfg.alerts, &cfg.floor, &cfg.incidents.components));
        let interval = Duration::from_millis(cfg.wallboard.push_interval_ms);
        let (handle, feed) = Feed::new(snapshot, config, interval, clock);
        // The task's handle goes to the daemon's supervisor: a wall feed that died
        // would leave every wall frozen on its last picture.
        let task = tokio::spawn(feed.run(cancel));
        (handle, task)
    }

    /// A new client: subscribes to the deltas first, so nothing falls between the
    /// snapshot it is about to get and the deltas after it.
    fn subscribe(&self) -> (broadcast::Receiver<Arc<Delta>>, watch::Receiver<Arc<FeedState>>) {
        let rx = self.deltas.subscribe();
        // An idle feed starts working at once rather than at the next snapshot.
        self.wake.notify_one();
        (rx, self.state.clone())
    }
}

/// What changed between two published snapshots, rendered once for every client.
#[derive(Debug)]
struct Delta {
    seq: u64,
    head: Arc<str>,
    shift: Option<Arc<str>>,
    faults: Option<Arc<str>>,
    sources: Option<Arc<str>>,
    /// Per kind, in [`KINDS`] order: `(id, Some(json))` added or changed,
    /// `(id, None)` gone.
    changes: [Vec<(Id, Option<Arc<str>>)>; 3],
    text: Utf8Bytes,
}

/// The whole picture as of delta `seq`, for clients that join or resync.
#[derive(Debug)]
struct FeedState {
    seq: u64,
    /// `false` while the feed is idle (no clients) and holds nothing.
    live: bool,
    config: Arc<str>,
    head: Arc<str>,
    shift: Arc<str>,
    faults: Arc<str>,
    sources: Arc<str>,
    entities: [Vec<Arc<str>>; 3],
    /// About how long the rendered snapshot is, bytes.
    bytes: usize,
    /// Rendered on first use and shared by every client that needs it.
    text: OnceLock<Utf8Bytes>,
}

impl FeedState {
    fn idle(seq: u64, config: Arc<str>) -> FeedState {
        let empty: Arc<str> = Arc::from("null");
        FeedState {
            seq,
            live: false,
            config,
            head: empty.clone(),
            shift: empty.clone(),
            faults: empty.clone(),
            sources: empty,
            entities: Default::default(),
            bytes: 0,
            text: OnceLock::new(),
        }
    }

    fn text(&self) -> Utf8Bytes {
        self.text
            .get_or_init(|| {
                let mut f = Frame::new("snapshot", self.seq);
                f.raw("config", &self.config);
                f.raw("head", &self.head);
                f.raw("shift", &self.shift);
                f.raw("faults", &self.faults);
                f.raw("sources", &self.sources);
                for (kind, list) in KINDS.iter().zip(&self.entities) {
                    f.array(kind, list.iter().map(|j| &**j));
                }
                f.finish()
            })
            .clone()
    }
}

/// A JSON object written field by field from pre-rendered parts.
struct Frame(String);

impl Frame {
    fn new(kind: &str, seq: u64) -> Frame {
        Frame(format!(r#"{{"type":"{kind}","seq":{seq}"#))
    }

    fn raw(&mut self, key: &str, json: &str) {
        self.0.push_str(",\"");
        self.0.push_str(key);
        self.0.push_str("\":");
        self.0.push_str(json);
    }

    fn array<'a>(&mut self, key: &str, items: impl Iterator<Item = &'a str>) {
        self.0.push_str(",\"");
        self.0.push_str(key);
        self.0.push_str("\":[");
        for (i, item) in items.enumerate() {
            if i > 0 {
                self.0.push(',');
            }
            self.0.push_str(item);
        }
        self.0.push(']');
    }

    /// `"gone":{"queues":[..],"teams":[..],"agents":[..]}` from ids.
    fn gone(&mut self, ids: [Vec<&Id>; 3]) {
        self.0.push_str(",\"gone\":{");
        for (k, (kind, list)) in KINDS.iter().zip(ids).enumerate() {
            if k > 0 {
                self.0.push(',');
            }
            self.0.push('"');
            self.0.push_str(kind);
            self.0.push_str("\":[");
            for (i, id) in list.into_iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                self.0.push_str(&json(&id.as_str()));
            }
            self.0.push(']');
        }
        self.0.push('}');
    }

    fn finish(mut self) -> Utf8Bytes {
        self.0.push('}');
        Utf8Bytes::from(self.0)
    }
}

/// Renders a wire value. Our DTOs always serialise (string keys, finite or null
/// numbers); `null` stands in should one ever not.
fn json<T: Serialize>(v: &T) -> Arc<str> {
    match serde_json::to_string(v) {
        Ok(s) => s.into(),
        Err(e) => {
            tracing::error!(error = %e, "wallboard value did not serialise");
            Arc::from("null")
        }
    }
}

/// Renders a delta frame from its parts.
fn delta_text(
    seq: u64,
    head: &str,
    singles: [(&str, Option<&str>); 3],
    changes: [Vec<(&Id, Option<&str>)>; 3],
) -> Utf8Bytes {
    let mut f = Frame::new("delta", seq);
    f.raw("head", head);
    for (key, value) in singles {
        if let Some(v) = value {
            f.raw(key, v);
        }
    }
    let mut gone: [Vec<&Id>; 3] = Default::default();
    for ((kind, list), gone) in KINDS.iter().zip(&changes).zip(&mut gone) {
        f.array(kind, list.iter().filter_map(|(_, j)| *j));
        gone.extend(list.iter().filter(|(_, j)| j.is_none()).map(|(id, _)| *id));
    }
    f.gone(gone);
    f.finish()
}

/// Several consecutive deltas as one: the latest value of each entity wins.
fn merge(deltas: &[Arc<Delta>]) -> Option<Utf8Bytes> {
    let last = deltas.last()?;
    if deltas.len() == 1 {
        return Some(last.text.clone());
    }
    let latest =
        |pick: fn(&Delta) -> Option<&Arc<str>>| deltas.iter().rev().find_map(|d| pick(d)).map(|s| &**s);
    let mut changes: [Vec<(&Id, Option<&str>)>; 3] = Default::default();
    for (k, out) in changes.iter_mut().enumerate() {
        let mut seen: FastMap<&Id, usize> = FastMap::default();
        for d in deltas {
            for (id, json) in &d.changes[k] {
                let json = json.as_deref();
                match seen.get(id) {
                    Some(&i) => out[i].1 = json,
                    None => {
                        seen.insert(id, out.len());
                        out.push((id, json));
                    }
                }
            }
        }
    }
    Some(delta_text(
        last.seq,
        &last.head,
        [
            ("shift", latest(|d| d.shift.as_ref())),
            ("faults", latest(|d| d.faults.as_ref())),
            ("sources", latest(|d| d.sources.as_ref())),
        ],
        changes,
    ))
}

/// One entity as last sent: its JSON and the delta that last saw it.
struct Entry {
    json: Arc<str>,
    seen: u64,
}

/// The feed task: owns the last published picture and diffs each new snapshot
/// against it.
struct Feed {
    snapshot: watch::Receiver<Arc<Snapshot>>,
    deltas: broadcast::Sender<Arc<Delta>>,
    state: watch::Sender<Arc<FeedState>>,
    wake: Arc<Notify>,
    interval: Duration,
    /// Whose grid the feed sends on (the engine publishes on it too).
    clock: Clock,
    config: Arc<str>,
    seq: u64,
    live: bool,
    head: Option<Arc<str>>,
    shift: Option<Arc<str>>,
    faults: Option<Arc<str>>,
    sources: Option<Arc<str>>,
    queues: FastMap<Id, Entry>,
    teams: FastMap<Id, Entry>,
    /// With the agent as rendered, so an unchanged agent is recognised without
    /// rendering it again (the one kind that can number tens of thousands).
    agents: FastMap<Id, (Agent, Entry)>,
}

impl Feed {
    fn new(
        snapshot: watch::Receiver<Arc<Snapshot>>,
        config: Arc<str>,
        interval: Duration,
        clock: Clock,
    ) -> (Arc<FloorFeed>, Feed) {
        let (state, state_rx) = watch::channel(Arc::new(FeedState::idle(0, config.clone())));
        let (deltas, _) = broadcast::channel(BACKLOG);
        let wake = Arc::new(Notify::new());
        let handle = Arc::new(FloorFeed { deltas: deltas.clone(), state: state_rx, wake: wake.clone() });
        let feed = Feed {
            snapshot,
            deltas,
            state,
            wake,
            interval,
            clock,
            config,
            seq: 0,
            live: false,
            head: None,
            shift: None,
            faults: None,
            sources: None,
            queues: FastMap::default(),
            teams: FastMap::default(),
            agents: FastMap::default(),
        };
        (handle, feed)
    }

    async fn run(mut self, cancel: CancellationToken) {
        // The feed publishes on a fixed grid, one interval apart, whatever the
        // engine has published by then. Following the engine's snapshots instead
        // does not work out: a pace of one interval against an input of about the
        // same rate never catches up once it has fallen behind — every change
        // would then wait most of an interval more. The grid is the clock's, the
        // one the engine publishes snapshots on (`floor.snapshot_interval_ms`,
        // 100 ms by default, divides 200), and the feed reads [`FEED_LAG`] after
        // each point: a change waits for the next point, not for the next point
        // and a snapshot up to an interval old.
        let mut next = Instant::now();
        loop {
            if self.deltas.receiver_count() == 0 {
                if self.live {
                    self.go_idle();
                }
                tokio::select! {
                    _ = self.wake.notified() => {}
                    changed = self.snapshot.changed() => if changed.is_err() { break },
                    _ = cancel.cancelled() => break,
                }
                continue;
            }
            if self.live {
                tokio::select! {
                    _ = tokio::time::sleep_until(next + FEED_LAG) => {}
                    _ = cancel.cancelled() => break,
                }
                // Wake-up delays do not add up: the next point is on the grid,
                // a whole interval on; after a long stall, the first one ahead.
                next = self.clock.grid_at_or_after(Instant::now().max(next + self.interval), self.interval);
                match self.snapshot.has_changed() {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(_) => break,
                }
            } else {
                // Coming alive: what is there now, at once; the grid from the
                // point a whole interval on, so no client gets two in one.
                next = self.clock.grid_at_or_after(Instant::now() + self.interval, self.interval);
            }
            let snap = self.snapshot.borrow_and_update().clone();
            self.publish(&snap);
        }
    }

    /// Nobody watches: forget everything, so the next client starts from a full
    /// picture and no memory is held for nobody.
    fn go_idle(&mut self) {
        self.live = false;
        // A number is skipped: a client that joined just as the feed went idle
        // holds the last live picture, sees the gap in the next delta and resyncs
        // (the first delta after idle is relative to nothing).
        self.seq += 1;
        self.head = None;
        self.shift = None;
        self.faults = None;
        self.sources = None;
        self.queues = FastMap::default();
        self.teams = FastMap::default();
        self.agents = FastMap::default();
        self.state.send_replace(Arc::new(FeedState::idle(self.seq, self.config.clone())));
    }

    fn publish(&mut self, s: &Snapshot) {
        self.seq += 1;
        self.live = true;
        let seq = self.seq;

        let head = json(&WallHeadDto::new(s));
        let shift = json(&WallShiftDto { name: &s.shift.name, start: s.shift.start, end: s.shift.end });
        let faults = json(
            &s.faults
                .iter()
                .map(|f| WallFaultDto {
                    component: &f.component,
                    source: &f.source,
                    since: f.since,
                    detail: f.detail.as_deref(),
                })
                .collect::<Vec<_>>(),
        );
        let sources = json(
            &s.sources
                .iter()
                .map(|x| WallSourceDto { id: &x.id, connected: x.connections > 0, last_heard: x.last_heard })
                .collect::<Vec<_>>(),
        );
        let changed = |old: &mut Option<Arc<str>>, new: Arc<str>| -> Option<Arc<str>> {
            if old.as_deref() == Some(&*new) {
                None
            } else {
                *old = Some(new.clone());
                Some(new)
            }
        };
        let shift_change = changed(&mut self.shift, shift);
        let faults_change = changed(&mut self.faults, faults);
        let sources_change = changed(&mut self.sources, sources);
        self.head = Some(head.clone());

        let mut changes: [Vec<(Id, Option<Arc<str>>)>; 3] = Default::default();
        for (i, q) in s.queues.iter().enumerate() {
            upsert(&mut self.queues, &q.id, seq, json(&WallQueueDto::new(s, i, q)), &mut changes[0]);
        }
        for (i, t) in s.teams.iter().enumerate() {
            let dto = WallTeamDto { id: &t.id, order: i, name: &t.name, lead: t.lead.as_deref() };
            upsert(&mut self.teams, &t.id, seq, json(&dto), &mut changes[1]);
        }
        for a in &s.agents {
            if a.state.is_none() {
                continue;
            }
            match self.agents.get_mut(&a.id) {
                Some((old, e)) => {
                    e.seen = seq;
                    if !same_on_wall(old, a) {
                        *old = a.clone();
                        e.json = json(&WallAgentDto::new(a));
                        changes[2].push((a.id.clone(), Some(e.json.clone())));
                    }
                }
                None => {
                    let e = Entry { json: json(&WallAgentDto::new(a)), seen: seq };
                    changes[2].push((a.id.clone(), Some(e.json.clone())));
                    self.agents.insert(a.id.clone(), (a.clone(), e));
                }
            }
        }
        forget_unseen(&mut self.queues, seq, |e| e, &mut changes[0]);
        forget_unseen(&mut self.teams, seq, |e| e, &mut changes[1]);
        forget_unseen(&mut self.agents, seq, |(_, e)| e, &mut changes[2]);

        let entities: [Vec<Arc<str>>; 3] = [
            self.queues.values().map(|e| e.json.clone()).collect(),
            self.teams.values().map(|e| e.json.clone()).collect(),
            self.agents.values().map(|(_, e)| e.json.clone()).collect(),
        ];
        let bytes = entities.iter().flatten().map(|j| j.len() + 1).sum();
        let state = FeedState {
            seq,
            live: true,
            config: self.config.clone(),
            head: head.clone(),
            shift: self.shift.clone().unwrap_or_else(|| Arc::from("null")),
            faults: self.faults.clone().unwrap_or_else(|| Arc::from("[]")),
            sources: self.sources.clone().unwrap_or_else(|| Arc::from("[]")),
            entities,
            bytes,
            text: OnceLock::new(),
        };
        // State first, then the delta: a client that reads state N skips delta N.
        self.state.send_replace(Arc::new(state));
        let mut delta = Delta {
            seq,
            head,
            shift: shift_change,
            faults: faults_change,
            sources: sources_change,
            changes,
            text: Utf8Bytes::from_static(""),
        };
        delta.text = delta_text(
            seq,
            &delta.head,
            [
                ("shift", delta.shift.as_deref()),
                ("faults", delta.faults.as_deref()),
                ("sources", delta.sources.as_deref()),
            ],
            delta.changes.each_ref().map(|l| l.iter().map(|(id, j)| (id, j.as_deref())).collect()),
        );
        // No receiver is fine: every client left since the count was taken.
        let _ = self.deltas.send(Arc::new(delta));
    }
}

fn upsert(
    map: &mut FastMap<Id, Entry>,
    id: &Id,
    seq: u64,
    json: Arc<str>,
    out: &mut Vec<(Id, Option<Arc<str>>)>,
) {
    match map.get_mut(id) {
        Some(e) => {
            e.seen = seq;
            if e.json != json {
                e.json = json;
                out.push((id.clone(), Some(e.json.clone())));
            }
        }
        None => {
            out.push((id.clone(), Some(json.clone())));
            map.insert(id.clone(), Entry { json, seen: seq });
        }
    }
}

fn forget_unseen<V>(
    map: &mut FastMap<Id, V>,
    seq: u64,
    entry: fn(&V) -> &Entry,
    out: &mut Vec<(Id, Option<Arc<str>>)>,
) {
    map.retain(|id, v| {
        let keep = entry(v).seen == seq;
        if !keep {
            out.push((id.clone(), None));
        }
        keep
    });
}

/// Whether the wall would show `a` as it shows `b` (what [`WallAgentDto`] holds).
fn same_on_wall(a: &Agent, b: &Agent) -> bool {
    a.state == b.state
        && a.since == b.since
        && a.reason == b.reason
        && a.queue == b.queue
        && a.name == b.name
        && a.team == b.team
        && a.handled_today == b.handled_today
}

// ---------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------

pub(super) async fn upgrade(State(st): State<AppState>, ws: WebSocketUpgrade) -> Response {
    // Browsers send nothing but control frames here.
    ws.max_message_size(64 << 10).on_upgrade(move |socket| async move {
        let (sink, stream) = socket.split();
        session(sink, stream, st.floor_feed.clone(), st.cancel.clone()).await;
    })
}

/// Why a session ended, for tests and the log.
#[derive(Debug, PartialEq, Eq)]
enum End {
    ClientGone,
    SendFailed,
    SendTimedOut,
    FeedClosed,
    Shutdown,
}

/// One client: a snapshot, then deltas at the client's pace.
async fn session<S, R, E>(
    mut sink: S,
    mut incoming: R,
    feed: Arc<FloorFeed>,
    cancel: CancellationToken,
) -> End
where
    S: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, E>> + Unpin,
{
    let (mut rx, mut state) = feed.subscribe();
    let mut seq = match send_snapshot(&mut sink, &mut state).await {
        Ok(seq) => seq,
        Err(end) => return end,
    };
    let mut pending: Vec<Arc<Delta>> = Vec::new();
    let end = loop {
        let mut resync = false;
        tokio::select! {
            got = rx.recv() => match got {
                Ok(d) => pending.push(d),
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "wallboard client fell behind; resyncing");
                    resync = true;
                }
                Err(RecvError::Closed) => break End::FeedClosed,
            },
            msg = incoming.next() => match msg {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break End::ClientGone,
                Some(Ok(_)) => continue,
            },
            _ = cancel.cancelled() => break End::Shutdown,
        }
        // The pace is the feed's: one delta per grid slot. What queued up while
        // this client's last frame was leaving goes out merged as one.
        loop {
            match rx.try_recv() {
                Ok(d) => pending.push(d),
                Err(TryRecvError::Lagged(_)) => resync = true,
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        pending.retain(|d| d.seq > seq);
        if !resync && pending.first().is_some_and(|d| d.seq != seq + 1) {
            // Cannot happen while the feed numbers its deltas one by one; a
            // snapshot puts the client right whatever the cause.
            tracing::warn!(expected = seq + 1, "wallboard delta out of order; resyncing");
            resync = true;
        }
        // Several deltas as large as the whole picture (a busy floor changes every
        // agent in every slot): the snapshot, rendered once for every client,
        // costs no more bytes and saves merging them for this one.
        if pending.len() > 1 && pending.iter().map(|d| d.text.len()).sum::<usize>() >= state.borrow().bytes {
            resync = true;
        }
        if resync {
            pending.clear();
            match send_snapshot(&mut sink, &mut state).await {
                Ok(s) => seq = s,
                Err(end) => break end,
            }
            continue;
        }
        let Some(text) = merge(&pending) else { continue };
        if let Some(last) = pending.last() {
            seq = last.seq;
        }
        pending.clear();
        match tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Text(text))).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => break End::SendFailed,
            Err(_) => break End::SendTimedOut,
        }
    };
    if matches!(end, End::Shutdown | End::FeedClosed) {
        let _ = tokio::time::timeout(Duration::from_secs(1), sink.send(Message::Close(None))).await;
    }
    if end == End::SendTimedOut {
        tracing::info!("wallboard client took no frame for {} s; dropped", SEND_TIMEOUT.as_secs());
    }
    end
}

/// Sends the whole picture; returns the delta number it stands for.
async fn send_snapshot<S: Sink<Message> + Unpin>(
    sink: &mut S,
    state: &mut watch::Receiver<Arc<FeedState>>,
) -> Result<u64, End> {
    let current = match state.wait_for(|s| s.live).await {
        Ok(s) => s.clone(),
        Err(_) => return Err(End::FeedClosed),
    };
    match tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Text(current.text()))).await {
        Ok(Ok(())) => Ok(current.seq),
        Ok(Err(_)) => Err(End::SendFailed),
        Err(_) => Err(End::SendTimedOut),
    }
}

#[cfg(test)]
mod tests;
