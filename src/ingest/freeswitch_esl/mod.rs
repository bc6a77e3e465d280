//! `freeswitch-esl`: FreeSWITCH's inbound Event Socket, dialled out to
//! (contract §6), reading mod_callcenter.
//!
//! The conversation on every link: `Content-Type: auth/request` → `auth
//! <secret>` → `command/reply` `+OK accepted`; `event plain HEARTBEAT CUSTOM
//! callcenter::info` (every word after `CUSTOM` is read as a subclass, so
//! `CUSTOM` comes last); then the snapshot, `api callcenter_config queue list
//! members` and `api callcenter_config agent list` (`api/response` bodies, in
//! the order asked); then `text/event-plain` events. A keepalive is `api
//! strepoch`, whose answer is a heartbeat. [`decode`] maps the events.

pub mod decode;
pub mod frame;

use std::collections::VecDeque;

use decode::{EslFloor, Sink};
use frame::{FrameError, Framer};

use crate::event::{Id, Ts};
use crate::ingest::dial::{LinkError, Out, Session};
use crate::ingest::{RejectReason, Rejection};

/// Longest header block taken.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Largest body taken: an agent listing of a few thousand agents is ~1 MB.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    AwaitAuthRequest,
    AwaitAuthReply,
    AwaitEventsReply,
    Snapshot,
    Live,
}

/// What an `api/response` in the queue answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    Agents,
    Members,
    Ping,
}

pub struct EslSession {
    secret: String,
    framer: Framer,
    phase: Phase,
    /// `api` commands sent and not yet answered, in order.
    asked: VecDeque<Api>,
    floor: EslFloor,
}

impl EslSession {
    pub fn new(source: Id, secret: String, wrapup_secs: u32) -> EslSession {
        EslSession {
            secret,
            framer: Framer::new(MAX_HEADER_BYTES, MAX_BODY_BYTES),
            phase: Phase::AwaitAuthRequest,
            asked: VecDeque::new(),
            floor: EslFloor::new(source, wrapup_secs),
        }
    }

    pub fn floor(&self) -> &EslFloor {
        &self.floor
    }

    fn command(&mut self, send: &mut Vec<u8>, cmd: &str) {
        // One line: a line break in a value would end the command early.
        send.extend_from_slice(cmd.replace(['\r', '\n'], "").as_bytes());
        send.extend_from_slice(b"\n\n");
    }

    fn api(&mut self, send: &mut Vec<u8>, cmd: &str, kind: Api) {
        self.command(send, &format!("api {cmd}"));
        self.asked.push_back(kind);
    }

    fn on_frame(&mut self, f: &frame::Frame, now: Ts, out: &mut Out) -> Result<(), LinkError> {
        let ctype = f.get("Content-Type").unwrap_or("");
        match ctype {
            "auth/request" => {
                let secret = self.secret.clone();
                self.command(&mut out.send, &format!("auth {secret}"));
                self.phase = Phase::AwaitAuthReply;
            }
            "command/reply" => {
                let reply = f.get("Reply-Text").unwrap_or("");
                match self.phase {
                    Phase::AwaitAuthReply if reply.starts_with("+OK") => {
                        self.command(&mut out.send, "event plain HEARTBEAT CUSTOM callcenter::info");
                        self.phase = Phase::AwaitEventsReply;
                    }
                    Phase::AwaitAuthReply => {
                        return Err(LinkError::LoginRefused(reply.chars().take(120).collect()));
                    }
                    Phase::AwaitEventsReply if reply.starts_with("+OK") => {
                        self.asked.clear();
                        // Calls first: an answered call brings its agent in at
                        // the time it was answered, before the listing says
                        // the agent is in a call now.
                        self.api(&mut out.send, "callcenter_config queue list members", Api::Members);
                        self.api(&mut out.send, "callcenter_config agent list", Api::Agents);
                        self.phase = Phase::Snapshot;
                    }
                    Phase::AwaitEventsReply => {
                        return Err(LinkError::Protocol(format!(
                            "event subscription refused: {}",
                            reply.chars().take(120).collect::<String>()
                        )));
                    }
                    _ => {}
                }
            }
            "api/response" => {
                let mut sink = Sink { events: &mut out.events, rejected: &mut out.rejected };
                match self.asked.pop_front() {
                    Some(Api::Members) => self.floor.member_list(&f.body, now, &mut sink),
                    Some(Api::Agents) => {
                        self.floor.agent_list(&f.body, now, &mut sink);
                        if self.phase == Phase::Snapshot {
                            self.phase = Phase::Live;
                            out.resynced = true;
                        }
                    }
                    Some(Api::Ping) => out.pongs += 1,
                    None => {}
                }
            }
            "text/event-plain" => {
                let headers = frame::event_headers(&f.body);
                let mut sink = Sink { events: &mut out.events, rejected: &mut out.rejected };
                self.floor.on_event(&headers, now, &mut sink);
            }
            "text/disconnect-notice" => return Err(LinkError::Closed),
            "text/rude-rejection" => {
                return Err(LinkError::LoginRefused("rejected by the event socket's ACL".into()));
            }
            _ => {}
        }
        Ok(())
    }
}

impl Session for EslSession {
    fn connected(&mut self, _now: Ts, _out: &mut Out) {
        self.framer.reset();
        self.asked.clear();
        self.phase = Phase::AwaitAuthRequest;
    }

    fn read(&mut self, bytes: &[u8], now: Ts, out: &mut Out) -> Result<(), LinkError> {
        self.framer.push(bytes);
        loop {
            match self.framer.next_frame() {
                Ok(None) => return Ok(()),
                Ok(Some(f)) => self.on_frame(&f, now, out)?,
                Err(e) => {
                    let (limit, what) = match e {
                        FrameError::HeadersTooLarge => (MAX_HEADER_BYTES, "ESL headers exceed the limit"),
                        FrameError::BodyTooLarge => (MAX_BODY_BYTES, "ESL Content-Length exceeds the limit"),
                        FrameError::BadLength => {
                            out.rejected.push(Rejection::new(
                                RejectReason::InvalidField,
                                "ESL Content-Length is not a number".into(),
                            ));
                            return Err(LinkError::Protocol("bad Content-Length".into()));
                        }
                    };
                    out.rejected
                        .push(Rejection::new(RejectReason::FrameTooLarge, format!("{what} ({limit} bytes)")));
                    return Err(LinkError::TooLarge { limit });
                }
            }
        }
    }

    fn ping(&mut self, out: &mut Out) {
        // Only once live: before that the socket is still logging in, and an
        // `api` would be answered out of turn.
        if self.phase == Phase::Live || self.phase == Phase::Snapshot {
            self.api(&mut out.send, "strepoch", Api::Ping);
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
