//! The vendor endpoints on the real daemon: each format POSTed or streamed as the
//! vendor (or its relay) sends it, then seen on the floor and in `/metrics`.

use base64::Engine as _;
use floorwatch::config::Config;
use serde_json::Value;

use crate::harness::{Bridge, TestDaemon, http_request_full, metric_sum, ts};

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A POST with a content type and extra header lines; (status, head, body).
async fn post(d: &TestDaemon, path: &str, ctype: &str, headers: &str, body: &str) -> (u16, String, String) {
    let raw = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: {ctype}\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    http_request_full(d.addr, &raw).await
}

fn agent_record(event_id: &str, agent: &str, status: &str, at: &str) -> String {
    format!(
        r#"{{"AgentARN":"arn:aws:connect:eu-west-2:1:instance/i-1/agent/{agent}","EventId":"{event_id}","EventTimestamp":"{at}","EventType":"LOGIN","CurrentAgentSnapshot":{{"AgentStatus":{{"Name":"{status}"}},"Configuration":{{"Username":"{agent}"}},"Contacts":[]}}}}"#
    )
}

#[tokio::test]
async fn amazon_connect_firehose_and_eventbridge_reach_the_floor() {
    let d = TestDaemon::start().await;
    let records: Vec<String> = [
        agent_record("e1", "agent-1", "Available", &ts(1.0)),
        agent_record("e2", "agent-2", "Lunch", &ts(2.0)),
    ]
    .iter()
    .map(|r| format!(r#"{{"data":"{}"}}"#, b64(r)))
    .collect();
    let delivery =
        format!(r#"{{"requestId":"req-1","timestamp":1578090901599,"records":[{}]}}"#, records.join(","));
    let (status, _, body) = post(
        &d,
        "/ingest/amazon-connect?source=connect-1",
        "application/json",
        "X-Amz-Firehose-Request-Id: req-1\r\n",
        &delivery,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let ack: Value = serde_json::from_str(&body).expect("ack is JSON");
    assert_eq!(ack["requestId"], "req-1");
    assert!(ack["timestamp"].as_i64().is_some_and(|t| t > 1_700_000_000_000), "ms: {ack}");
    assert_eq!(ack.as_object().map(|o| o.len()), Some(2), "Firehose's shape: {ack}");

    let queued = format!(
        r#"{{"id":"eb-1","detail-type":"Amazon Connect Contact Event","source":"aws.connect","time":"{}",
        "detail":{{"eventType":"QUEUED","contactId":"c-1","queueInfo":{{"queueArn":"arn:x/queue/q-1","enqueueTimestamp":"{}"}}}}}}"#,
        ts(3.0),
        ts(3.0)
    );
    let (status, _, body) =
        post(&d, "/ingest/amazon-connect?source=connect-1", "application/json", "", &queued).await;
    assert_eq!(status, 200, "{body}");
    // The same EventBridge delivery again: dropped and counted.
    let (status, _, body) =
        post(&d, "/ingest/amazon-connect?source=connect-1", "application/json", "", &queued).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("duplicate"), "{body}");

    d.wait_events(3).await;
    let f = d.wait_floor(|f| f["logged_in"] == 2).await;
    assert_eq!(f["agents_by_state"]["ready"], 1);
    assert_eq!(f["agents_by_state"]["not_ready"], 1);
    let q = f["queues"].as_array().and_then(|qs| qs.iter().find(|q| q["id"] == "q-1").cloned());
    assert_eq!(q.map(|q| q["waiting"].clone()), Some(Value::from(1)));
    let m = d.metrics().await;
    assert_eq!(metric_sum(&m, "floorwatch_events_rejected_total", &[("reason", "duplicate")]), 1.0);
    assert_eq!(metric_sum(&m, "floorwatch_calls_offered_total", &[("queue", "q-1")]), 1.0);

    // An unusable body is a 400 with a JSON error (Firehose's shape for Firehose).
    let (status, _, body) = post(&d, "/ingest/amazon-connect", "application/json", "", "{nope").await;
    assert_eq!(status, 400);
    let e: Value = serde_json::from_str(&body).expect("JSON error");
    assert_eq!(e["reason"], "bad_json");
    let (status, _, body) = post(
        &d,
        "/ingest/amazon-connect",
        "application/json",
        "X-Amz-Firehose-Request-Id: req-2\r\n",
        "{nope",
    )
    .await;
    assert_eq!(status, 400);
    let e: Value = serde_json::from_str(&body).expect("JSON error");
    assert_eq!(e["requestId"], "req-2");
    assert!(e["errorMessage"].is_string());
    let (status, _, _) = post(&d, "/ingest/avaya", "application/json", "", "{}").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn twilio_callbacks_and_event_streams_reach_the_floor() {
    let d = TestDaemon::start().await;
    let secs = |s: f64| {
        let t = floorwatch::event::parse_ts(&ts(s)).unwrap_or_default();
        (t / 1000).to_string()
    };
    let login = format!(
        "EventType=worker.activity.update&Sid=EV1&Timestamp={}&WorkerSid=WK1&WorkerName=alice&WorkerActivityName=Available&WorkerPreviousActivityName=Offline",
        secs(1.0)
    );
    let (status, _, body) = post(&d, "/ingest/twilio", "application/x-www-form-urlencoded", "", &login).await;
    assert_eq!(status, 200, "{body}");
    let streams = format!(
        r#"[{{"specversion":"1.0","type":"com.twilio.taskrouter.task.created","id":"EZ1","time":"{}",
            "data":{{"payload":{{"task_sid":"WT1","task_queue_sid":"WQ1","task_queue_name":"Support"}}}}}},
           {{"specversion":"1.0","type":"com.twilio.taskrouter.task.created","id":"EZ2","time":"{}",
            "data":{{"payload":{{"task_sid":"WT2","task_queue_sid":"WQ1"}}}}}},
           {{"specversion":"1.0","type":"com.twilio.taskrouter.task.canceled","id":"EZ3","time":"{}",
            "data":{{"payload":{{"task_sid":"WT2","task_queue_sid":"WQ1"}}}}}}]"#,
        ts(2.0),
        ts(3.0),
        ts(20.0)
    );
    let (status, _, body) = post(&d, "/ingest/twilio", "application/json", "", &streams).await;
    assert_eq!(status, 200, "{body}");
    let answered = format!(
        "EventType=reservation.accepted&Sid=EV2&Timestamp={}&TaskSid=WT1&TaskQueueSid=WQ1&WorkerSid=WK1",
        secs(30.0)
    );
    let (status, _, body) =
        post(&d, "/ingest/twilio", "application/x-www-form-urlencoded", "", &answered).await;
    assert_eq!(status, 200, "{body}");
    d.wait_events(5).await;
    let f = d.wait_floor(|f| f["agents_by_state"]["talking"] == 1).await;
    let q = f["queues"].as_array().and_then(|qs| qs.iter().find(|q| q["id"] == "WQ1").cloned()).expect("WQ1");
    assert_eq!(
        (q["waiting"].as_u64(), q["answered"].as_u64(), q["abandoned"].as_u64()),
        (Some(0), Some(1), Some(1)),
        "{q}"
    );
    let m = d.metrics().await;
    assert_eq!(metric_sum(&m, "floorwatch_calls_abandoned_total", &[("queue", "WQ1")]), 1.0);
}

#[tokio::test]
async fn genesys_notifications_stream_over_the_websocket() {
    let d = TestDaemon::start().await;
    let url = format!("ws://{}/ingest/genesys-cloud?source=genesys-1", d.addr);
    let mut relay = Bridge::connect(&url, None).await.expect("handshake");
    relay
        .send(format!(
            r#"{{"topicName":"v2.users.user-1.routingStatus","eventBody":{{"routingStatus":{{"status":"IDLE","startTime":"{}"}}}}}}"#,
            ts(1.0)
        ))
        .await;
    relay.send(r#"{"topicName":"channel.metadata","eventBody":{"message":"WebSocket Heartbeat"}}"#).await;
    relay.send(r#"{"topicName":"v2.users.user-1.geolocation","eventBody":{}}"#).await;
    let err = relay.recv_json(std::time::Duration::from_secs(30)).await.expect("an error frame");
    assert_eq!(err["reason"], "unknown_type");
    d.wait_events(2).await;
    let f = d.wait_floor(|f| f["logged_in"] == 1).await;
    assert_eq!(f["agents_by_state"]["ready"], 1);
    relay.close().await;
}

#[tokio::test]
async fn the_vendor_routes_keep_the_ingest_token_rule() {
    let mut cfg = Config::default();
    cfg.ingest.token = Some("s3cret".into());
    let d = TestDaemon::with_config(cfg).await;
    let hb = r#"{"EventType":"HEART_BEAT","EventId":"h1","EventTimestamp":"2026-11-23T08:00:00Z","AgentARN":"a/agent/x"}"#;
    let (status, head, body) = post(&d, "/ingest/amazon-connect", "application/json", "", hb).await;
    assert_eq!(status, 401, "{body}");
    assert!(head.to_ascii_lowercase().contains("www-authenticate: bearer"), "{head}");
    let (status, _, _) =
        post(&d, "/ingest/amazon-connect", "application/json", "Authorization: Bearer wrong\r\n", hb).await;
    assert_eq!(status, 401);
    let (status, _, body) =
        post(&d, "/ingest/amazon-connect", "application/json", "X-Amz-Firehose-Access-Key: s3cret\r\n", hb)
            .await;
    assert_eq!(status, 200, "{body}");
    let basic = b64("floorwatch:s3cret");
    let form = "EventType=workflow.entered&Sid=EV9&Timestamp=1795420800";
    let (status, _, body) = post(
        &d,
        "/ingest/twilio",
        "application/x-www-form-urlencoded",
        &format!("Authorization: Basic {basic}\r\n"),
        form,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let url = format!("ws://{}/ingest/genesys-cloud", d.addr);
    assert!(Bridge::connect(&url, None).await.is_err(), "the WebSocket too");
    assert!(Bridge::connect(&url, Some("s3cret")).await.is_ok());
    let m = d.metrics().await;
    assert!(
        metric_sum(&m, "floorwatch_ingest_connections_refused_total", &[("reason", "unauthorized")]) >= 3.0
    );
}

/// A POST of raw bytes; (status, body).
async fn post_bytes(d: &TestDaemon, path: &str, headers: &str, body: &[u8]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(d.addr).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.expect("head");
    s.write_all(body).await.expect("body");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("read");
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0), body.to_owned())
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).expect("gzip");
    e.finish().expect("gzip")
}

#[tokio::test]
async fn firehose_gzip_deliveries_are_read_and_bombs_refused() {
    let d = TestDaemon::start().await;
    let record = format!(r#"{{"data":"{}"}}"#, b64(&agent_record("g1", "agent-9", "Available", &ts(1.0))));
    let delivery = format!(r#"{{"requestId":"req-9","timestamp":1578090901599,"records":[{record}]}}"#);
    let headers = "X-Amz-Firehose-Request-Id: req-9\r\nContent-Encoding: gzip\r\n";
    let (status, body) =
        post_bytes(&d, "/ingest/amazon-connect?source=connect-1", headers, &gzip(delivery.as_bytes())).await;
    assert_eq!(status, 200, "{body}");
    let ack: Value = serde_json::from_str(&body).expect("ack is JSON");
    assert_eq!(ack["requestId"], "req-9");
    d.wait_floor(|f| f["logged_in"] == 1).await;

    // 64 MB of spaces compress to ~64 KB: under the body limit, far over it
    // once inflated. Refused with Firehose's error shape, not inflated whole.
    let bomb = gzip(&vec![b' '; 64 * 1024 * 1024]);
    assert!(bomb.len() < 1024 * 1024, "{}", bomb.len());
    let headers = "X-Amz-Firehose-Request-Id: req-10\r\nContent-Encoding: gzip\r\n";
    let (status, body) = post_bytes(&d, "/ingest/amazon-connect", headers, &bomb).await;
    assert_eq!(status, 413, "{body}");
    let e: Value = serde_json::from_str(&body).expect("JSON error");
    assert_eq!(e["requestId"], "req-10");
    // Not gzip at all.
    let (status, body) = post_bytes(&d, "/ingest/amazon-connect", "Content-Encoding: gzip\r\n", b"{}").await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = post_bytes(&d, "/ingest/amazon-connect", "Content-Encoding: br\r\n", b"{}").await;
    assert_eq!(status, 415);
    let m = d.metrics().await;
    assert_eq!(metric_sum(&m, "floorwatch_events_rejected_total", &[("reason", "bad_encoding")]), 1.0);
    assert_eq!(metric_sum(&m, "floorwatch_events_rejected_total", &[("reason", "frame_too_large")]), 1.0);
}

#[tokio::test]
async fn a_twilio_source_with_an_auth_token_takes_only_signed_requests() {
    use floorwatch::ingest::twilio::signature::{AuthToken, sign};
    let toml = "[[vendor_sources]]\nid = \"tw-1\"\nformat = \"twilio\"\nauth_token = \"tw-secret\"\npublic_url = \"https://floor.example.com/\"\n";
    let cfg = floorwatch::config::parse(toml, "test.toml", &Default::default()).expect("config");
    let d = TestDaemon::with_config(cfg).await;
    let path = "/ingest/twilio?source=tw-1";
    let body = "EventType=worker.activity.update&Sid=EV1&Timestamp=1764662400&WorkerSid=WK1&WorkerName=alice&WorkerActivityName=Available&WorkerPreviousActivityName=Offline";
    let form = "application/x-www-form-urlencoded";
    let (status, _, text) = post(&d, path, form, "", body).await;
    assert_eq!(status, 403, "unsigned: {text}");
    let token = AuthToken::new("tw-secret".into());
    let wrong = sign(&token, &format!("https://elsewhere.example.com{path}"), body.as_bytes());
    let (status, _, _) = post(&d, path, form, &format!("X-Twilio-Signature: {wrong}\r\n"), body).await;
    assert_eq!(status, 403, "signed for another URL");
    let good = sign(&token, &format!("https://floor.example.com{path}"), body.as_bytes());
    let (status, _, text) = post(&d, path, form, &format!("X-Twilio-Signature: {good}\r\n"), body).await;
    assert_eq!(status, 200, "{text}");
    d.wait_floor(|f| f["logged_in"] == 1).await;
    let m = d.metrics().await;
    assert_eq!(
        metric_sum(&m, "floorwatch_ingest_connections_refused_total", &[("reason", "unauthorized")]),
        2.0
    );
    // Another Twilio source without a token configured is not held to it.
    let (status, _, text) = post(&d, "/ingest/twilio?source=tw-2", form, "", body).await;
    assert_eq!(status, 200, "{text}");
}
