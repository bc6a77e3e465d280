//! The replay report as one self-contained page a supervisor opens: inline CSS,
//! inline SVG, no script and no external asset, both languages on the page with
//! a toggle made of two radio buttons and a CSS rule (so it works from a file,
//! offline, under any policy).
//!
//! Every outside string (queue and agent ids, messages) goes through [`esc`].

use std::fmt::Write as _;

use super::report::{Chart, IntervalDto, Note, QueueReport, Report};
use crate::event::format_ts;
use crate::rules::{Kind, Severity, kind_title};

/// Most points a queue's chart draws: a month of 5-minute intervals is merged
/// into buckets of several intervals so the line stays readable (and the page small).
const MAX_POINTS: usize = 1500;
const W: f64 = 1200.0;
const H: f64 = 260.0;
const PAD_L: f64 = 48.0;
const PAD_B: f64 = 28.0;
/// Above the plot: one band of alert marks per row of [`row`].
const BAND: f64 = 7.0;
const PAD_T: f64 = 4.0 * BAND + 8.0;

const CSS: &str = r#"
body{font:14px/1.45 system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
header,main{max-width:1280px;margin:0 auto;padding:12px 20px}
header{display:flex;justify-content:space-between;align-items:center;flex-wrap:wrap;gap:8px}
h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:24px 0 8px}h3{font-size:15px;margin:16px 0 6px}
section{background:#fff;border-radius:8px;padding:12px 16px;margin:12px 0;box-shadow:0 1px 2px #0001}
table{border-collapse:collapse;margin:4px 0 8px}th,td{padding:3px 10px;border-bottom:1px solid #e3e6ea;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f0f2f5;font-weight:600}
.lang{display:none}.toggle label{border:1px solid #99a;border-radius:4px;padding:3px 10px;cursor:pointer;margin-left:4px}
#l-zh:checked~header label[for=l-zh],#l-en:checked~header label[for=l-en]{background:#1d2330;color:#fff}
#l-zh:checked~* .en,#l-en:checked~* .zh{display:none}
.kpi{display:flex;gap:24px;flex-wrap:wrap}.kpi div{min-width:120px}.kpi b{display:block;font-size:20px}
svg{width:100%;height:auto;background:#fbfcfd;border:1px solid #e3e6ea}
.warn{color:#a15c00}.crit{color:#b3261e}.muted{color:#667}
details{margin:6px 0}summary{cursor:pointer;font-weight:600}
.legend span{margin-right:16px}.sw{display:inline-block;width:14px;height:4px;vertical-align:middle;margin-right:4px}
"#;

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Both languages of one phrase: each shows when its language is chosen.
fn both(zh: &str, en: &str) -> String {
    format!(r#"<span class="zh">{}</span><span class="en">{}</span>"#, esc(zh), esc(en))
}

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_owned(), |v| format!("{:.1}%", v * 100.0))
}

fn secs(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_owned(), |v| format!("{v:.0} s"))
}

/// Renders the page.
pub fn render(r: &Report, source_name: &str) -> String {
    let mut h = String::with_capacity(1 << 20);
    let _ = write!(
        h,
        r#"<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>floorwatch replay · {}</title><style>{CSS}</style></head><body>"#,
        esc(source_name)
    );
    h.push_str(r#"<input type="radio" name="lang" id="l-zh" class="lang" checked><input type="radio" name="lang" id="l-en" class="lang">"#);
    let _ = write!(
        h,
        r#"<header><h1>{} <span class="muted">{}</span></h1><div class="toggle"><label for="l-zh">中文</label><label for="l-en">English</label></div></header><main>"#,
        both("回放报告", "Replay report"),
        esc(source_name)
    );
    summary(&mut h, r);
    for c in &r.charts {
        if let Some(q) = r.queues.get(&c.queue) {
            queue_section(&mut h, r, c, q);
        }
    }
    incidents(&mut h, r);
    alerts(&mut h, r);
    notes(&mut h, r);
    h.push_str("</main></body></html>\n");
    h
}

fn summary(h: &mut String, r: &Report) {
    let p = &r.period;
    let (mut off, mut ans, mut ab) = (0, 0, 0);
    for q in r.queues.values() {
        off += q.offered;
        ans += q.answered;
        ab += q.abandoned;
    }
    let _ = write!(
        h,
        r#"<section><div class="kpi"><div>{}<b>{} → {}</b><span class="muted">{} · {} {}</span></div><div>{}<b>{off}</b></div><div>{}<b>{ans}</b></div><div>{}<b>{ab}</b></div><div>{}<b>{}</b></div><div>{}<b>{}</b></div></div>"#,
        both("时段", "Period"),
        esc(&p.from[..10.min(p.from.len())]),
        esc(&p.to[..10.min(p.to.len())]),
        esc(&p.timezone),
        p.days,
        both("天", "days"),
        both("呼入", "Offered"),
        both("接听", "Answered"),
        both("放弃", "Abandoned"),
        both("告警", "Alerts"),
        r.alerts.len(),
        both("事件", "Incidents"),
        r.incidents.len(),
    );
    let _ = write!(
        h,
        "<h3>{}</h3><table><tr><th>{}</th><th>{}</th></tr>",
        both("告警类型", "Alerts by kind"),
        both("类型", "Kind"),
        both("条数", "Count")
    );
    for (k, n) in &r.alerts_by_kind {
        let title = crate::vocab::Kind::parse(k).map_or_else(|| (*k).to_owned(), kind_title);
        let _ = write!(
            h,
            "<tr><td>{} <span class=\"muted\">{}</span></td><td>{n}</td></tr>",
            esc(&title),
            esc(k)
        );
    }
    h.push_str("</table>");
    if let Some(ds) = &r.data_set {
        let _ = write!(
            h,
            "<h3>{}</h3><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            both(
                "数据集自身的数字与 floorwatch 的计数",
                "The data set's own figures beside floorwatch's counts"
            ),
            both("队列", "Queue"),
            both("数据集 呼入/接听/放弃", "Data set offered/answered/abandoned"),
            both("floorwatch 呼入/接听/放弃", "floorwatch offered/answered/abandoned"),
            both("IVR 放弃", "IVR abandons"),
            both("虚拟来电", "Phantoms"),
            both("一致", "Equal"),
        );
        for (id, d) in &ds.queues {
            let ours = r.queues.get(*id);
            let (o, a, b) = ours.map_or((0, 0, 0), |q| (q.offered, q.answered, q.abandoned));
            let same = (o, a, b) == (d.offered, d.answered, d.abandoned);
            let _ = write!(
                h,
                "<tr><td>{} <span class=\"muted\">{}</span></td><td>{}/{}/{}</td><td>{o}/{a}/{b}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                both(&d.name.zh, &d.name.en),
                esc(id),
                d.offered,
                d.answered,
                d.abandoned,
                d.ivr_abandoned,
                d.phantoms,
                if same { "✓" } else { "✗" }
            );
        }
        h.push_str("</table>");
    }
    h.push_str("</section>");
}

fn queue_section(h: &mut String, r: &Report, c: &Chart, q: &QueueReport) {
    let _ = write!(
        h,
        r#"<section><h2>{} {}</h2><div class="kpi"><div>{}<b>{}</b></div><div>{}<b>{}</b></div><div>{}<b>{}</b></div><div>{}<b>{}</b></div><div>{}<b>{}</b></div><div>{}<b>{}</b></div></div>"#,
        both("队列", "Queue"),
        esc(&c.queue),
        both("呼入", "Offered"),
        q.offered,
        both("接听", "Answered"),
        q.answered,
        both("放弃", "Abandoned"),
        q.abandoned,
        both("接通率", "Answer rate"),
        pct(q.answer_rate),
        both(
            &format!("服务水平 ({} 秒)", q.sl_threshold_secs),
            &format!("Service level ({} s)", q.sl_threshold_secs)
        ),
        pct(q.service_level),
        both("平均应答", "ASA"),
        secs(q.asa_secs),
    );
    chart(h, c);
    let _ = write!(
        h,
        r#"<div class="legend"><span><i class="sw" style="background:#2f6fdb"></i>{}</span><span><i class="sw" style="background:#e08a00"></i>{}</span><span><i class="sw" style="background:#b3261e"></i>{}</span><span class="muted">{}</span></div>"#,
        both("呼入量", "Offered per interval"),
        both("学习到的预期", "Learned expectation"),
        both("告警（悬停查看）", "Alerts (hover for details)"),
        both(&format!("每点 {} 分钟", bucket_minutes(c)), &format!("{} min per point", bucket_minutes(c))),
    );
    intervals(h, both("最繁忙的时段", "Busiest intervals"), &q.busiest);
    intervals(h, both("接通率最差的时段", "Worst intervals (answer rate)"), &q.worst);
    let _ = write!(
        h,
        "<details><summary>{}</summary><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        both("按天", "Per day"),
        both("日期", "Date"),
        both("呼入", "Offered"),
        both("接听", "Answered"),
        both("放弃", "Abandoned"),
        both("接通率", "Answer rate"),
        both("服务水平", "Service level"),
        both("平均应答", "ASA"),
    );
    for d in &q.days {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&d.date),
            d.offered,
            d.answered,
            d.abandoned,
            pct(d.answer_rate),
            pct(d.service_level),
            secs(d.asa_secs)
        );
    }
    h.push_str("</table></details>");
    let _ = r;
    h.push_str("</section>");
}

fn intervals(h: &mut String, title: String, rows: &[IntervalDto]) {
    if rows.is_empty() {
        return;
    }
    let _ = write!(
        h,
        "<h3>{title}</h3><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        both("开始 (UTC)", "Start (UTC)"),
        both("呼入", "Offered"),
        both("预期", "Expected"),
        both("接听", "Answered"),
        both("放弃", "Abandoned"),
        both("接通率", "Answer rate"),
        both("服务水平", "Service level"),
    );
    for i in rows {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&i.start.replace('T', " ")),
            i.offered,
            i.expected.map_or_else(|| "–".to_owned(), |e| format!("{e:.1}")),
            i.answered,
            i.abandoned,
            pct(i.answer_rate),
            pct(i.service_level)
        );
    }
    h.push_str("</table>");
}

fn bucket(c: &Chart) -> usize {
    c.offered.len().div_ceil(MAX_POINTS).max(1)
}

fn bucket_minutes(c: &Chart) -> i64 {
    bucket(c) as i64 * c.interval_ms / 60_000
}

/// Volume per bucket against the expectation, day lines, and every alert of the
/// queue (or of the whole floor) as a mark with its message as a tooltip.
fn chart(h: &mut String, c: &Chart) {
    let k = bucket(c);
    let n = c.offered.len().div_ceil(k).max(1);
    let offered: Vec<f64> = (0..n)
        .map(|b| c.offered[b * k..((b + 1) * k).min(c.offered.len())].iter().map(|&x| f64::from(x)).sum())
        .collect();
    // A bucket's expectation is known only when every interval's is.
    let expected: Vec<Option<f64>> = (0..n)
        .map(|b| {
            (b * k..((b + 1) * k).min(c.offered.len())).map(|s| c.expected.get(s).copied().flatten()).sum()
        })
        .collect();
    let top = offered.iter().copied().chain(expected.iter().flatten().copied()).fold(1.0f64, f64::max) * 1.1;
    let span_ms = (c.offered.len().max(1) as i64 * c.interval_ms) as f64;
    let x_of_t = |t: i64| PAD_L + (t - c.start_ms) as f64 / span_ms * (W - PAD_L - 4.0);
    let x = |b: usize| PAD_L + (b as f64 + 0.5) / n as f64 * (W - PAD_L - 4.0);
    let y = |v: f64| PAD_T + (1.0 - v / top) * (H - PAD_T - PAD_B);
    let _ = write!(h, r#"<svg viewBox="0 0 {W} {H}" role="img" aria-label="{}">"#, esc(&c.queue));
    // Day lines, labelled at most ~20 times.
    let day = 86_400_000i64;
    let first_day = c.start_ms.div_euclid(day) + 1;
    let days = (span_ms as i64 / day).max(1);
    let every = (days / 20 + 1).max(1);
    for d in 0..=days {
        let t = (first_day + d) * day;
        if t > c.start_ms + span_ms as i64 {
            break;
        }
        let xx = x_of_t(t);
        let _ = write!(
            h,
            r##"<line x1="{xx:.1}" y1="{PAD_T}" x2="{xx:.1}" y2="{:.1}" stroke="#e3e6ea"/>"##,
            H - PAD_B
        );
        if d % every == 0 {
            let label = format_ts(t);
            let _ = write!(
                h,
                r##"<text x="{xx:.1}" y="{:.1}" font-size="10" fill="#667" text-anchor="middle">{}</text>"##,
                H - 10.0,
                esc(&label[5..10.min(label.len())])
            );
        }
    }
    for v in [0.0, top / 1.1 / 2.0, top / 1.1] {
        let _ = write!(
            h,
            r##"<text x="{:.1}" y="{:.1}" font-size="10" fill="#667" text-anchor="end">{v:.0}</text>"##,
            PAD_L - 6.0,
            y(v) + 3.0
        );
    }
    let mut line = String::new();
    for (b, v) in offered.iter().enumerate() {
        let _ = write!(line, "{:.1},{:.1} ", x(b), y(*v));
    }
    let _ = write!(h, r##"<polyline fill="none" stroke="#2f6fdb" stroke-width="1" points="{line}"/>"##);
    // The expectation, broken where it is unknown.
    let mut seg = String::new();
    let flush = |h: &mut String, seg: &mut String| {
        if !seg.is_empty() {
            let _ = write!(
                h,
                r##"<polyline fill="none" stroke="#e08a00" stroke-width="1.5" stroke-dasharray="4 2" points="{seg}"/>"##
            );
            seg.clear();
        }
    };
    for (b, e) in expected.iter().enumerate() {
        match e {
            Some(v) => {
                let _ = write!(seg, "{:.1},{:.1} ", x(b), y(*v));
            }
            None => flush(h, &mut seg),
        }
    }
    flush(h, &mut seg);
    // Each alert is a bar in its kind's band, as long as it was open; only the
    // rare, floor-level ones (surges, faults) also get a line through the plot,
    // so a month of long-wait alerts does not hide the volume.
    for (r, (zh, en)) in ROWS.iter().enumerate() {
        let _ = write!(
            h,
            r##"<text x="{:.1}" y="{:.1}" font-size="8" fill="#667" text-anchor="end">{}</text>"##,
            PAD_L - 4.0,
            1.0 + (r as f64 + 1.0) * BAND,
            both_svg(zh, en)
        );
    }
    for m in &c.marks {
        let x1 = x_of_t(m.at);
        let colour = if m.severity == Severity::Critical { "#b3261e" } else { "#d9822b" };
        let until = m.until.map_or_else(|| "…".to_owned(), format_ts);
        let tip =
            format!("{} {} · {} → {}\n{}\n{}", m.id, m.kind, format_ts(m.at), until, m.title.zh, m.title.en);
        let w = m.until.map_or(2.0, |u| (x_of_t(u) - x1).max(1.5));
        let r = row(m.kind);
        let _ = write!(
            h,
            r#"<rect x="{x1:.1}" y="{:.1}" width="{w:.1}" height="{:.1}" fill="{colour}"><title>{}</title></rect>"#,
            2.0 + r as f64 * BAND,
            BAND - 1.5,
            esc(&tip)
        );
        if r == 0 || r == 3 {
            let _ = write!(
                h,
                r#"<line x1="{x1:.1}" y1="{PAD_T}" x2="{x1:.1}" y2="{:.1}" stroke="{colour}" stroke-width="0.8" stroke-dasharray="2 2"><title>{}</title></line>"#,
                H - PAD_B,
                esc(&tip)
            );
        }
    }
    for &s in &c.busiest {
        let _ = write!(
            h,
            r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="#2f6fdb"><title>{}</title></circle>"##,
            x(s / k),
            y(offered[s / k]),
            esc(&format_ts(c.start_ms + s as i64 * c.interval_ms))
        );
    }
    h.push_str("</svg>");
}

/// The bands of alert marks, top down.
const ROWS: [(&str, &str); 4] =
    [("异动", "surge"), ("接通/服务", "rate/SL"), ("等待", "wait"), ("故障", "fault")];

fn row(kind: Kind) -> usize {
    match kind {
        Kind::TrafficSurge => 0,
        Kind::AnswerRateLow | Kind::ServiceLevelLow => 1,
        Kind::LongestWaitHigh => 2,
        _ => 3,
    }
}

/// Both languages inside SVG text (`tspan`, which the same CSS rule hides).
fn both_svg(zh: &str, en: &str) -> String {
    format!(r#"<tspan class="zh">{}</tspan><tspan class="en">{}</tspan>"#, esc(zh), esc(en))
}

fn incidents(h: &mut String, r: &Report) {
    let _ = write!(
        h,
        "<section><h2>{}</h2>",
        both("会开启的事件（默认预案）", "Incidents that would have opened (default playbooks)")
    );
    if r.incidents.is_empty() {
        let _ = write!(h, "<p class=\"muted\">{}</p>", both("无", "None"));
    } else {
        let _ = write!(
            h,
            "<table><tr><th>id</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            both("类型", "Kind"),
            both("对象", "Subject"),
            both("开启 (UTC)", "Opened (UTC)"),
            both("关闭 (UTC)", "Closed (UTC)"),
            both("告警", "Alerts"),
            both("待回拨", "Callers to call back")
        );
        for i in &r.incidents {
            let subject = i.queue.as_deref().or(i.component.as_deref()).unwrap_or("");
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&i.id),
                esc(i.kind),
                esc(subject),
                esc(&i.opened_at),
                esc(i.closed_at.as_deref().unwrap_or("–")),
                i.alerts.len(),
                i.lost_callers
            );
        }
        h.push_str("</table>");
    }
    h.push_str("</section>");
}

fn alerts(h: &mut String, r: &Report) {
    let _ = write!(
        h,
        "<section><h2>{}</h2><details><summary>{} ({})</summary><table><tr><th>id</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        both("告警", "Alerts"),
        both("全部告警", "Every alert raised"),
        r.alerts.len(),
        both("类型", "Kind"),
        both("级别", "Severity"),
        both("对象", "Subject"),
        both("开始 (UTC)", "Started (UTC)"),
        both("解除 (UTC)", "Resolved (UTC)"),
        both("内容", "Message"),
    );
    for a in &r.alerts {
        let s = &a.subject;
        let subject = [&s.agent, &s.queue, &s.source, &s.component]
            .into_iter()
            .flatten()
            .next()
            .map_or("", String::as_str);
        let class = match a.severity {
            "critical" => "crit",
            "warning" => "warn",
            _ => "",
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"{class}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td style=\"text-align:left\">{}</td></tr>",
            esc(&a.id),
            esc(a.kind),
            esc(a.severity),
            esc(subject),
            esc(&a.started_at),
            esc(a.resolved_at.as_deref().unwrap_or("–")),
            both(&a.messages.zh, &a.messages.en)
        );
    }
    h.push_str("</table></details></section>");
}

fn notes(h: &mut String, r: &Report) {
    let list = |h: &mut String, title: String, notes: &[Note]| {
        if notes.is_empty() {
            return;
        }
        let _ = write!(h, "<h3>{title}</h3><ul>");
        for n in notes {
            let _ = write!(h, "<li>{}</li>", both(&n.zh, &n.en));
        }
        h.push_str("</ul>");
    };
    h.push_str("<section>");
    list(
        h,
        both("数据中没有、由读取器推断的内容", "What the data does not say, and how the reader inferred it"),
        &r.inferences,
    );
    list(h, both("回放本身的假设", "What the replay assumed"), &r.notes);
    h.push_str("</section>");
}
