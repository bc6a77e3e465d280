//! Quality assurance (issue 21): finished calls reach the call log through the
//! engine and the store; a rule registered before its period picks the same
//! calls on every run and cannot change; a review's appeal goes through the
//! lead and the three-party review with roles enforced and every step audited.

use std::time::Duration;

use floorwatch::access::Digest;
use floorwatch::config::{Env, parse};
use serde_json::{Value, json};

use crate::harness::{PATIENCE, TestDaemon, http_send, ts_now};

fn people_toml() -> String {
    let t = |name: &str, role: &str, teams: &str, token: &str| {
        format!(
            "[[access.tokens]]\nname = \"{name}\"\nrole = \"{role}\"\nteams = [{teams}]\nsha256 = \"{}\"\n",
            Digest::of(token).to_hex()
        )
    };
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

const DAY: f64 = 86_400.0;

/// Two agents, eight calls each over two days starting tomorrow (a period a
/// rule can still be registered for), and one abandoned call.
fn traffic() -> Vec<Value> {
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
    // Teams are the floor's (its snapshot publishes a moment after the events).
    let path = format!("/api/reports?period=day&date={day}");
    let rep = eventually(&d, &path, "a1-tok", |v| {
        v["rows"].as_array().is_some_and(|l| l.iter().any(|r| r["by"] == "team"))
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
    for (lang, word) in [("zh", "坐席"), ("en", "agent")] {
        let (s, html) = http_send(
            d.addr,
            "GET",
            &format!("/api/reports?period=month&date={day}&format=html&lang={lang}"),
            "",
            Some("s-tok"),
        )
        .await;
        assert_eq!(s, 200);
        assert!(html.contains(word) && html.contains("<table>"), "{lang}: {html}");
    }
    let (s, _) =
        http_send(d.addr, "GET", "/api/reports?period=year&date=2026-01-01", "", Some("s-tok")).await;
    assert_eq!(s, 400);
    d.shutdown().await.expect("clean shutdown");
}
