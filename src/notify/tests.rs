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
        language: Lang::En,
        teams: vec![],
        min_severity: Severity::Warning,
        kinds: vec![],
        escalations: false,
        queue_capacity: None,
    }
}

fn start(receivers: Vec<ReceiverConfig>, capacity: usize, timeout_secs: u64) -> (Notifier, NotifyMetrics) {
    let cfg = NotifyConfig { receivers, queue_capacity: capacity, max_retries: 3, timeout_secs };
    let metrics = NotifyMetrics::new();
    let tuning = Tuning { backoff_base: Duration::from_millis(5), backoff_cap: Duration::from_millis(20) };
    (spawn_tuned(cfg, metrics.clone(), CancellationToken::new(), tuning), metrics)
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
    assert_eq!(
        reqs[0].json(),
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
