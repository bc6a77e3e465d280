//! Dial-out sources' throughput — measured, printed, never asserted.
//!
//! `cargo bench --bench ami` prints:
//! 1. decode: Asterisk AMI and FreeSWITCH ESL sessions fed a recorded-style
//!    stream in 64 KiB reads, one thread, no IO: ACD messages/s and the
//!    canonical events/s they become;
//! 2. loopback: the real daemon dials a scripted Asterisk on 127.0.0.1 that
//!    answers `QueueStatus` with its members and then sends every call at once;
//!    the time from the first event byte written to the last event applied by
//!    the engine (the whole path: socket, framing, decoding, intake, engine).
//!
//! Each call is app_queue's `QueueCallerJoin` → `AgentCalled` → `AgentConnect` →
//! `AgentComplete` (offered, ringing, answered, talking, ended, ready);
//! FreeSWITCH's `member-queue-start` → `bridge-agent-start` → `bridge-agent-end`
//! → `member-queue-end` (offered, answered, talking, ended, ready).
//!
//! Knobs: FW_BENCH_CALLS (default 100000), FW_BENCH_MEMBERS (default 200),
//! FW_BENCH_ROUNDS (default 5, decode only).

mod support;

use std::time::Duration;

use floorwatch::app::Daemon;
use floorwatch::clock::Clock;
use floorwatch::config::Config;
use floorwatch::ingest::asterisk_ami::AmiSession;
use floorwatch::ingest::dial::{Out, Session};
use floorwatch::ingest::freeswitch_esl::EslSession;
use floorwatch::ingest::sources::{DialTiming, SourceConfig, SourceKind};
use support::env_or;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// Floor events per call: offered, ringing, answered, talking, ended, ready.
const AMI_EVENTS: usize = 6;
/// FreeSWITCH's has no ringing here (no `agent-offering` sent).
const ESL_EVENTS: usize = 5;
const READ: usize = 64 * 1024;
const T0: i64 = 1_764_662_400_000;

fn msg(out: &mut String, fields: &[(&str, &str)]) {
    for (k, v) in fields {
        out.push_str(k);
        out.push_str(": ");
        out.push_str(v);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
}

fn iface(m: usize) -> String {
    format!("PJSIP/{}", 1000 + m)
}

/// The `QueueStatus` answer: every member ready, nobody waiting.
fn ami_snapshot(members: usize) -> String {
    let mut s = String::new();
    msg(&mut s, &[("Response", "Success"), ("ActionID", "fw-status"), ("EventList", "start")]);
    for m in 0..members {
        let i = iface(m);
        msg(
            &mut s,
            &[
                ("Event", "QueueMember"),
                ("ActionID", "fw-status"),
                ("Queue", "billing"),
                ("Name", &i),
                ("Location", &i),
                ("StateInterface", &i),
                ("InCall", "0"),
                ("Status", "1"),
                ("Paused", "0"),
                ("Wrapuptime", "0"),
            ],
        );
    }
    msg(&mut s, &[("Event", "QueueStatusComplete"), ("ActionID", "fw-status"), ("EventList", "Complete")]);
    s
}

/// Every call, as app_queue's events.
fn ami_calls(calls: usize, members: usize) -> String {
    let mut s = String::with_capacity(calls * 700);
    for c in 0..calls {
        let uid = format!("1764662400.{c}");
        let i = iface(c % members);
        let base = [("Privilege", "agent,all"), ("Uniqueid", uid.as_str()), ("Queue", "billing")];
        let with = |name, extra: &[(&'static str, &str)]| -> String {
            let mut f = String::new();
            let mut all: Vec<(&str, &str)> = vec![("Event", name)];
            all.extend_from_slice(&base);
            all.extend_from_slice(extra);
            msg(&mut f, &all);
            f
        };
        s.push_str(&with("QueueCallerJoin", &[("CallerIDNum", "+8613800000001"), ("Position", "1")]));
        s.push_str(&with("AgentCalled", &[("MemberName", &i), ("Interface", &i)]));
        s.push_str(&with(
            "AgentConnect",
            &[("MemberName", &i), ("Interface", &i), ("HoldTime", "3"), ("RingTime", "1")],
        ));
        s.push_str(&with(
            "AgentComplete",
            &[
                ("MemberName", &i),
                ("Interface", &i),
                ("HoldTime", "3"),
                ("TalkTime", "60"),
                ("Reason", "caller"),
            ],
        ));
    }
    s
}

fn esl_frame(out: &mut String, at_us: i64, fields: &[(&str, &str)]) {
    let mut body = format!(
        "Event-Name: CUSTOM\nEvent-Date-Timestamp: {at_us}\nEvent-Subclass: callcenter%3A%3Ainfo\nCC-Queue: support%40default\n"
    );
    for (k, v) in fields {
        body.push_str(k);
        body.push_str(": ");
        body.push_str(v);
        body.push('\n');
    }
    body.push('\n');
    out.push_str(&format!("Content-Length: {}\nContent-Type: text/event-plain\n\n", body.len()));
    out.push_str(&body);
}

fn esl_calls(calls: usize, members: usize) -> String {
    let mut s = String::with_capacity(calls * 1200);
    for c in 0..calls {
        let uuid = format!("m-{c}");
        let agent = format!("{}%40default", 1000 + c % members);
        let at = (T0 + c as i64) * 1000;
        let call = [("CC-Member-UUID", uuid.as_str())];
        let mut f = |action: &str, extra: &[(&str, &str)]| {
            let mut all = vec![("CC-Action", action)];
            all.extend_from_slice(&call);
            all.extend_from_slice(extra);
            esl_frame(&mut s, at, &all);
        };
        f("member-queue-start", &[("CC-Member-CID-Number", "%2B8613800000001")]);
        f("bridge-agent-start", &[("CC-Agent", &agent)]);
        f("bridge-agent-end", &[("CC-Agent", &agent), ("CC-Hangup-Cause", "NORMAL_CLEARING")]);
        f("member-queue-end", &[("CC-Agent", &agent), ("CC-Cause", "Terminated")]);
    }
    s
}

fn esl_agents(members: usize) -> String {
    let mut rows = vec!["name|instance_id|uuid|type|contact|status|state|max_no_answer|wrap_up_time|reject_delay_time|busy_delay_time|no_answer_delay_time|last_bridge_start|last_bridge_end|last_offered_call|last_status_change|no_answer_count|calls_answered|talk_time|ready_time|external_calls_count".to_owned()];
    for m in 0..members {
        rows.push(format!(
            "{}@default|single_box||callback|user/x|Available|Waiting|3|0|10|10|10|0|0|0|0|0|0|0|0|0",
            1000 + m
        ));
    }
    rows.push("+OK".into());
    rows.join("\n")
}

fn feed(s: &mut dyn Session, bytes: &[u8], events: &mut usize) {
    for chunk in bytes.chunks(READ) {
        let mut out = Out::default();
        if let Err(e) = s.read(chunk, T0, &mut out) {
            panic!("the link fell: {e:?}");
        }
        assert!(out.rejected.is_empty(), "rejected: {:?}", &out.rejected[..1]);
        *events += out.events.len();
    }
}

/// Messages/s and events/s of one decode round.
fn decode_ami(snapshot: &str, calls: &str, n_calls: usize) -> (f64, f64) {
    let mut s = AmiSession::new("bench".into(), "u".into(), "p".into(), 0);
    let mut out = Out::default();
    s.connected(T0, &mut out);
    let mut events = 0;
    let mut login = String::from("Asterisk Call Manager/9.0.0\r\n");
    msg(
        &mut login,
        &[("Response", "Success"), ("ActionID", "fw-login"), ("Message", "Authentication accepted")],
    );
    feed(&mut s, login.as_bytes(), &mut events);
    feed(&mut s, snapshot.as_bytes(), &mut events);
    events = 0;
    let start = Instant::now();
    feed(&mut s, calls.as_bytes(), &mut events);
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(events, n_calls * AMI_EVENTS, "every call becomes six events");
    ((n_calls * 4) as f64 / secs, events as f64 / secs)
}

fn decode_esl(agents: &str, calls: &str, n_calls: usize) -> (f64, f64) {
    let mut s = EslSession::new("bench".into(), "ClueCon".into(), 0);
    let mut out = Out::default();
    s.connected(T0, &mut out);
    let mut events = 0;
    let api = |b: &str| format!("Content-Type: api/response\nContent-Length: {}\n\n{b}", b.len());
    let login = format!(
        "Content-Type: auth/request\n\nContent-Type: command/reply\nReply-Text: +OK accepted\n\nContent-Type: command/reply\nReply-Text: +OK event listener enabled plain\n\n{}{}",
        api("+OK\n"),
        api(agents)
    );
    feed(&mut s, login.as_bytes(), &mut events);
    events = 0;
    let start = Instant::now();
    feed(&mut s, calls.as_bytes(), &mut events);
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(events, n_calls * ESL_EVENTS, "every call becomes five events");
    ((n_calls * 4) as f64 / secs, events as f64 / secs)
}

fn median(mut v: Vec<(f64, f64)>) -> (f64, f64) {
    v.sort_by(|a, b| a.1.total_cmp(&b.1));
    v[v.len() / 2]
}

/// Plays Asterisk: login, the snapshot, then `calls` in one go; reports when
/// the first byte of the calls went out. Answers `Ping` after that.
async fn play(
    stream: TcpStream,
    snapshot: String,
    calls: String,
    sent: tokio::sync::oneshot::Sender<Instant>,
) {
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    let _ = wr.write_all(b"Asterisk Call Manager/9.0.0\r\n").await;
    let mut sent = Some(sent);
    loop {
        let (mut action, mut id) = (String::new(), String::new());
        loop {
            let mut line = String::new();
            match rd.read_line(&mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("Action: ") {
                action = v.to_owned();
            }
            if let Some(v) = line.strip_prefix("ActionID: ") {
                id = v.to_owned();
            }
        }
        let mut answer = String::new();
        match action.as_str() {
            "Login" => msg(&mut answer, &[("Response", "Success"), ("ActionID", &id)]),
            "QueueStatus" => answer = snapshot.replace("fw-status", &id),
            _ => msg(&mut answer, &[("Response", "Success"), ("ActionID", &id), ("Ping", "Pong")]),
        }
        if wr.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
        if action == "QueueStatus"
            && let Some(tx) = sent.take()
        {
            let _ = tx.send(Instant::now());
            if wr.write_all(calls.as_bytes()).await.is_err() {
                return;
            }
        }
    }
}

async fn loopback(n_calls: usize, members: usize) -> anyhow::Result<()> {
    let pbx = TcpListener::bind("127.0.0.1:0").await?;
    let dir = tempfile::tempdir()?;
    let cfg = Config {
        data_dir: dir.path().to_path_buf(),
        sources: vec![SourceConfig {
            id: "pbx-1".into(),
            address: pbx.local_addr()?.to_string(),
            kind: SourceKind::AsteriskAmi { username: "floorwatch".into(), secret: "s".into() },
            wrapup_secs: 0,
            timing: DialTiming {
                connect_timeout: Duration::from_secs(5),
                backoff_initial: Duration::from_millis(50),
                backoff_max: Duration::from_millis(500),
                ping_every: Duration::from_secs(5),
                silence_timeout: Duration::from_secs(60),
            },
        }],
        ..Config::default()
    };
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let d = Daemon::start(cfg, listener, Clock::system()).await?;
    let (stream, _) = pbx.accept().await?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(play(stream, ami_snapshot(members), ami_calls(n_calls, members), tx));
    let started = rx.await?;
    let before = d.snapshot.borrow().events_applied;
    let want = before + (n_calls * AMI_EVENTS) as u64;
    let mut snap = d.snapshot.clone();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if snap.borrow_and_update().events_applied >= want {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "the floor did not catch up in 300 s");
        let _ = tokio::time::timeout(Duration::from_millis(5), snap.changed()).await;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "loopback AMI → engine: {n_calls} calls ({} AMI events, {} floor events) in {secs:.2} s: {:.0} AMI events/s, {:.0} floor events/s (snapshot publishing granularity included)",
        n_calls * 4,
        n_calls * AMI_EVENTS,
        (n_calls * 4) as f64 / secs,
        (n_calls * AMI_EVENTS) as f64 / secs,
    );
    d.shutdown();
    d.wait().await
}

fn main() -> anyhow::Result<()> {
    let n_calls = env_or("FW_BENCH_CALLS", 100_000);
    let members = env_or("FW_BENCH_MEMBERS", 200).max(1);
    let rounds = env_or("FW_BENCH_ROUNDS", 5).max(1);

    let (snapshot, calls) = (ami_snapshot(members), ami_calls(n_calls, members));
    let (msgs, evs) = median((0..rounds).map(|_| decode_ami(&snapshot, &calls, n_calls)).collect());
    println!(
        "decode AMI: {msgs:.0} AMI events/s → {evs:.0} floor events/s ({} MB for {n_calls} calls, median of {rounds})",
        calls.len() / 1_000_000
    );
    let (agents, calls) = (esl_agents(members), esl_calls(n_calls, members));
    let (msgs, evs) = median((0..rounds).map(|_| decode_esl(&agents, &calls, n_calls)).collect());
    println!(
        "decode ESL: {msgs:.0} ESL events/s → {evs:.0} floor events/s ({} MB for {n_calls} calls, median of {rounds})",
        calls.len() / 1_000_000
    );

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(loopback(n_calls, members))
}
