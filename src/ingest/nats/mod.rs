//! `nats`: canonical events (contract §3, one JSON event or batch per message)
//! read from a NATS JetStream stream through durable pull consumers (contract §6).
//!
//! One consumer per subject (nats-server 2.9 filters a consumer on one subject;
//! a wildcard subject is one consumer too), all on one client link per source.
//! Each message is decoded by the canonical decoder (rejections counted as for a
//! WebSocket frame) and handed to the source's [`Connection`]; then the engine is
//! told the message's stream sequence ([`Connection::mark_stream`]), on the same
//! ordered channel, behind its events. That mark is part of the floor checkpoint,
//! committed in the same transaction as the floor state it produced.
//!
//! Exactly once in effect: a message is acked as soon as the engine has it (not
//! after the checkpoint's COMMIT), and on every (re)start the consumer is
//! created anew, positioned right after the last sequence applied — after a
//! restart the checkpoint's, after a lost link the one this task last handed
//! over. So after a kill -9 the floor restored from the last checkpoint receives
//! again exactly the messages it lost, whatever the consumer had acked; a
//! message delivered again at or below the mark (a redelivery inside a link) is
//! acked and skipped. docs/scale-out.md walks through the failure cases.
//!
//! The link as the floor sees it: up (`Intake::open`, a heartbeat for the source
//! every `ping_every` that a PING round trip answered); lost (connect refused, the
//! stream missing, a round trip or a pull over `silence_timeout`): the connection
//! closes, so `source_down` follows after its timeout, and it resolves once a
//! reconnect has repositioned every consumer. Reconnects back off with jitter.
//!
//! Expired messages: when a consumer is positioned after a checkpointed
//! sequence but the stream's first sequence lies further on, the messages in
//! between were dropped by the stream's limits (`max_age`, `max_msgs`,
//! `max_bytes`) before the floor read them. That loss cannot be undone, only
//! shown: a `warn!` with the range, `floorwatch_nats_source_expired_total`, and a
//! `fault` down on the component `nats-expired:<source>` (a `system_fault` alert,
//! listed in `/api/floor`'s `faults` with the range as its detail) that clears
//! [`EXPIRY_HOLD_MS`] later. Metrics: `metrics::nats_source`.

use std::time::Duration;

use async_nats::jetstream::stream::ConsumerErrorKind;
use async_nats::jetstream::{self, consumer::PullConsumer, consumer::pull};
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::canonical::decode::decode_limited;
use super::dial::Backoff;
use super::sources::{DialTiming, NatsSource, SourceConfig, SourceKind};
use super::{Connection, Intake, RejectReason, Rejection};
use crate::clock::Clock;
use crate::event::{Event, EventKind, FaultStatus, Id, Ts};
use crate::metrics::nats_source::{NatsSourceMetrics, Pending, SourceMetrics, SubjectMetrics};

/// Messages asked for in one pull: enough to keep the link busy, few enough
/// that a lost link leaves little in flight.
const PULL_BATCH: usize = 512;

/// How long one pull request waits on the server for messages.
const PULL_EXPIRES: Duration = Duration::from_secs(1);

/// How long the expiry fault stays down after the link that found the gap: as
/// long as the event-loss fault of `seq` gaps lasts, long enough to be seen on
/// the wall and pushed; the counter and the log keep it after that.
pub const EXPIRY_HOLD_MS: i64 = 5 * 60 * 1000;

/// Why a link ended.
#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    #[error("connect failed: {0}")]
    Connect(String),
    #[error("connect timed out")]
    ConnectTimeout,
    #[error("stream `{stream}` unavailable: {error}")]
    Stream { stream: String, error: String },
    #[error("consumer `{consumer}` could not be positioned: {error}")]
    Consumer { consumer: String, error: String },
    #[error("pull failed: {0}")]
    Pull(String),
    #[error("ack failed: {0}")]
    Ack(String),
    #[error("no answer from the server for {0:?}")]
    Silent(Duration),
}

/// How a link ended, for the loop around it.
enum Ended {
    Shutdown,
    Lost(NatsError),
}

/// The checkpoint key of one consumer's position: `stream/consumer`.
pub fn position_key(stream: &str, consumer: &str) -> Id {
    Id::from(format!("{stream}/{consumer}"))
}

/// One consumer as this task keeps it across links.
struct Follow {
    subject: String,
    consumer: String,
    key: Id,
    /// Stream sequence of the last message handed to the engine (0: none).
    applied: u64,
    m: SubjectMetrics,
}

/// The stream sequences expired unread, if any: a consumer that applied up to
/// `applied` resumes at `applied + 1`, but the stream now starts at `first`.
/// Nothing applied yet (0) is a replay from the start, never a gap. On a stream
/// shared by several subjects the range is an upper bound of this subject's
/// loss (other subjects' messages lie in it too).
pub fn expired_range(applied: u64, first: u64) -> Option<std::ops::RangeInclusive<u64>> {
    (applied > 0 && first > applied.saturating_add(1)).then(|| applied + 1..=first - 1)
}

/// Whether the stream was deleted and made anew since the floor's mark: its
/// sequences restart at 1, so a stream whose last sequence is below what was
/// applied is not the one the mark counts in. Resuming after the mark would skip
/// the new stream's first messages unseen; they are all new, so read it whole.
pub fn stream_was_reset(applied: u64, last: u64) -> bool {
    applied > 0 && last < applied
}

/// The component of a source's expiry fault.
pub fn expiry_component(source: &Id) -> Id {
    Id::from(format!("nats-expired:{source}"))
}

/// What the source tells the floor about its expiry fault, across links: down
/// at the first link up after a gap was found (a link that found one may fail
/// before it is up) until [`EXPIRY_HOLD_MS`] later; the first clean link of a
/// run reports it up once, so a fault an earlier run left down (restored with
/// the floor) is settled.
#[derive(Debug, Default)]
pub struct ExpiryFault {
    /// Gaps found and not yet reported.
    found: Vec<std::ops::RangeInclusive<u64>>,
    until: Option<Ts>,
    reported: bool,
}

impl ExpiryFault {
    /// A consumer is being positioned past `gap`.
    pub fn found(&mut self, gap: std::ops::RangeInclusive<u64>) {
        self.found.push(gap);
    }

    /// A link is up: what to report, with the gaps a `Down` is about.
    pub fn on_link(&mut self, now: Ts) -> Option<(FaultStatus, Vec<std::ops::RangeInclusive<u64>>)> {
        if !self.found.is_empty() {
            self.until = Some(now.saturating_add(EXPIRY_HOLD_MS));
            self.reported = true;
            return Some((FaultStatus::Down, std::mem::take(&mut self.found)));
        }
        if self.reported {
            return None;
        }
        self.reported = true;
        Some((FaultStatus::Up, Vec::new()))
    }

    /// A keepalive tick at `now`: up once the hold is over.
    pub fn on_tick(&mut self, now: Ts) -> Option<FaultStatus> {
        let over = self.until.is_some_and(|u| now >= u);
        over.then(|| {
            self.until = None;
            FaultStatus::Up
        })
    }
}

/// Starts a consumer task per `nats` source; each ends on `cancel`.
/// `positions` are the checkpoint's (`Checkpoint::streams`), `max_field_bytes`
/// is `limits.max_field_bytes`.
pub fn spawn(
    sources: &[SourceConfig],
    intake: &Intake,
    clock: Clock,
    positions: &[(Id, u64)],
    max_field_bytes: usize,
    metrics: &NatsSourceMetrics,
    cancel: &CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    sources
        .iter()
        .filter_map(|cfg| {
            let SourceKind::Nats(n) = &cfg.kind else { return None };
            let m = metrics.source(&cfg.id, &n.subjects);
            let follows = n
                .subjects
                .iter()
                .zip(&m.subjects)
                .enumerate()
                .map(|(i, (subject, sm))| {
                    let consumer = n.consumer_name(i);
                    let key = position_key(&n.stream, &consumer);
                    let applied = positions.iter().find(|(k, _)| *k == key).map_or(0, |(_, s)| *s);
                    Follow { subject: subject.clone(), consumer, key, applied, m: sm.clone() }
                })
                .collect();
            let source = Source {
                id: cfg.id.clone(),
                url: cfg.address.clone(),
                nats: n.clone(),
                timing: cfg.timing,
                intake: intake.clone(),
                clock,
                max_field_bytes,
                metrics: m,
                cancel: cancel.clone(),
            };
            Some(tokio::spawn(source.run(follows)))
        })
        .collect()
}

struct Source {
    id: Id,
    url: String,
    nats: NatsSource,
    timing: DialTiming,
    intake: Intake,
    clock: Clock,
    max_field_bytes: usize,
    metrics: SourceMetrics,
    cancel: CancellationToken,
}

impl Source {
    async fn run(self, mut follows: Vec<Follow>) {
        let mut backoff = Backoff::new(self.timing);
        let mut expiry = ExpiryFault::default();
        loop {
            let ended = tokio::select! {
                biased;
                _ = self.cancel.cancelled() => Ended::Shutdown,
                e = self.link(&mut follows, &mut backoff, &mut expiry) => e,
            };
            // Also when the cancel dropped the link mid-way.
            self.metrics.up.set(0);
            let error = match ended {
                Ended::Shutdown => return,
                Ended::Lost(e) => e,
            };
            self.metrics.link_failures.inc();
            let wait = backoff.next();
            tracing::warn!(
                source = %self.id, url = %self.url, error = %error, retry_ms = wait.as_millis() as u64,
                "nats link lost"
            );
            tokio::select! {
                _ = self.cancel.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// One link: connect, reposition every consumer, then pull until something
    /// fails. The connection to the intake is opened only once all consumers are
    /// in place, so `source_down` resolves when the source really is back.
    async fn link(&self, follows: &mut [Follow], backoff: &mut Backoff, expiry: &mut ExpiryFault) -> Ended {
        let t = self.timing;
        let options = async_nats::ConnectOptions::new()
            .connection_timeout(t.connect_timeout)
            .name(format!("floorwatch {}", self.id));
        let client = match tokio::time::timeout(t.connect_timeout, options.connect(self.url.as_str())).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return Ended::Lost(NatsError::Connect(e.to_string())),
            Err(_) => return Ended::Lost(NatsError::ConnectTimeout),
        };
        let js = jetstream::new(client.clone());
        let stream = match tokio::time::timeout(t.silence_timeout, js.get_stream(&self.nats.stream)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Ended::Lost(self.stream_error(e.to_string())),
            Err(_) => return Ended::Lost(NatsError::Silent(t.silence_timeout)),
        };
        // Read with the stream just now: what it still holds as the consumers are placed.
        let first = stream.cached_info().state.first_sequence;
        let last = stream.cached_info().state.last_sequence;
        let mut consumers = Vec::with_capacity(follows.len());
        for f in follows.iter_mut() {
            if stream_was_reset(f.applied, last) {
                tracing::warn!(
                    source = %self.id, stream = %self.nats.stream, consumer = %f.consumer, subject = %f.subject,
                    applied = f.applied, last_sequence = last,
                    "nats stream is newer than the floor's mark (deleted and made anew?): reading it from its start"
                );
                self.metrics.resets.inc();
                f.applied = 0;
            }
            if let Some(gap) = expired_range(f.applied, first) {
                tracing::warn!(
                    source = %self.id, stream = %self.nats.stream, consumer = %f.consumer, subject = %f.subject,
                    applied = f.applied, first_sequence = first, from = *gap.start(), to = *gap.end(),
                    messages = gap.end() - gap.start() + 1,
                    "nats messages expired before the floor read them: events lost"
                );
                self.metrics.expired.inc();
                // Accounted for (lost): a later link does not find this gap again.
                // The checkpoint's mark moves with the next message applied.
                f.applied = *gap.end();
                expiry.found(gap);
            }
            match tokio::time::timeout(t.silence_timeout, position(&stream, f)).await {
                Ok(Ok(c)) => consumers.push(c),
                Ok(Err(e)) => return Ended::Lost(e),
                Err(_) => return Ended::Lost(NatsError::Silent(t.silence_timeout)),
            }
        }
        let conn = self.intake.open(self.id.clone(), true).await;
        backoff.reset();
        self.metrics.up.set(1);
        tracing::info!(source = %self.id, url = %self.url, stream = %self.nats.stream, consumers = consumers.len(), "nats link up");
        if let Some((status, gaps)) = expiry.on_link(self.clock.now_ms()) {
            let detail = (!gaps.is_empty()).then(|| expiry_detail(&self.nats.stream, &gaps));
            if self.report_expiry(&conn, status, detail).await.is_err() {
                conn.close().await;
                return Ended::Shutdown;
            }
        }
        // The keepalive reads each consumer's pending count beside its pulls.
        let watched: Vec<(PullConsumer, Pending)> =
            consumers.iter().zip(follows.iter()).map(|(c, f)| (c.clone(), f.m.pending.clone())).collect();
        let pulls = futures_util::future::try_join_all(
            follows.iter_mut().zip(consumers).map(|(f, c)| self.follow(f, c, &conn)),
        );
        let ended = tokio::select! {
            r = pulls => r.err().unwrap_or(Ended::Shutdown),
            e = self.keepalive(&client, &conn, &watched, expiry) => e,
        };
        conn.close().await;
        ended
    }

    /// The expiry fault as a `fault` event of the link's own source.
    async fn report_expiry(
        &self,
        conn: &Connection,
        status: FaultStatus,
        detail: Option<Id>,
    ) -> Result<(), super::EngineStopped> {
        let component = expiry_component(&self.id);
        let fault = Event {
            ts: self.clock.now_ms(),
            source: self.id.clone(),
            seq: None,
            kind: EventKind::Fault { component, status, detail },
        };
        conn.accept(&mut vec![fault], &[]).await
    }

    /// A heartbeat for the source per `ping_every`, each one a PING the server
    /// answered: a silent server is a lost link. Each tick also refreshes the
    /// consumers' pending counts (a failed read leaves the last one: the PING
    /// judges the link) and ends the expiry fault's hold.
    async fn keepalive(
        &self,
        client: &async_nats::Client,
        conn: &Connection,
        watched: &[(PullConsumer, Pending)],
        expiry: &mut ExpiryFault,
    ) -> Ended {
        let t = self.timing;
        let mut every = tokio::time::interval(t.ping_every);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if !matches!(tokio::time::timeout(t.silence_timeout, client.flush()).await, Ok(Ok(()))) {
                return Ended::Lost(NatsError::Silent(t.silence_timeout));
            }
            for (consumer, pending) in watched {
                match tokio::time::timeout(t.silence_timeout, consumer.get_info()).await {
                    Ok(Ok(info)) => pending.set(info.num_pending),
                    Ok(Err(e)) => tracing::debug!(source = %self.id, error = %e, "nats consumer info failed"),
                    Err(_) => tracing::debug!(source = %self.id, "nats consumer info timed out"),
                }
            }
            if let Some(status) = expiry.on_tick(self.clock.now_ms())
                && self.report_expiry(conn, status, None).await.is_err()
            {
                return Ended::Shutdown;
            }
            let beat = Event {
                ts: self.clock.now_ms(),
                source: self.id.clone(),
                seq: None,
                kind: EventKind::Heartbeat,
            };
            if conn.accept(&mut vec![beat], &[]).await.is_err() {
                return Ended::Shutdown;
            }
        }
    }

    /// Pulls one consumer's messages until the link fails: decode, hand over,
    /// mark, ack. `Err` ends the link (`Ended::Shutdown` when the engine stopped).
    async fn follow(&self, f: &mut Follow, consumer: PullConsumer, conn: &Connection) -> Result<(), Ended> {
        let silence = self.timing.silence_timeout;
        let lost = |e: NatsError| Ended::Lost(e);
        let (mut events, mut rejected) = (Vec::new(), Vec::new());
        loop {
            let pull = consumer.batch().max_messages(PULL_BATCH).expires(PULL_EXPIRES).messages();
            let mut batch = match tokio::time::timeout(silence, pull).await {
                Ok(Ok(b)) => b,
                Ok(Err(e)) => return Err(lost(NatsError::Pull(e.to_string()))),
                Err(_) => return Err(lost(NatsError::Silent(silence))),
            };
            loop {
                // The pull ends by itself after `PULL_EXPIRES`; longer is a dead link.
                let next = match tokio::time::timeout(PULL_EXPIRES + silence, batch.next()).await {
                    Ok(Some(Ok(m))) => m,
                    Ok(Some(Err(e))) => return Err(lost(NatsError::Pull(e.to_string()))),
                    Ok(None) => break,
                    Err(_) => return Err(lost(NatsError::Silent(silence))),
                };
                let seq = match next.info() {
                    Ok(info) => info.stream_sequence,
                    Err(e) => {
                        return Err(lost(NatsError::Pull(format!("message without JetStream info: {e}"))));
                    }
                };
                if seq > f.applied {
                    decode_message(
                        &next.payload,
                        conn.source(),
                        self.max_field_bytes,
                        &mut events,
                        &mut rejected,
                    );
                    if conn.accept(&mut events, &rejected).await.is_err()
                        || conn.mark_stream(f.key.clone(), seq).await.is_err()
                    {
                        return Err(Ended::Shutdown);
                    }
                    rejected.clear();
                    f.applied = seq;
                    f.m.applied.inc();
                } else {
                    // Already applied (a redelivery): the floor has it; ack so it stops.
                    f.m.redelivered.inc();
                    tracing::debug!(source = %self.id, consumer = %f.consumer, seq, mark = f.applied, "redelivered message skipped");
                }
                if let Err(e) = next.ack().await {
                    return Err(lost(NatsError::Ack(e.to_string())));
                }
            }
        }
    }

    fn stream_error(&self, error: String) -> NatsError {
        NatsError::Stream { stream: self.nats.stream.clone(), error }
    }
}

/// The consumer for `f`, created anew right after its last applied message (the
/// whole stream when none): an existing durable is deleted first, because its
/// own ack floor may be ahead of what the floor holds (acked, then lost in a
/// kill -9) and its unacked messages would wait out `ack_wait`.
async fn position(stream: &jetstream::stream::Stream, f: &Follow) -> Result<PullConsumer, NatsError> {
    let err = |e: String| NatsError::Consumer { consumer: f.consumer.clone(), error: e };
    match stream.delete_consumer(&f.consumer).await {
        Ok(_) => {}
        // Absent is the normal first start.
        Err(e)
            if matches!(e.kind(), ConsumerErrorKind::JetStream(j)
                if j.error_code() == jetstream::ErrorCode::CONSUMER_NOT_FOUND) => {}
        Err(e) => return Err(err(e.to_string())),
    }
    let deliver_policy = match f.applied {
        0 => jetstream::consumer::DeliverPolicy::All,
        n => jetstream::consumer::DeliverPolicy::ByStartSequence { start_sequence: n + 1 },
    };
    let config = pull::Config {
        durable_name: Some(f.consumer.clone()),
        description: Some("floorwatch: positioned from the floor checkpoint at each start".into()),
        filter_subject: f.subject.clone(),
        deliver_policy,
        ack_policy: jetstream::consumer::AckPolicy::Explicit,
        ack_wait: Duration::from_secs(30),
        // Above one pull: acks trail the pull by at most one batch.
        max_ack_pending: (PULL_BATCH * 4) as i64,
        ..Default::default()
    };
    tracing::info!(consumer = %f.consumer, subject = %f.subject, after = f.applied, "nats consumer positioned");
    stream.create_consumer(config).await.map_err(|e| err(e.to_string()))
}

/// The expiry fault's detail: the stream and the sequences lost (ranges of
/// several consumers merged into their span).
fn expiry_detail(stream: &str, gaps: &[std::ops::RangeInclusive<u64>]) -> Id {
    let from = gaps.iter().map(|g| *g.start()).min().unwrap_or(0);
    let to = gaps.iter().map(|g| *g.end()).max().unwrap_or(0);
    Id::from(format!(
        "stream {stream}: messages {from}-{to} ({} sequences) expired before floorwatch read them",
        to - from + 1
    ))
}

/// One message's payload → events and rejections, as a WebSocket text frame
/// would be (a payload that is not UTF-8 is refused whole as `bad_json`).
pub fn decode_message(
    payload: &[u8],
    source: &Id,
    max_field_bytes: usize,
    events: &mut Vec<Event>,
    rejected: &mut Vec<Rejection>,
) {
    match std::str::from_utf8(payload) {
        Ok(text) => decode_limited(text, source, max_field_bytes, events, rejected),
        Err(_) => rejected.push(Rejection::new(RejectReason::BadJson, "message payload is not UTF-8".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_decodes_like_a_frame_and_bad_bytes_are_counted() {
        let source = Id::from("site-a");
        let (mut ev, mut rej) = (Vec::new(), Vec::new());
        let batch = br#"[{"type":"heartbeat","ts":"2026-11-23T08:00:00Z"},{"type":"nope","ts":"2026-11-23T08:00:00Z"}]"#;
        decode_message(batch, &source, 256, &mut ev, &mut rej);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].source, source, "events naming no source are the source's");
        assert_eq!(rej.len(), 1);
        assert_eq!(rej[0].reason, RejectReason::UnknownType);
        decode_message(&[0xff, 0xfe], &source, 256, &mut ev, &mut rej);
        assert_eq!(rej[1].reason, RejectReason::BadJson);
    }

    #[test]
    fn a_stream_that_starts_past_the_mark_lost_the_messages_in_between() {
        // Nothing applied: a replay from the stream's start, whatever it retains.
        assert!(!stream_was_reset(0, 0), "nothing applied: a first start");
        assert!(
            !stream_was_reset(20, 20) && !stream_was_reset(20, 95),
            "the same stream, caught up or ahead"
        );
        assert!(
            stream_was_reset(20, 19) && stream_was_reset(20, 0),
            "a stream made anew, with or without messages"
        );
        assert_eq!(expired_range(0, 1), None);
        assert_eq!(expired_range(0, 500), None);
        // Resuming right at the stream's first message (or at an empty stream
        // whose messages all were read: first = last + 1), or inside the stream.
        assert_eq!(expired_range(20, 21), None);
        assert_eq!(expired_range(20, 5), None);
        assert_eq!(expired_range(20, 22), Some(21..=21));
        assert_eq!(expired_range(20, 51), Some(21..=50));
        assert_eq!(expired_range(u64::MAX, u64::MAX), None);
    }

    #[test]
    fn the_expiry_fault_holds_then_clears_and_a_clean_start_settles_an_old_one() {
        let up = Some((FaultStatus::Up, vec![]));
        let mut f = ExpiryFault::default();
        // A clean first link: one "up", for a fault an earlier run may have left down.
        assert_eq!(f.on_link(0), up);
        assert_eq!(f.on_link(10), None, "once per run");
        assert_eq!(f.on_tick(20), None);
        // A gap: down with its range, held for EXPIRY_HOLD_MS whatever the links do.
        f.found(21..=50);
        assert_eq!(f.on_link(1_000), Some((FaultStatus::Down, vec![21..=50])));
        assert_eq!(f.on_link(2_000), None, "a clean reconnect does not end the hold");
        assert_eq!(f.on_tick(1_000 + EXPIRY_HOLD_MS - 1), None);
        assert_eq!(f.on_tick(1_000 + EXPIRY_HOLD_MS), Some(FaultStatus::Up));
        assert_eq!(f.on_tick(1_000 + EXPIRY_HOLD_MS + 1), None, "up once");
        // A run whose first link finds a gap sends no separate "up" first; gaps
        // found on links that failed before they were up are reported together.
        let mut g = ExpiryFault::default();
        g.found(5..=9);
        g.found(30..=40);
        assert_eq!(g.on_link(0), Some((FaultStatus::Down, vec![5..=9, 30..=40])));
        assert_eq!(g.on_link(1), None);
        // A second gap restarts the hold.
        g.found(60..=61);
        assert_eq!(g.on_link(100), Some((FaultStatus::Down, vec![60..=61])));
        assert_eq!(g.on_tick(EXPIRY_HOLD_MS), None);
        assert_eq!(g.on_tick(100 + EXPIRY_HOLD_MS), Some(FaultStatus::Up));
    }

    #[test]
    fn the_expiry_detail_names_the_stream_and_the_span() {
        let d = expiry_detail("FLOOR", &[21..=50, 30..=60]);
        assert_eq!(
            d.as_str(),
            "stream FLOOR: messages 21-60 (40 sequences) expired before floorwatch read them"
        );
        assert_eq!(expiry_component(&Id::from("site-a")).as_str(), "nats-expired:site-a");
    }

    #[test]
    fn positions_are_keyed_by_stream_and_consumer() {
        assert_eq!(position_key("FLOOR", "fw-a").as_str(), "FLOOR/fw-a");
    }
}
