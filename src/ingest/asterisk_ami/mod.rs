//! `asterisk-ami`: the Asterisk Manager Interface, dialled out to (contract §6).
//!
//! The conversation on every link: the banner; `Action: Login` with
//! `Events: agent` (app_queue's events are all of the `agent` class, so nothing
//! else is asked for); `Action: QueueStatus`, whose `QueueParams` / `QueueMember`
//! / `QueueEntry` list up to `QueueStatusComplete` is the floor as it stands;
//! then app_queue's events as they happen, and an `Action: Ping` per
//! `ping_every` whose `Pong` is a heartbeat. [`decode`] maps the events.
//!
//! Sans-IO: [`AmiSession`] takes bytes and returns bytes, events and
//! rejections; the dial-out driver ([`crate::ingest::dial`]) does the socket.

pub mod decode;
pub mod frame;

use decode::{AmiFloor, Sink};
use frame::{Frame, Framer, Message};

use crate::event::{Id, Ts};
use crate::ingest::dial::{LinkError, Out, Session};
use crate::ingest::{RejectReason, Rejection};

/// Longest AMI message taken (a `QueueMember` entry is ~400 bytes; the cap
/// stops a peer that never ends its message).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

const LOGIN_ID: &str = "fw-login";
const STATUS_ID: &str = "fw-status";
const PING_ID: &str = "fw-ping";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Banner,
    LoggingIn,
    Snapshot,
    Live,
}

pub struct AmiSession {
    username: String,
    secret: String,
    framer: Framer,
    phase: Phase,
    floor: AmiFloor,
}

impl AmiSession {
    pub fn new(source: Id, username: String, secret: String, wrapup_secs: u32) -> AmiSession {
        AmiSession {
            username,
            secret,
            framer: Framer::new(MAX_MESSAGE_BYTES),
            phase: Phase::Banner,
            floor: AmiFloor::new(source, wrapup_secs),
        }
    }

    /// The decoder's view (for tests).
    pub fn floor(&self) -> &AmiFloor {
        &self.floor
    }

    fn on_message(&mut self, m: &Message, now: Ts, out: &mut Out) -> Result<(), LinkError> {
        if m.malformed > 0 && m.headers.is_empty() {
            out.rejected.push(Rejection::new(
                RejectReason::InvalidField,
                "AMI message without a `Key: Value` line".into(),
            ));
            return Ok(());
        }
        if let Some(resp) = m.get("Response") {
            let ok = resp.eq_ignore_ascii_case("Success");
            match m.get("ActionID") {
                Some(LOGIN_ID) if ok => {
                    action(&mut out.send, "QueueStatus", STATUS_ID, &[]);
                    self.floor.begin_snapshot();
                    self.phase = Phase::Snapshot;
                }
                Some(LOGIN_ID) => {
                    let why = m.get("Message").unwrap_or("no reason given");
                    return Err(LinkError::LoginRefused(why.chars().take(120).collect()));
                }
                Some(STATUS_ID) if !ok => {
                    let why = m.get("Message").unwrap_or("no reason given");
                    return Err(LinkError::Protocol(format!(
                        "QueueStatus refused: {}",
                        why.chars().take(120).collect::<String>()
                    )));
                }
                Some(PING_ID) => out.pongs += 1,
                _ => {}
            }
            return Ok(());
        }
        let mut sink = Sink { events: &mut out.events, rejected: &mut out.rejected };
        if m.get("Event").is_some_and(|e| e.eq_ignore_ascii_case("QueueStatusComplete")) {
            if self.phase == Phase::Snapshot {
                self.floor.end_snapshot(now, &mut sink);
                self.phase = Phase::Live;
                out.resynced = true;
            }
            return Ok(());
        }
        if self.phase == Phase::LoggingIn || self.phase == Phase::Banner {
            return Ok(());
        }
        self.floor.on_event(m, now, &mut sink);
        Ok(())
    }
}

/// Appends one action. Values come from the config or constants; line breaks
/// in them would start a new header, so they are dropped.
fn action(send: &mut Vec<u8>, name: &str, id: &str, headers: &[(&str, &str)]) {
    let clean = |s: &str| s.replace(['\r', '\n'], "");
    send.extend_from_slice(format!("Action: {name}\r\nActionID: {id}\r\n").as_bytes());
    for (k, v) in headers {
        send.extend_from_slice(format!("{k}: {}\r\n", clean(v)).as_bytes());
    }
    send.extend_from_slice(b"\r\n");
}

impl Session for AmiSession {
    fn connected(&mut self, _now: Ts, _out: &mut Out) {
        self.framer.reset();
        self.phase = Phase::Banner;
    }

    fn read(&mut self, bytes: &[u8], now: Ts, out: &mut Out) -> Result<(), LinkError> {
        self.framer.push(bytes);
        loop {
            match self.framer.next_frame() {
                Ok(None) => return Ok(()),
                Ok(Some(Frame::Banner(line))) => {
                    if !line.starts_with("Asterisk Call Manager") {
                        return Err(LinkError::Protocol(format!(
                            "not an AMI banner: {:?}",
                            line.chars().take(60).collect::<String>()
                        )));
                    }
                    tracing::debug!(banner = %line, "ami banner");
                    action(
                        &mut out.send,
                        "Login",
                        LOGIN_ID,
                        &[("Username", &self.username), ("Secret", &self.secret), ("Events", "agent")],
                    );
                    self.phase = Phase::LoggingIn;
                }
                Ok(Some(Frame::Message(m))) => self.on_message(&m, now, out)?,
                Err(frame::TooLarge) => {
                    out.rejected.push(Rejection::new(
                        RejectReason::FrameTooLarge,
                        format!("AMI message exceeds {MAX_MESSAGE_BYTES} bytes"),
                    ));
                    return Err(LinkError::TooLarge { limit: MAX_MESSAGE_BYTES });
                }
            }
        }
    }

    fn ping(&mut self, out: &mut Out) {
        // Only once logged in: before that Asterisk refuses every action but Login.
        if matches!(self.phase, Phase::Snapshot | Phase::Live) {
            action(&mut out.send, "Ping", PING_ID, &[]);
        }
    }

    fn tick(&mut self, now: Ts, out: &mut Out) {
        let mut sink = Sink { events: &mut out.events, rejected: &mut out.rejected };
        self.floor.tick(now, &mut sink);
    }

    fn next_deadline(&self) -> Option<Ts> {
        self.floor.next_deadline()
    }
}

#[cfg(test)]
mod tests;
