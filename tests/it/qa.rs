//! Quality assurance (issue 21): finished calls reach the call log through the
//! engine and the store; a rule registered before its period picks the same
//! calls on every run and cannot change; a review's appeal goes through the
//! lead and the three-party review with roles enforced and every step audited.

use std::time::Duration;

use floorwatch::config::{Env, parse};
use serde_json::{Value, json};

use crate::harness::{PATIENCE, TestDaemon, http_send, ts_now};

fn people_toml() -> String {
    let t = crate::harness::token_toml;
    [
        // An agent's token: a viewer whose name is the agent id.
        t("A1", "viewer", "", "a1-tok"),
        t("A2", "viewer", "", "a2-tok"),
        t("lead-team-1", "lead", "\"team-1\"", "l-tok"),
        t("lead-team-2", "lead", "\"team-2\"", "l2-tok"),
        t("qa-sup", "supervisor", "", "s-tok"),
        t("root", "admin", "", "r-tok"),
    ]
    .concat()
}

fn json_of(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or(Value::Null)
}

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

pub const DAY: f64 = 86_400.0;

/// Two agents of team-1, eight answered calls each over the two days from
/// tomorrow (a period a rule can still be registered for).
pub fn answered_traffic() -> Vec<Value> {
    let mut ev = vec![
        json!({"type":"agent_login","ts":ts_now(-10.0),"agent":"A1","team":"team-1"}),
        json!({"type":"agent_login","ts":ts_now(-10.0),"agent":"A2","team":"team-1"}),
    ];
    for (a, agent) in ["A1", "A2"].iter().enumerate() {
        for i in 0..8 {
            let at =
                DAY + 7_200.0 + f64::from(i) * 9_000.0 + a as f64 * 600.0 + if i >= 4 { DAY } else { 0.0 };
            let call = format!("{agent}-{i}");
            let talk = 60.0 + f64::from(i) * 30.0;
            ev.push(json!({"type":"call_offered","ts":ts_now(at),"call":call,"queue":"billing","caller":"13800138000"}));
            ev.push(json!({"type":"call_answered","ts":ts_now(at + 10.0),"call":call,"agent":agent}));
            ev.push(json!({"type":"call_ended","ts":ts_now(at + 10.0 + talk),"call":call,"agent":agent}));
        }
    }
    ev
}

/// Two agents, eight calls each over two days starting tomorrow (a period a
/// rule can still be registered for), and one abandoned call.
fn traffic() -> Vec<Value> {
    let mut ev = answered_traffic();
    ev.push(json!({"type":"call_offered","ts":ts_now(DAY + 100.0),"call":"lost","queue":"billing","caller":"13900139000"}));
    ev.push(json!({"type":"call_abandoned","ts":ts_now(DAY + 130.0),"call":"lost"}));
    ev
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_rules_reviews_and_an_appeal() {
    let cfg = parse(&people_toml(), "qa.toml", &Env::new()).expect("valid config");
    let d = TestDaemon::with_config(cfg).await;
    let mut b = d.bridge(Some("acd")).await;
    b.send(Value::Array(traffic()).to_string()).await;
    let calls = eventually(&d, "/api/calls", "s-tok", |v| v.as_array().is_some_and(|l| l.len() == 17)).await;

    // The call log: the record, the caller whole for a supervisor, masked for a viewer.
    let c =
        calls.as_array().and_then(|l| l.iter().find(|c| c["call"] == "A1-2")).cloned().unwrap_or_default();
    assert_eq!((c["agent"].as_str(), c["queue"].as_str()), (Some("A1"), Some("billing")));
    assert_eq!((c["wait_secs"].as_f64(), c["talk_secs"].as_f64()), (Some(10.0), Some(120.0)));
    assert_eq!(c["caller"], "13800138000");
    let (_, masked) = http_send(d.addr, "GET", "/api/calls?agent=A1", "", Some("a1-tok")).await;
    let masked = json_of(&masked);
    assert_eq!(masked.as_array().map(Vec::len), Some(8), "{masked}");
    assert!(masked[0]["caller"].as_str().is_some_and(|n| n != "13800138000" && n.contains('*')), "{masked}");
    let (s, csv) = http_send(d.addr, "GET", "/api/calls?queue=billing&format=csv", "", Some("s-tok")).await;
    assert_eq!(s, 200);
    assert!(csv.trim_start_matches('\u{feff}').starts_with("call,agent,queue,offered_at"), "{csv}");
    assert_eq!(csv.lines().count(), 18, "a header and 17 calls");
    let lost =
        calls.as_array().and_then(|l| l.iter().find(|c| c["call"] == "lost")).cloned().unwrap_or_default();
    assert_eq!((lost["agent"].clone(), lost["wait_secs"].as_f64()), (Value::Null, Some(30.0)));

    // A rule: only before its period, only by a supervisor, never changed after.
    let rule = |from: f64, rate: f64| {
        json!({"name":"this week","from":ts_now(from),"to":ts_now(from + 7.0 * DAY),"rate":rate,
               "per_agent_min":3,"seed":"published-2026-w49","timezone":"Asia/Shanghai"})
    };
    let (s, r) =
        http_send(d.addr, "POST", "/api/qa/rules", &rule(-60.0, 0.05).to_string(), Some("s-tok")).await;
    assert_eq!(s, 422, "a period already started: {r}");
    assert_eq!(json_of(&r)["field"], "from");
    let body = rule(3_600.0, 0.05);
    let (s, _) = http_send(d.addr, "POST", "/api/qa/rules", &body.to_string(), Some("l-tok")).await;
    assert_eq!(s, 403, "a lead may not register a rule");
    let (s, r) = http_send(d.addr, "POST", "/api/qa/rules", &body.to_string(), Some("s-tok")).await;
    assert_eq!(s, 201, "{r}");
    let r = json_of(&r);
    let id = r["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(r["sha256"].as_str().map(str::len), Some(64));
    let (s, again) = http_send(d.addr, "POST", "/api/qa/rules", &body.to_string(), Some("s-tok")).await;
    assert_eq!((s, json_of(&again)["id"].as_str()), (200, Some(id.as_str())), "the same rule again");
    let mut changed = rule(3_600.0, 0.5);
    changed["id"] = json!(id);
    let (s, r2) = http_send(d.addr, "POST", "/api/qa/rules", &changed.to_string(), Some("s-tok")).await;
    assert_eq!(s, 409, "a registered rule cannot change: {r2}");

    // Its sample: the same list on every run, by anyone; each agent's minimum met.
    let path = format!("/api/qa/rules/{id}/sample");
    let (_, first) = http_send(d.addr, "GET", &path, "", Some("a1-tok")).await;
    let (_, second) = http_send(d.addr, "GET", &path, "", Some("s-tok")).await;
    let pick = |v: &Value| -> Vec<String> {
        v["calls"]
            .as_array()
            .map(|l| l.iter().filter_map(|c| c["call"].as_str().map(String::from)).collect())
            .unwrap_or_default()
    };
    let (first, second) = (json_of(&first), json_of(&second));
    assert_eq!(pick(&first), pick(&second));
    assert_eq!(first["eligible"], 16, "{first}");
    for agent in ["A1", "A2"] {
        let n = pick(&first).iter().filter(|c| c.starts_with(agent)).count();
        assert!(n >= 3, "{agent}: {n} picked");
    }
    assert!(!pick(&first).contains(&"lost".to_owned()));
    let sampled = pick(&first).into_iter().find(|c| c.starts_with("A1")).unwrap_or_default();

    // A review, by QA (a supervisor token) only.
    let review = json!({"call": sampled, "rule": id, "deductions":[{"item":"greeting","points":5},{"item":"accuracy","points":10}]});
    let (s, _) = http_send(d.addr, "POST", "/api/qa/reviews", &review.to_string(), Some("a1-tok")).await;
    assert_eq!(s, 403);
    let (s, rv) = http_send(d.addr, "POST", "/api/qa/reviews", &review.to_string(), Some("s-tok")).await;
    assert_eq!(s, 201, "{rv}");
    let rv = json_of(&rv);
    assert_eq!((rv["score"].as_f64(), rv["grade"].as_str()), (Some(85.0), Some("good")));
    let rid = rv["id"].as_i64().unwrap_or_default();
    let (s, _) = http_send(d.addr, "POST", "/api/qa/reviews", &review.to_string(), Some("s-tok")).await;
    assert_eq!(s, 409, "one review per call");
    // The agent sees their own reviews, not another's.
    let own = eventually(&d, "/api/qa/reviews", "a1-tok", |v| {
        v["reviews"].as_array().is_some_and(|l| l.len() == 1)
    })
    .await;
    assert_eq!(own["score"]["mean"].as_f64(), Some(85.0));
    let (s, _) = http_send(d.addr, "GET", "/api/qa/reviews?agent=A1", "", Some("a2-tok")).await;
    assert_eq!(s, 403);

    // The appeal: by the agent, for a deducted item, with a reason.
    let appeal = json!({"items":["accuracy"],"reason":"the answer followed the script in force"}).to_string();
    let apath = format!("/api/qa/reviews/{rid}/appeal");
    let (s, _) = http_send(d.addr, "POST", &apath, &appeal, Some("a2-tok")).await;
    assert_eq!(s, 403, "only the reviewed agent appeals");
    let bad = json!({"items":["closing"],"reason":"x"}).to_string();
    let (s, _) = http_send(d.addr, "POST", &apath, &bad, Some("a1-tok")).await;
    assert_eq!(s, 422, "closing was not deducted");
    let (s, ap) = http_send(d.addr, "POST", &apath, &appeal, Some("a1-tok")).await;
    assert_eq!(s, 201, "{ap}");
    let aid = json_of(&ap)["id"].as_i64().unwrap_or_default();
    assert_eq!(json_of(&ap)["status"], "filed");

    // The agent's lead accepts it to the three-party review; another team's may not.
    let accept = format!("/api/qa/appeals/{aid}/accept");
    let decide = format!("/api/qa/appeals/{aid}/decide");
    let verdict =
        json!({"decision":"amended","score":95,"qa":"qa-zhang","note":"script in force"}).to_string();
    let (s, _) = http_send(d.addr, "POST", &decide, &verdict, Some("s-tok")).await;
    assert_eq!(s, 409, "not accepted yet");
    // A lead's reach is judged by the agent's team on the floor now.
    d.wait_floor(|f| {
        f["agents"].as_array().is_some_and(|a| a.iter().any(|x| x["id"] == "A1" && x["team"] == "team-1"))
    })
    .await;
    let (s, _) = http_send(d.addr, "POST", &accept, "", Some("l2-tok")).await;
    assert_eq!(s, 403, "a lead of another team");
    let (s, acc) = http_send(d.addr, "POST", &accept, "", Some("l-tok")).await;
    assert_eq!((s, json_of(&acc)["status"].as_str()), (200, Some("accepted")), "{acc}");
    let (s, _) = http_send(d.addr, "POST", &decide, &verdict, Some("l-tok")).await;
    assert_eq!(s, 403, "the panel's decision is entered by its supervisor");
    let (s, dec) = http_send(d.addr, "POST", &decide, &verdict, Some("s-tok")).await;
    assert_eq!(s, 200, "{dec}");
    let dec = json_of(&dec);
    assert_eq!(dec["status"], "amended");
    assert_eq!(dec["panel"], json!({"supervisor":"qa-sup","lead":"lead-team-1","qa":"qa-zhang"}));
    // The agent sees it decided, and the review's new score.
    let (_, mine) = http_send(d.addr, "GET", "/api/qa/appeals", "", Some("a1-tok")).await;
    assert_eq!(json_of(&mine)[0]["status"], "amended");
    let (_, own) = http_send(d.addr, "GET", "/api/qa/reviews", "", Some("a1-tok")).await;
    assert_eq!(json_of(&own)["reviews"][0]["score"].as_f64(), Some(95.0));

    // Every step audited, with the token's name as the actor.
    let (_, audit) = http_send(d.addr, "GET", "/api/audit", "", Some("r-tok")).await;
    let steps: Vec<(String, String)> = json_of(&audit)
        .as_array()
        .map(|l| {
            l.iter()
                .filter(|a| a["action"].as_str().is_some_and(|x| x.starts_with("qa.")))
                .map(|a| {
                    (
                        a["action"].as_str().unwrap_or_default().into(),
                        a["by"].as_str().unwrap_or_default().into(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let mut steps = steps;
    steps.sort();
    let mut want: Vec<(String, String)> = [
        ("qa.rule.register", "qa-sup"),
        ("qa.review", "qa-sup"),
        ("qa.appeal.file", "A1"),
        ("qa.appeal.accepted", "lead-team-1"),
        ("qa.appeal.decide", "qa-sup"),
    ]
    .iter()
    .map(|(a, b)| ((*a).into(), (*b).into()))
    .collect();
    want.sort();
    assert_eq!(steps, want);
    d.shutdown().await.expect("clean shutdown");
}

/// One simulated call: (offer ms, queue, agent or abandoned, wait s, talk s).
type Simulated = (i64, &'static str, Option<&'static str>, i64, i64);
/// Whether a simulated call belongs to a report's group.
type Member = dyn Fn(&Simulated) -> bool;

/// The report's figures equal those computed here from the same stream: calls
/// over the last 30 hours, some abandoned, waits around the 20 s threshold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_figures_match_the_stream() {
    use chrono::TimeZone;
    let cfg = parse(&people_toml(), "qa.toml", &Env::new()).expect("valid config");
    let tz = cfg.floor.timezone;
    let d = TestDaemon::with_config(cfg).await;
    let mut b = d.bridge(Some("acd")).await;
    let now = chrono::Utc::now().timestamp_millis();
    let mut ev = vec![
        json!({"type":"agent_login","ts":ts_now(-40.0 * 3600.0),"agent":"A1","team":"team-1"}),
        json!({"type":"agent_login","ts":ts_now(-40.0 * 3600.0),"agent":"A2","team":"team-2"}),
    ];
    let mut stream: Vec<Simulated> = Vec::new();
    for i in 0..60i64 {
        let at = now - 30 * 3_600_000 + i * 1_700_000;
        let queue = if i % 3 == 0 { "sales" } else { "billing" };
        let agent = match i % 5 {
            4 => None,
            k if k % 2 == 0 => Some("A1"),
            _ => Some("A2"),
        };
        stream.push((at, queue, agent, 5 + (i * 7) % 30, 40 + (i * 13) % 300));
    }
    for (i, (at, queue, agent, wait, talk)) in stream.iter().enumerate() {
        let t = |ms: i64| floorwatch::event::format_ts(ms);
        let call = format!("R{i}");
        ev.push(json!({"type":"call_offered","ts":t(*at),"call":call,"queue":queue}));
        match agent {
            Some(a) => {
                ev.push(json!({"type":"call_answered","ts":t(at + wait * 1000),"call":call,"agent":a}));
                ev.push(json!({"type":"call_ended","ts":t(at + (wait + talk) * 1000),"call":call,"agent":a}));
            }
            None => ev.push(json!({"type":"call_abandoned","ts":t(at + wait * 1000),"call":call})),
        }
    }
    b.send(Value::Array(ev).to_string()).await;
    eventually(&d, "/api/calls", "s-tok", |v| v.as_array().is_some_and(|l| l.len() == 60)).await;

    // Yesterday in the floor's zone: a day the stream covers in part.
    let day = tz.timestamp_millis_opt(now - 24 * 3_600_000).single().expect("time").date_naive();
    let in_day = |ms: i64| tz.timestamp_millis_opt(ms).single().is_some_and(|t| t.date_naive() == day);
    // Calls' teams are the floor's (its snapshot publishes a moment after the
    // events); a team row can come earlier from the agents' state log alone.
    let path = format!("/api/reports?period=day&date={day}");
    let rep = eventually(&d, &path, "a1-tok", |v| {
        v["rows"].as_array().is_some_and(|l| l.iter().any(|r| r["by"] == "team" && r["offered"] != 0))
    })
    .await;
    let rows = rep["rows"].as_array().cloned().unwrap_or_default();
    let row = |by: &str, id: &str| rows.iter().find(|r| r["by"] == by && r["id"] == id).cloned();
    let groups: [(&str, &str, &Member); 5] = [
        ("agent", "A1", &|c| c.2 == Some("A1")),
        ("agent", "A2", &|c| c.2 == Some("A2")),
        ("team", "team-2", &|c| c.2 == Some("A2")),
        ("queue", "billing", &|c| c.1 == "billing"),
        ("queue", "sales", &|c| c.1 == "sales"),
    ];
    for (by, id, member) in groups {
        let cs: Vec<_> = stream.iter().filter(|c| in_day(c.0) && member(c)).collect();
        let Some(r) = row(by, id) else {
            assert!(cs.is_empty(), "no row for {by} {id}: {rep}");
            continue;
        };
        let handled: Vec<_> = cs.iter().filter(|c| c.2.is_some()).collect();
        let n = handled.len() as f64;
        assert_eq!(r["offered"].as_u64(), Some(cs.len() as u64), "{by} {id}");
        assert_eq!(r["handled"].as_u64(), Some(handled.len() as u64), "{by} {id}");
        let close = |v: &Value, want: f64| v.as_f64().is_some_and(|x| (x - want).abs() < 1e-9);
        assert!(close(&r["answer_rate"], n / cs.len() as f64), "{by} {id}: {r}");
        let aht = handled.iter().map(|c| c.4 as f64).sum::<f64>() / n;
        assert!(close(&r["aht_secs"], aht), "{by} {id}: aht {aht} vs {r}");
        let asa = handled.iter().map(|c| c.3 as f64).sum::<f64>() / n;
        assert!(close(&r["asa_secs"], asa), "{by} {id}: asa {asa} vs {r}");
        let sl = handled.iter().filter(|c| c.3 <= 20).count() as f64 / cs.len() as f64;
        assert!(close(&r["service_level"], sl), "{by} {id}: sl {sl} vs {r}");
    }
    let (s, csv) = http_send(
        d.addr,
        "GET",
        &format!("/api/reports?period=week&date={day}&format=csv"),
        "",
        Some("s-tok"),
    )
    .await;
    assert_eq!(s, 200);
    assert!(csv.contains("by,id,offered,handled"), "{csv}");
    // The printable page: both languages, the grade bands, print CSS, nothing fetched.
    for (lang, tag, words) in [
        ("zh-CN", "zh-CN", ["坐席", "班组", "队列", "优秀 ≥ 90", "不合格 < 75"]),
        ("zh", "zh-CN", ["坐席", "班组", "队列", "优秀 ≥ 90", "不合格 < 75"]),
        ("en", "en", ["Agents", "Teams", "Queues", "excellent ≥ 90", "fail < 75"]),
    ] {
        let (s, html) = http_send(
            d.addr,
            "GET",
            &format!("/api/reports?period=month&date={day}&format=html&lang={lang}"),
            "",
            Some("s-tok"),
        )
        .await;
        assert_eq!(s, 200);
        assert!(words.iter().all(|w| html.contains(w)) && html.contains("<table>"), "{lang}: {html}");
        assert!(html.contains(&format!("<html lang=\"{tag}\"")) && html.contains("@media print"), "{html}");
        assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("<link"), "{html}");
        // Every agent's row is on the page.
        assert!(html.contains("<td>A1</td>") && html.contains("<td>A2</td>"), "{html}");
    }
    let (s, _) = http_send(
        d.addr,
        "GET",
        &format!("/api/reports?period=day&date={day}&format=html&lang=fr"),
        "",
        Some("s-tok"),
    )
    .await;
    assert_eq!(s, 400, "zh-CN or en");
    // CSV: a header row, then one line per row the JSON has, the same figures.
    let (s, csv) = http_send(
        d.addr,
        "GET",
        &format!("/api/reports?period=day&date={day}&format=csv"),
        "",
        Some("s-tok"),
    )
    .await;
    assert_eq!(s, 200);
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some(
            "by,id,offered,handled,abandoned,answer_rate,aht_secs,asa_secs,service_level,qa_score,qa_grade,\
             logged_in_secs,ready_secs,ringing_secs,talk_secs,hold_secs,acw_secs,not_ready_secs,\
             not_ready_by_reason,acw_share,occupancy,acw_overruns,busy_overruns"
        )
    );
    assert_eq!(lines.len(), rows.len() + 1, "{csv}");
    for r in &rows {
        let start = format!(
            "{},{},{},{},",
            r["by"].as_str().unwrap_or_default(),
            r["id"].as_str().unwrap_or_default(),
            r["offered"],
            r["handled"]
        );
        assert!(lines.iter().any(|l| l.starts_with(&start)), "{start} not in {csv}");
    }
    let (s, _) =
        http_send(d.addr, "GET", "/api/reports?period=year&date=2026-01-01", "", Some("s-tok")).await;
    assert_eq!(s, 400);
    d.shutdown().await.expect("clean shutdown");
}

/// Months since January 2000 (the rotation's month 0), computed here apart
/// from the daemon.
fn month_index(year: i32, month: u32) -> i64 {
    (i64::from(year) - 2000) * 12 + i64::from(month) - 1
}

fn agents_of(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|l| l.iter().filter_map(|x| x["agent"].as_str().map(String::from)).collect())
        .unwrap_or_default()
}

/// The live-monitoring rotation: team-1 is three rostered agents (two of them
/// with Chinese names) and one seen only on the floor; its order is pinyin
/// order rotated by the month, and sessions are recorded by QA or the team's
/// lead only, audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitoring_rotation_goes_through_the_team_in_pinyin_order() {
    use chrono::Datelike;
    let cfg = parse(&people_toml(), "qa.toml", &Env::new()).expect("valid config");
    let tz = cfg.floor.timezone;
    let d = TestDaemon::with_config(cfg).await;
    let today = chrono::Utc::now().with_timezone(&tz).date_naive();
    let month = format!("{:04}-{:02}", today.year(), today.month());
    let roster = json!([
        {"date": today.to_string(), "shift": "day", "team": "team-1", "agent": "A1", "name": "王芳"},
        {"date": today.to_string(), "shift": "day", "team": "team-1", "agent": "A2", "name": "Alice"},
        {"date": today.to_string(), "shift": "day", "team": "team-1", "agent": "A3", "name": "陈明"},
        {"date": today.to_string(), "shift": "day", "team": "team-2", "agent": "B1", "name": "Bob"},
    ]);
    let (s, body) = http_send(d.addr, "PUT", "/api/roster", &roster.to_string(), Some("s-tok")).await;
    assert_eq!(s, 200, "{body}");
    // Everyone signs in on team-1; A4 is on no roster, and A3's login name is
    // another spelling of its roster name (the roster's wins where it has one).
    let mut b = d.bridge(Some("acd")).await;
    let login = |agent: &str, name: &str| json!({"type":"agent_login","ts":ts_now(-5.0),"agent":agent,"name":name,"team":"team-1"});
    b.send(
        json!([login("A1", "王芳"), login("A2", "Alice"), login("A3", "Chen Ming"), login("A4", "Lee")])
            .to_string(),
    )
    .await;
    d.wait_floor(|f| f["agents"].as_array().is_some_and(|a| a.iter().any(|x| x["id"] == "A4"))).await;

    // Pinyin order: Alice, 陈明 (chen), Lee, 王芳 (wang); rotated left by the month's index.
    let base = ["A2", "A3", "A4", "A1"];
    let k = month_index(today.year(), today.month()).rem_euclid(4) as usize;
    let want: Vec<String> = base[k..].iter().chain(&base[..k]).map(|a| (*a).to_owned()).collect();
    let path = format!("/api/qa/rotation?team=team-1&month={month}");
    let (s, body) = http_send(d.addr, "GET", &path, "", Some("a1-tok")).await;
    assert_eq!(s, 200, "{body}");
    let rot = json_of(&body);
    assert_eq!(agents_of(&rot["order"]), want, "{rot}");
    assert_eq!(rot["order"][0]["position"], 1);
    assert_eq!(rot["next"].as_str(), Some(want[0].as_str()));
    let names: Vec<&str> =
        rot["order"].as_array().map_or(Vec::new(), |l| l.iter().filter_map(|x| x["name"].as_str()).collect());
    assert!(names.contains(&"陈明") && names.contains(&"Lee"), "{rot}");
    // Next month (no roster yet: the floor's names) ends with this month's first.
    let next_month = if today.month() == 12 {
        format!("{:04}-01", today.year() + 1)
    } else {
        format!("{:04}-{:02}", today.year(), today.month() + 1)
    };
    let (s, body) = http_send(
        d.addr,
        "GET",
        &format!("/api/qa/rotation?team=team-1&month={next_month}"),
        "",
        Some("a1-tok"),
    )
    .await;
    assert_eq!(s, 200);
    let later = agents_of(&json_of(&body)["order"]);
    assert_eq!(later.last(), want.first(), "{body}");
    assert_eq!(later[0], want[1]);
    let (s, _) =
        http_send(d.addr, "GET", "/api/qa/rotation?team=team-1&month=2026-13", "", Some("a1-tok")).await;
    assert_eq!(s, 400);
    let (s, _) = http_send(d.addr, "GET", "/api/qa/rotation", "", Some("a1-tok")).await;
    assert_eq!(s, 400, "the team is named");

    // Sessions: QA (a supervisor token) or team-1's lead; not an agent, not team-2's lead.
    let sessions = "/api/qa/rotation/team-1/sessions";
    let done = |agent: &str| json!({"agent": agent, "outcome": "done"}).to_string();
    let (s, _) = http_send(d.addr, "POST", sessions, &done(&want[0]), Some("a1-tok")).await;
    assert_eq!(s, 403, "an agent does not record monitoring");
    let (s, _) = http_send(d.addr, "POST", sessions, &done(&want[0]), Some("l2-tok")).await;
    assert_eq!(s, 403, "another team's lead");
    let (s, r) = http_send(d.addr, "POST", sessions, &done("B1"), Some("l-tok")).await;
    assert_eq!((s, json_of(&r)["field"].as_str()), (422, Some("agent")), "B1 is team-2's: {r}");
    let (s, r) = http_send(
        d.addr,
        "POST",
        sessions,
        &json!({"agent": want[1], "outcome": "skipped"}).to_string(),
        Some("s-tok"),
    )
    .await;
    assert_eq!((s, json_of(&r)["field"].as_str()), (422, Some("reason")), "{r}");
    let (s, r) = http_send(
        d.addr,
        "POST",
        sessions,
        &json!({"agent": want[0], "outcome": "maybe"}).to_string(),
        Some("s-tok"),
    )
    .await;
    assert_eq!((s, json_of(&r)["field"].as_str()), (422, Some("outcome")), "{r}");

    let (s, r) = http_send(d.addr, "POST", sessions, &done(&want[0]), Some("l-tok")).await;
    assert_eq!(s, 201, "{r}");
    let r = json_of(&r);
    assert_eq!(
        (r["session"]["by"].as_str(), r["session"]["month"].as_str()),
        (Some("lead-team-1"), Some(month.as_str()))
    );
    assert_eq!(r["next"].as_str(), Some(want[1].as_str()), "{r}");
    let skip = json!({"agent": want[1], "outcome": "skipped", "reason": "annual leave"}).to_string();
    let (s, r) = http_send(d.addr, "POST", sessions, &skip, Some("s-tok")).await;
    assert_eq!(s, 201, "{r}");
    // Read back (committed): done, skipped with its reason, next the first not yet monitored.
    let (_, body) = http_send(d.addr, "GET", &path, "", Some("a1-tok")).await;
    let rot = json_of(&body);
    assert_eq!(agents_of(&rot["done"]), [want[0].clone()]);
    assert_eq!(agents_of(&rot["skipped"]), [want[1].clone()]);
    assert_eq!(rot["skipped"][0]["reason"], "annual leave");
    assert_eq!(rot["skipped"][0]["by"], "qa-sup");
    assert_eq!(rot["next"].as_str(), Some(want[2].as_str()));
    assert_eq!(rot["pending"], json!([want[2], want[3]]));
    for a in [&want[2], &want[3]] {
        let (s, _) = http_send(d.addr, "POST", sessions, &done(a), Some("s-tok")).await;
        assert_eq!(s, 201);
    }
    let (_, body) = http_send(d.addr, "GET", &path, "", Some("a1-tok")).await;
    assert_eq!(
        json_of(&body)["next"].as_str(),
        Some(want[1].as_str()),
        "the skipped agent is caught up last"
    );
    // team-2's rotation is its own.
    let (_, body) =
        http_send(d.addr, "GET", &format!("/api/qa/rotation?team=team-2&month={month}"), "", Some("a1-tok"))
            .await;
    assert_eq!(agents_of(&json_of(&body)["order"]), ["B1"]);

    let (_, audit) = http_send(d.addr, "GET", "/api/audit", "", Some("r-tok")).await;
    let mut by: Vec<String> = json_of(&audit)
        .as_array()
        .map(|l| {
            l.iter()
                .filter(|a| a["action"] == "qa.rotation.session")
                .filter_map(|a| a["by"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    by.sort();
    assert_eq!(by, ["lead-team-1", "qa-sup", "qa-sup", "qa-sup"]);
    d.shutdown().await.expect("clean shutdown");
}

/// A review as the test made it: (agent, team, score as it stands, deductions).
type Made = (&'static str, &'static str, f64, Vec<(&'static str, f64)>);
/// Whether a review belongs to an analysis group.
type InGroup = dyn Fn(&Made) -> bool;

fn grade_of(score: f64) -> &'static str {
    match score {
        s if s >= 90.0 => "excellent",
        s if s >= 85.0 => "good",
        s if s >= 75.0 => "needs_improvement",
        _ => "fail",
    }
}

/// The monthly analysis: its figures equal those computed here from the same
/// reviews and appeals; it is approved once, after the month, by a supervisor,
/// with the approver and the time recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monthly_analysis_matches_its_reviews_and_is_approved_once() {
    use chrono::{Datelike, TimeZone};
    let cfg = parse(&people_toml(), "qa.toml", &Env::new()).expect("valid config");
    let tz = cfg.floor.timezone;
    let d = TestDaemon::with_config(cfg).await;
    let mut b = d.bridge(Some("acd")).await;
    let mut ev = vec![
        json!({"type":"agent_login","ts":ts_now(-900.0),"agent":"A1","team":"team-1"}),
        json!({"type":"agent_login","ts":ts_now(-900.0),"agent":"A2","team":"team-2"}),
    ];
    for (agent, n) in [("A1", 3), ("A2", 2)] {
        for i in 0..n {
            let call = format!("{agent}-{i}");
            let at = -600.0 + f64::from(i) * 120.0;
            ev.push(json!({"type":"call_offered","ts":ts_now(at),"call":call,"queue":"billing"}));
            ev.push(json!({"type":"call_answered","ts":ts_now(at + 5.0),"call":call,"agent":agent}));
            ev.push(json!({"type":"call_ended","ts":ts_now(at + 65.0),"call":call,"agent":agent}));
        }
    }
    b.send(Value::Array(ev).to_string()).await;
    eventually(&d, "/api/calls", "s-tok", |v| v.as_array().is_some_and(|l| l.len() == 5)).await;
    d.wait_floor(|f| {
        f["agents"].as_array().is_some_and(|a| a.iter().any(|x| x["id"] == "A2" && x["team"] == "team-2"))
    })
    .await;

    let plan: [(&str, Vec<(&str, f64)>); 5] = [
        ("A1-0", vec![("greeting", 5.0), ("accuracy", 10.0)]),
        ("A1-1", vec![]),
        ("A1-2", vec![("accuracy", 20.0), ("compliance", 10.0)]),
        ("A2-0", vec![("closing", 5.0)]),
        ("A2-1", vec![("accuracy", 12.0)]),
    ];
    let mut ids = Vec::new();
    for (call, ded) in &plan {
        let deductions: Vec<Value> = ded.iter().map(|(i, p)| json!({"item": i, "points": p})).collect();
        let body = json!({"call": call, "deductions": deductions}).to_string();
        let (s, r) = http_send(d.addr, "POST", "/api/qa/reviews", &body, Some("s-tok")).await;
        assert_eq!(s, 201, "{r}");
        ids.push(json_of(&r)["id"].as_i64().unwrap_or_default());
    }
    // A1 appeals A1-2's accuracy: accepted, amended to 80. A2 appeals A2-0: rejected.
    let file = |rid: i64, tok: &'static str, item: &'static str| async move {
        let body = json!({"items": [item], "reason": "see the recording"}).to_string();
        let (s, r) =
            http_send(d.addr, "POST", &format!("/api/qa/reviews/{rid}/appeal"), &body, Some(tok)).await;
        assert_eq!(s, 201, "{r}");
        json_of(&r)["id"].as_i64().unwrap_or_default()
    };
    let ap1 = file(ids[2], "a1-tok", "accuracy").await;
    let ap2 = file(ids[3], "a2-tok", "closing").await;
    let (s, _) = http_send(d.addr, "POST", &format!("/api/qa/appeals/{ap1}/accept"), "", Some("l-tok")).await;
    assert_eq!(s, 200);
    let verdict = json!({"decision":"amended","score":80,"qa":"qa-li"}).to_string();
    let (s, _) =
        http_send(d.addr, "POST", &format!("/api/qa/appeals/{ap1}/decide"), &verdict, Some("s-tok")).await;
    assert_eq!(s, 200);
    let (s, _) =
        http_send(d.addr, "POST", &format!("/api/qa/appeals/{ap2}/reject"), "", Some("l2-tok")).await;
    assert_eq!(s, 200);

    // What the month holds, by the test's own account.
    let made: Vec<Made> = vec![
        ("A1", "team-1", 85.0, plan[0].1.clone()),
        ("A1", "team-1", 100.0, plan[1].1.clone()),
        ("A1", "team-1", 80.0, plan[2].1.clone()),
        ("A2", "team-2", 95.0, plan[3].1.clone()),
        ("A2", "team-2", 88.0, plan[4].1.clone()),
    ];
    // (review index, status) of the appeals.
    let appeals = [(2usize, "amended"), (3usize, "rejected")];

    let now = chrono::Utc::now().with_timezone(&tz);
    let month = format!("{:04}-{:02}", now.year(), now.month());
    let (s, _) =
        http_send(d.addr, "GET", &format!("/api/qa/analysis?month={month}"), "", Some("a1-tok")).await;
    assert_eq!(s, 403, "an agent reads their own reviews, not everyone's");
    let (s, body) =
        http_send(d.addr, "GET", &format!("/api/qa/analysis?month={month}"), "", Some("l-tok")).await;
    assert_eq!(s, 200, "{body}");
    let an = json_of(&body);
    let groups = an["groups"].as_array().cloned().unwrap_or_default();
    let members: [(&str, &str, &InGroup); 5] = [
        ("floor", "", &|_| true),
        ("team", "team-1", &|m| m.1 == "team-1"),
        ("team", "team-2", &|m| m.1 == "team-2"),
        ("agent", "A1", &|m| m.0 == "A1"),
        ("agent", "A2", &|m| m.0 == "A2"),
    ];
    assert_eq!(groups.len(), members.len(), "{an}");
    for (level, id, member) in members {
        let g = groups.iter().find(|g| g["level"] == level && g["id"] == id).cloned().unwrap_or_default();
        let mine: Vec<(usize, &Made)> = made.iter().enumerate().filter(|(_, m)| member(m)).collect();
        assert_eq!(g["reviews"].as_u64(), Some(mine.len() as u64), "{level} {id}: {g}");
        let mean = mine.iter().map(|(_, m)| m.2).sum::<f64>() / mine.len() as f64;
        assert!(g["mean"].as_f64().is_some_and(|x| (x - mean).abs() < 1e-9), "{level} {id}: {mean} vs {g}");
        for band in ["excellent", "good", "needs_improvement", "fail"] {
            let n = mine.iter().filter(|(_, m)| grade_of(m.2) == band).count() as u64;
            assert_eq!(g["grades"][band].as_u64(), Some(n), "{level} {id} {band}: {g}");
        }
        let mut items: Vec<(String, u64, f64)> = Vec::new();
        for (_, m) in &mine {
            for (item, p) in &m.3 {
                match items.iter_mut().find(|x| x.0 == *item) {
                    Some(x) => {
                        x.1 += 1;
                        x.2 += p;
                    }
                    None => items.push(((*item).to_owned(), 1, *p)),
                }
            }
        }
        items.sort_by(|x, y| y.1.cmp(&x.1).then(y.2.total_cmp(&x.2)).then_with(|| x.0.cmp(&y.0)));
        let got: Vec<(String, u64, f64)> = g["deducted"]
            .as_array()
            .map(|l| {
                l.iter()
                    .map(|x| {
                        (
                            x["item"].as_str().unwrap_or_default().to_owned(),
                            x["times"].as_u64().unwrap_or_default(),
                            x["points"].as_f64().unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(got, items, "{level} {id}");
        for status in ["amended", "rejected", "upheld", "filed", "accepted"] {
            let n = appeals.iter().filter(|(i, s)| *s == status && mine.iter().any(|(j, _)| j == i)).count();
            assert_eq!(g["appeals"][status].as_u64(), Some(n as u64), "{level} {id} {status}: {g}");
        }
    }
    // Due three days after the month's end, midnight in the floor's zone; not approved yet.
    let next = if now.month() == 12 { (now.year() + 1, 1) } else { (now.year(), now.month() + 1) };
    let due = tz.with_ymd_and_hms(next.0, next.1, 4, 0, 0, 0).single().map(|t| t.timestamp_millis());
    assert_eq!(an["due_by"].as_str().and_then(|t| floorwatch::event::parse_ts(t).ok()), due, "{an}");
    assert_eq!((an["approval"].clone(), an["deadline"].as_str()), (Value::Null, Some("open")));

    // The printable page, in each language, self-contained.
    for (lang, words) in
        [("zh-CN", ["监听分析表", "主要扣分项"]), ("en", ["Monthly QA analysis", "Most deducted"])]
    {
        let (s, html) = http_send(
            d.addr,
            "GET",
            &format!("/api/qa/analysis?month={month}&format=html&lang={lang}"),
            "",
            Some("s-tok"),
        )
        .await;
        assert_eq!(s, 200);
        assert!(words.iter().all(|w| html.contains(w)), "{lang}: {html}");
        assert!(html.contains(&format!("lang=\"{lang}\"")) && html.contains("@media print"), "{html}");
        assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("<link"), "{html}");
    }

    // Approval: not before the month is over; only the supervisor's; once.
    let (s, _) =
        http_send(d.addr, "POST", &format!("/api/qa/analysis/{month}/approve"), "", Some("s-tok")).await;
    assert_eq!(s, 409, "the month is not over");
    let last = if now.month() == 1 { (now.year() - 1, 12) } else { (now.year(), now.month() - 1) };
    let last = format!("{:04}-{:02}", last.0, last.1);
    let approve = format!("/api/qa/analysis/{last}/approve");
    let (s, _) = http_send(d.addr, "POST", &approve, "", Some("l-tok")).await;
    assert_eq!(s, 403, "a lead does not approve the analysis");
    let (s, r) =
        http_send(d.addr, "POST", &approve, &json!({"note":"feedback sent"}).to_string(), Some("s-tok"))
            .await;
    assert_eq!(s, 201, "{r}");
    let r = json_of(&r);
    assert_eq!(
        (r["approval"]["by"].as_str(), r["approval"]["note"].as_str()),
        (Some("qa-sup"), Some("feedback sent"))
    );
    let at =
        r["approval"]["at"].as_str().and_then(|t| floorwatch::event::parse_ts(t).ok()).unwrap_or_default();
    let due = r["due_by"].as_str().and_then(|t| floorwatch::event::parse_ts(t).ok()).unwrap_or_default();
    assert_eq!(r["in_time"].as_bool(), Some(at < due), "{r}");
    assert_eq!(r["deadline"].as_str(), Some(if at < due { "in_time" } else { "late" }));
    let (s, _) = http_send(d.addr, "POST", &approve, "", Some("s-tok")).await;
    assert_eq!(s, 409, "approved once");
    let (_, body) =
        http_send(d.addr, "GET", &format!("/api/qa/analysis?month={last}"), "", Some("l-tok")).await;
    assert_eq!(json_of(&body)["approval"]["by"], "qa-sup", "read back after the commit");
    let (_, audit) = http_send(d.addr, "GET", "/api/audit", "", Some("r-tok")).await;
    let rows: Vec<Value> = json_of(&audit)
        .as_array()
        .map(|l| l.iter().filter(|a| a["action"] == "qa.analysis.approve").cloned().collect())
        .unwrap_or_default();
    assert_eq!(rows.len(), 1, "{audit}");
    assert_eq!(rows[0]["by"], "qa-sup");
    d.shutdown().await.expect("clean shutdown");
}

/// One simulated state: (agent, team, state, reason, from ms, to ms).
type Span = (&'static str, &'static str, &'static str, Option<&'static str>, i64, i64);
/// Whether a simulated state belongs to a report's group.
type SpanOf = dyn Fn(&Span) -> bool;

/// Two agents of two teams going through ready, ringing, talk, hold, ACW and
/// not-ready (three reasons and none) over the last 36 hours, each state
/// ended by the next event and the last by a logout: the spans it makes and
/// the events that make them.
fn state_stream(now: i64) -> (Vec<Span>, Vec<Value>) {
    let t = |ms: i64| floorwatch::event::format_ts(ms);
    let mut spans = Vec::new();
    let mut events = Vec::new();
    for (k, (agent, team)) in [("A1", "team-1"), ("A2", "team-2")].into_iter().enumerate() {
        let mut at = now - 36 * 3_600_000 + k as i64 * 77_000;
        events.push(json!({"type":"agent_login","ts":t(at),"agent":agent,"team":team,"state":"ready"}));
        let mut current: (&str, Option<&str>, i64) = ("ready", None, at);
        let mut enter =
            |state: &'static str, reason: Option<&'static str>, at: i64, events: &mut Vec<Value>| {
                spans.push((agent, team, current.0, current.1, current.2, at));
                let mut e = json!({"type":"agent_state","ts":t(at),"agent":agent,"state":state});
                if let Some(r) = reason {
                    e["reason"] = json!(r);
                }
                events.push(e);
                current = (state, reason, at);
            };
        let mut i = 0i64;
        while at < now - 3_600_000 {
            at += (30 + (i * 37) % 200) * 1000;
            enter("ringing", None, at, &mut events);
            at += (5 + i % 10) * 1000;
            enter("talking", None, at, &mut events);
            at += (60 + (i * 53) % 400) * 1000;
            if i % 4 == 0 {
                enter("hold", None, at, &mut events);
                at += (20 + i % 30) * 1000;
            }
            enter("acw", None, at, &mut events);
            // Every seventh ACW runs over the 60 s limit.
            at += if i % 7 == 3 { 90 + i % 60 } else { 15 + i % 30 } * 1000;
            let nr = match i % 5 {
                0 => Some((Some("lunch"), 600)),
                // Every third break runs over its 120 s limit.
                2 => Some((Some("break"), if i % 3 == 0 { 200 + i % 100 } else { 60 })),
                4 => Some((None, 45)),
                _ => None,
            };
            if let Some((reason, secs)) = nr {
                enter("not_ready", reason, at, &mut events);
                at += secs * 1000;
            }
            enter("ready", None, at, &mut events);
            i += 1;
        }
        at += 50_000;
        spans.push((agent, team, current.0, current.1, current.2, at));
        events.push(json!({"type":"agent_logout","ts":t(at),"agent":agent}));
    }
    // In time order, as a bridge sends them: the source's event time is what
    // the overrun timers run on, so one agent's later events must not come
    // before another's earlier ones.
    events.sort_by_key(|e| e["ts"].as_str().and_then(|s| floorwatch::event::parse_ts(s).ok()));
    (spans, events)
}

/// The report's agent time (ACW share, occupancy, not-ready by reason,
/// overruns) equals what this test computes from the same stream of states,
/// clipped to each day at the floor's midnight; the state log is in SQLite,
/// so a restarted daemon reports the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_time_in_the_report_matches_the_stream_and_survives_a_restart() {
    use chrono::TimeZone;
    let mut cfg = parse(&people_toml(), "qa.toml", &Env::new()).expect("valid config");
    cfg.alerts.acw_overrun_secs = 60;
    cfg.alerts.busy_limit_secs = [("break".to_owned(), 120)].into();
    cfg.alerts.busy_default_secs = 86_400;
    let tz = cfg.floor.timezone;
    let d = TestDaemon::with_config(cfg).await;
    let mut b = d.bridge(Some("acd")).await;
    let now = chrono::Utc::now().timestamp_millis();
    let (spans, events) = state_stream(now);
    for frame in events.chunks(100) {
        b.send(Value::Array(frame.to_vec()).to_string()).await;
    }
    let acw_over = |s: &&Span| s.2 == "acw" && s.5 - s.4 > 60_000;
    let busy_over = |s: &&Span| s.2 == "not_ready" && s.3 == Some("break") && s.5 - s.4 > 120_000;
    let overruns_total = spans.iter().filter(|s| acw_over(s) || busy_over(s)).count();
    assert!(overruns_total > 10, "the stream has overruns of both kinds");
    eventually(&d, "/api/overruns?limit=1000", "s-tok", |v| {
        v.as_array().is_some_and(|l| l.len() == overruns_total)
    })
    .await;

    let day_of = |ms: i64| tz.timestamp_millis_opt(ms).single().expect("time").date_naive();
    let midnight = |date: chrono::NaiveDate| {
        let t = date.and_hms_opt(0, 0, 0).expect("midnight");
        tz.from_local_datetime(&t).earliest().expect("in zone").timestamp_millis()
    };
    let today = day_of(now);
    let yesterday = today.pred_opt().expect("a day before");
    let mut reports = Vec::new();
    for day in [yesterday, today] {
        let range = (midnight(day), midnight(day.succ_opt().expect("a day after")));
        let clip = |s: &Span| (s.5.min(range.1) - s.4.max(range.0)).max(0);
        let groups: [(&str, &str, &SpanOf); 4] = [
            ("agent", "A1", &|s| s.0 == "A1"),
            ("agent", "A2", &|s| s.0 == "A2"),
            ("team", "team-1", &|s| s.1 == "team-1"),
            ("team", "team-2", &|s| s.1 == "team-2"),
        ];
        // A group's figures, from the spans: what the report must say for it.
        let want = |member: &SpanOf| {
            let mine: Vec<&Span> = spans.iter().filter(|s| member(s)).collect();
            let mut secs = std::collections::BTreeMap::new();
            for state in ["ready", "ringing", "talking", "hold", "acw", "not_ready"] {
                let ms: i64 = mine.iter().filter(|s| s.2 == state).map(|s| clip(s)).sum();
                secs.insert(state, ms as f64 / 1000.0);
            }
            let mut by_reason = serde_json::Map::new();
            for s in mine.iter().filter(|s| s.2 == "not_ready" && clip(s) > 0) {
                let key = s.3.unwrap_or("").to_owned();
                let v = by_reason.get(&key).and_then(Value::as_f64).unwrap_or(0.0);
                by_reason.insert(key, json!(v + clip(s) as f64 / 1000.0));
            }
            let started = |s: &&&Span| s.4 >= range.0 && s.4 < range.1;
            let acw = mine.iter().filter(|s| acw_over(s)).filter(started).count();
            let busy = mine.iter().filter(|s| busy_over(s)).filter(started).count();
            (secs, by_reason, acw, busy, mine.iter().map(|s| clip(s)).sum::<i64>() as f64 / 1000.0)
        };
        let path = format!("/api/reports?period=day&date={day}");
        let totals = [("A1", want(groups[0].2).4), ("A2", want(groups[1].2).4)];
        // The state log is written a moment after the engine closes the states:
        // wait for each agent's last one.
        let rep = eventually(&d, &path, "s-tok", |v| {
            // (Just after midnight the stream, which ends an hour ago, has
            // nothing today: no row then.)
            v["rows"].as_array().is_some_and(|l| {
                totals.iter().all(|(id, total)| {
                    *total == 0.0
                        || l.iter().any(|r| r["id"] == *id && r["logged_in_secs"].as_f64() == Some(*total))
                })
            })
        })
        .await;
        let rows = rep["rows"].as_array().cloned().unwrap_or_default();
        for (by, id, member) in groups {
            let (secs, by_reason, acw, busy, total) = want(member);
            let secs = |state: &str| secs.get(state).copied().unwrap_or(f64::NAN);
            let Some(r) = rows.iter().find(|r| r["by"] == by && r["id"] == id).cloned() else {
                assert_eq!(total, 0.0, "{day}: no row for {by} {id}: {rep}");
                continue;
            };
            let close = |v: &Value, want: f64| v.as_f64().is_some_and(|x| (x - want).abs() < 1e-6);
            assert!(close(&r["logged_in_secs"], total), "{day} {id}: {total} vs {r}");
            for (field, state) in [
                ("ready_secs", "ready"),
                ("ringing_secs", "ringing"),
                ("talk_secs", "talking"),
                ("hold_secs", "hold"),
                ("acw_secs", "acw"),
                ("not_ready_secs", "not_ready"),
            ] {
                assert!(close(&r[field], secs(state)), "{day} {id} {field}: {} vs {r}", secs(state));
            }
            let (talk, hold, acw_s) = (secs("talking"), secs("hold"), secs("acw"));
            let busy_s = talk + hold + acw_s + secs("ringing");
            assert!(close(&r["acw_share"], acw_s / (talk + hold + acw_s)), "{day} {id}: {r}");
            assert!(close(&r["occupancy"], busy_s / (busy_s + secs("ready"))), "{day} {id}: {r}");
            let got = r["not_ready_by_reason"].as_object().cloned().unwrap_or_default();
            assert_eq!(got.keys().collect::<Vec<_>>(), by_reason.keys().collect::<Vec<_>>(), "{day} {id}");
            for (k, v) in &by_reason {
                assert!(close(&got[k], v.as_f64().unwrap_or(-1.0)), "{day} {id} {k}: {v} vs {r}");
            }
            assert_eq!(r["overruns"], json!({"acw_overrun": acw, "busy_overrun": busy}), "{day} {id}");
        }
        // Queues carry no agent time.
        assert!(rows.iter().filter(|r| r["by"] == "queue").all(|r| r["acw_share"].is_null()), "{rep}");
        reports.push((path, rows));
    }
    // The printable page and the CSV carry the new figures.
    let (s, html) = http_send(
        d.addr,
        "GET",
        &format!("/api/reports?period=day&date={yesterday}&format=html&lang=en"),
        "",
        Some("s-tok"),
    )
    .await;
    assert_eq!(s, 200);
    for w in
        ["Agent time", "ACW share", "Occupancy", "Not ready by reason", "lunch", "(none)", "ACW overruns"]
    {
        assert!(html.contains(w), "{w} not in {html}");
    }
    let (_, html) = http_send(
        d.addr,
        "GET",
        &format!("/api/reports?period=day&date={yesterday}&format=html"),
        "",
        Some("s-tok"),
    )
    .await;
    for w in ["坐席时间", "话后处理占比", "占用率", "未就绪原因", "未注明", "话后超时"]
    {
        assert!(html.contains(w), "{w} not in {html}");
    }
    let (_, csv) = http_send(
        d.addr,
        "GET",
        &format!("/api/reports?period=day&date={yesterday}&format=csv"),
        "",
        Some("s-tok"),
    )
    .await;
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert!(
        lines.first().is_some_and(|h| h.ends_with(
            ",logged_in_secs,ready_secs,ringing_secs,talk_secs,hold_secs,acw_secs,not_ready_secs,\
             not_ready_by_reason,acw_share,occupancy,acw_overruns,busy_overruns"
        )),
        "{csv}"
    );
    let a1 = &reports[0].1.iter().find(|r| r["id"] == "A1").cloned().expect("A1");
    let line = lines.iter().find(|l| l.starts_with("agent,A1,")).expect("A1's line");
    assert!(line.contains(&format!(",{:.1},", a1["logged_in_secs"].as_f64().unwrap_or(-1.0))), "{line}");
    // Not-ready by reason in one cell, a reasonless not-ready as `(none)`.
    let reasons = a1["not_ready_by_reason"].as_object().cloned().unwrap_or_default();
    let cell: Vec<String> = reasons
        .iter()
        .map(|(k, v)| {
            let k = if k.is_empty() { "(none)" } else { k.as_str() };
            format!("{k}={:.1}", v.as_f64().unwrap_or(-1.0))
        })
        .collect();
    assert!(reasons.contains_key("") && line.contains(&format!(",{},", cell.join(";"))), "{line}");

    // A restart reads the same state log back.
    let d = d.restart().await;
    for (path, before) in &reports {
        let (s, body) = http_send(d.addr, "GET", path, "", Some("s-tok")).await;
        assert_eq!(s, 200);
        let after = json_of(&body)["rows"].as_array().cloned().unwrap_or_default();
        let agent_time = |rows: &[Value]| {
            rows.iter()
                .filter(|r| r["by"] != "queue")
                .map(|r| (r["id"].clone(), r["logged_in_secs"].clone(), r["not_ready_by_reason"].clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(agent_time(&after), agent_time(before), "{path}");
    }
    d.shutdown().await.expect("clean shutdown");
}
