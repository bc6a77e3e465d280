//! The dial-out driver both ACD clients share (Asterisk AMI, FreeSWITCH ESL):
//! connect with a timeout, hand the bytes to a protocol [`Session`] (sans-IO, so
//! its whole conversation is unit tested from bytes), write what it answers, and
//! give its events to the [`Intake`] like any other source.
//!
//! The link's life as the floor sees it:
//! - up: `Intake::open` (the source is connected), the session logs in and
//!   snapshots the ACD; once resynced, a `fault` `cti_link` `up`;
//! - healthy: a keepalive every `ping_every`, each answer a `heartbeat`;
//! - lost (peer closed, read error, silence, a frame over the cap): a `fault`
//!   `cti_link` `down` at once, then the connection closes, so `source_down`
//!   follows after its timeout if the link does not come back;
//! - reconnects with exponential backoff and jitter, for as long as the daemon runs.
//!
//! The task ends only on shutdown (the token) or when the engine has stopped: a
//! task that ends while serving is a fault the supervisor reports.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::asterisk_ami::AmiSession;
use super::freeswitch_esl::EslSession;
use super::sources::{DialTiming, SourceConfig, SourceKind};
use super::{Connection, Intake, Rejection};
use crate::clock::Clock;
use crate::event::{Event, EventKind, FaultStatus, Id, Ts};

/// The component a lost ACD link is reported on (contract §6).
pub const CTI_LINK: &str = "cti_link";

/// What a session wants done after it has read something or time has passed.
#[derive(Debug, Default)]
pub struct Out {
    /// Bytes to write to the ACD.
    pub send: Vec<u8>,
    pub events: Vec<Event>,
    pub rejected: Vec<Rejection>,
    /// Keepalive answers read (each becomes a heartbeat once resynced).
    pub pongs: u32,
    /// The session has finished logging in and resyncing on this link.
    pub resynced: bool,
}

/// One ACD protocol, without IO. The state it keeps across links (the floor as
/// the ACD last showed it) is what makes a resync count nothing twice.
pub trait Session: Send {
    /// A new link: forget the old link's framing, start the login.
    fn connected(&mut self, now: Ts, out: &mut Out);
    /// Bytes read. `Err`: the link must be dropped (a refused login, a frame
    /// over the cap); a rejection explaining it is in `out` when it is one.
    fn read(&mut self, bytes: &[u8], now: Ts, out: &mut Out) -> Result<(), LinkError>;
    /// Time for a keepalive.
    fn ping(&mut self, out: &mut Out);
    /// Time has passed (synthesised after-call work ends).
    fn tick(&mut self, now: Ts, out: &mut Out);
    /// When `tick` is next needed.
    fn next_deadline(&self) -> Option<Ts>;
}

/// Why a link ended.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("connect failed: {0}")]
    Connect(std::io::Error),
    #[error("connect timed out")]
    ConnectTimeout,
    #[error("the ACD closed the link")]
    Closed,
    #[error("read or write failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("nothing read for {0:?}")]
    Silent(Duration),
    #[error("login refused: {0}")]
    LoginRefused(String),
    #[error("a message exceeds the {limit} byte limit")]
    TooLarge { limit: usize },
    #[error("the ACD broke the protocol: {0}")]
    Protocol(String),
}

/// The links that are down, shared by every dial-out client: the fault is one
/// component (`cti_link`), so it is reported up only when no link is down any
/// more (one link coming back must not clear another's fault).
#[derive(Debug, Clone, Default)]
pub struct LinkFaults {
    down: Arc<Mutex<BTreeSet<Id>>>,
}

impl LinkFaults {
    fn set_down(&self, source: &Id) {
        if let Ok(mut d) = self.down.lock() {
            d.insert(source.clone());
        }
    }

    /// Marks `source` up; whether every link is now up.
    fn set_up(&self, source: &Id) -> bool {
        match self.down.lock() {
            Ok(mut d) => {
                d.remove(source);
                d.is_empty()
            }
            Err(_) => true,
        }
    }
}

/// Exponential backoff with jitter: each wait is drawn from the upper half of
/// the current step, so sources that lost the same ACD do not redial in step.
#[derive(Debug)]
pub(crate) struct Backoff {
    timing: DialTiming,
    step: Duration,
}

impl Backoff {
    pub(crate) fn new(timing: DialTiming) -> Backoff {
        Backoff { timing, step: timing.backoff_initial }
    }

    pub(crate) fn next(&mut self) -> Duration {
        let step = self.step;
        self.step = (step * 2).min(self.timing.backoff_max);
        let half = step / 2;
        half + half.mul_f64(rand::random::<f64>())
    }

    pub(crate) fn reset(&mut self) {
        self.step = self.timing.backoff_initial;
    }
}

/// How a link ended, for the loop around it.
enum Ended {
    Shutdown,
    Lost(LinkError),
}

/// Runs one source until shutdown (or until the engine has stopped).
pub async fn run<S: Session>(
    cfg: SourceConfig,
    mut session: S,
    intake: Intake,
    clock: Clock,
    faults: LinkFaults,
    cancel: CancellationToken,
) {
    let mut backoff = Backoff::new(cfg.timing);
    // Whether the floor has been told this source's link is down (so a run of
    // failed attempts reports it once).
    let mut reported_down = false;
    loop {
        let attempt = tokio::select! {
            _ = cancel.cancelled() => return,
            r = tokio::time::timeout(cfg.timing.connect_timeout, TcpStream::connect(&cfg.address)) => r,
        };
        let error = match attempt {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                let link = Link { cfg: &cfg, intake: &intake, clock, faults: &faults, cancel: &cancel };
                match link.serve(&mut session, stream, &mut backoff, &mut reported_down).await {
                    Ended::Shutdown => return,
                    Ended::Lost(e) => e,
                }
            }
            Ok(Err(e)) => LinkError::Connect(e),
            Err(_) => LinkError::ConnectTimeout,
        };
        let wait = backoff.next();
        tracing::warn!(source = %cfg.id, kind = cfg.kind.as_str(), address = %cfg.address, error = %error,
            retry_ms = wait.as_millis() as u64, "acd link down");
        if !reported_down {
            // Never connected (or lost before login): the floor still learns of
            // the source and its fault, through a connection of one message.
            reported_down = true;
            let conn = intake.open(cfg.id.clone(), true).await;
            if report_down(&cfg.id, &conn, clock, &faults, &error).await.is_err() {
                return;
            }
            conn.close().await;
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Tells the floor the link is down (a `fault` down on `cti_link`).
async fn report_down(
    source: &Id,
    conn: &Connection,
    clock: Clock,
    faults: &LinkFaults,
    error: &LinkError,
) -> Result<(), super::EngineStopped> {
    faults.set_down(source);
    let detail: String = format!("{source}: {error}").chars().take(200).collect();
    let detail = Id::from(detail);
    let mut events = vec![fault(source, clock.now_ms(), FaultStatus::Down, Some(detail))];
    conn.accept(&mut events, &[]).await
}

fn fault(source: &Id, ts: Ts, status: FaultStatus, detail: Option<Id>) -> Event {
    Event {
        ts,
        source: source.clone(),
        seq: None,
        kind: EventKind::Fault { component: Id::from(CTI_LINK), status, detail },
    }
}

struct Link<'a> {
    cfg: &'a SourceConfig,
    intake: &'a Intake,
    clock: Clock,
    faults: &'a LinkFaults,
    cancel: &'a CancellationToken,
}

impl Link<'_> {
    async fn serve<S: Session>(
        &self,
        session: &mut S,
        stream: TcpStream,
        backoff: &mut Backoff,
        reported_down: &mut bool,
    ) -> Ended {
        let id = &self.cfg.id;
        let timing = self.cfg.timing;
        let conn = self.intake.open(id.clone(), true).await;
        tracing::info!(source = %id, address = %self.cfg.address, "acd link connected");
        let (mut rd, mut wr) = stream.into_split();
        let mut out = Out::default();
        let mut buf = vec![0u8; 16 * 1024];
        let mut resynced = false;
        let mut last_read = Instant::now();
        let mut ping = tokio::time::interval_at(Instant::now() + timing.ping_every, timing.ping_every);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        session.connected(self.clock.now_ms(), &mut out);
        let far = Duration::from_secs(3600);
        let result: Result<(), LinkError> = loop {
            let deadline =
                session.next_deadline().map_or_else(|| Instant::now() + far, |t| self.clock.instant_at(t));
            let step: Result<(), LinkError> = if out.send.is_empty() {
                tokio::select! {
                    biased;
                    _ = self.cancel.cancelled() => break Ok(()),
                    r = rd.read(&mut buf) => match r {
                        Ok(0) => Err(LinkError::Closed),
                        Ok(n) => {
                            last_read = Instant::now();
                            session.read(&buf[..n], self.clock.now_ms(), &mut out)
                        }
                        Err(e) => Err(LinkError::Io(e)),
                    },
                    _ = ping.tick() => {
                        if last_read.elapsed() > timing.silence_timeout {
                            Err(LinkError::Silent(timing.silence_timeout))
                        } else {
                            session.ping(&mut out);
                            Ok(())
                        }
                    }
                    _ = tokio::time::sleep_until(deadline) => {
                        session.tick(self.clock.now_ms(), &mut out);
                        Ok(())
                    }
                }
            } else {
                // Writes are bounded by the same silence rule: an ACD that stops
                // reading is a dead link.
                let send = std::mem::take(&mut out.send);
                match tokio::time::timeout(timing.silence_timeout, wr.write_all(&send)).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(LinkError::Io(e)),
                    Err(_) => Err(LinkError::Silent(timing.silence_timeout)),
                }
            };
            if out.resynced && !resynced {
                resynced = true;
                *reported_down = false;
                backoff.reset();
                tracing::info!(source = %id, "acd link resynced");
                if self.faults.set_up(id) {
                    out.events.push(fault(id, self.clock.now_ms(), FaultStatus::Up, None));
                }
            }
            if out.pongs > 0 && resynced {
                out.events.push(Event {
                    ts: self.clock.now_ms(),
                    source: id.clone(),
                    seq: None,
                    kind: EventKind::Heartbeat,
                });
            }
            out.pongs = 0;
            if (!out.events.is_empty() || !out.rejected.is_empty())
                && conn.accept(&mut out.events, &out.rejected).await.is_err()
            {
                // The engine has stopped: the daemon is going down.
                conn.close().await;
                return Ended::Shutdown;
            }
            out.rejected.clear();
            if let Err(e) = step {
                break Err(e);
            }
        };
        match result {
            Ok(()) => {
                let _ = wr.shutdown().await;
                conn.close().await;
                Ended::Shutdown
            }
            Err(e) => {
                *reported_down = true;
                if report_down(id, &conn, self.clock, self.faults, &e).await.is_err() {
                    conn.close().await;
                    return Ended::Shutdown;
                }
                conn.close().await;
                Ended::Lost(e)
            }
        }
    }
}

/// Starts a client task per configured ACD source; each ends on `cancel`.
pub fn spawn(
    sources: &[SourceConfig],
    intake: &Intake,
    clock: Clock,
    cancel: &CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    let faults = LinkFaults::default();
    sources
        .iter()
        .filter_map(|cfg| {
            let (cfg, intake, faults, cancel) = (cfg.clone(), intake.clone(), faults.clone(), cancel.clone());
            match &cfg.kind {
                SourceKind::AsteriskAmi { username, secret } => {
                    let s =
                        AmiSession::new(cfg.id.clone(), username.clone(), secret.clone(), cfg.wrapup_secs);
                    Some(tokio::spawn(run(cfg, s, intake, clock, faults, cancel)))
                }
                SourceKind::FreeswitchEsl { secret } => {
                    let s = EslSession::new(cfg.id.clone(), secret.clone(), cfg.wrapup_secs);
                    Some(tokio::spawn(run(cfg, s, intake, clock, faults, cancel)))
                }
                // Not dialled: a JetStream consumer (`ingest::nats::spawn`).
                SourceKind::Nats(_) => None,
            }
        })
        .collect()
}

/// Splits a header value list: `Key: Value` lines, CR LF or LF.
pub(crate) fn split_header(line: &str) -> Option<(&str, &str)> {
    let (k, v) = line.split_once(':')?;
    let k = k.trim();
    (!k.is_empty()).then(|| (k, v.strip_prefix(' ').unwrap_or(v).trim_end()))
}

/// An id from an ACD's field: `None` when it cannot be one (empty, too long,
/// spaces): the decoders reject or skip those, never panic.
pub(crate) fn id_of(s: &str) -> Option<Id> {
    crate::event::valid_id(s).then(|| Id::from(s))
}

/// A pause or status reason as a reason code: lowercase, spaces as `_`, at
/// most 64 characters (`"Lunch Break"` → `lunch_break`); `None` when empty.
pub(crate) fn reason_code(s: &str) -> Option<Id> {
    let code: String = s
        .trim()
        .chars()
        .map(|c| if c.is_whitespace() { '_' } else { c.to_ascii_lowercase() })
        .filter(|c| !c.is_control())
        .take(64)
        .collect();
    id_of(&code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_cap_with_jitter_and_resets() {
        let timing = DialTiming {
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_millis(1000),
            ..DialTiming::default()
        };
        let mut b = Backoff::new(timing);
        let steps = [100, 200, 400, 800, 1000, 1000];
        for step in steps {
            let w = b.next().as_millis() as u64;
            assert!((step / 2..=step).contains(&w), "{w} ms for a {step} ms step");
        }
        b.reset();
        assert!(b.next() <= Duration::from_millis(100));
    }

    #[test]
    fn one_link_up_does_not_clear_another_links_fault() {
        let f = LinkFaults::default();
        f.set_down(&"a".into());
        f.set_down(&"b".into());
        assert!(!f.set_up(&"a".into()));
        assert!(f.set_up(&"b".into()));
    }

    #[test]
    fn reasons_become_codes() {
        assert_eq!(reason_code("Lunch Break").as_deref(), Some("lunch_break"));
        assert_eq!(reason_code("  "), None);
        assert_eq!(reason_code(&"x".repeat(100)).map(|r| r.len()), Some(64));
    }
}
