//! Dial-out sources against a scripted Asterisk on loopback: the daemon logs in,
//! shows the floor from the `QueueStatus` snapshot and the events, raises
//! `system_fault` `cti_link` when the link drops, resyncs on reconnect and
//! counts nothing twice.

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
    let sources = vec![SourceConfig {
        id: "pbx-1".into(),
        address: addr.to_string(),
        kind: SourceKind::AsteriskAmi { username: "floorwatch".into(), secret: "s3cret".into() },
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

async fn counts(d: &TestDaemon) -> (u64, u64, u64, u64) {
    let m = d.metrics().await;
    let q = [("queue", "billing")];
    (
        metric_sum(&m, "floorwatch_calls_offered_total", &q) as u64,
        metric_sum(&m, "floorwatch_calls_answered_total", &q) as u64,
        metric_sum(&m, "floorwatch_calls_abandoned_total", &q) as u64,
        metric_sum(&m, "floorwatch_calls_waiting", &q) as u64,
    )
}

async fn wait_counts(d: &TestDaemon, want: (u64, u64, u64, u64)) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let got = counts(d).await;
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

/// Each agent on the floor with its state and call, by id.
async fn agent_states(d: &TestDaemon) -> Vec<(String, String, Option<String>)> {
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
    assert_eq!(
        agent_states(&d).await,
        [
            ("PJSIP/1001".to_owned(), "talking".to_owned(), Some("1.1@billing".to_owned())),
            ("PJSIP/1002".to_owned(), "ready".to_owned(), None)
        ],
    );

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
    assert_eq!(
        agent_states(&d).await,
        [
            ("PJSIP/1001".to_owned(), "talking".to_owned(), Some("1.1@billing".to_owned())),
            ("PJSIP/1002".to_owned(), "talking".to_owned(), Some("2.2@billing".to_owned()))
        ],
    );
    // Heartbeats keep the source alive while the link is healthy.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while metric_sum(&d.metrics().await, "floorwatch_events_total", &[("type", "heartbeat")]) < 1.0 {
        assert!(tokio::time::Instant::now() < deadline, "no heartbeat from a healthy link");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    d.shutdown().await.expect("clean shutdown");
}
