//! Dial-out sources against a scripted Asterisk on loopback: the daemon logs in,
//! shows the floor from the `QueueStatus` snapshot and the events, raises
//! `system_fault` `cti_link` when the link drops, resyncs on reconnect and
//! counts nothing twice; the same for FreeSWITCH's event socket.

use std::time::Duration;

use floorwatch::config::Config;
use floorwatch::ingest::sources::{DialTiming, SourceConfig, SourceKind};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::harness::{PATIENCE, TestDaemon, metric_sum};

fn msg(fields: &[(&str, &str)]) -> String {
    let mut s = String::new();
    for (k, v) in fields {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    s.push_str("\r\n");
    s
}

fn member(iface: &str, status: &str, in_call: &str) -> String {
    msg(&[
        ("Event", "QueueMember"),
        ("ActionID", "fw-status"),
        ("Queue", "billing"),
        ("Name", iface),
        ("Location", iface),
        ("StateInterface", iface),
        ("Membership", "dynamic"),
        ("InCall", in_call),
        ("Status", status),
        ("Paused", "0"),
        ("PausedReason", ""),
        ("Wrapuptime", "0"),
    ])
}

fn entry(uid: &str, wait: &str) -> String {
    msg(&[
        ("Event", "QueueEntry"),
        ("ActionID", "fw-status"),
        ("Queue", "billing"),
        ("Position", "1"),
        ("Uniqueid", uid),
        ("CallerIDNum", "+8613800000009"),
        ("Wait", wait),
    ])
}

fn event(name: &str, uid: &str, extra: &[(&str, &str)]) -> String {
    let mut f = vec![("Event", name), ("Privilege", "agent,all"), ("Uniqueid", uid), ("Queue", "billing")];
    f.extend_from_slice(extra);
    msg(&f)
}

const COMPLETE: &str = "Event: QueueStatusComplete\r\nActionID: fw-status\r\nEventList: Complete\r\n\r\n";

/// Plays Asterisk on one link: the banner, the login, `script` as the answer
/// to `QueueStatus`, a `Pong` for each `Ping`; until `stop` (then the link drops).
async fn play(stream: TcpStream, script: String, mut stop: oneshot::Receiver<()>) {
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    if wr.write_all(b"Asterisk Call Manager/9.0.0\r\n").await.is_err() {
        return;
    }
    loop {
        let mut action = String::new();
        let mut id = String::new();
        loop {
            let mut line = String::new();
            let n = tokio::select! {
                _ = &mut stop => return,
                n = rd.read_line(&mut line) => n,
            };
            match n {
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
        let answer = match action.as_str() {
            "Login" => {
                msg(&[("Response", "Success"), ("ActionID", &id), ("Message", "Authentication accepted")])
            }
            "QueueStatus" => {
                let ack = msg(&[("Response", "Success"), ("ActionID", &id), ("EventList", "start")]);
                format!("{ack}{script}")
            }
            "Ping" => msg(&[("Response", "Success"), ("ActionID", &id), ("Ping", "Pong")]),
            _ => msg(&[("Response", "Error"), ("ActionID", &id), ("Message", "Invalid/unknown command")]),
        };
        if wr.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn config(addr: std::net::SocketAddr) -> Config {
    dial_config(addr, SourceKind::AsteriskAmi { username: "floorwatch".into(), secret: "s3cret".into() })
}

fn dial_config(addr: std::net::SocketAddr, kind: SourceKind) -> Config {
    let sources = vec![SourceConfig {
        id: "pbx-1".into(),
        address: addr.to_string(),
        kind,
        wrapup_secs: 0,
        timing: DialTiming {
            connect_timeout: Duration::from_secs(5),
            backoff_initial: Duration::from_millis(50),
            backoff_max: Duration::from_millis(200),
            ping_every: Duration::from_millis(200),
            silence_timeout: Duration::from_secs(30),
        },
    }];
    Config { sources, ..Config::default() }
}

async fn counts(d: &TestDaemon, queue: &str) -> (u64, u64, u64, u64) {
    let m = d.metrics().await;
    let q = [("queue", queue)];
    (
        metric_sum(&m, "floorwatch_calls_offered_total", &q) as u64,
        metric_sum(&m, "floorwatch_calls_answered_total", &q) as u64,
        metric_sum(&m, "floorwatch_calls_abandoned_total", &q) as u64,
        metric_sum(&m, "floorwatch_calls_waiting", &q) as u64,
    )
}

async fn wait_counts(d: &TestDaemon, want: (u64, u64, u64, u64)) {
    wait_queue_counts(d, "billing", want).await;
}

async fn wait_queue_counts(d: &TestDaemon, queue: &str, want: (u64, u64, u64, u64)) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let got = counts(d, queue).await;
        if got == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "offered/answered/abandoned/waiting {got:?}, want {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

type AgentRow = (String, String, Option<String>);

/// Waits until the floor's agents are `want` (the snapshot the API serves is
/// published on its own grid, a moment after the counters move).
async fn wait_agents(d: &TestDaemon, want: &[AgentRow]) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let got = agent_states(d).await;
        if got == want {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "agents {got:?}, want {want:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Each agent on the floor with its state and call, by id.
async fn agent_states(d: &TestDaemon) -> Vec<AgentRow> {
    let (status, body) = d.get("/api/floor").await;
    assert_eq!(status, 200, "{body}");
    let floor: Value = serde_json::from_str(&body).expect("the floor is JSON");
    let mut agents: Vec<_> = floor["agents"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            let s = |k: &str| a[k].as_str().map(str::to_owned);
            (s("id").unwrap_or_default(), s("state").unwrap_or_default(), s("call"))
        })
        .collect();
    agents.sort();
    agents
}

/// The `cti_link` fault alert, once it is in `state`.
async fn wait_fault(d: &TestDaemon, state: &str) -> Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (status, body) = d.get("/api/alerts").await;
        assert_eq!(status, 200, "{body}");
        let alerts: Value = serde_json::from_str(&body).expect("alerts are JSON");
        let found = alerts.as_array().into_iter().flatten().find(|a| {
            a["kind"] == "system_fault" && a["subject"]["component"] == "cti_link" && a["state"] == state
        });
        if let Some(a) = found {
            return a.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "no {state} cti_link fault: {alerts}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn ami_floor_drop_and_resync_count_nothing_twice() {
    let pbx = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let d = TestDaemon::with_config(config(pbx.local_addr().expect("addr"))).await;

    // Link 1: 1.1 has waited 30 s; 2.2 joins; 1.1 is answered.
    let script = [
        member("PJSIP/1001", "1", "0"),
        member("PJSIP/1002", "1", "0"),
        entry("1.1", "30"),
        COMPLETE.to_owned(),
        event("QueueCallerJoin", "2.2", &[("CallerIDNum", "+8613800000010"), ("Position", "2")]),
        event(
            "AgentConnect",
            "1.1",
            &[
                ("MemberName", "PJSIP/1001"),
                ("Interface", "PJSIP/1001"),
                ("HoldTime", "31"),
                ("RingTime", "2"),
            ],
        ),
    ]
    .concat();
    let (stream, _) =
        tokio::time::timeout(PATIENCE, pbx.accept()).await.expect("the daemon dials").expect("accept");
    let (stop, stopped) = oneshot::channel();
    let link = tokio::spawn(play(stream, script, stopped));
    wait_counts(&d, (2, 1, 0, 1)).await;
    let m = d.metrics().await;
    assert_eq!(metric_sum(&m, "floorwatch_agents", &[]), 2.0, "both members are logged in: {m}");
    // Only the member that took the call talks; the other stays ready.
    wait_agents(
        &d,
        &[
            ("PJSIP/1001".to_owned(), "talking".to_owned(), Some("1.1@billing".to_owned())),
            ("PJSIP/1002".to_owned(), "ready".to_owned(), None),
        ],
    )
    .await;

    // The link drops: the fault is raised at once.
    let _ = stop.send(());
    let _ = link.await;
    let fault = wait_fault(&d, "firing").await;
    assert_eq!(fault["severity"], "critical");

    // Link 2: 2.2 still waits (not offered again), 3.3 joined meanwhile; then
    // 2.2 is answered and 3.3 abandons.
    let script = [
        member("PJSIP/1001", "2", "1"),
        member("PJSIP/1002", "1", "0"),
        entry("2.2", "15"),
        entry("3.3", "4"),
        COMPLETE.to_owned(),
        event(
            "AgentConnect",
            "2.2",
            &[
                ("MemberName", "PJSIP/1002"),
                ("Interface", "PJSIP/1002"),
                ("HoldTime", "16"),
                ("RingTime", "1"),
            ],
        ),
        event(
            "QueueCallerAbandon",
            "3.3",
            &[("Position", "1"), ("OriginalPosition", "1"), ("HoldTime", "6")],
        ),
    ]
    .concat();
    let (stream, _) =
        tokio::time::timeout(PATIENCE, pbx.accept()).await.expect("the daemon redials").expect("accept");
    let (_stop, stopped) = oneshot::channel();
    tokio::spawn(play(stream, script, stopped));
    wait_fault(&d, "resolved").await;
    wait_counts(&d, (3, 2, 1, 0)).await;
    // 1001 is still on 1.1 (its call outlived the link), 1002 took 2.2.
    wait_agents(
        &d,
        &[
            ("PJSIP/1001".to_owned(), "talking".to_owned(), Some("1.1@billing".to_owned())),
            ("PJSIP/1002".to_owned(), "talking".to_owned(), Some("2.2@billing".to_owned())),
        ],
    )
    .await;
    // Heartbeats keep the source alive while the link is healthy.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while metric_sum(&d.metrics().await, "floorwatch_events_total", &[("type", "heartbeat")]) < 1.0 {
        assert!(tokio::time::Instant::now() < deadline, "no heartbeat from a healthy link");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    d.shutdown().await.expect("clean shutdown");
}

// ---- FreeSWITCH's event socket -------------------------------------------------

const AGENT_COLS: &str = "name|instance_id|uuid|type|contact|status|state|max_no_answer|wrap_up_time|reject_delay_time|busy_delay_time|no_answer_delay_time|last_bridge_start|last_bridge_end|last_offered_call|last_status_change|no_answer_count|calls_answered|talk_time|ready_time|external_calls_count";
const MEMBER_COLS: &str = "queue|instance_id|uuid|session_uuid|cid_number|cid_name|system_epoch|joined_epoch|rejoined_epoch|bridge_epoch|abandoned_epoch|base_score|skill_score|serving_agent|serving_system|state|score";
const FS_QUEUE: &str = "support@default";

fn now_s() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// `callcenter_config agent list`, as mod_callcenter prints it.
fn agents(rows: &[(&str, &str, &str)]) -> String {
    let mut out = vec![AGENT_COLS.to_owned()];
    for (name, status, state) in rows {
        out.push(format!(
            "{name}|single_box||callback|user/{name}|{status}|{state}|3|0|10|10|10|0|0|0|0|0|0|0|0|0"
        ));
    }
    out.push("+OK".into());
    out.join("\n")
}

/// `callcenter_config queue list members`: `(uuid, joined, bridged, agent, state)`.
fn members(rows: &[(&str, i64, i64, &str, &str)]) -> String {
    let mut out = vec![MEMBER_COLS.to_owned()];
    for (uuid, joined, bridge, agent, state) in rows {
        out.push(format!(
            "{FS_QUEUE}|single_box|{uuid}|sess-{uuid}|+8613800000002|Caller|{joined}|{joined}|0|{bridge}|0|0|0|{agent}|single_box|{state}|10"
        ));
    }
    out.push("+OK".into());
    out.join("\n")
}

/// A `text/event-plain` callcenter event, values URL-encoded as FreeSWITCH sends them.
fn cc(fields: &[(&str, &str)]) -> String {
    let enc =
        |v: &str| percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC).to_string();
    let mut body = format!(
        "Event-Name: CUSTOM\nCore-UUID: 5e0f5a1c-0000\nEvent-Date-Timestamp: {}\nEvent-Subclass: {}\nCC-Queue: {}\n",
        now_s() * 1_000_000,
        enc("callcenter::info"),
        enc(FS_QUEUE),
    );
    for (k, v) in fields {
        body.push_str(&format!("{k}: {}\n", enc(v)));
    }
    body.push('\n');
    format!("Content-Length: {}\nContent-Type: text/event-plain\n\n{body}", body.len())
}

fn api_response(body: &str) -> String {
    format!("Content-Type: api/response\nContent-Length: {}\n\n{body}", body.len())
}

/// Plays FreeSWITCH's event socket on one link: asks for the password, takes
/// the event subscription, answers the two listings with `members` and
/// `agents`, then sends `events`; answers `api strepoch` keepalives; until
/// `stop`. Returns the commands the daemon sent.
async fn play_esl(
    stream: TcpStream,
    members: String,
    agents: String,
    events: String,
    mut stop: oneshot::Receiver<()>,
) -> Vec<String> {
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    let mut seen = Vec::new();
    if wr.write_all(b"Content-Type: auth/request\n\n").await.is_err() {
        return seen;
    }
    loop {
        // One command: its line, then the blank line that ends it.
        let mut cmd = String::new();
        loop {
            let mut line = String::new();
            let n = tokio::select! {
                _ = &mut stop => return seen,
                n = rd.read_line(&mut line) => n,
            };
            match n {
                Ok(0) | Err(_) => return seen,
                Ok(_) => {}
            }
            let line = line.trim_end();
            if line.is_empty() {
                if cmd.is_empty() {
                    continue;
                }
                break;
            }
            cmd = line.to_owned();
        }
        seen.push(cmd.clone());
        let answer = if cmd == "auth ClueCon" {
            "Content-Type: command/reply\nReply-Text: +OK accepted\n\n".to_owned()
        } else if cmd.starts_with("auth ") {
            "Content-Type: command/reply\nReply-Text: -ERR invalid\n\n".to_owned()
        } else if cmd.starts_with("event plain ") {
            "Content-Type: command/reply\nReply-Text: +OK event listener enabled plain\n\n".to_owned()
        } else if cmd == "api callcenter_config queue list members" {
            api_response(&members)
        } else if cmd == "api callcenter_config agent list" {
            // The live events follow the snapshot, as they would on a busy floor.
            format!("{}{events}", api_response(&agents))
        } else if cmd == "api strepoch" {
            api_response(&now_s().to_string())
        } else {
            api_response("-ERR command not found")
        };
        if wr.write_all(answer.as_bytes()).await.is_err() {
            return seen;
        }
    }
}

#[tokio::test]
async fn esl_floor_drop_and_resync_count_nothing_twice() {
    let pbx = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let kind = SourceKind::FreeswitchEsl { secret: "ClueCon".into() };
    let d = TestDaemon::with_config(dial_config(pbx.local_addr().expect("addr"), kind)).await;
    let now = now_s();

    // Link 1: m-1 has waited 30 s; m-2 joins; 1000 answers m-1.
    let events = [
        cc(&[
            ("CC-Action", "member-queue-start"),
            ("CC-Member-UUID", "m-2"),
            ("CC-Member-CID-Number", "+8613800000010"),
        ]),
        cc(&[
            ("CC-Action", "bridge-agent-start"),
            ("CC-Agent", "1000@default"),
            ("CC-Member-UUID", "m-1"),
            ("CC-Agent-Called-Time", &(now - 2).to_string()),
            ("CC-Agent-Answered-Time", &now.to_string()),
            ("CC-Member-Joined-Time", &(now - 30).to_string()),
        ]),
        cc(&[
            ("CC-Action", "agent-state-change"),
            ("CC-Agent", "1000@default"),
            ("CC-Agent-State", "In a queue call"),
        ]),
    ]
    .concat();
    let (stream, _) =
        tokio::time::timeout(PATIENCE, pbx.accept()).await.expect("the daemon dials").expect("accept");
    let (stop, stopped) = oneshot::channel();
    let link = tokio::spawn(play_esl(
        stream,
        members(&[("m-1", now - 30, 0, "", "Waiting")]),
        agents(&[("1000@default", "Available", "Waiting"), ("1001@default", "Available", "Waiting")]),
        events,
        stopped,
    ));
    wait_queue_counts(&d, FS_QUEUE, (2, 1, 0, 1)).await;
    wait_agents(
        &d,
        &[
            ("1000@default".to_owned(), "talking".to_owned(), Some("m-1".to_owned())),
            ("1001@default".to_owned(), "ready".to_owned(), None),
        ],
    )
    .await;
    let _ = stop.send(());
    let sent = link.await.expect("the peer ran");
    assert_eq!(
        sent[..4],
        [
            "auth ClueCon",
            "event plain HEARTBEAT CUSTOM callcenter::info",
            "api callcenter_config queue list members",
            "api callcenter_config agent list"
        ],
        "login, subscription (CUSTOM last), then the snapshot: {sent:?}"
    );
    let fault = wait_fault(&d, "firing").await;
    assert_eq!(fault["severity"], "critical");

    // Link 2: m-1 still bridged to 1000, m-2 still waits (since 15 s before),
    // m-3 joined meanwhile; then 1001 answers m-2 and m-3 hangs up.
    let now = now_s();
    let events = [
        cc(&[
            ("CC-Action", "bridge-agent-start"),
            ("CC-Agent", "1001@default"),
            ("CC-Member-UUID", "m-2"),
            ("CC-Agent-Answered-Time", &now.to_string()),
            ("CC-Member-Joined-Time", &(now - 16).to_string()),
        ]),
        cc(&[
            ("CC-Action", "agent-state-change"),
            ("CC-Agent", "1001@default"),
            ("CC-Agent-State", "In a queue call"),
        ]),
        cc(&[
            ("CC-Action", "member-queue-end"),
            ("CC-Cause", "Cancel"),
            ("CC-Cancel-Reason", "NONE"),
            ("CC-Member-UUID", "m-3"),
            ("CC-Member-Joined-Time", &(now - 6).to_string()),
        ]),
    ]
    .concat();
    let (stream, _) =
        tokio::time::timeout(PATIENCE, pbx.accept()).await.expect("the daemon redials").expect("accept");
    let (_stop, stopped) = oneshot::channel();
    tokio::spawn(play_esl(
        stream,
        members(&[
            ("m-1", now - 60, now - 30, "1000@default", "Answered"),
            ("m-2", now - 15, 0, "", "Waiting"),
            ("m-3", now - 4, 0, "", "Waiting"),
        ]),
        agents(&[("1000@default", "Available", "In a queue call"), ("1001@default", "Available", "Waiting")]),
        events,
        stopped,
    ));
    wait_fault(&d, "resolved").await;
    wait_queue_counts(&d, FS_QUEUE, (3, 2, 1, 0)).await;
    wait_agents(
        &d,
        &[
            ("1000@default".to_owned(), "talking".to_owned(), Some("m-1".to_owned())),
            ("1001@default".to_owned(), "talking".to_owned(), Some("m-2".to_owned())),
        ],
    )
    .await;
    // Keepalives answered: heartbeats keep the source alive.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while metric_sum(&d.metrics().await, "floorwatch_events_total", &[("type", "heartbeat")]) < 1.0 {
        assert!(tokio::time::Instant::now() < deadline, "no heartbeat from a healthy link");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(metric_sum(&d.metrics().await, "floorwatch_events_rejected_total", &[]), 0.0);
    d.shutdown().await.expect("clean shutdown");
}
