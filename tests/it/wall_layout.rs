//! The wall fits the TV at the moment it matters: in headless Chromium at
//! 1280×720, 1920×1080 and 3840×2160, in Chinese and English, with 0, 3 and 12
//! alerts, a reply script, and 60, 500 and 2,000 agents — a matrix that takes
//! every value of each dimension at least once (not all 162 combinations). Each
//! case checks, from the DOM: the document never scrolls, every region and every
//! agent cell lies inside the viewport, no text overflows its box, the
//! incident's alert is on screen, the alerts that do not fit are counted, and the
//! English page shows no Chinese (the config gives every name in English here).
//! Past `wallboard.agent_cells_max` (1,000) agents the teams are summary tiles,
//! which must list the agents over their limits.

use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use floorwatch::config::Config;
use floorwatch::floor::{QueueConfig, TeamConfig};
use floorwatch::vocab::Names;
use serde_json::{Value, json};

use crate::harness::{PATIENCE, TestDaemon, ts_now};
use crate::wallboard::{chromedriver, js, until, with_browser};

async fn browser(lang: &str, w: u32, h: u32) -> Client {
    let port = chromedriver();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     format!("--window-size={w},{h}"), format!("--lang={lang}"), "--hide-scrollbars"],
            "prefs": {"intl.accept_languages": lang},
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a Chromium session")
}

fn names(zh: &str, en: &str) -> Names {
    Names { zh: Some(zh.into()), en: Some(en.into()) }
}

/// A floor configured with names in both languages, as a site would.
fn config() -> Config {
    let mut cfg = Config::default();
    let p = cfg.floor.queue_defaults;
    cfg.floor.queues = [
        ("billing", "账单查询", "Billing"),
        ("cards", "信用卡", "Card services"),
        ("tech", "技术支持", "Technical"),
    ]
    .into_iter()
    .map(|(id, zh, en)| QueueConfig { id: id.into(), name: zh.into(), names: names(zh, en), params: p })
    .collect();
    cfg.floor.teams = (1..=8)
        .map(|i| TeamConfig {
            id: format!("team-{i}"),
            name: format!("{i} 组"),
            names: names(&format!("{i} 组"), &format!("Team {i}")),
            lead: Some(format!("Lead {i}")),
        })
        .collect();
    cfg.incidents.components.insert("trunk-2".into(), names("2 号中继线", "trunk line 2"));
    cfg
}

/// The floor: `agents` agents (Latin names, so the language check sees only the
/// page's own words), some in long after-call work (overrun alerts), calls
/// waiting; `alerts` alerts in all: faults first (the first opens the incident
/// whose script is on the wall), the rest ACW overruns.
async fn floor(d: &TestDaemon, agents: usize, alerts: usize) {
    let mut b = d.bridge(Some("acd")).await;
    let faults = if alerts == 0 { 0 } else { (alerts / 3).max(1) };
    let overruns = alerts - faults;
    let names =
        ["Emily Chen", "Wang Fang", "Li Na", "Zhang Wei", "Christopher Montgomery", "Ana", "Liu Yang"];
    let mut batch = Vec::new();
    for i in 0..agents {
        let id = format!("A{i:04}");
        batch.push(json!({"type":"agent_login","ts":ts_now(-900.0),"agent":id,"name":format!("{} {i}", names[i % names.len()]),"team":format!("team-{}", i % 8 + 1)}));
        let state = if i < overruns { "acw" } else { ["ready", "talking", "not_ready", "hold"][i % 4] };
        let mut e =
            json!({"type":"agent_state","ts":ts_now(-600.0 + i as f64 * 0.01),"agent":id,"state":state});
        if state == "not_ready" {
            e["reason"] = json!("break");
        }
        batch.push(e);
        if batch.len() >= 400 {
            b.send(Value::Array(std::mem::take(&mut batch)).to_string()).await;
        }
    }
    for (k, q) in ["billing", "cards", "tech"].iter().enumerate() {
        batch.push(json!({"type":"call_offered","ts":ts_now(-30.0),"call":format!("C{k}"),"queue":q}));
    }
    b.send(Value::Array(std::mem::take(&mut batch)).to_string()).await;
    for f in 0..faults {
        let component = if f == 0 { "trunk-2".to_string() } else { format!("gw-{f}") };
        b.send(json!({"type":"fault","ts":ts_now(0.0),"component":component,"status":"down"}).to_string())
            .await;
    }
    d.wait_floor(|f| f["logged_in"].as_u64() == Some(agents as u64)).await;
}

/// Every check at once, in the page: a list of what is wrong (empty when right).
const CHECK: &str = r##"
const bad = [];
const W = innerWidth, H = innerHeight, de = document.documentElement;
if (de.scrollWidth > W || de.scrollHeight > H) bad.push(`document scrolls: ${de.scrollWidth}x${de.scrollHeight} in ${W}x${H}`);
const inside = (e, what) => {
  const r = e.getBoundingClientRect();
  if (r.width === 0 && r.height === 0) return;
  if (r.left < -1 || r.top < -1 || r.right > W + 1 || r.bottom > H + 1) bad.push(`${what} off screen: ${JSON.stringify([r.left, r.top, r.right, r.bottom])}`);
};
for (const sel of ["header.bar", "#alerts", "#incident", "#queues", "#states", "#teams", "#flow"]) {
  const e = document.querySelector(sel);
  if (e && !e.hidden) inside(e, sel);
}
const teams = document.getElementById("teams").getBoundingClientRect();
for (const sel of [".agent", ".team-head", ".tile", ".alert", ".script"]) {
  let n = 0;
  for (const e of document.querySelectorAll(sel)) {
    if (!e.offsetParent && getComputedStyle(e).display !== "contents") continue;
    const r = e.getBoundingClientRect();
    if (r.width === 0) continue;
    inside(e, sel + " " + (e.dataset.agent || e.dataset.queue || ""));
    if ((sel === ".agent" || sel === ".team-head") && r.bottom > teams.bottom + 1 && n++ < 3) bad.push(`${sel} ${e.dataset.agent || ""} below the agents' region`);
  }
}
for (const sel of ["#queues", "#alerts", "#states", ".tile", ".agent", "#incident", "#flow .team"]) {
  for (const e of document.querySelectorAll(sel)) {
    if (e.hidden || !e.offsetParent) continue;
    if (e.scrollHeight > e.clientHeight + 1 || e.scrollWidth > e.clientWidth + 1) bad.push(`${sel} ${e.dataset.queue || e.dataset.agent || ""} clips: ${e.scrollWidth}x${e.scrollHeight} in ${e.clientWidth}x${e.clientHeight}`);
  }
}
const texts = ".an, .at, .ar, .qname, .qwin, .m .v, .m .k, .figs, .counts, .shift, .trend, .fine, .chip, .chip .k, .alert .head, .alert .live, .alert .msg, .alert-foot, .script-title, .team-head, .tname, .tatt li > span, #clock, #conn, #lang-toggle";
let over = 0;
for (const e of document.querySelectorAll(texts)) {
  if (!e.offsetParent || e.clientWidth === 0) continue;
  if (e.scrollWidth > e.clientWidth + 1 && over++ < 5) bad.push(`text overflows: ${e.className || e.id} "${e.textContent.slice(0, 40)}" ${e.scrollWidth} > ${e.clientWidth}`);
}
return bad;
"##;

/// How the wall draws the agents in a case: as the config decides (cells up to
/// `wallboard.agent_cells_max`, 1,000 by default, team summaries past it), or
/// cells whatever their number (`?agents=cells`, a TV that wants every agent).
#[derive(Clone, Copy, PartialEq)]
enum Agents {
    AsConfigured,
    Cells,
}

async fn case(w: u32, h: u32, lang: &str, alerts: usize, agents: usize, how: Agents) {
    let d = TestDaemon::with_config(config()).await;
    floor(&d, agents, alerts).await;
    let c = browser(lang, w, h).await;
    let summary = how == Agents::AsConfigured && agents > 1000;
    let url =
        format!("http://{}/?lang={lang}{}", d.addr, if how == Agents::Cells { "&agents=cells" } else { "" });
    let outcome = async {
        c.goto(&url).await.expect("open the wall");
        // The window includes the browser's own bars: size it so the page gets w×h.
        let chrome = c
            .execute("return [outerWidth - innerWidth, outerHeight - innerHeight]", vec![])
            .await
            .expect("sizes");
        let extra = |i: usize| u32::try_from(chrome[i].as_u64().unwrap_or(0)).unwrap_or(0);
        c.set_window_size(w + extra(0), h + extra(1)).await.expect("window size");
        let what = format!(
            "{w}x{h} {lang} {alerts} alerts {agents} agents{}",
            if summary { " (team summaries)" } else { "" }
        );
        let deadline = tokio::time::Instant::now() + PATIENCE * 2;
        // Everything on the page: the agents, the alerts (overruns fire on their
        // timers within a second), the script once there is an incident.
        // A summary keeps no cells in the document: its tiles count the agents.
        let shown = if summary {
            "[...document.querySelectorAll('#flow .team .ttotal')].reduce((n, e) => n + Number(e.textContent.replace(/[^0-9]/g, '')), 0)"
        } else {
            "document.querySelectorAll('.agent').length"
        };
        let ready = format!(
            "return {shown} === {agents} && \
             (document.querySelectorAll('.alert').length > 0) === {} && \
             !document.getElementById('incident').hidden === {} && document.querySelectorAll('.tile').length === 3",
            alerts > 0,
            alerts > 0
        );
        loop {
            if c.execute(&ready, vec![]).await.expect("script") == Value::Bool(true) {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "{what}: the wall never showed the floor");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // Let every alert arrive and a frame or two settle.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let vp = c.execute("return [innerWidth, innerHeight]", vec![]).await.expect("viewport");
        assert_eq!(vp, json!([w, h]), "{what}: the browser's viewport");
        let bad = c.execute(CHECK, vec![]).await.expect("checks run");
        assert_eq!(bad, json!([]), "{what}: {bad}");
        let mode =
            c.execute("return document.getElementById('teams').className", vec![]).await.expect("script");
        assert_eq!(
            mode.as_str().is_some_and(|m| m.contains("d-sum")),
            summary,
            "{what}: the agents' mode {mode}"
        );
        if summary {
            // Each team's tile lists the agents over their ACW limit: the
            // floor's first `overruns` agents, one per team here.
            let listed = c
                .execute("return [...document.querySelectorAll('.tatt li:not(.none):not(.more)')].map(e => e.dataset.agent).sort()", vec![])
                .await
                .expect("script");
            let overruns = alerts - if alerts == 0 { 0 } else { (alerts / 3).max(1) };
            let want: Vec<String> = (0..overruns).map(|i| format!("A{i:04}")).collect();
            assert_eq!(listed, json!(want), "{what}: the agents over their limits in the team tiles");
        }
        if alerts > 0 {
            let seen = c
                .execute(
                    "const e = document.querySelector('.alert.incident-alert'); if (!e) return false; \
                     const r = e.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight && e === document.querySelector('.alert');",
                    vec![],
                )
                .await
                .expect("script");
            assert_eq!(seen, true, "{what}: the incident's alert is not the first line on screen");
        }
        if alerts >= 12 {
            // More lines than the budget: counted, and a page number shown.
            let foot = c
                .execute(
                    "const f = document.querySelector('.alert-foot'); return f ? f.textContent : null",
                    vec![],
                )
                .await
                .expect("script");
            assert!(
                foot.as_str().is_some_and(|f| f.contains("/")),
                "{what}: no count of the hidden alerts: {foot}"
            );
        }
        if lang == "en" {
            let cjk = c.execute(&crate::wallboard::cjk_script(&[]), vec![]).await.expect("script");
            assert_eq!(cjk, json!([]), "{what}: Chinese on the English page");
            let tile = c
                .execute(
                    "return document.querySelector(\"[data-queue='billing'] .qname\").textContent",
                    vec![],
                )
                .await
                .expect("script");
            assert_eq!(tile, "Billing", "{what}: the queue's English display name");
        }
    };
    let outcome = std::panic::AssertUnwindSafe(outcome);
    let r = futures_util::FutureExt::catch_unwind(outcome).await;
    let _ = c.close().await;
    if let Err(p) = r {
        std::panic::resume_unwind(p);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wall_fits_every_screen_at_every_floor_size_in_both_languages() {
    // Each size, language, alert count and floor size at least once, the worst
    // together (the small screen with the most alerts and agents).
    case(1280, 720, "zh-CN", 12, 2000, Agents::AsConfigured).await;
    case(1920, 1080, "en", 3, 60, Agents::AsConfigured).await;
    case(3840, 2160, "en", 0, 500, Agents::AsConfigured).await;
    case(1920, 1080, "zh-CN", 12, 500, Agents::AsConfigured).await;
    case(3840, 2160, "zh-CN", 3, 2000, Agents::Cells).await;
    case(1280, 720, "en", 12, 60, Agents::AsConfigured).await;
    case(1920, 1080, "en", 12, 2000, Agents::AsConfigured).await;
}

/// A team as a summary tile (`?agents=summary`, as past `agent_cells_max`)
/// still tells a lead whom to walk to: the agents over their ACW limit, the
/// longest first, and it follows them — one who goes back to ready leaves the
/// list and is counted as ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_summary_lists_the_agents_over_their_limits_and_follows_them() {
    let d = TestDaemon::with_config(config()).await;
    let mut b = d.bridge(Some("acd")).await;
    let mut batch = Vec::new();
    for i in 0..6 {
        let id = format!("S{i}");
        batch.push(json!({"type":"agent_login","ts":ts_now(-900.0),"agent":id,"name":format!("Agent {i}"),"team":"team-1"}));
        // S0 in ACW for 10 minutes, S1 for 8: both past the 2-minute default.
        let (state, since) = match i {
            0 => ("acw", -600.0),
            1 => ("acw", -480.0),
            _ => ("ready", -300.0),
        };
        batch.push(json!({"type":"agent_state","ts":ts_now(since),"agent":id,"state":state}));
    }
    b.send(Value::Array(batch).to_string()).await;
    d.wait_floor(|f| f["logged_in"].as_u64() == Some(6)).await;
    let addr = d.addr;
    with_browser("en-US", |c| {
        let b = &mut b;
        async move {
            c.goto(&format!("http://{addr}/?lang=en&agents=summary")).await.expect("open the wall");
            // Team-1's tile: who is listed, ready and overrun counts; cells in the document.
            let shows = |want: Value| {
                format!(
                    "const t = document.querySelector(\"[data-team='team-1']\"); if (!t) return null; \
                     const v = [[...t.querySelectorAll('.tatt li:not(.none):not(.more) .aname')].map(e => e.textContent), \
                     t.querySelector('.chip.st-ready .n').textContent, t.querySelector('.chip.st-overrun .n').textContent, \
                     document.querySelectorAll('.agent').length]; return JSON.stringify(v) === {:?};",
                    want.to_string()
                )
            };
            // The longest overrun first; no cells in the document.
            let want = json!([["Agent 0", "Agent 1"], "4", "2", 0]);
            until(&c, &format!("the team tile as {want}"), &shows(want.clone())).await;
            b.send(json!({"type":"agent_state","ts":ts_now(0.0),"agent":"S0","state":"ready"}).to_string()).await;
            let want = json!([["Agent 1"], "5", "1", 0]);
            until(&c, &format!("the team tile as {want}"), &shows(want.clone())).await;
        }
    })
    .await;
}

/// One queue's alerts share one line (triage): its name and the kinds, then
/// the live figures — "now" said once, the rule's window named once after the
/// figures it applies to — and no fire-time message, which would not fit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_queues_alerts_share_a_line_with_their_live_figures() {
    let mut cfg = config();
    cfg.alerts.min_calls = 5;
    cfg.alerts.answer_rate_min = 0.8;
    let d = TestDaemon::with_config(cfg).await;
    let mut b = d.bridge(Some("acd")).await;
    let mut batch =
        vec![json!({"type":"agent_login","ts":ts_now(-300.0),"agent":"A1","name":"Ann Lee","team":"team-1"})];
    // Ten calls; eight give up, two are answered after 40 s.
    for i in 0..10 {
        batch.push(
            json!({"type":"call_offered","ts":ts_now(-100.0),"call":format!("C{i}"),"queue":"billing"}),
        );
    }
    for i in 0..8 {
        batch.push(json!({"type":"call_abandoned","ts":ts_now(-80.0),"call":format!("C{i}")}));
    }
    for i in 8..10 {
        batch.push(json!({"type":"call_answered","ts":ts_now(-60.0),"call":format!("C{i}"),"agent":"A1"}));
    }
    b.send(Value::Array(batch).to_string()).await;
    let addr = d.addr;
    with_browser("en-US", |c| async move {
        c.goto(&format!("http://{addr}/?lang=en")).await.expect("open the wall");
        // Billing's line, once it groups both alerts: head, live figures, message hidden.
        let v = until(
            &c,
            "a line of Billing's two alerts",
            "const l = [...document.querySelectorAll('.alert')].find(e => e.querySelector('.head').textContent.startsWith('Billing')); \
             if (!l || l.querySelector('.head').textContent.split(' · ').length < 3) return null; \
             return [l.querySelector('.head').textContent, l.querySelector('.live').textContent, l.querySelector('.msg').hidden]",
        )
        .await;
        let head = v[0].as_str().unwrap_or_default();
        for kind in ["Low answer rate", "Low service level"] {
            assert!(head.contains(kind), "{kind} on the line: {head}");
        }
        let live = v[1].as_str().unwrap_or_default();
        assert!(live.starts_with("now ") && live.matches("now").count() == 1, "now once: {live}");
        assert!(live.contains("Answer rate 20.0%") && live.contains("Service level 0.0%"), "{live}");
        assert_eq!(live.matches(" min)").count(), 1, "the window once: {live}");
        assert_eq!(v[2], true, "no fire-time message on a line of several");
        let billing = js(
            &c,
            "return [...document.querySelectorAll('.alert .head')].filter(e => e.textContent.includes('Billing')).length",
        )
        .await;
        assert_eq!(billing, 1, "one line for the queue");
    })
    .await;
}
