//! Request bodies per sink kind: generic JSON, WeCom / DingTalk markdown, Feishu text (with the
//! robots' signatures) and Alertmanager v2 alerts, each in the receiver's language, times in
//! the floor's time zone. A digest is several notices in one message, for a receiver over its
//! rate limit.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, TimeZone as _, Utc};
use chrono_tz::Tz;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value, json};

use super::Notice;
use super::config::{Lang, ReceiverConfig, SinkKind};
use crate::vocab::{AlertState, Severity};

/// WeCom caps markdown content at 4096 bytes; DingTalk's limit is larger. Stay under both.
const MAX_MARKDOWN_BYTES: usize = 4000;

/// Percent-encoded in a URL path segment: all but RFC 3986's unreserved characters.
const PATH_SEGMENT: &percent_encoding::AsciiSet =
    &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// What every rendering needs besides the notice.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    /// Where people reach floorwatch, without a trailing `/`; `None`: no links.
    pub(crate) external_url: Option<String>,
    /// The floor's time zone, for the times people read.
    pub(crate) tz: Tz,
}

impl Ctx {
    /// The alert's page in floorwatch (its JSON record), when the daemon's URL is known.
    pub(crate) fn alert_url(&self, n: &Notice) -> Option<String> {
        let base = self.external_url.as_deref()?;
        let id = utf8_percent_encode(&n.id, PATH_SEGMENT);
        Some(match n.kind {
            super::NoticeKind::Incident => format!("{base}/api/incidents/{id}"),
            super::NoticeKind::Alert(_) => format!("{base}/api/alerts/{id}"),
        })
    }
}

/// One ready-to-send request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rendered {
    pub(crate) url: String,
    pub(crate) body: Vec<u8>,
}

/// Builds the request for `n` as receiver `r` wants it. `now_ms` feeds the robots' signatures
/// (re-rendered per attempt so a retried signature is fresh) and a resolve without a time.
pub(crate) fn render(r: &ReceiverConfig, ctx: &Ctx, n: &Notice, now_ms: i64) -> Rendered {
    let md = || markdown(r.language, ctx.tz, n);
    let body = match &r.kind {
        SinkKind::Webhook => webhook(r, ctx, n),
        SinkKind::Alertmanager => {
            // Sent by the Alertmanager worker itself; this path is only for completeness.
            Value::Array(vec![alertmanager(r.language, ctx, n, now_ms, 0)])
        }
        _ => return robot(r, now_ms, headline(r.language, n), md(), plain(r.language, ctx.tz, n)),
    };
    Rendered { url: r.url.clone(), body: serde_json::to_vec(&body).unwrap_or_default() }
}

/// Several notices as one message, for a receiver over its rate limit: a title
/// with the count, then each one's headline and id (markdown robots), or every
/// notice's JSON under `alerts` (webhooks).
pub(crate) fn render_digest(
    r: &ReceiverConfig,
    ctx: &Ctx,
    ns: &[std::sync::Arc<Notice>],
    now_ms: i64,
) -> Rendered {
    let zh = r.language == Lang::ZhCn;
    let title = if zh {
        format!("📦 {} 条通知（超出发送频率，合并发送）", ns.len())
    } else {
        format!("📦 {} notices (over the rate limit, sent together)", ns.len())
    };
    if r.kind == SinkKind::Webhook || r.kind == SinkKind::Alertmanager {
        let alerts: Vec<Value> = ns.iter().map(|n| webhook(r, ctx, n)).collect();
        let body = json!({"receiver": r.name, "digest": true, "count": ns.len(), "title": title,
            "language": if zh { "zh-CN" } else { "en" }, "alerts": alerts});
        return Rendered { url: r.url.clone(), body: serde_json::to_vec(&body).unwrap_or_default() };
    }
    let mut md = format!("### {title}\n");
    let mut text = title.clone();
    for (i, n) in ns.iter().enumerate() {
        let line = format!("- {} (ID {})\n", headline(r.language, n).replace('\n', " "), n.id);
        if md.len() + line.len() + 64 > MAX_MARKDOWN_BYTES {
            let rest = ns.len() - i;
            md.push_str(&if zh {
                format!("- ……另有 {rest} 条\n")
            } else {
                format!("- … and {rest} more\n")
            });
            break;
        }
        md.push_str(&line);
        text.push('\n');
        text.push_str(line.trim_end());
    }
    robot(r, now_ms, title, md.trim_end().to_owned(), text)
}

/// A robot's message: markdown (WeCom, DingTalk) or text (Feishu), signed when it has a secret.
fn robot(r: &ReceiverConfig, now_ms: i64, title: String, markdown: String, plain: String) -> Rendered {
    let mut url = r.url.clone();
    let body = match &r.kind {
        SinkKind::WeCom => json!({"msgtype": "markdown", "markdown": {"content": markdown}}),
        SinkKind::DingTalk { secret } => {
            if let Some(secret) = secret {
                let sep = if url.contains('?') { '&' } else { '?' };
                let sign = dingtalk_sign(now_ms, secret);
                let sign = utf8_percent_encode(&sign, NON_ALPHANUMERIC);
                url = format!("{url}{sep}timestamp={now_ms}&sign={sign}");
            }
            json!({"msgtype": "markdown", "markdown": {"title": truncate(&title, 120), "text": markdown}})
        }
        SinkKind::Feishu { secret } => {
            let mut body = json!({"msg_type": "text", "content": {"text": plain}});
            if let Some(secret) = secret {
                let ts = now_ms.div_euclid(1000);
                body["timestamp"] = Value::String(ts.to_string());
                body["sign"] = Value::String(feishu_sign(ts, secret));
            }
            body
        }
        // Not robots: rendered by `render` and `render_digest`.
        SinkKind::Webhook | SinkKind::Alertmanager => Value::Null,
    };
    Rendered { url, body: serde_json::to_vec(&body).unwrap_or_default() }
}

/// DingTalk: base64(HMAC-SHA256(key = secret, msg = "{timestamp_ms}\n{secret}")), before URL-encoding.
pub(crate) fn dingtalk_sign(timestamp_ms: i64, secret: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    B64.encode(ring::hmac::sign(&key, format!("{timestamp_ms}\n{secret}").as_bytes()))
}

/// Feishu: base64(HMAC-SHA256(key = "{timestamp_s}\n{secret}", msg = "")).
pub(crate) fn feishu_sign(timestamp_s: i64, secret: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, format!("{timestamp_s}\n{secret}").as_bytes());
    B64.encode(ring::hmac::sign(&key, b""))
}

fn message(lang: Lang, n: &Notice) -> &str {
    match lang {
        Lang::ZhCn if !n.message_zh.is_empty() => &n.message_zh,
        Lang::En if !n.message_en.is_empty() => &n.message_en,
        _ if n.message_en.is_empty() => &n.message_zh,
        _ => &n.message_en,
    }
}

/// The state header, e.g. `🔴 [critical] 工作态超时` or `✅ [resolved] …`.
pub(crate) fn headline(lang: Lang, n: &Notice) -> String {
    let msg = message(lang, n);
    let zh = lang == Lang::ZhCn;
    let esc = match (n.escalated, zh) {
        (false, _) => "",
        (true, true) => "⏫ 升级 ",
        (true, false) => "⏫ ESCALATED ",
    };
    let (icon, tag) = match n.state {
        AlertState::Resolved => ("✅", if zh { "已恢复" } else { "resolved" }),
        AlertState::Acknowledged => ("☑️", if zh { "已确认" } else { "acknowledged" }),
        AlertState::Firing => match n.severity {
            Severity::Critical => ("🔴", "critical"),
            Severity::Warning => ("🟠", "warning"),
            Severity::Info => ("🔵", "info"),
        },
    };
    format!("{esc}{icon} [{tag}] {msg}")
}

/// Detail lines shared by the markdown and plain-text renderings: (label, value).
fn details(lang: Lang, tz: Tz, n: &Notice) -> Vec<(&'static str, String)> {
    let zh = lang == Lang::ZhCn;
    let l = |zh_s: &'static str, en_s: &'static str| if zh { zh_s } else { en_s };
    let mut out =
        vec![(l("级别", "Severity"), n.severity.to_string()), (l("类型", "Kind"), n.kind.to_string())];
    let optional = [
        (l("坐席", "Agent"), &n.agent),
        (l("班组", "Team"), &n.team),
        (l("队列", "Queue"), &n.queue),
        (l("来源", "Source"), &n.source),
        (l("组件", "Component"), &n.component),
    ];
    out.extend(optional.into_iter().filter_map(|(k, v)| v.as_ref().map(|v| (k, v.clone()))));
    out.push((l("开始", "Started"), local_time(n.started_at_ms, tz)));
    if let Some(ms) = n.resolved_at_ms {
        out.push((l("恢复", "Resolved"), local_time(ms, tz)));
    }
    if let Some(by) = &n.acked_by {
        out.push((l("确认人", "Acked by"), by.clone()));
    }
    out.push(("ID", n.id.clone()));
    out
}

/// Markdown for WeCom and DingTalk.
pub(crate) fn markdown(lang: Lang, tz: Tz, n: &Notice) -> String {
    let mut s = format!("### {}\n", headline(lang, n));
    for (k, v) in details(lang, tz, n) {
        s.push_str(&format!("> **{k}**: {}\n\n", v.replace('\n', " ")));
    }
    truncate(s.trim_end(), MAX_MARKDOWN_BYTES).to_owned()
}

/// Plain text for Feishu.
pub(crate) fn plain(lang: Lang, tz: Tz, n: &Notice) -> String {
    let mut s = headline(lang, n);
    for (k, v) in details(lang, tz, n) {
        s.push_str(&format!("\n{k}: {v}"));
    }
    s
}

fn webhook(r: &ReceiverConfig, ctx: &Ctx, n: &Notice) -> Value {
    let mut v = json!({
        "receiver": r.name,
        "id": n.id,
        "kind": n.kind.as_str(),
        "severity": n.severity.as_str(),
        "state": n.state.as_str(),
        "agent": n.agent,
        "team": n.team,
        "queue": n.queue,
        "source": n.source,
        "component": n.component,
        "started_at": rfc3339(n.started_at_ms),
        "resolved_at": n.resolved_at_ms.map(rfc3339),
        "acked_by": n.acked_by,
        "escalated": n.escalated,
        "language": if r.language == Lang::ZhCn { "zh-CN" } else { "en" },
        "title": headline(r.language, n),
        "message": message(r.language, n),
        "message_zh": n.message_zh,
        "message_en": n.message_en,
        "messages": {"zh-CN": n.message_zh, "en": n.message_en},
    });
    if let Some(url) = ctx.alert_url(n) {
        v["url"] = Value::String(url);
    }
    v
}

/// One Alertmanager v2 alert. Its labels identify it there, so they hold only
/// what never changes over the alert's life: the kind, its subject and the
/// severity it *fired* with. The current severity, the escalation and the ack
/// are annotations, which Alertmanager updates in place. An active alert's
/// `endsAt` is `ends_in_ms` ahead of now (several re-send periods): should
/// floorwatch stop re-sending, Alertmanager resolves it then.
pub(crate) fn alertmanager(lang: Lang, ctx: &Ctx, n: &Notice, now_ms: i64, ends_in_ms: i64) -> Value {
    let mut labels = Map::new();
    labels.insert("alertname".into(), format!("floorwatch_{}", n.kind).into());
    labels.insert("kind".into(), n.kind.as_str().into());
    labels.insert("severity".into(), n.fired_severity.as_str().into());
    let optional = [
        ("team", &n.team),
        ("queue", &n.queue),
        ("agent", &n.agent),
        ("source", &n.source),
        ("component", &n.component),
    ];
    for (k, v) in optional {
        if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
            labels.insert(k.into(), v.clone().into());
        }
    }
    let mut annotations = Map::new();
    annotations.insert("summary".into(), message(lang, n).into());
    annotations.insert("id".into(), n.id.clone().into());
    if n.severity != n.fired_severity {
        annotations.insert("severity".into(), n.severity.as_str().into());
    }

    if let Some(by) = &n.acked_by {
        annotations.insert("acked_by".into(), by.clone().into());
    }
    if n.escalated {
        annotations.insert("escalated".into(), "true".into());
    }
    let mut alert = Map::new();
    alert.insert("labels".into(), labels.into());
    alert.insert("annotations".into(), annotations.into());
    alert.insert("startsAt".into(), rfc3339(n.started_at_ms).into());
    if n.state == AlertState::Resolved {
        // Never in the future (an event stamped ahead of our clock): Alertmanager
        // takes a future endsAt as "still firing" and keeps the later one it had.
        alert.insert("endsAt".into(), rfc3339(n.resolved_at_ms.unwrap_or(now_ms).min(now_ms)).into());
    } else if ends_in_ms > 0 {
        alert.insert("endsAt".into(), rfc3339(now_ms.saturating_add(ends_in_ms)).into());
    }
    if let Some(url) = ctx.alert_url(n) {
        alert.insert("generatorURL".into(), url.into());
    }
    alert.into()
}

fn rfc3339(ms: i64) -> String {
    let t: DateTime<Utc> = Utc.timestamp_millis_opt(ms).single().unwrap_or_default();
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A time as the floor reads it: its own zone, not the host's.
fn local_time(ms: i64, tz: Tz) -> String {
    match tz.timestamp_millis_opt(ms).single() {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S %:z").to_string(),
        None => ms.to_string(),
    }
}

/// Cuts `s` to at most `max` bytes on a char boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `scheme://host[:port]/…` — no user info, path, query or fragment, which may carry tokens.
pub(crate) fn mask_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("?", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    format!("{scheme}://{host}/…")
}
