//! Notify tests against local recording receivers: exact bodies per sink kind, the robots'
//! signatures recomputed here, routing and languages, retries, give-up, and isolation from a
//! receiver that never answers. Waits poll counters with a bound; no timing assertions.

use std::time::Duration;

use base64::Engine as _;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::test_server::{TestServer, eventually, hanging};
use super::*;
use crate::vocab::{AlertState, Kind, Severity};

const OK_ROBOT: &str = r#"{"errcode":0,"errmsg":"ok"}"#;
const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

fn notice() -> Notice {
    Notice {
        id: "a-1".into(),
        kind: NoticeKind::Alert(Kind::BusyOverrun),
        severity: Severity::Critical,
        fired_severity: Severity::Critical,
        state: AlertState::Firing,
        agent: Some("agent7".into()),
        team: Some("t1".into()),
        queue: Some("sales".into()),
        source: None,
        component: None,
        started_at_ms: T0,
        resolved_at_ms: None,
        message_zh: "工作态超时".into(),
        message_en: "Busy overrun".into(),
        acked_by: None,
        escalated: false,
    }
}

fn rc(name: &str, kind: SinkKind, url: &str) -> ReceiverConfig {
    ReceiverConfig {
        name: name.into(),
        kind,
        url: url.into(),
        urls: vec![url.into()],
        resend_secs: 60,
        per_minute: None,
        ca_file: None,
        language: Lang::En,
        teams: vec![],
        min_severity: Severity::Warning,
        kinds: vec![],
        escalations: false,
        queue_capacity: None,
    }
}

fn start(receivers: Vec<ReceiverConfig>, capacity: usize, timeout_secs: u64) -> (Notifier, NotifyMetrics) {
    start_tuned(receivers, capacity, timeout_secs, tuning())
}

fn tuning() -> Tuning {
    Tuning {
        backoff_base: Duration::from_millis(5),
        backoff_cap: Duration::from_millis(20),
        ..Tuning::default()
    }
}

fn start_tuned(
    receivers: Vec<ReceiverConfig>,
    capacity: usize,
    timeout_secs: u64,
    tuning: Tuning,
) -> (Notifier, NotifyMetrics) {
    let cfg = NotifyConfig {
        receivers,
        queue_capacity: capacity,
        max_retries: 3,
        timeout_secs,
        ..NotifyConfig::default()
    };
    let metrics = NotifyMetrics::new();
    let n = spawn_tuned(cfg, metrics.clone(), CancellationToken::new(), tuning).expect("receivers start");
    (n, metrics)
}

fn get(c: &prometheus::IntCounterVec, r: &str) -> u64 {
    c.with_label_values(&[r]).get()
}

fn hmac_b64(key: &[u8], msg: &[u8]) -> String {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    base64::engine::general_purpose::STANDARD.encode(ring::hmac::sign(&k, msg))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_sends_exact_json() {
    let srv = TestServer::start("ok").await;
    let (n, m) = start(vec![rc("hook", SinkKind::Webhook, &format!("{}/hook?token=x", srv.url))], 8, 5);
    n.notify(&notice());
    eventually("sent", || get(&m.sent, "hook") == 1).await;
    let req = &srv.requests()[0];
    assert_eq!(req.path, "/hook");
    assert_eq!(req.headers["content-type"], "application/json; charset=utf-8");
    assert_eq!(
        req.json(),
        json!({
            "receiver": "hook", "id": "a-1", "kind": "busy_overrun", "severity": "critical",
            "state": "firing", "agent": "agent7", "team": "t1", "queue": "sales", "source": null,
            "component": null, "started_at": "2026-01-01T00:00:00.000Z", "resolved_at": null,
            "acked_by": null, "escalated": false, "language": "en",
            "title": "🔴 [critical] Busy overrun", "message": "Busy overrun",
            "message_zh": "工作态超时", "message_en": "Busy overrun",
            // Issue 17: both languages under contract §8's names too.
            "messages": {"zh-CN": "工作态超时", "en": "Busy overrun"},
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wecom_markdown_in_chinese() {
    let srv = TestServer::start(OK_ROBOT).await;
    let mut r = rc("wx", SinkKind::WeCom, &format!("{}/cgi-bin/webhook/send?key=k1", srv.url));
    r.language = Lang::ZhCn;
    let (n, m) = start(vec![r], 8, 5);
    n.notify(&notice());
    eventually("sent", || get(&m.sent, "wx") == 1).await;
    let req = &srv.requests()[0];
    assert_eq!(req.query_param("key").as_deref(), Some("k1"));
    let body = req.json();
    assert_eq!(body["msgtype"], "markdown");
    assert_eq!(body.as_object().unwrap().len(), 2);
    let content = body["markdown"]["content"].as_str().unwrap();
    assert!(content.starts_with("### 🔴 [critical] 工作态超时\n"), "{content}");
    for line in ["> **班组**: t1", "> **队列**: sales", "> **坐席**: agent7", "> **ID**: a-1"] {
        assert!(content.contains(line), "{line} missing in {content}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dingtalk_signed_markdown() {
    let srv = TestServer::start(OK_ROBOT).await;
    let secret = "SECabc123";
    let kind = SinkKind::DingTalk { secret: Some(secret.into()) };
    let (n, m) = start(vec![rc("ding", kind, &format!("{}/robot/send?access_token=tok", srv.url))], 8, 5);
    let mut resolved = notice();
    resolved.state = AlertState::Resolved;
    resolved.resolved_at_ms = Some(T0 + 60_000);
    n.notify(&resolved);
    eventually("sent", || get(&m.sent, "ding") == 1).await;
    let req = &srv.requests()[0];
    assert_eq!(req.path, "/robot/send");
    assert_eq!(req.query_param("access_token").as_deref(), Some("tok"));
    let ts = req.query_param("timestamp").unwrap();
    ts.parse::<i64>().unwrap();
    let sign = req.query_param("sign").unwrap();
    let decoded = percent_encoding::percent_decode_str(&sign).decode_utf8().unwrap();
    assert_eq!(decoded, hmac_b64(secret.as_bytes(), format!("{ts}\n{secret}").as_bytes()));
    assert!(!sign.contains(['+', '/', '=']), "sign must be URL-encoded: {sign}");
    let body = req.json();
    assert_eq!(body["msgtype"], "markdown");
    assert_eq!(body["markdown"]["title"], "✅ [resolved] Busy overrun");
    assert!(body["markdown"]["text"].as_str().unwrap().starts_with("### ✅ [resolved] Busy overrun\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feishu_signed_text() {
    let srv = TestServer::start(r#"{"code":0,"msg":"success","data":{}}"#).await;
    let secret = "fs-secret";
    let kind = SinkKind::Feishu { secret: Some(secret.into()) };
    let mut r = rc("fs", kind, &format!("{}/open-apis/bot/v2/hook/uuid", srv.url));
    r.language = Lang::ZhCn;
    let (n, m) = start(vec![r], 8, 5);
    n.notify(&notice());
    eventually("sent", || get(&m.sent, "fs") == 1).await;
    let body = srv.requests()[0].json();
    assert_eq!(body["msg_type"], "text");
    assert!(body["content"]["text"].as_str().unwrap().starts_with("🔴 [critical] 工作态超时\n"));
    let ts = body["timestamp"].as_str().unwrap();
    assert!(ts.parse::<i64>().unwrap() < 10_000_000_000, "seconds, not ms");
    assert_eq!(body["sign"], hmac_b64(format!("{ts}\n{secret}").as_bytes(), b""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_firing_then_resolved() {
    let srv = TestServer::start("").await;
    let cfg = RawNotifyConfig {
        receivers: vec![RawReceiver {
            name: "am".into(),
            kind: "alertmanager".into(),
            url: format!("{}/", srv.url),
            ..RawReceiver::default()
        }],
        ..RawNotifyConfig::default()
    }
    .validate()
    .unwrap();
    let (n, m) = start(cfg.receivers, 8, 5);
    let mut a = notice();
    a.state = AlertState::Acknowledged;
    a.acked_by = Some("sup1".into());
    n.notify(&a);
    a.state = AlertState::Resolved;
    a.resolved_at_ms = Some(T0 + 90_500);
    n.notify(&a);
    eventually("sent", || get(&m.sent, "am") == 2).await;
    let reqs = srv.requests();
    assert_eq!(reqs[0].path, "/api/v2/alerts");
    let labels = json!({"alertname": "floorwatch_busy_overrun", "kind": "busy_overrun",
        "severity": "critical", "team": "t1", "queue": "sales", "agent": "agent7"});
    let annotations = json!({"summary": "Busy overrun", "id": "a-1", "acked_by": "sup1"});
    // Issue 17 changes this: an active alert carries an `endsAt` four re-send
    // periods (4 × 60 s) ahead of now, so Alertmanager keeps it active between
    // re-sends and resolves it by itself only if floorwatch goes quiet.
    let mut first = reqs[0].json();
    let ends = first[0].as_object_mut().unwrap().remove("endsAt").unwrap();
    let ends = chrono::DateTime::parse_from_rfc3339(ends.as_str().unwrap()).unwrap().timestamp_millis();
    let ahead = ends - chrono::Utc::now().timestamp_millis();
    assert!((200_000..=240_000).contains(&ahead), "endsAt {ahead} ms ahead");
    assert_eq!(
        first,
        json!([{"labels": labels, "annotations": annotations, "startsAt": "2026-01-01T00:00:00.000Z"}])
    );
    assert_eq!(
        reqs[1].json(),
        json!([{"labels": labels, "annotations": annotations, "startsAt": "2026-01-01T00:00:00.000Z",
            "endsAt": "2026-01-01T00:01:30.500Z"}])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_by_team_severity_escalation_and_language() {
    let srv = TestServer::start("ok").await;
    let mut lead1 = rc("lead1", SinkKind::Webhook, &format!("{}/lead1", srv.url));
    lead1.teams = vec!["t1".into()];
    lead1.language = Lang::ZhCn;
    let mut lead2 = rc("lead2", SinkKind::Webhook, &format!("{}/lead2", srv.url));
    lead2.teams = vec!["t2".into()];
    let mut sup = rc("sup", SinkKind::Webhook, &format!("{}/sup", srv.url));
    sup.min_severity = Severity::Critical;
    sup.escalations = true;
    let (n, m) = start(vec![lead1, lead2, sup], 8, 5);

    let mut warn_t1 = notice();
    warn_t1.severity = Severity::Warning;
    let mut crit_t2 = notice();
    crit_t2.team = Some("t2".into());
    let mut esc_t1 = notice();
    esc_t1.escalated = true;
    let mut info_t1 = notice();
    info_t1.severity = Severity::Info;
    assert_eq!(n.receivers_for(&warn_t1), ["lead1"]);
    assert_eq!(n.receivers_for(&crit_t2), ["lead2", "sup"]);
    assert_eq!(n.receivers_for(&esc_t1), ["sup"]);
    assert!(n.receivers_for(&info_t1).is_empty());

    for x in [&warn_t1, &crit_t2, &esc_t1, &info_t1] {
        n.notify(x);
    }
    eventually("all sent", || srv.count() == 4).await;
    let by_path =
        |p: &str| srv.requests().into_iter().filter(|r| r.path == p).map(|r| r.json()).collect::<Vec<_>>();
    let l1 = by_path("/lead1");
    assert_eq!(l1.len(), 1);
    assert_eq!(l1[0]["message"], "工作态超时");
    assert_eq!(l1[0]["title"], "🟠 [warning] 工作态超时");
    assert_eq!(by_path("/lead2").len(), 1);
    let s = by_path("/sup");
    assert_eq!(s.len(), 2);
    assert_eq!(s[0]["message"], "Busy overrun");
    assert_eq!(s[1]["escalated"], true);
    assert_eq!(s[1]["title"], "⏫ ESCALATED 🔴 [critical] Busy overrun");
    assert_eq!((get(&m.sent, "sup"), get(&m.dropped, "sup")), (2, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_5xx_then_delivers_once() {
    let srv = TestServer::start("ok").await;
    srv.script(&[(500, "boom"), (500, "boom")]);
    let (n, m) = start(vec![rc("hook", SinkKind::Webhook, &srv.url)], 8, 5);
    n.notify(&notice());
    eventually("sent", || get(&m.sent, "hook") == 1).await;
    assert_eq!((get(&m.retried, "hook"), get(&m.failed, "hook")), (2, 0));
    assert_eq!(srv.count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gives_up_on_4xx_and_after_max_retries() {
    let bad = TestServer::start("ok").await;
    bad.script(&[(400, "bad request")]);
    let down = TestServer::start("ok").await;
    down.script(&[(503, ""), (429, ""), (502, ""), (500, "")]);
    let (n, m) =
        start(vec![rc("bad", SinkKind::Webhook, &bad.url), rc("down", SinkKind::Webhook, &down.url)], 8, 5);
    n.notify(&notice());
    eventually("bad failed", || get(&m.failed, "bad") == 1).await;
    eventually("down failed", || get(&m.failed, "down") == 1).await;
    assert_eq!((get(&m.retried, "bad"), get(&m.sent, "bad"), bad.count()), (0, 0, 1));
    assert_eq!((get(&m.retried, "down"), get(&m.sent, "down"), down.count()), (3, 0, 4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robot_error_codes() {
    let srv = TestServer::start(OK_ROBOT).await;
    srv.script(&[(200, r#"{"errcode":130101,"errmsg":"send too fast"}"#)]);
    let (n, m) = start(vec![rc("ding", SinkKind::DingTalk { secret: None }, &srv.url)], 8, 5);
    n.notify(&notice());
    eventually("sent after rate limit", || get(&m.sent, "ding") == 1).await;
    assert_eq!(get(&m.retried, "ding"), 1);
    assert_eq!(srv.requests()[0].query, None, "no signature without a secret");
    srv.script(&[(200, r#"{"errcode":310000,"errmsg":"keywords not in content"}"#)]);
    n.notify(&notice());
    eventually("failed", || get(&m.failed, "ding") == 1).await;
    assert_eq!((get(&m.retried, "ding"), srv.count()), (1, 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_receiver_never_slows_the_others() {
    let healthy = TestServer::start("ok").await;
    let dead = hanging().await;
    let (n, m) =
        start(vec![rc("dead", SinkKind::Webhook, &dead), rc("ok", SinkKind::Webhook, &healthy.url)], 2, 60);
    // Each notify returns without awaiting; the healthy receiver gets every push delivered
    // while the dead one is stuck on its first request with a 2-slot queue.
    for i in 0..100u64 {
        n.notify(&notice());
        eventually("healthy delivered", || get(&m.sent, "ok") == i + 1).await;
    }
    assert!(get(&m.dropped, "dead") >= 97, "dropped {}", get(&m.dropped, "dead"));
    assert_eq!((get(&m.sent, "dead"), get(&m.dropped, "ok"), healthy.count()), (0, 0, 100));
    // A burst of 100 calls also returns at once, with no awaits in between.
    let before = get(&m.dropped, "dead");
    for _ in 0..100 {
        n.notify(&notice());
    }
    assert_eq!(get(&m.dropped, "dead") - before, 100);
    eventually("burst delivered or dropped", || get(&m.sent, "ok") + get(&m.dropped, "ok") == 200).await;
    n.drain(Duration::from_millis(50)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_delivers_queued_then_refuses() {
    let srv = TestServer::start("ok").await;
    let (n, m) = start(vec![rc("hook", SinkKind::Webhook, &srv.url)], 64, 5);
    for _ in 0..20 {
        n.notify(&notice());
    }
    n.clone().drain(Duration::from_secs(10)).await;
    assert_eq!((get(&m.sent, "hook"), srv.count()), (20, 20));
    n.notify(&notice());
    assert_eq!(get(&m.dropped, "hook"), 1);
}

#[test]
fn config_validation_reports_key_paths() {
    let raw: RawNotifyConfig = serde_json::from_value(json!({
        "queue_capacity": 0,
        "receivers": [
            {"name": "a", "kind": "wecom", "url": "ftp://x", "secret": "s"},
            {"name": "a", "kind": "pager", "url": "https://x/y", "language": "fr"},
            {"name": "sup", "kind": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send?access_token=t",
             "secret": "SEC", "min_severity": "fatal"},
        ]
    }))
    .unwrap();
    let mut keys: Vec<String> = raw.validate().unwrap_err().into_iter().map(|(k, _)| k).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "notify.queue_capacity",
            "notify.receivers[0].secret",
            "notify.receivers[0].url",
            "notify.receivers[1].kind",
            "notify.receivers[1].language",
            "notify.receivers[1].name",
            "notify.receivers[2].min_severity",
        ]
    );
    let unknown =
        serde_json::from_value::<RawNotifyConfig>(json!({"receivers": [{"name": "a", "urll": "x"}]}));
    assert!(unknown.is_err());
    let ok: RawNotifyConfig = serde_json::from_value(json!({"receivers": [
        {"name": "sup", "kind": "dingtalk", "url": "https://h/robot/send?access_token=t", "secret": "S",
         "min_severity": "critical", "escalations": true},
        {"name": "am", "kind": "alertmanager", "url": "http://am:9093"},
    ]}))
    .unwrap();
    let cfg = ok.validate().unwrap();
    assert_eq!(cfg.receivers[0].language, Lang::ZhCn);
    assert_eq!(cfg.receivers[0].kind, SinkKind::DingTalk { secret: Some("S".into()) });
    assert!(!format!("{:?}", cfg.receivers[0]).contains("\"S\""), "secret must not be in Debug");
    assert_eq!(cfg.receivers[1].url, "http://am:9093/api/v2/alerts");
    assert_eq!((cfg.queue_capacity, cfg.max_retries, cfg.timeout_secs), (256, 3, 10));
}

#[test]
fn urls_are_masked_and_metrics_register() {
    assert_eq!(
        render::mask_url("https://u:p@qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRET"),
        "https://qyapi.weixin.qq.com/…"
    );
    assert_eq!(render::mask_url("http://127.0.0.1:9/x"), "http://127.0.0.1:9/…");
    let m = NotifyMetrics::new();
    let reg = prometheus::Registry::new();
    m.register(&reg).unwrap();
    for c in [&m.sent, &m.failed, &m.dropped, &m.retried] {
        c.with_label_values(&["r"]).inc();
    }
    let names: Vec<String> = reg.gather().iter().map(|f| f.name().to_owned()).collect();
    for want in [
        "floorwatch_notify_sent_total",
        "floorwatch_notify_failed_total",
        "floorwatch_notify_dropped_total",
        "floorwatch_notify_retries_total",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
}

fn am(name: &str, urls: &[&str]) -> ReceiverConfig {
    let mut r = rc(name, SinkKind::Alertmanager, &format!("{}/api/v2/alerts", urls[0]));
    r.urls = urls.iter().map(|u| format!("{u}/api/v2/alerts")).collect();
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_resends_active_alerts_with_stable_labels_to_every_member() {
    let a = TestServer::start("").await;
    let b = TestServer::start("").await;
    let t = Tuning { resend: Some(Duration::from_millis(100)), ..tuning() };
    let (n, _m) = start_tuned(vec![am("am", &[&a.url, &b.url])], 8, 5, t);
    let mut x = notice();
    x.severity = Severity::Warning;
    x.fired_severity = Severity::Warning;
    n.notify(&x);
    // Re-sent without any change, to both members.
    eventually("re-sent", || a.count() >= 3 && b.count() >= 3).await;
    // Severity up and escalated: the same Alertmanager alert (same labels).
    x.severity = Severity::Critical;
    x.escalated = true;
    n.notify(&x);
    eventually("escalation re-sent", || {
        a.requests().iter().filter(|r| r.json()[0]["annotations"]["severity"] == "critical").count() >= 2
    })
    .await;
    x.state = AlertState::Resolved;
    x.resolved_at_ms = Some(T0 + 5_000);
    n.notify(&x);
    eventually("resolved at both", || {
        [&a, &b]
            .iter()
            .all(|s| s.requests().iter().any(|r| r.json()[0]["endsAt"] == "2026-01-01T00:00:05.000Z"))
    })
    .await;
    for srv in [&a, &b] {
        let reqs = srv.requests();
        let labels: std::collections::BTreeSet<String> =
            reqs.iter().map(|r| r.json()[0]["labels"].to_string()).collect();
        assert_eq!(labels.len(), 1, "labels changed over the alert's life: {labels:?}");
        assert!(labels.iter().next().unwrap().contains(r#""severity":"warning""#));
        let last = reqs.last().unwrap().json();
        assert_eq!(last[0]["annotations"]["escalated"], "true");
        for r in &reqs[..reqs.len() - 1] {
            let ends = r.json()[0]["endsAt"].as_str().map(str::to_owned).unwrap_or_default();
            assert!(ends.as_str() > "2026-12-01", "an active alert's endsAt is ahead of now: {ends}");
        }
    }
    n.drain(Duration::from_millis(50)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restored_alerts_reach_alertmanager_only_and_carry_a_generator_url() {
    let srv = TestServer::start("ok").await;
    let cfg = NotifyConfig {
        receivers: vec![am("am", &[&srv.url]), rc("hook", SinkKind::Webhook, &format!("{}/hook", srv.url))],
        external_url: Some("https://fw.example/".into()),
        ..NotifyConfig::default()
    };
    let metrics = NotifyMetrics::new();
    let n = spawn_tuned(cfg, metrics.clone(), CancellationToken::new(), tuning()).unwrap();
    let mut escalated = notice();
    escalated.escalated = true;
    n.restore(&[notice(), escalated]);
    eventually("restored", || get(&metrics.sent, "am") == 1).await;
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 1, "webhooks do not hear of restored alerts again");
    let body = reqs[0].json();
    assert_eq!(body.as_array().unwrap().len(), 2);
    assert_eq!(body[0]["generatorURL"], "https://fw.example/api/alerts/a-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_its_rate_limit_a_robot_gets_one_digest_and_nothing_is_lost() {
    let srv = TestServer::start(OK_ROBOT).await;
    let mut r = rc("wx", SinkKind::WeCom, &format!("{}/cgi-bin/webhook/send?key=k", srv.url));
    r.language = Lang::ZhCn;
    r.per_minute = Some(3);
    let t = Tuning { rate_window: Duration::from_millis(300), ..tuning() };
    let (n, m) = start_tuned(vec![r], 64, 5, t);
    for i in 0..10 {
        let mut x = notice();
        x.id = format!("a-{i}");
        n.notify(&x);
    }
    eventually("3 single pushes and a digest", || get(&m.sent, "wx") == 4).await;
    assert_eq!((get(&m.batched, "wx"), get(&m.dropped, "wx")), (7, 0));
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 4);
    let digest = reqs[3].json()["markdown"]["content"].as_str().unwrap().to_owned();
    assert!(digest.starts_with("### 📦 7 条通知"), "{digest}");
    for i in 3..10 {
        assert!(digest.contains(&format!("(ID a-{i})")), "a-{i} missing from {digest}");
    }
}

#[test]
fn defaults_follow_the_robots_documented_limits() {
    let raw: RawNotifyConfig = serde_json::from_value(json!({"receivers": [
        {"name": "d", "kind": "dingtalk", "url": "https://h/robot/send?access_token=t"},
        {"name": "w", "kind": "wecom", "url": "https://h/cgi-bin/webhook/send?key=k"},
        {"name": "f", "kind": "feishu", "url": "https://h/open-apis/bot/v2/hook/x"},
        {"name": "h", "kind": "webhook", "url": "https://h/x"},
        {"name": "h0", "kind": "wecom", "url": "https://h/y", "rate_limit_per_minute": 0},
        {"name": "am", "kind": "alertmanager", "url": "http://a:9093", "urls": ["http://b:9093/"],
         "resend_secs": 30},
    ]}))
    .unwrap();
    let cfg = raw.validate().unwrap();
    let limits: Vec<Option<u32>> = cfg.receivers.iter().map(|r| r.per_minute).collect();
    assert_eq!(limits, [Some(20), Some(20), Some(100), None, None, None]);
    assert_eq!(cfg.receivers[5].urls, ["http://a:9093/api/v2/alerts", "http://b:9093/api/v2/alerts"]);
    assert_eq!(cfg.receivers[5].resend_secs, 30);
    let bad: RawNotifyConfig = serde_json::from_value(json!({"external_url": "ftp://x", "receivers": [
        {"name": "h", "kind": "webhook", "url": "https://h/x", "urls": ["https://h/y"], "resend_secs": 5},
    ]}))
    .unwrap();
    let mut keys: Vec<String> = bad.validate().unwrap_err().into_iter().map(|(k, _)| k).collect();
    keys.sort();
    assert_eq!(keys, ["notify.external_url", "notify.receivers[0].resend_secs", "notify.receivers[0].urls"]);
}

#[test]
fn retry_after_in_seconds_or_as_a_date_and_jitter_within_bounds() {
    let now = std::time::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
    assert_eq!(http::retry_after("120", now), Some(Duration::from_secs(120)));
    assert_eq!(http::retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now), Some(Duration::from_secs(30)));
    assert_eq!(http::retry_after("Wed, 31 Dec 2025 00:00:00 GMT", now), Some(Duration::ZERO));
    assert_eq!(http::retry_after("99999", now), Some(Duration::from_secs(600)), "capped");
    assert_eq!(http::retry_after("soon", now), None);
    let d = Duration::from_secs(8);
    assert_eq!(worker::jittered(d, 0.0), Duration::from_secs(4));
    assert_eq!(worker::jittered(d, 1.0), d);
    assert!(worker::jittered(d, 0.37) > Duration::from_secs(4) && worker::jittered(d, 0.37) < d);
}

#[test]
fn robot_times_are_in_the_floors_time_zone() {
    let r = rc("wx", SinkKind::WeCom, "https://h/x");
    let ctx = render::Ctx { external_url: None, tz: chrono_tz::Asia::Shanghai };
    let body = render::render(&r, &ctx, &notice(), T0).body;
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let content = v["markdown"]["content"].as_str().unwrap();
    assert!(content.contains("2026-01-01 08:00:00 +08:00"), "{content}");
}

#[test]
fn a_ca_file_adds_its_certificates_and_a_bad_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    assert!(matches!(connect::tls_config(Some(&bad)), Err(ConnectError::CaFile { .. })));
    assert!(connect::tls_config(Some(&dir.path().join("missing.pem"))).is_err());
    assert!(connect::tls_config(None).is_ok());
}

#[tokio::test]
async fn https_goes_through_the_proxys_connect_tunnel_unless_no_proxy_names_the_host() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tower_service::Service as _;
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let paddr = proxy.local_addr().unwrap();
    let seen = tokio::spawn(async move {
        let (mut s, _) = proxy.accept().await.unwrap();
        let mut buf = vec![0u8; 1024];
        let n = s.read(&mut buf).await.unwrap();
        s.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n").await.unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    });
    let cfg = ProxyConfig { https: Some(format!("http://{paddr}")), no: Some("internal.example".into()) };
    let mut c = connect::ProxyConnector::new(&cfg).unwrap();
    assert!(c.proxied(&"https://oapi.dingtalk.com/robot/send".parse().unwrap()));
    assert!(!c.proxied(&"https://am.internal.example/".parse().unwrap()));
    assert!(!c.proxied(&"http://127.0.0.1:9093/".parse().unwrap()), "plain http goes direct");
    let _tunnel = c.call("https://oapi.dingtalk.com/robot/send".parse().unwrap()).await.unwrap();
    let req = seen.await.unwrap();
    assert!(req.starts_with("CONNECT oapi.dingtalk.com:443 HTTP/1.1\r\n"), "{req}");
    let env: std::collections::HashMap<String, String> =
        [("https_proxy".to_owned(), "http://p:3128".to_owned()), ("NO_PROXY".to_owned(), "x".to_owned())]
            .into();
    assert_eq!(
        ProxyConfig::from_env(&env),
        ProxyConfig { https: Some("http://p:3128".into()), no: Some("x".into()) }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_from_the_receiver_wins_over_the_backoff() {
    let srv = TestServer::start("ok").await;
    // 429 asking for an immediate retry; our own backoff would wait a minute,
    // longer than `eventually` waits: delivery proves the header was honoured.
    srv.script_retry_after(429, "0");
    let t =
        Tuning { backoff_base: Duration::from_secs(60), backoff_cap: Duration::from_secs(60), ..tuning() };
    let (n, m) = start_tuned(vec![rc("hook", SinkKind::Webhook, &srv.url)], 8, 5, t);
    n.notify(&notice());
    eventually("sent after Retry-After", || get(&m.sent, "hook") == 1).await;
    assert_eq!((get(&m.retried, "hook"), srv.count()), (1, 2));
}
