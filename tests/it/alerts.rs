//! Alerts end to end: an overrun fires from the timer alone, is pushed on
//! /ws/alerts, acknowledged over HTTP, survives a restart, and resolves.

use floorwatch::config::Config;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{PATIENCE, TestDaemon, ts_now};

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn alerts_ws(d: &TestDaemon) -> Ws {
    let (ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/ws/alerts", d.addr)).await.expect("ws/alerts");
    ws
}

/// The next alert pushed that satisfies `pred`.
async fn next_alert(ws: &mut Ws, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(&t).expect("alert frames are JSON");
                if pred(&v) {
                    return v;
                }
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("no matching alert pushed: {other:?}"),
        }
    }
}

fn cfg() -> Config {
    let mut c = Config::default();
    c.alerts.acw_overrun_secs = 2;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overrun_fires_from_the_timer_is_acknowledged_and_survives_a_restart() {
    let d = TestDaemon::with_config(cfg()).await;
    let mut ws = alerts_ws(&d).await;
    let mut b = d.bridge(Some("acd")).await;
    b.send(
        json!([
            {"type":"agent_login","ts":ts_now(-10.0),"agent":"A7","name":"王芳","team":"team-1"},
            {"type":"agent_state","ts":ts_now(-0.5),"agent":"A7","state":"acw"}
        ])
        .to_string(),
    )
    .await;
    // Nothing more is sent: only the engine's timer can raise this.
    let a = next_alert(&mut ws, |a| a["kind"] == "acw_overrun").await;
    assert_eq!(a["state"], "firing");
    assert_eq!(a["severity"], "warning");
    assert_eq!(a["subject"]["agent"], "A7");
    assert_eq!(a["subject"]["team"], "team-1");
    assert!(a["message"].as_str().is_some_and(|m| m.contains("A7")));
    let id = a["id"].as_str().expect("id").to_string();

    // The list shows what the store holds: the push may run a commit ahead of it.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (status, body) = d.get("/api/alerts?state=firing").await;
        assert_eq!(status, 200);
        let list: Value = serde_json::from_str(&body).expect("json");
        if list.as_array().is_some_and(|l| l.iter().any(|x| x["id"] == id.as_str())) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "alert never committed: {list}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    let (status, body) =
        d.post(&format!("/api/alerts/{id}/ack"), r#"{"by":"张伟","note":"on it"}"#, None).await;
    assert_eq!(status, 200, "{body}");
    let acked: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(acked["state"], "acknowledged");
    assert_eq!(acked["acknowledged_by"], "张伟");
    let pushed = next_alert(&mut ws, |a| a["state"] == "acknowledged").await;
    assert_eq!(pushed["id"], id.as_str());

    // Restart: the acknowledgement is still there, and a new push client gets the
    // open alert first.
    drop(ws);
    drop(b);
    let d = d.restart().await;
    let (_, body) = d.get("/api/alerts?state=acknowledged").await;
    let list: Value = serde_json::from_str(&body).expect("json");
    let restored = list.as_array().and_then(|l| l.iter().find(|x| x["id"] == id.as_str()).cloned());
    let restored = restored.unwrap_or_else(|| panic!("acknowledged alert lost in restart: {list}"));
    assert_eq!(restored["acknowledged_by"], "张伟");
    assert_eq!(restored["ack_note"], "on it");
    let mut ws = alerts_ws(&d).await;
    let first = next_alert(&mut ws, |_| true).await;
    assert_eq!(first["id"], id.as_str());

    // The agent moves on: resolved, same alert.
    let mut b = d.bridge(Some("acd")).await;
    b.send(json!({"type":"agent_state","ts":ts_now(0.0),"agent":"A7","state":"ready"}).to_string()).await;
    let resolved = next_alert(&mut ws, |a| a["state"] == "resolved").await;
    assert_eq!(resolved["id"], id.as_str());
    assert!(resolved["resolved_at"].is_string());
    let m = d.metrics().await;
    assert_eq!(crate::harness::metric_sum(&m, "floorwatch_alerts_firing", &[("kind", "acw_overrun")]), 0.0);
}

#[tokio::test]
async fn acknowledgement_rules_and_errors() {
    let mut c = cfg();
    c.admin_token = Some("boss".into());
    let d = TestDaemon::with_config(c).await;
    let mut b = d.bridge(Some("acd")).await;
    b.send(json!({"type":"fault","ts":ts_now(0.0),"component":"ivr","status":"down","detail":"IVR not answering"}).to_string())
        .await;
    let mut ws = alerts_ws(&d).await;
    let a = next_alert(&mut ws, |a| a["kind"] == "system_fault").await;
    assert_eq!(a["severity"], "critical");
    assert_eq!(a["subject"]["component"], "ivr");
    let id = a["id"].as_str().expect("id").to_string();
    let path = format!("/api/alerts/{id}/ack");

    assert_eq!(d.post(&path, "", None).await.0, 401, "admin token required");
    assert_eq!(d.post(&path, "", Some("wrong")).await.0, 401);
    assert_eq!(d.post(&path, "{not json", Some("boss")).await.0, 400);
    assert_eq!(d.post("/api/alerts/nope/ack", "", Some("boss")).await.0, 404);
    let (status, body) = d.post(&path, "", Some("boss")).await;
    assert_eq!(status, 200, "{body}");

    b.send(json!({"type":"fault","ts":ts_now(1.0),"component":"ivr","status":"up"}).to_string()).await;
    next_alert(&mut ws, |a| a["state"] == "resolved").await;
    assert_eq!(d.post(&path, "", Some("boss")).await.0, 409, "a resolved alert cannot be acknowledged");
    let (status, _) = d.get("/api/alerts?state=sideways").await;
    assert_eq!(status, 400);
}
