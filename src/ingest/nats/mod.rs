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
use crate::event::{Event, EventKind, Id};

/// Messages asked for in one pull: enough to keep the link busy, few enough
/// that a lost link leaves little in flight.
const PULL_BATCH: usize = 512;

/// How long one pull request waits on the server for messages.
const PULL_EXPIRES: Duration = Duration::from_secs(1);

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
    cancel: &CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    sources
        .iter()
        .filter_map(|cfg| {
            let SourceKind::Nats(n) = &cfg.kind else { return None };
            let follows = n
                .subjects
                .iter()
                .enumerate()
                .map(|(i, subject)| {
                    let consumer = n.consumer_name(i);
                    let key = position_key(&n.stream, &consumer);
                    let applied = positions.iter().find(|(k, _)| *k == key).map_or(0, |(_, s)| *s);
                    Follow { subject: subject.clone(), consumer, key, applied }
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
    cancel: CancellationToken,
}

impl Source {
    async fn run(self, mut follows: Vec<Follow>) {
        let mut backoff = Backoff::new(self.timing);
        loop {
            let ended = tokio::select! {
                biased;
                _ = self.cancel.cancelled() => Ended::Shutdown,
                e = self.link(&mut follows, &mut backoff) => e,
            };
            let error = match ended {
                Ended::Shutdown => return,
                Ended::Lost(e) => e,
            };
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
    async fn link(&self, follows: &mut [Follow], backoff: &mut Backoff) -> Ended {
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
        let mut consumers = Vec::with_capacity(follows.len());
        for f in follows.iter() {
            match tokio::time::timeout(t.silence_timeout, position(&stream, f)).await {
                Ok(Ok(c)) => consumers.push(c),
                Ok(Err(e)) => return Ended::Lost(e),
                Err(_) => return Ended::Lost(NatsError::Silent(t.silence_timeout)),
            }
        }
        let conn = self.intake.open(self.id.clone(), true).await;
        backoff.reset();
        tracing::info!(source = %self.id, url = %self.url, stream = %self.nats.stream, consumers = consumers.len(), "nats link up");
        let pulls = futures_util::future::try_join_all(
            follows.iter_mut().zip(consumers).map(|(f, c)| self.follow(f, c, &conn)),
        );
        let ended = tokio::select! {
            r = pulls => r.err().unwrap_or(Ended::Shutdown),
            e = self.keepalive(&client, &conn) => e,
        };
        conn.close().await;
        ended
    }

    /// A heartbeat for the source per `ping_every`, each one a PING the server
    /// answered: a silent server is a lost link.
    async fn keepalive(&self, client: &async_nats::Client, conn: &Connection) -> Ended {
        let t = self.timing;
        let mut every = tokio::time::interval(t.ping_every);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if !matches!(tokio::time::timeout(t.silence_timeout, client.flush()).await, Ok(Ok(()))) {
                return Ended::Lost(NatsError::Silent(t.silence_timeout));
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
                } else {
                    // Already applied (a redelivery): the floor has it; ack so it stops.
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
    fn positions_are_keyed_by_stream_and_consumer() {
        assert_eq!(position_key("FLOOR", "fw-a").as_str(), "FLOOR/fw-a");
    }
}
