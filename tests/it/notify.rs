//! Notifications end to end: a real Prometheus Alertmanager receives, lists and
//! resolves floorwatch's alerts; webhook receivers get every change while one that
//! never answers slows nothing down.

use std::net::SocketAddr;
use std::process::{Command, Stdio};

use std::time::Duration;

use floorwatch::config::{Config, Env, parse};
use serde_json::{Value, json};

use crate::harness::{PATIENCE, TestDaemon, http_get, metric_sum, recording_receiver, ts_now};

fn config(notify_toml: &str) -> Config {
    match parse(notify_toml, "test.toml", &Env::new()) {
        Ok(c) => c,
        Err(e) => panic!("test config is invalid:\n{e}"),
    }
}

/// Waits until `check` returns `Some`, polling.
async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

struct Alertmanager {
    child: std::process::Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_alertmanager() -> Alertmanager {
    start_alertmanager_with("").await
}

/// An Alertmanager whose config starts with `global` (say its `resolve_timeout`).
async fn start_alertmanager_with(global: &str) -> Alertmanager {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = dir.path().join("am.yml");
    std::fs::write(&cfg, format!("{global}route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n"))
        .expect("write am config");
    // Alertmanager takes an address, not a listener: find a free loopback port.
    // (Another process could take it in between; the readiness wait would then fail loudly.)
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let child = Command::new("prometheus-alertmanager")
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!("--storage.path={}", dir.path().display()))
        .arg(format!("--web.listen-address={addr}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus-alertmanager not found: run ./scripts/test, which installs the Debian package");
    let am = Alertmanager { child, addr, _dir: dir };
    eventually("alertmanager to be ready", async || {
        // Refused until it listens: probe the port before speaking HTTP.
        tokio::net::TcpStream::connect(am.addr).await.ok()?;
        (http_get(am.addr, "/-/ready").await.0 == 200).then_some(())
    })
    .await;
    am
}

async fn am_alerts(am: &Alertmanager) -> Vec<Value> {
    let (status, body) = http_get(am.addr, "/api/v2/alerts").await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<Vec<Value>>(&body).expect("alertmanager answers JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_alertmanager_receives_lists_and_resolves_alerts() {
    let am = start_alertmanager().await;
    let d = TestDaemon::with_config(config(&format!(
        "[[notify.receivers]]\nname = \"am\"\nkind = \"alertmanager\"\nurl = \"http://{}\"\n",
        am.addr
    )))
    .await;
    let mut b = d.bridge(Some("acd")).await;
    b.send(json!({"type":"fault","ts":ts_now(0.0),"component":"pbx-1","status":"down","detail":"PBX unreachable"}).to_string())
        .await;

    let listed = eventually("the alert in alertmanager", async || {
        am_alerts(&am).await.into_iter().find(|a| a["labels"]["component"] == "pbx-1")
    })
    .await;
    assert_eq!(listed["labels"]["alertname"], "floorwatch_system_fault");
    assert_eq!(listed["labels"]["kind"], "system_fault");
    assert_eq!(listed["labels"]["severity"], "critical");
    assert_eq!(listed["status"]["state"], "active");
    assert!(listed["annotations"]["summary"].as_str().is_some_and(|s| s.contains("pbx-1")), "{listed}");

    b.send(json!({"type":"fault","ts":ts_now(1.0),"component":"pbx-1","status":"up"}).to_string()).await;
    // Resolved (endsAt reached): Alertmanager no longer lists it as active.
    eventually("alertmanager to resolve it", async || {
        let still = am_alerts(&am).await.into_iter().any(|a| a["labels"]["component"] == "pbx-1");
        (!still).then_some(())
    })
    .await;
    // The worker counts a push once Alertmanager has answered it, which can be a
    // moment after Alertmanager already shows the change.
    eventually("both pushes counted as sent", async || {
        let m = d.metrics().await;
        (metric_sum(&m, "floorwatch_notify_sent_total", &[("receiver", "am")]) >= 2.0).then_some(())
    })
    .await;
}

/// Accepts connections and never answers.
async fn hanging_receiver() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_get_every_change_and_a_hanging_one_slows_nothing() {
    let (ok_addr, got) = recording_receiver().await;
    let hang_addr = hanging_receiver().await;
    let d = TestDaemon::with_config(config(&format!(
        "[notify]\ntimeout_secs = 60\n\
         [[notify.receivers]]\nname = \"lead\"\nkind = \"webhook\"\nurl = \"http://{ok_addr}/hook\"\n\
         [[notify.receivers]]\nname = \"stuck\"\nkind = \"webhook\"\nurl = \"http://{hang_addr}/hook\"\nqueue_capacity = 4\n"
    )))
    .await;
    let mut b = d.bridge(Some("acd")).await;
    let faults: Vec<Value> = (0..30)
        .map(|i| json!({"type":"fault","ts":ts_now(0.0),"component":format!("trunk-{i}"),"status":"down"}))
        .collect();
    b.send(Value::Array(faults).to_string()).await;
    // Meanwhile the floor keeps flowing.
    for chunk in 0..20 {
        let calls: Vec<Value> = (0..500)
            .map(|i| json!({"type":"call_offered","ts":ts_now(0.0),"call":format!("C{chunk}-{i}"),"queue":"billing"}))
            .collect();
        b.send(Value::Array(calls).to_string()).await;
    }
    d.wait_events(30 + 20 * 500).await;

    let delivered = eventually("30 pushes at the healthy receiver", async || {
        let n = got.lock().expect("lock").len();
        (n >= 30).then_some(n)
    })
    .await;
    assert_eq!(delivered, 30);
    let comps: Vec<String> =
        got.lock().expect("lock").iter().filter_map(|v| v["component"].as_str().map(str::to_owned)).collect();
    assert!(comps.contains(&"trunk-0".to_string()) && comps.contains(&"trunk-29".to_string()), "{comps:?}");
    let m = d.metrics().await;
    assert_eq!(metric_sum(&m, "floorwatch_notify_sent_total", &[("receiver", "lead")]), 30.0);
    assert!(
        metric_sum(&m, "floorwatch_notify_dropped_total", &[("receiver", "stuck")]) >= 20.0,
        "the stuck receiver's small queue overflowed and was counted"
    );
}

/// Issue 17: Alertmanager resolves an alert it does not hear of again within its
/// `resolve_timeout` (or by the `endsAt` it was given). floorwatch re-sends every
/// active alert, so one that fires for several timeouts stays active there, as
/// one alert across its escalation (warning → critical), at every member of a
/// cluster, and resolves when floorwatch resolves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_keeps_a_long_alert_active_as_one_across_its_escalation() {
    let global = "global:\n  resolve_timeout: 2s\n";
    let (am1, am2) = tokio::join!(start_alertmanager_with(global), start_alertmanager_with(global));
    let d = TestDaemon::with_config(config(&format!(
        "[alerts]\nacw_overrun_secs = 2\n\
         [notify]\nexternal_url = \"http://floorwatch.test:9720/\"\n\
         [[notify.receivers]]\nname = \"am\"\nkind = \"alertmanager\"\nurls = [\"http://{}\", \"http://{}\"]\nresend_secs = 1\n",
        am1.addr, am2.addr
    )))
    .await;
    let mut b = d.bridge(Some("acd")).await;
    b.send(
        json!([
            {"type":"agent_login","ts":ts_now(-10.0),"agent":"A7","team":"team-1"},
            {"type":"agent_state","ts":ts_now(-0.5),"agent":"A7","state":"acw"}
        ])
        .to_string(),
    )
    .await;
    let mine = |a: &Value| a["labels"]["agent"] == "A7";
    // Critical at twice the threshold: the escalation is an annotation.
    let first = eventually("the escalated alert in alertmanager", async || {
        am_alerts(&am1).await.into_iter().find(|a| mine(a) && a["annotations"]["severity"] == "critical")
    })
    .await;
    assert_eq!(first["labels"]["severity"], "warning", "the label keeps the severity it fired with");
    let id = first["annotations"]["id"].as_str().expect("id").to_owned();
    assert_eq!(first["generatorURL"], format!("http://floorwatch.test:9720/api/alerts/{id}"));
    let fingerprint = first["fingerprint"].clone();
    // Several resolve_timeouts (and endsAt windows) later: still one active alert.
    let until = tokio::time::Instant::now() + Duration::from_secs(9);
    while tokio::time::Instant::now() < until {
        for am in [&am1, &am2] {
            let listed: Vec<Value> = am_alerts(am).await.into_iter().filter(mine).collect();
            assert_eq!(listed.len(), 1, "one Alertmanager alert for the one floorwatch alert: {listed:?}");
            assert_eq!(listed[0]["status"]["state"], "active", "{}", listed[0]);
            assert_eq!(listed[0]["fingerprint"], fingerprint);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // floorwatch resolves it: so do both Alertmanagers.
    b.send(json!({"type":"agent_state","ts":ts_now(0.0),"agent":"A7","state":"ready"}).to_string()).await;
    for am in [&am1, &am2] {
        eventually("alertmanager to resolve it", async || {
            (!am_alerts(am).await.iter().any(mine)).then_some(())
        })
        .await;
    }
}
