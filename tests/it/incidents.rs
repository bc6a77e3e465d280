//! The incident playbook end to end, over HTTP and WebSocket like a CTI bridge, an
//! agent desktop and a supervisor's browser: a fault opens an incident with its
//! script, callers lost during it land in the call-back log (and only then),
//! recovery closes the fault entry with its impact; user entries survive kill -9;
//! CSV exports parse back; the admin rule and the audit trail hold; bad input is
//! refused whole.

use std::time::Duration;

use floorwatch::config::Config;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{
    Bridge, PATIENCE, TestDaemon, http_get, http_send, http_send_full, serve_child, ts_now, wait_listening,
};

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn agents_ws(addr: std::net::SocketAddr, query: &str) -> Ws {
    let (ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/ws/agents{query}")).await.expect("ws/agents");
    ws
}

/// The next `scripts` frame on /ws/agents satisfying `pred`.
async fn next_scripts(ws: &mut Ws, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(&t).expect("frames are JSON");
                assert_eq!(v["type"], "scripts");
                let list = v["scripts"].as_array().cloned().unwrap_or_default();
                if pred(&list) {
                    return list;
                }
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("no matching scripts frame: {other:?}"),
        }
    }
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// Polls GET `path` until `pred` holds on its JSON.
async fn eventually(addr: std::net::SocketAddr, path: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (status, body) = http_get(addr, path).await;
        assert_eq!(status, 200, "{path}: {body}");
        let v = json_of(&body);
        if pred(&v) {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "{path} never matched: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn offered(call: &str, caller: &str, secs: f64) -> Value {
    json!({"type":"call_offered","ts":ts_now(secs),"call":call,"queue":"billing","caller":caller})
}

fn abandoned(call: &str, secs: f64) -> Value {
    json!({"type":"call_abandoned","ts":ts_now(secs),"call":call})
}

async fn send(b: &mut Bridge, events: Value) {
    b.send(events.to_string()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_runs_the_playbook_and_recovery_closes_it() {
    let d = TestDaemon::start().await;
    let mut agents = agents_ws(d.addr, "?queue=billing").await;
    assert!(next_scripts(&mut agents, |_| true).await.is_empty(), "no incident, no script");
    let mut b = d.bridge(Some("acd")).await;

    // Before any incident: an abandon with a number is not logged.
    send(&mut b, json!([offered("C1", "+8613800000001", -30.0), abandoned("C1", -20.0)])).await;
    d.wait_floor(|f| f["queues"][0]["abandoned"] == 1).await;

    let down_at = ts_now(0.0);
    send(
        &mut b,
        json!({"type":"fault","ts":down_at,"component":"trunk-2","status":"down","detail":"E1 lost"}),
    )
    .await;
    let list =
        eventually(d.addr, "/api/incidents?state=open", |v| v.as_array().is_some_and(|l| l.len() == 1)).await;
    let inc = &list[0];
    assert_eq!(inc["kind"], "system_fault");
    assert_eq!(inc["component"], "trunk-2");
    let id = inc["id"].as_str().expect("id").to_string();
    assert!(
        inc["script"].as_str().is_some_and(|s| s.contains("trunk-2")),
        "script names the component: {inc}"
    );
    assert_eq!(inc["alerts"].as_array().map(Vec::len), Some(1));
    // The unified script reaches agent desktops at once.
    let live = next_scripts(&mut agents, |l| !l.is_empty()).await;
    assert_eq!(live[0]["incident"], id.as_str());
    assert!(live[0]["zh"].as_str().is_some_and(|s| s.contains("trunk-2")));
    assert!(live[0]["en"].as_str().is_some_and(|s| s.contains("trunk-2")));
    let fault = eventually(d.addr, "/api/faults", |v| v.as_array().is_some_and(|l| l.len() == 1)).await;
    assert_eq!(fault[0]["component"], "trunk-2");
    assert_eq!(fault[0]["incident"], id.as_str());
    assert!(fault[0]["recovered_at"].is_null());
    d.wait_floor(|f| f["queues"][0]["offered"] == 1).await;

    // During it: two abandons from one number (merged), one answered call.
    send(
        &mut b,
        json!([
            offered("C2", "+8613900000002", 1.0), abandoned("C2", 5.0),
            offered("C3", "+8613900000002", 6.0), abandoned("C3", 9.0),
            offered("C4", "+8613700000004", 7.0),
            {"type":"call_answered","ts":ts_now(8.0),"call":"C4","agent":"A1"}
        ]),
    )
    .await;
    let cbs = eventually(d.addr, "/api/callbacks", |v| {
        v.as_array().is_some_and(|l| l.iter().any(|c| c["occurrences"] == 2))
    })
    .await;
    let cbs = cbs.as_array().expect("array");
    assert_eq!(cbs.len(), 1, "one entry per number, none for the answered or pre-incident calls: {cbs:?}");
    assert_eq!(cbs[0]["caller"], "+8613900000002", "loopback readers see numbers whole");
    assert_eq!(cbs[0]["incident"], id.as_str());
    assert_eq!(cbs[0]["queue"], "billing");
    assert_eq!(cbs[0]["origin"], "abandoned");
    assert_eq!(cbs[0]["status"], "pending");
    d.wait_floor(|f| f["queues"][0]["offered"] == 4).await;

    let up_at = ts_now(12.0);
    send(&mut b, json!({"type":"fault","ts":up_at,"component":"trunk-2","status":"up"})).await;
    let closed = eventually(d.addr, &format!("/api/incidents/{id}"), |v| v["state"] == "closed").await;
    assert!(closed["closed_at"].is_string());
    let whats: Vec<&str> =
        closed["timeline"].as_array().expect("timeline").iter().filter_map(|t| t["what"].as_str()).collect();
    for step in
        ["opened", "script_published", "fault_registered", "fault_recovered", "alert_resolved", "closed"]
    {
        assert!(whats.contains(&step), "timeline lacks {step}: {whats:?}");
    }
    assert!(closed["summary"].as_str().is_some_and(|s| s.contains("1 callers logged")), "{closed}");
    let fault = eventually(d.addr, "/api/faults", |v| v[0]["recovered_at"].is_string()).await;
    let secs = |t: &str| t.parse::<chrono::DateTime<chrono::Utc>>().expect("time").timestamp_millis();
    let expected = (secs(&up_at) - secs(&down_at)) / 1000;
    assert_eq!(fault[0]["duration_secs"], expected, "from the down event's time to the up event's");
    assert!(expected >= 12);
    assert_eq!(fault[0]["offered_during"], 3);
    assert_eq!(fault[0]["abandoned_during"], 2);
    // The script is withdrawn from desktops.
    assert!(next_scripts(&mut agents, |l| l.is_empty()).await.is_empty());

    // After it: abandons are not logged any more.
    send(&mut b, json!([offered("C5", "+8613600000005", 13.0), abandoned("C5", 14.0)])).await;
    d.wait_floor(|f| f["queues"][0]["abandoned"] == 4).await;
    let (_, body) = d.get("/api/callbacks").await;
    assert_eq!(json_of(&body).as_array().map(Vec::len), Some(1));
}

/// A minimal RFC 4180 reader: quoted fields, doubled quotes, CRLF rows.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field, mut quoted, mut chars) =
        (Vec::new(), String::new(), false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_incident_script_versions_callbacks_and_csv() {
    let d = TestDaemon::start().await;
    let (status, body) = d
        .post(
            "/api/incidents",
            r#"{"title":"核心系统故障 core banking down","component":"核心系统","by":"值班长 王芳"}"#,
            None,
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let inc = json_of(&body);
    let id = inc["id"].as_str().expect("id").to_string();
    assert_eq!(inc["kind"], "manual");
    assert!(inc["script"].as_str().is_some_and(|s| s.contains("核心系统")), "{inc}");

    // A new version, published: both kept.
    let (status, body) = d
        .post(
            &format!("/api/incidents/{id}/script"),
            r#"{"text_zh":"您好，核心系统正在抢修，预计 20 分钟恢复。","by":"王芳"}"#,
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let inc = json_of(&body);
    assert_eq!(inc["scripts"].as_array().map(Vec::len), Some(2));
    assert_eq!(inc["script_version"]["version"], 2);
    assert_eq!(inc["script"], "您好，核心系统正在抢修，预计 20 分钟恢复。");
    assert!(inc["script_version"]["en"].as_str().is_some_and(|s| !s.is_empty()), "English kept from v1");

    let note = "客户说：下午3点后, 再打 \"工作时间\"";
    let body = json!({"caller":"138 0000 0001","incident":id,"note":note,"by":"李娜"}).to_string();
    let (status, resp) = d.post("/api/callbacks", &body, None).await;
    assert_eq!(status, 201, "{resp}");
    let cb = json_of(&resp);
    assert_eq!(cb["caller"], "13800000001", "spaces dropped");
    let cid = cb["id"].as_i64().expect("id");
    let (status, resp) =
        d.patch(&format!("/api/callbacks/{cid}"), r#"{"status":"assigned","agent":"A0007"}"#, None).await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(json_of(&resp)["status"], "assigned");
    let (status, resp) =
        d.patch(&format!("/api/callbacks/{cid}"), r#"{"status":"done","attempted":true}"#, None).await;
    assert_eq!(status, 200, "{resp}");
    let done = json_of(&resp);
    assert_eq!((done["status"].as_str(), done["attempts"].as_u64()), (Some("done"), Some(1)));
    assert!(done["finished_at"].is_string());

    let (status, csv) = d.get("/api/callbacks?format=csv").await;
    assert_eq!(status, 200);
    let text = csv.strip_prefix('\u{feff}').expect("UTF-8 byte-order mark for Excel");
    let rows = parse_csv(text);
    assert_eq!(rows.len(), 2, "{rows:?}");
    let col =
        |name: &str| rows[0].iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
    assert_eq!(rows[1][col("caller")], "13800000001");
    assert_eq!(rows[1][col("note")], note, "commas, quotes and Chinese survive");
    assert_eq!(rows[1][col("status")], "done");
    assert_eq!(rows[1][col("incident")], id);

    let (status, resp) =
        d.post(&format!("/api/incidents/{id}/close"), r#"{"summary":"已恢复","by":"王芳"}"#, None).await;
    assert_eq!(status, 200, "{resp}");
    assert!(json_of(&resp)["summary"].as_str().is_some_and(|s| s.starts_with("已恢复")));
    let (status, _) = d.post(&format!("/api/incidents/{id}/script"), r#"{"text_zh":"x"}"#, None).await;
    assert_eq!(status, 409, "a closed incident's script cannot change");

    let (status, audit) = d.get("/api/audit").await;
    assert_eq!(status, 200);
    let actions: Vec<String> = json_of(&audit)
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|a| a["action"].as_str().map(String::from))
        .collect();
    for a in ["incident.open", "incident.script", "callback.add", "callback.update", "incident.close"] {
        assert!(actions.iter().any(|x| x == a), "audit lacks {a}: {actions:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_whole_naming_the_field() {
    let d = TestDaemon::start().await;
    let cases = [
        ("/api/incidents", r#"{}"#, "title"),
        ("/api/incidents", r#"{"title": 5}"#, "title"),
        ("/api/incidents", r#"{"title":"x","colour":"red"}"#, "body"),
        ("/api/incidents", r#"{"title":"x","expected_recovery_mins":0}"#, "expected_recovery_mins"),
        ("/api/incidents", r#"{"title":"x""#, "body"),
        ("/api/callbacks", r#"{"caller":"call me"}"#, "caller"),
        ("/api/callbacks", r#"{"note":"no number"}"#, "caller"),
        ("/api/callbacks", r#"{"caller":"13800000001","incident":"INC-none"}"#, "incident"),
    ];
    for (path, body, field) in cases {
        let (status, resp) = d.post(path, body, None).await;
        assert_eq!(status, 422, "{path} {body}: {resp}");
        let v = json_of(&resp);
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{resp}");
        if field != "body" {
            assert_eq!(v["field"], field, "{path} {body}: {resp}");
        }
    }
    let (status, resp) = d.patch("/api/callbacks/1", r#"{"status":"bogus"}"#, None).await;
    assert_eq!(status, 422, "{resp}");
    assert_eq!(json_of(&resp)["field"], "status");
    let (status, _) = d.patch("/api/callbacks/999", r#"{"status":"done"}"#, None).await;
    assert_eq!(status, 404);
    let (status, _) = d.patch("/api/faults/none", r#"{"cause":"x"}"#, None).await;
    assert_eq!(status, 404);
    // Nothing half-written.
    for path in ["/api/incidents", "/api/callbacks", "/api/faults", "/api/audit"] {
        let (_, body) = d.get(path).await;
        assert_eq!(json_of(&body), json!([]), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_token_guards_writes_and_whole_numbers() {
    let d = TestDaemon::with_config(Config { admin_token: Some("s3cret".into()), ..Config::default() }).await;
    let body = r#"{"title":"IVR down"}"#;
    let (status, head, _) = http_send_full(d.addr, "POST", "/api/incidents", body, None).await;
    assert_eq!(status, 401);
    assert!(head.to_ascii_lowercase().contains("www-authenticate: bearer"), "{head}");
    let (status, _) = http_send(d.addr, "POST", "/api/incidents", body, Some("wrong")).await;
    assert_eq!(status, 401);
    let (_, list) = d.get("/api/incidents").await;
    assert_eq!(json_of(&list), json!([]), "a refused write leaves nothing");

    let (status, resp) = http_send(d.addr, "POST", "/api/incidents", body, Some("s3cret")).await;
    assert_eq!(status, 201, "{resp}");
    let (status, _) =
        http_send(d.addr, "POST", "/api/callbacks", r#"{"caller":"+8613800000001"}"#, Some("s3cret")).await;
    assert_eq!(status, 201);
    // Reads are open, but numbers are masked for readers without the token.
    let (_, open_read) = d.get("/api/callbacks").await;
    assert_eq!(json_of(&open_read)[0]["caller"], "+86138****0001");
    let (_, admin_read) = http_send(d.addr, "GET", "/api/callbacks", "", Some("s3cret")).await;
    assert_eq!(json_of(&admin_read)[0]["caller"], "+8613800000001");
    let (status, _) = d.get("/api/audit").await;
    assert_eq!(status, 401, "the audit trail shows what people typed: admins only");
    let (status, audit) = http_send(d.addr, "GET", "/api/audit", "", Some("s3cret")).await;
    assert_eq!(status, 200);
    assert_eq!(json_of(&audit).as_array().map(Vec::len), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_entries_survive_kill_9() {
    let dir = tempfile::tempdir().expect("tmp");
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let mut child = serve_child(None, dir.path(), port);
    wait_listening(addr).await;

    // The daemon's own entries: a fault opens an incident and a register entry.
    let mut b = Bridge::connect(&format!("ws://{addr}/ingest?source=acd"), None).await.expect("ingest");
    b.send(json!({"type":"fault","ts":ts_now(0.0),"component":"ivr","status":"down"}).to_string()).await;
    let faults = eventually(addr, "/api/faults", |v| v.as_array().is_some_and(|l| l.len() == 1)).await;
    let fault_id = faults[0]["id"].as_str().expect("id").to_string();
    let auto = eventually(addr, "/api/incidents", |v| v.as_array().is_some_and(|l| l.len() == 1)).await;
    let auto_id = auto[0]["id"].as_str().expect("id").to_string();

    // People's entries, each answered after its commit.
    let (s, manual) =
        http_send(addr, "POST", "/api/incidents", r#"{"title":"网银登录异常","by":"王芳"}"#, None).await;
    assert_eq!(s, 201, "{manual}");
    let manual_id = json_of(&manual)["id"].as_str().expect("id").to_string();
    let (s, _) = http_send(
        addr,
        "POST",
        &format!("/api/incidents/{auto_id}/script"),
        r#"{"text_zh":"第二版口径","by":"王芳"}"#,
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (s, cb) = http_send(
        addr,
        "POST",
        "/api/callbacks",
        &json!({"caller":"13900000009","incident":manual_id,"note":"急"}).to_string(),
        None,
    )
    .await;
    assert_eq!(s, 201, "{cb}");
    let (s, _) = http_send(
        addr,
        "PATCH",
        &format!("/api/faults/{fault_id}"),
        r#"{"cause":"IVR 节点宕机","reported_to":"运维 张工","by":"王芳"}"#,
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = http_send(
        addr,
        "PATCH",
        &format!("/api/callbacks/{}", json_of(&cb)["id"]),
        r#"{"status":"assigned","agent":"A0003"}"#,
        None,
    )
    .await;
    assert_eq!(s, 200);

    // kill -9: no shutdown, no flush.
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let mut child = serve_child(None, dir.path(), port);
    wait_listening(addr).await;

    let open =
        eventually(addr, "/api/incidents?state=open", |v| v.as_array().is_some_and(|l| l.len() == 2)).await;
    let auto =
        open.as_array().expect("array").iter().find(|i| i["id"] == auto_id.as_str()).expect("auto incident");
    assert_eq!(auto["script"], "第二版口径");
    let mut agents = agents_ws(addr, "").await;
    let live = next_scripts(&mut agents, |l| l.len() == 2).await;
    assert!(live.iter().any(|s| s["zh"] == "第二版口径"), "scripts in force are restored: {live:?}");
    let (_, cbs) = http_get(addr, "/api/callbacks").await;
    let cbs = json_of(&cbs);
    assert_eq!(cbs[0]["status"], "assigned");
    assert_eq!(cbs[0]["agent"], "A0003");
    assert_eq!(cbs[0]["note"], "急");
    let (_, f) = http_get(addr, &format!("/api/faults/{fault_id}")).await;
    let f = json_of(&f);
    assert_eq!(f["cause"], "IVR 节点宕机");
    assert_eq!(f["reported_to"], "运维 张工");
    assert!(f["reported_at"].is_string());
    let (_, audit) = http_get(addr, "/api/audit").await;
    assert_eq!(json_of(&audit).as_array().map(Vec::len), Some(5), "{audit}");

    // And recovery after the restart still closes the incident and the entry.
    let mut b = Bridge::connect(&format!("ws://{addr}/ingest?source=acd"), None).await.expect("ingest");
    b.send(json!({"type":"fault","ts":ts_now(1.0),"component":"ivr","status":"down"}).to_string()).await;
    b.send(json!({"type":"fault","ts":ts_now(2.0),"component":"ivr","status":"up"}).to_string()).await;
    eventually(addr, &format!("/api/incidents/{auto_id}"), |v| v["state"] == "closed").await;
    eventually(addr, &format!("/api/faults/{fault_id}"), |v| v["recovered_at"].is_string()).await;
    child.kill().expect("SIGKILL");
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_supervisor_and_maintenance_are_told_when_it_opens_and_closes() {
    let (hook, got) = crate::harness::recording_receiver().await;
    let toml = format!(
        r#"
[[notify.receivers]]
name = "maintenance"
kind = "webhook"
url = "http://{hook}/hook"
kinds = ["incident"]

[[incidents.playbooks]]
kind = "system_fault"
notify = ["maintenance"]
"#
    );
    let cfg = match floorwatch::config::parse(&toml, "test.toml", &floorwatch::config::Env::new()) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let d = TestDaemon::with_config(cfg).await;
    let mut b = d.bridge(Some("acd")).await;
    send(&mut b, json!({"type":"fault","ts":ts_now(0.0),"component":"recorder","status":"down"})).await;
    send(&mut b, json!({"type":"fault","ts":ts_now(1.0),"component":"recorder","status":"up"})).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let notices = loop {
        let v: Vec<Value> = got.lock().expect("lock").clone();
        if v.len() >= 2 {
            break v;
        }
        assert!(tokio::time::Instant::now() < deadline, "maintenance was not told: {v:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Only the incident notices: the receiver takes kind "incident" alone.
    assert!(notices.iter().all(|n| n["kind"] == "incident"), "{notices:?}");
    assert_eq!(notices[0]["state"], "firing");
    assert!(
        notices[0]["message_zh"]
            .as_str()
            .is_some_and(|m| m.contains("统一应答口径") && m.contains("recorder"))
    );
    assert_eq!(notices[1]["state"], "resolved");
    let list = eventually(d.addr, "/api/incidents", |v| v[0]["state"] == "closed").await;
    let (_, detail) = d.get(&format!("/api/incidents/{}", list[0]["id"].as_str().expect("id"))).await;
    let notified: Vec<Value> = json_of(&detail)["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|t| t["what"] == "notified")
        .cloned()
        .collect();
    assert_eq!(notified.len(), 2, "{detail}");
    assert_eq!(notified[0]["detail"], "maintenance");
    let (_, faults) = d.get("/api/faults").await;
    let faults = json_of(&faults);
    assert_eq!(faults[0]["reported_to"], "maintenance", "the robot's message is the report: {faults}");
    assert!(faults[0]["reported_at"].is_string());

    // A playbook naming a receiver that does not exist is a config error.
    let bad = "[[incidents.playbooks]]\nkind = \"traffic_surge\"\nnotify = [\"nobody\"]\n";
    let Err(err) = floorwatch::config::parse(bad, "bad.toml", &floorwatch::config::Env::new()) else {
        panic!("a playbook naming an unknown receiver was accepted");
    };
    assert!(err.to_string().contains("incidents.playbooks[0].notify"), "{err}");
}
