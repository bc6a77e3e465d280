//! People's roles and bridges' tokens (contract §9, issue 16 item 2): every write
//! endpoint judged for each role, a lead kept to their teams with the token's
//! name recorded as the actor, a bridge's token bound to its source, tokens added
//! by SIGHUP without dropping a connection, and forwarding headers refused the
//! loopback trust.

use std::process::{Command, Stdio};
use std::time::Duration;

use floorwatch::access::Digest;
use floorwatch::config::{Config, Env, parse};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{
    Bridge, PATIENCE, TestDaemon, http_get, http_request, http_send, metric_sum, serve_child, ts_now,
};

fn people_toml() -> String {
    let t = crate::harness::token_toml;
    [
        t("wall", "viewer", "", "v-tok"),
        t("lead-team-1", "lead", "\"team-1\"", "l-tok"),
        t("duty-sup", "supervisor", "", "s-tok"),
        t("root", "admin", "", "a-tok"),
    ]
    .concat()
}

fn config(text: &str) -> Config {
    let mut c = parse(text, "roles.toml", &Env::new()).expect("valid config");
    c.alerts.acw_overrun_secs = 2;
    c
}

fn json_of(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or(Value::Null)
}

/// Polls `path` (with `token`) until `pred` holds.
async fn eventually(d: &TestDaemon, path: &str, token: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (_, body) = http_send(d.addr, "GET", path, "", Some(token)).await;
        let v = json_of(&body);
        if pred(&v) {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "{path} never matched: {v}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_endpoint_for_every_role() {
    let d = TestDaemon::with_config(config(&people_toml())).await;
    let mut b = d.bridge(Some("acd")).await;
    b.send(json!({"type":"fault","ts":ts_now(0.0),"component":"ivr","status":"down"}).to_string()).await;
    let alerts =
        eventually(&d, "/api/alerts", "s-tok", |v| v.as_array().is_some_and(|l| !l.is_empty())).await;
    let alert = alerts[0]["id"].as_str().expect("alert id").to_owned();
    let faults =
        eventually(&d, "/api/faults", "v-tok", |v| v.as_array().is_some_and(|l| !l.is_empty())).await;
    let fault = faults[0]["id"].as_str().expect("fault id").to_owned();
    let (s, inc) = d.post("/api/incidents", r#"{"title":"seed"}"#, Some("s-tok")).await;
    assert_eq!(s, 201, "{inc}");
    let incident = json_of(&inc)["id"].as_str().expect("incident id").to_owned();
    let (s, cb) = d.post("/api/callbacks", r#"{"caller":"13800000001"}"#, Some("s-tok")).await;
    assert_eq!(s, 201, "{cb}");
    let callback = json_of(&cb)["id"].to_string();

    // (method, path, body, [none, viewer, lead, supervisor, admin]). The alert
    // and the call-back are of no team, so a lead may not touch them either.
    let table: Vec<(&str, String, &str, [u16; 5])> = vec![
        ("POST", format!("/api/alerts/{alert}/ack"), "", [401, 403, 403, 200, 200]),
        ("POST", "/api/incidents".into(), r#"{"title":"t"}"#, [401, 403, 403, 201, 201]),
        (
            "POST",
            format!("/api/incidents/{incident}/script"),
            r#"{"text_zh":"口径"}"#,
            [401, 403, 403, 200, 200],
        ),
        ("POST", "/api/callbacks".into(), r#"{"caller":"13800000002"}"#, [401, 403, 403, 201, 201]),
        ("PATCH", format!("/api/callbacks/{callback}"), r#"{"attempted":true}"#, [401, 403, 403, 200, 200]),
        ("PATCH", format!("/api/faults/{fault}"), r#"{"cause":"IVR"}"#, [401, 403, 403, 200, 200]),
        ("GET", "/api/audit".into(), "", [401, 403, 403, 403, 200]),
        ("GET", "/api/incidents".into(), "", [401, 200, 200, 200, 200]),
        ("GET", "/api/callbacks".into(), "", [401, 200, 200, 200, 200]),
        ("GET", "/api/faults".into(), "", [401, 200, 200, 200, 200]),
        // The admin passes the role check and finds the incident closed already.
        ("POST", format!("/api/incidents/{incident}/close"), "", [401, 403, 403, 200, 409]),
    ];
    let tokens = [None, Some("v-tok"), Some("l-tok"), Some("s-tok"), Some("a-tok")];
    for (method, path, body, expect) in &table {
        for (token, want) in tokens.iter().zip(expect) {
            let (got, resp) = http_send(d.addr, method, path, body, *token).await;
            assert_eq!(got, *want, "{method} {path} as {token:?}: {resp}");
            if *want == 403 {
                assert!(json_of(&resp)["error"].is_string(), "a refusal says why in JSON: {resp}");
            }
        }
    }
    // A wrong token is no role at all.
    assert_eq!(d.post("/api/incidents", r#"{"title":"t"}"#, Some("guess")).await.0, 401);

    let (s, me) = http_send(d.addr, "GET", "/api/whoami", "", Some("l-tok")).await;
    assert_eq!(s, 200);
    assert_eq!(
        json_of(&me),
        json!({"name":"lead-team-1","role":"lead","teams":["team-1"],
               "can":{"ack":true,"incidents":false,"faults":false,"callbacks":true,"audit":false,"roster":false,"handover":true,"countersign":false,"overrun_review":true,"overrun_sign_off":false}})
    );
    assert_eq!(d.get("/api/whoami").await.0, 401, "tokens are configured: no token is no one");
    // The floor itself stays readable as before (the wall has no token).
    assert_eq!(d.get("/api/floor").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_acknowledges_their_own_team_only_and_is_recorded_by_token_name() {
    let d = TestDaemon::with_config(config(&people_toml())).await;
    let mut b = d.bridge(Some("acd")).await;
    b.send(
        json!([
            {"type":"agent_login","ts":ts_now(-10.0),"agent":"A1","team":"team-1"},
            {"type":"agent_login","ts":ts_now(-10.0),"agent":"B2","team":"team-2"},
            {"type":"agent_state","ts":ts_now(-0.5),"agent":"A1","state":"acw"},
            {"type":"agent_state","ts":ts_now(-0.5),"agent":"B2","state":"acw"}
        ])
        .to_string(),
    )
    .await;
    let list = eventually(&d, "/api/alerts?kind=acw_overrun", "v-tok", |v| {
        v.as_array().is_some_and(|l| l.len() == 2)
    })
    .await;
    let id_of = |team: &str| {
        list.as_array()
            .and_then(|l| l.iter().find(|a| a["subject"]["team"] == team))
            .and_then(|a| a["id"].as_str())
            .expect("alert of the team")
            .to_owned()
    };
    let (own, other) = (id_of("team-1"), id_of("team-2"));
    let body = r#"{"by":"张伟","note":"on it"}"#;
    let (s, resp) = d.post(&format!("/api/alerts/{other}/ack"), body, Some("l-tok")).await;
    assert_eq!(s, 403, "another team's alert: {resp}");
    assert!(json_of(&resp)["error"].as_str().is_some_and(|e| e.contains("team-2")), "{resp}");
    let (s, resp) = d.post(&format!("/api/alerts/{own}/ack"), body, Some("l-tok")).await;
    assert_eq!(s, 200, "{resp}");
    let (_, stored) = http_send(d.addr, "GET", &format!("/api/alerts/{own}"), "", Some("v-tok")).await;
    let stored = json_of(&stored);
    assert_eq!(stored["state"], "acknowledged");
    assert_eq!(stored["acknowledged_by"], "lead-team-1", "the token's name, not the body's by: {stored}");
    assert!(
        stored["ack_note"].as_str().is_some_and(|n| n.contains("张伟") && n.contains("on it")),
        "{stored}"
    );

    // Call-backs: one assigned to the lead's agent is theirs, another team's is not.
    let (s, cb) = d.post("/api/callbacks", r#"{"caller":"13800000003","agent":"A1"}"#, Some("l-tok")).await;
    assert_eq!(s, 201, "{cb}");
    let (s, _) = d.post("/api/callbacks", r#"{"caller":"13800000004","agent":"B2"}"#, Some("l-tok")).await;
    assert_eq!(s, 403);
    let id = json_of(&cb)["id"].to_string();
    let (s, _) = d
        .patch(&format!("/api/callbacks/{id}"), r#"{"status":"assigned","agent":"B2"}"#, Some("l-tok"))
        .await;
    assert_eq!(s, 403, "nor may a lead hand theirs to another team");
    let (s, _) = d.patch(&format!("/api/callbacks/{id}"), r#"{"status":"done"}"#, Some("l-tok")).await;
    assert_eq!(s, 200);
    let (_, audit) = http_send(d.addr, "GET", "/api/audit", "", Some("a-tok")).await;
    let actors: Vec<Value> =
        json_of(&audit).as_array().map(|l| l.iter().map(|a| a["by"].clone()).collect()).unwrap_or_default();
    assert!(!actors.is_empty() && actors.iter().all(|a| a == "lead-team-1"), "{actors:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bridge_token_cannot_speak_for_another_source() {
    let text = format!(
        "[[ingest.tokens]]\nsource = \"acd-1\"\nsha256 = \"{}\"\n[[ingest.tokens]]\nsource = \"acd-2\"\nsha256 = \"{}\"\n",
        Digest::of("b1").to_hex(),
        Digest::of("b2").to_hex()
    );
    let d = TestDaemon::with_config(config(&text)).await;
    let url = |q: &str| format!("ws://{}/ingest{q}", d.addr);
    assert!(Bridge::connect(&url(""), None).await.is_err(), "tokens configured: loopback is not enough");
    assert!(Bridge::connect(&url("?source=acd-2"), Some("b1")).await.is_err(), "b1 is acd-1's");
    let mut b = Bridge::connect(&url(""), Some("b1")).await.expect("own token");
    b.send(
        json!([
            {"type":"agent_login","ts":ts_now(0.0),"agent":"A1"},
            {"type":"agent_login","ts":ts_now(0.0),"agent":"A2","source":"acd-2","seq":9}
        ])
        .to_string(),
    )
    .await;
    let err = b.recv_json(PATIENCE).await.expect("an error frame");
    assert_eq!((err["reason"].as_str(), err["seq"].as_u64()), (Some("wrong_source"), Some(9)), "{err}");
    let floor = d.wait_floor(|f| f["agents"].as_array().is_some_and(|a| !a.is_empty())).await;
    let agents: Vec<&str> =
        floor["agents"].as_array().into_iter().flatten().filter_map(|a| a["id"].as_str()).collect();
    assert_eq!(agents, ["A1"], "only the bridge's own source's event is taken");
    let m = d.metrics().await;
    assert_eq!(metric_sum(&m, "floorwatch_events_rejected_total", &[("reason", "wrong_source")]), 1.0);
    assert_eq!(
        metric_sum(&m, "floorwatch_ingest_connections_refused_total", &[("reason", "wrong_source")]),
        1.0
    );
    // The vendor routes follow the same binding.
    let (s, _) = http_send(d.addr, "POST", "/ingest/twilio?source=acd-1", "{}", Some("b2")).await;
    assert_eq!(s, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_headers_void_the_loopback_trust() {
    let d = TestDaemon::start().await;
    let raw = |extra: &str| {
        let body = r#"{"title":"via proxy"}"#;
        format!(
            "POST /api/incidents HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    for header in
        ["X-Forwarded-For: 203.0.113.7\r\n", "X-Real-IP: 203.0.113.7\r\n", "Forwarded: for=203.0.113.7\r\n"]
    {
        let (s, resp) = http_request(d.addr, &raw(header)).await;
        assert_eq!(s, 403, "{header}: {resp}");
    }
    {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut req = format!("ws://{}/ingest", d.addr).into_client_request().expect("request");
        req.headers_mut().insert("x-forwarded-for", "203.0.113.7".parse().expect("header"));
        match tokio_tungstenite::connect_async(req).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
                assert_eq!(r.status(), 403, "ingest through an unknown proxy")
            }
            other => panic!("ingest through an unknown proxy was not refused: {:?}", other.map(|_| ())),
        }
    }
    // Without the headers loopback is trusted as before.
    assert_eq!(http_request(d.addr, &raw("")).await.0, 201);
    let (s, me) = http_get(d.addr, "/api/whoami").await;
    assert_eq!((s, json_of(&me)["role"].as_str()), (200, Some("admin")), "{me}");

    // Through a trusted proxy the client it names decides.
    let c = Config {
        trusted_proxies: vec![floorwatch::access::Cidr::parse("127.0.0.1").expect("cidr")],
        ..Config::default()
    };
    let p = TestDaemon::with_config(c).await;
    assert_eq!(http_request(p.addr, &raw("X-Real-IP: 127.0.0.1\r\n")).await.0, 201);
    assert_eq!(http_request(p.addr, &raw("X-Forwarded-For: 127.0.0.1, 203.0.113.7\r\n")).await.0, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_adds_a_token_and_keeps_connections() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("floorwatch.toml");
    let token = |name: &str, tok: &str| {
        format!(
            "[[access.tokens]]\nname = \"{name}\"\nrole = \"supervisor\"\nsha256 = \"{}\"\n",
            Digest::of(tok).to_hex()
        )
    };
    std::fs::write(&file, token("first", "t1")).expect("config");
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let mut child = serve_child(Some(&file), dir.path(), port);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "daemon never listened on {addr}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    while http_send(addr, "GET", "/api/whoami", "", Some("t1")).await.0 != 200 {
        assert!(tokio::time::Instant::now() < deadline, "daemon never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/ws/floor")).await.expect("ws/floor");
    assert_eq!(http_send(addr, "GET", "/api/whoami", "", Some("t2")).await.0, 401);

    // A broken file first: refused, counted, the old table stays.
    std::fs::write(&file, "[[access.tokens]]\nname = \"x\"\nrole = \"boss\"\nsha256 = \"00\"\n")
        .expect("config");
    let hup = |pid: u32| Command::new("kill").args(["-HUP", &pid.to_string()]).status().expect("kill -HUP");
    assert!(hup(child.id()).success());
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (_, m) = http_get(addr, "/metrics").await;
        if metric_sum(&m, "floorwatch_config_reload_failures_total", &[]) >= 1.0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the bad reload was never counted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(http_send(addr, "GET", "/api/whoami", "", Some("t1")).await.0, 200, "old tokens stay");

    std::fs::write(&file, token("first", "t1") + &token("second", "t2")).expect("config");
    assert!(hup(child.id()).success());
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (s, me) = http_send(addr, "GET", "/api/whoami", "", Some("t2")).await;
        if s == 200 {
            assert_eq!(json_of(&me)["name"], "second");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the new token never worked");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The WebSocket opened before both reloads still answers.
    ws.send(Message::Ping(b"still".to_vec().into())).await.expect("ping");
    let pong = tokio::time::timeout(PATIENCE, async {
        while let Some(m) = ws.next().await {
            if let Ok(Message::Pong(p)) = m {
                return Some(p);
            }
        }
        None
    })
    .await
    .expect("answer in time");
    assert_eq!(pong.as_deref(), Some(&b"still"[..]));
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn hash_token_prints_the_line_to_paste() {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_floorwatch"))
        .arg("hash-token")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn hash-token");
    child.stdin.take().expect("stdin").write_all(b"abc\n").expect("write token");
    let out = child.wait_with_output().expect("hash-token runs");
    assert!(out.status.success());
    // sha256("abc"): the trailing newline is not part of the token.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "sha256 = \"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"\n"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_floorwatch"))
        .args(["hash-token", "--generate"])
        .output()
        .expect("hash-token --generate runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let token = text.lines().next().and_then(|l| l.strip_prefix("token  = ")).expect("a token line");
    assert_eq!(token.len(), 64);
    assert!(text.contains(&format!("sha256 = \"{}\"", Digest::of(token).to_hex())), "{text}");
}

/// The team-lead console asks `/api/whoami` when it opens and hides what the
/// caller may not do: a viewer's token gets no acknowledge, call-back or fault
/// controls from the first load, not only after a language switch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_hides_what_the_token_may_not_do_from_its_first_load() {
    let d = TestDaemon::with_config(config(&people_toml())).await;
    let addr = d.addr;
    crate::wallboard::with_browser("en-US", |c| async move {
        c.goto(&format!("http://{addr}/lead?team=team-1&lang=en")).await.expect("open the console");
        // The token as the console keeps it after the dialog, then a fresh load.
        crate::wallboard::js(&c, "sessionStorage.setItem('floorwatch.session_token', 'v-tok'); return true").await;
        c.refresh().await.expect("reload");
        crate::wallboard::until(
            &c,
            "the viewer's controls hidden",
            "const b = document.body.classList; return b.contains('no-ack') && b.contains('no-callbacks') && b.contains('no-faults');",
        )
        .await;
    })
    .await;
}
