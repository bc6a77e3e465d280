//! The duty team's shift (issue 20): a simulated shift with a roster gives the
//! right expected / present / absent / late lists, the lead's confirmation and
//! the supervisor's countersignature are recorded with their actors and archived
//! for good; a patrol gap raises `patrol_overdue` for that team (and its lead's
//! receiver) only and the next patrol resolves it; overrun drafts appear for
//! exactly the stream's overruns, reviewed by their own team's lead only; the
//! idle-time advice agrees with an Erlang C computed here.

use std::time::Duration;

use floorwatch::config::{Config, Env, parse};
use serde_json::{Value, json};

use crate::harness::{PATIENCE, TestDaemon, http_send, recording_receiver, ts_now};

fn people() -> String {
    let t = crate::harness::token_toml;
    [
        t("lead-team-1", "lead", "\"team-1\"", "l1"),
        t("lead-team-2", "lead", "\"team-2\"", "l2"),
        t("duty-sup", "supervisor", "", "sup"),
        t("root", "admin", "", "adm"),
    ]
    .concat()
}

/// A floor in UTC whose current shift `a` began ten minutes ago (to the minute).
fn floor_toml() -> String {
    let now_min = chrono::Utc::now().timestamp() / 60 % 1440;
    let a = (now_min - 10).rem_euclid(1440);
    let b = (a + 720) % 1440;
    let hm = |m: i64| format!("{:02}:{:02}", m / 60, m % 60);
    format!(
        "[floor]\ntimezone = \"UTC\"\n[[floor.shifts]]\nname = \"a\"\nstart = \"{}\"\n\
         [[floor.shifts]]\nname = \"b\"\nstart = \"{}\"\n[floor_plan]\nrows = 2\nseats = 3\n",
        hm(a),
        hm(b)
    )
}

fn config(extra: &str) -> Config {
    parse(&format!("{}{}{extra}", floor_toml(), people()), "shift.toml", &Env::new()).expect("valid config")
}

fn json_of(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or(Value::Null)
}

async fn get(d: &TestDaemon, path: &str, token: &str) -> Value {
    let (s, body) = http_send(d.addr, "GET", path, "", Some(token)).await;
    assert_eq!(s, 200, "{path}: {body}");
    json_of(&body)
}

async fn eventually(d: &TestDaemon, path: &str, token: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let v = get(d, path, token).await;
        if pred(&v) {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "{path} never matched: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn ms_of(ts: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(ts).map(|t| t.timestamp_millis()).expect("rfc 3339")
}

fn at(ms: i64) -> String {
    floorwatch::event::format_ts(ms)
}

fn team<'a>(sheet: &'a Value, id: &str) -> &'a Value {
    sheet["teams"].as_array().and_then(|t| t.iter().find(|t| t["team"] == id)).unwrap_or(&Value::Null)
}

fn ids(v: &Value) -> Vec<String> {
    let mut out: Vec<String> =
        v.as_array().into_iter().flatten().filter_map(|x| x.as_str().map(str::to_owned)).collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_shift_gives_the_sheet_and_its_signatures() {
    let d = TestDaemon::with_config(config("")).await;
    // The shift in progress, as the daemon names it.
    let now_sheet = get(&d, "/api/handover", "sup").await;
    let (date, shift) =
        (now_sheet["date"].as_str().expect("date"), now_sheet["shift"].as_str().expect("shift"));
    assert_eq!(shift, "a");
    let start = ms_of(now_sheet["start"].as_str().expect("start"));
    let roster = format!(
        "date,shift,team,agent,name,seat\n\
         {date},a,team-1,L1,Lead One,R1-1\n{date},a,team-1,A1,Ann,R1-2\n{date},a,team-1,A2,Bo,R1-3\n\
         {date},a,team-1,A3,Cy,R2-1\n{date},a,team-2,B1,Di,R2-2\n{date},a,team-2,B2,Ed,\n"
    );
    let (s, body) = http_send(d.addr, "PUT", "/api/roster", &roster, Some("l1")).await;
    assert_eq!(s, 403, "the seat plan is the supervisor's: {body}");
    let bad = format!("date,shift,team,agent,seat\n{date},a,team-1,A1,Z9\n");
    let (s, body) = http_send(d.addr, "PUT", "/api/roster", &bad, Some("sup")).await;
    assert_eq!((s, json_of(&body)["field"].as_str()), (422, Some("[0].seat")), "{body}");
    let (s, body) = http_send(d.addr, "PUT", "/api/roster", &roster, Some("sup")).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(json_of(&body)["rows"], 6);

    // L1 signs in five minutes early, A1 three minutes late, A2 now; A3 and B2 never.
    let now = chrono::Utc::now().timestamp_millis();
    let logins = [
        ("L1", "team-1", start - 300_000),
        ("A1", "team-1", start + 180_000),
        ("A2", "team-1", now),
        ("B1", "team-2", start - 60_000),
        ("X9", "team-2", start),
    ];
    let mut b = d.bridge(Some("acd")).await;
    let frame: Vec<Value> = logins
        .iter()
        .map(|(a, t, ts)| json!({"type": "agent_login", "ts": at(*ts), "agent": a, "team": t}))
        .collect();
    b.send(Value::Array(frame).to_string()).await;
    let sheet = eventually(&d, &format!("/api/handover?date={date}&shift=a"), "l1", |v| {
        team(v, "team-1")["present"].as_array().is_some_and(|p| p.len() == 3)
            && team(v, "team-2")["present"].as_array().is_some_and(|p| p.len() == 1)
    })
    .await;
    let t1 = team(&sheet, "team-1");
    assert_eq!(ids(&t1["expected"]), ["A1", "A2", "A3", "L1"], "the lead is expected too");
    assert_eq!(ids(&t1["present"]), ["A1", "A2", "L1"]);
    assert_eq!(t1["absent"], json!([{"agent": "A3", "reason": null}]));
    let minutes = |ts: i64| (ts - start + 59_999) / 60_000;
    assert_eq!(
        t1["late"]
            .as_array()
            .map(|l| l.iter().map(|x| (x["agent"].clone(), x["minutes"].clone())).collect::<Vec<_>>()),
        Some(vec![(json!("A2"), json!(minutes(now))), (json!("A1"), json!(3))]),
        "late sign-ins with how late, longest first"
    );
    let t2 = team(&sheet, "team-2");
    assert_eq!((ids(&t2["present"]), ids(&t2["unexpected"])), (vec!["B1".to_owned()], vec!["X9".to_owned()]));
    assert_eq!(t2["absent"][0]["agent"], "B2");
    assert!(t2["late"].as_array().is_some_and(Vec::is_empty));

    // The seat map: who sits where, in what state.
    let map = get(&d, &format!("/api/seatmap?date={date}&shift=a"), "l1").await;
    assert_eq!(map["rows"][0]["seats"][1]["agent"], "A1");
    assert_eq!(map["rows"][0]["seats"][1]["state"], "ready");
    assert_eq!(map["rows"][1]["seats"][0]["state"], Value::Null, "A3 is not logged in");
    assert_eq!(map["unseated"][0]["agent"], "B2");

    // Reasons: the lead of the agent's team only.
    let absence = |team: &str, agent: &str| {
        json!({"date": date, "shift": "a", "team": team, "agent": agent, "reason": "病假 sick"}).to_string()
    };
    let (s, _) = d.post("/api/handover/absences", &absence("team-1", "A3"), Some("l2")).await;
    assert_eq!(s, 403, "another team's lead");
    let (s, body) = d.post("/api/handover/absences", &absence("team-1", "B2"), Some("l1")).await;
    assert_eq!(s, 422, "B2 is not on team-1's roster: {body}");
    let (s, body) = d.post("/api/handover/absences", &absence("team-1", "A3"), Some("l1")).await;
    assert_eq!(s, 200, "{body}");

    let sign = |team: &str| json!({"date": date, "shift": "a", "team": team}).to_string();
    let (s, _) = d.post("/api/handover/countersign", &sign("team-1"), Some("sup")).await;
    assert_eq!(s, 409, "nothing to countersign before the lead confirms");
    let (s, _) = d.post("/api/handover/confirm", &sign("team-2"), Some("l1")).await;
    assert_eq!(s, 403, "a lead confirms their own team");
    let (s, _) = d.post("/api/handover/countersign", &sign("team-1"), Some("l1")).await;
    assert_eq!(s, 403, "the countersignature is the supervisor's");
    let (s, body) = d.post("/api/handover/confirm", &sign("team-1"), Some("l1")).await;
    assert_eq!(s, 200, "{body}");
    let confirmed = json_of(&body);
    assert_eq!(confirmed["confirmed_by"], "lead-team-1");
    assert_eq!(confirmed["absent"], json!([{"agent": "A3", "reason": "病假 sick"}]));
    let (s, _) = d.post("/api/handover/absences", &absence("team-1", "A3"), Some("l1")).await;
    assert_eq!(s, 409, "a confirmed sheet no longer changes");
    let (s, body) = d.post("/api/handover/countersign", &sign("team-1"), Some("sup")).await;
    assert_eq!(s, 200, "{body}");
    let signed = json_of(&body);
    assert_eq!(
        (signed["countersigned_by"].as_str(), signed["archived"].as_bool()),
        (Some("duty-sup"), Some(true))
    );
    let (s, _) = d.post("/api/handover/countersign", &sign("team-1"), Some("sup")).await;
    assert_eq!(s, 409, "archived once");

    // What the outgoing shift handed over was frozen by that countersignature: a
    // fault that opens afterwards is on the live floor, not on the archived sheet.
    let sheet = get(&d, &format!("/api/handover?date={date}&shift=a"), "sup").await;
    assert_eq!(sheet["outgoing"]["frozen_by"], "duty-sup", "{sheet}");
    assert_eq!(sheet["outgoing"]["faults"], json!([]));
    b.send(json!({"type": "fault", "ts": ts_now(0.0), "component": "trunk-9", "status": "down"}).to_string())
        .await;
    eventually(&d, "/api/faults", "sup", |v| {
        v.as_array().is_some_and(|f| f.iter().any(|x| x["component"] == "trunk-9"))
    })
    .await;
    let sheet = get(&d, &format!("/api/handover?date={date}&shift=a"), "sup").await;
    assert_eq!(sheet["outgoing"]["faults"], json!([]), "the archived sheet keeps what was handed over");
    assert_eq!(sheet["outgoing"]["frozen_by"], "duty-sup");

    // A late login after the confirmation does not touch the archived sheet.
    b.send(json!({"type": "agent_login", "ts": ts_now(0.0), "agent": "A3", "team": "team-1"}).to_string())
        .await;
    let sheet = get(&d, &format!("/api/handover?date={date}&shift=a"), "sup").await;
    let t1 = team(&sheet, "team-1");
    assert_eq!(
        (t1["confirmed_by"].as_str(), t1["countersigned_by"].as_str()),
        (Some("lead-team-1"), Some("duty-sup"))
    );
    assert_eq!(ids(&t1["present"]), ["A1", "A2", "L1"]);
    assert!(team(&sheet, "team-2")["confirmed_by"].is_null());

    // CSV: one line per rostered agent; the printable page in both languages.
    let (s, csv) =
        http_send(d.addr, "GET", &format!("/api/handover?date={date}&shift=a&format=csv"), "", Some("sup"))
            .await;
    assert_eq!(s, 200);
    let a3 = csv.lines().find(|l| l.contains(",A3,")).expect("A3's line");
    assert!(a3.contains(",absent,,病假 sick,lead-team-1,duty-sup"), "{a3}");
    assert!(csv.lines().any(|l| l.contains(",A1,") && l.contains(",late,3,")), "{csv}");
    let (_, zh) =
        http_send(d.addr, "GET", &format!("/api/handover?date={date}&shift=a&format=html"), "", Some("sup"))
            .await;
    assert!(zh.contains("交接班记录") && zh.contains("未到人员及原因"), "{zh}");
    let (_, en) = http_send(
        d.addr,
        "GET",
        &format!("/api/handover?date={date}&shift=a&format=html&lang=en"),
        "",
        Some("sup"),
    )
    .await;
    assert!(en.contains("Handover sheet") && en.contains("A3 (病假 sick)"), "{en}");
    assert!(en.contains("<p class=\"frozen\">archived duty-sup "), "the hand-over's archive is named: {en}");

    // The trail names each actor; the database itself refuses to alter the archive.
    let audit = get(&d, "/api/audit", "adm").await;
    let acts: Vec<(String, String)> = audit
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| (a["action"].as_str().unwrap_or("").to_owned(), a["by"].as_str().unwrap_or("").to_owned()))
        .collect();
    for want in [
        ("roster.put", "duty-sup"),
        ("handover.absence", "lead-team-1"),
        ("handover.confirm", "lead-team-1"),
        ("handover.countersign", "duty-sup"),
    ] {
        assert!(acts.contains(&(want.0.to_owned(), want.1.to_owned())), "{want:?} not in {acts:?}");
    }
    let db = rusqlite::Connection::open(d.data_dir().join("floorwatch.db")).expect("open db");
    let tampered =
        db.execute("UPDATE handover_signoffs SET confirmed_by = 'someone' WHERE team = 'team-1'", []);
    assert!(tampered.is_err(), "an archived sheet must not change: {tampered:?}");
    assert!(db.execute("DELETE FROM handover_signoffs WHERE team = 'team-1'", []).is_err());
    assert!(
        db.execute("UPDATE handover_outgoing SET outgoing = '{}'", []).is_err(),
        "the frozen hand-over is archived"
    );

    // A new roster for the shift replaces its rows, and only its rows.
    let again = format!("date,shift,team,agent\n{date},a,team-1,A1\n");
    let (s, _) = http_send(d.addr, "PUT", "/api/roster", &again, Some("sup")).await;
    assert_eq!(s, 200);
    let rows = get(&d, &format!("/api/roster?date={date}&shift=a"), "sup").await;
    assert_eq!(rows.as_array().map(Vec::len), Some(1));
    drop(b);
    d.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patrol_gap_raises_the_alert_for_that_team_and_lead_only() {
    let (hook1, got1) = recording_receiver().await;
    let (hook2, got2) = recording_receiver().await;
    let receivers = format!(
        "[[notify.receivers]]\nname = \"lead1\"\nkind = \"webhook\"\nurl = \"http://{hook1}/hook\"\nteams = [\"team-1\"]\n\
         [[notify.receivers]]\nname = \"lead2\"\nkind = \"webhook\"\nurl = \"http://{hook2}/hook\"\nteams = [\"team-2\"]\n"
    );
    let mut cfg = config(&receivers);
    cfg.shift.patrol_interval_secs = 2;
    let d = TestDaemon::with_config(cfg).await;
    let mut b = d.bridge(Some("acd")).await;
    b.send(
        json!([
            {"type": "agent_login", "ts": ts_now(0.0), "agent": "A1", "team": "team-1"},
            {"type": "agent_login", "ts": ts_now(0.0), "agent": "B1", "team": "team-2"}
        ])
        .to_string(),
    )
    .await;
    let (s, _) = d.post("/api/patrols", r#"{"team": "team-2"}"#, Some("l1")).await;
    assert_eq!(s, 403, "a lead patrols their own teams");
    // Team 2's lead walks the floor every half second, team 1's not at all.
    let addr = d.addr;
    let walker = tokio::spawn(async move {
        loop {
            let (s, body) =
                http_send(addr, "POST", "/api/patrols", r#"{"team": "team-2"}"#, Some("l2")).await;
            assert_eq!(s, 201, "{body}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    let alerts = eventually(&d, "/api/alerts?kind=patrol_overdue", "sup", |v| {
        v.as_array().is_some_and(|a| a.iter().any(|x| x["state"] == "firing"))
    })
    .await;
    let firing: Vec<&Value> =
        alerts.as_array().into_iter().flatten().filter(|a| a["state"] == "firing").collect();
    assert_eq!(firing.len(), 1, "{alerts}");
    assert_eq!(firing[0]["subject"]["team"], "team-1", "{}", firing[0]);
    let id = firing[0]["id"].as_str().expect("id").to_owned();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while got1.lock().expect("lock").iter().all(|n| n["kind"] != "patrol_overdue") {
        assert!(tokio::time::Instant::now() < deadline, "team 1's lead was never told");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let standing = get(&d, "/api/patrols/teams", "sup").await;
    let of = |t: &str| standing["teams"].as_array().and_then(|a| a.iter().find(|x| x["team"] == t)).cloned();
    assert_eq!(
        of("team-1").map(|t| (t["overdue"].clone(), t["last_patrol"].clone())),
        Some((json!(true), Value::Null))
    );
    assert_eq!(of("team-2").map(|t| t["overdue"].clone()), Some(json!(false)));

    // The next patrol resolves it.
    let (s, body) = d.post("/api/patrols", r#"{"team": "team-1", "note": "all well"}"#, Some("l1")).await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(json_of(&body)["by"], "lead-team-1");
    eventually(&d, &format!("/api/alerts/{id}"), "sup", |v| v["state"] == "resolved").await;
    walker.abort();
    let log = get(&d, "/api/patrols?team=team-1", "sup").await;
    assert_eq!(log.as_array().map(Vec::len), Some(1));
    assert_eq!(log[0]["note"], "all well");
    let all = get(&d, "/api/alerts?kind=patrol_overdue", "sup").await;
    assert!(
        all.as_array().into_iter().flatten().all(|a| a["subject"]["team"] == "team-1"),
        "team 2 was patrolled throughout: {all}"
    );
    assert!(
        got2.lock().expect("lock").iter().all(|n| n["kind"] != "patrol_overdue"),
        "team 2's lead is not told"
    );
    drop(b);
    d.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overrun_drafts_for_exactly_the_overruns_reviewed_by_their_own_lead() {
    let mut cfg = config("");
    cfg.alerts.acw_overrun_secs = 2;
    cfg.alerts.busy_limit_secs.insert("break".into(), 2);
    let d = TestDaemon::with_config(cfg).await;
    let mut b = d.bridge(Some("acd")).await;
    b.send(
        json!([
            {"type": "agent_login", "ts": ts_now(0.0), "agent": "A1", "team": "team-1"},
            {"type": "agent_login", "ts": ts_now(0.0), "agent": "A2", "team": "team-1"},
            {"type": "agent_login", "ts": ts_now(0.0), "agent": "B1", "team": "team-2"},
            {"type": "agent_state", "ts": ts_now(0.0), "agent": "A1", "state": "acw"},
            {"type": "agent_state", "ts": ts_now(0.0), "agent": "A2", "state": "acw"},
            {"type": "agent_state", "ts": ts_now(0.0), "agent": "B1", "state": "not_ready", "reason": "break"}
        ])
        .to_string(),
    )
    .await;
    // A2 is back before the limit: no overrun, no record.
    b.send(json!({"type": "agent_state", "ts": ts_now(0.0), "agent": "A2", "state": "ready"}).to_string())
        .await;
    let alerts = eventually(&d, "/api/alerts", "sup", |v| {
        v.as_array().is_some_and(|a| {
            a.iter().filter(|x| x["kind"] == "acw_overrun" || x["kind"] == "busy_overrun").count() == 2
        })
    })
    .await;
    let mut alert_ids: Vec<String> = alerts
        .as_array()
        .into_iter()
        .flatten()
        .filter(|x| x["kind"] == "acw_overrun" || x["kind"] == "busy_overrun")
        .map(|x| x["id"].as_str().unwrap_or("").to_owned())
        .collect();
    alert_ids.sort();
    // A1's ACW ends: its record's duration becomes final.
    b.send(json!({"type": "agent_state", "ts": ts_now(0.0), "agent": "A1", "state": "ready"}).to_string())
        .await;
    let list = eventually(&d, "/api/overruns", "sup", |v| {
        v.as_array().is_some_and(|a| a.iter().any(|x| x["agent"] == "A1" && x["final"] == true))
    })
    .await;
    let mut record_alerts: Vec<String> =
        list.as_array().into_iter().flatten().map(|x| x["alert"].as_str().unwrap_or("").to_owned()).collect();
    record_alerts.sort();
    assert_eq!(record_alerts, alert_ids, "one draft per overrun alert, none for A2");
    let a1 =
        list.as_array().and_then(|a| a.iter().find(|x| x["agent"] == "A1")).cloned().expect("A1's record");
    assert_eq!(
        (a1["kind"].as_str(), a1["team"].as_str(), a1["status"].as_str()),
        (Some("acw_overrun"), Some("team-1"), Some("draft"))
    );
    assert_eq!((a1["threshold_secs"].as_i64(), a1["tier"].as_i64()), (Some(2), Some(1)));
    assert!(a1["duration_secs"].as_i64().is_some_and(|s| s >= 2), "{a1}");
    let b1 =
        list.as_array().and_then(|a| a.iter().find(|x| x["agent"] == "B1")).cloned().expect("B1's record");
    assert_eq!((b1["kind"].as_str(), b1["reason"].as_str()), (Some("busy_overrun"), Some("break")));

    let path = |r: &Value| format!("/api/overruns/{}", r["id"]);
    let (s, _) = d.patch(&path(&a1), r#"{"status": "confirmed", "note": "seen"}"#, Some("l2")).await;
    assert_eq!(s, 403, "another team's lead may not confirm it");
    let (s, _) = d.patch(&path(&a1), r#"{"sign_off": true}"#, Some("sup")).await;
    assert_eq!(s, 409, "a draft is not signed off");
    let (s, body) =
        d.patch(&path(&a1), r#"{"status": "confirmed", "note": "seen on the floor"}"#, Some("l1")).await;
    assert_eq!(s, 200, "{body}");
    let r = json_of(&body);
    assert_eq!(
        (r["status"].as_str(), r["reviewed_by"].as_str(), r["note"].as_str()),
        (Some("confirmed"), Some("lead-team-1"), Some("seen on the floor"))
    );
    let (s, body) = d.patch(&path(&a1), r#"{"explanation": "customer follow-up"}"#, Some("l1")).await;
    assert_eq!((s, json_of(&body)["explanation"].as_str()), (200, Some("customer follow-up")));
    let (s, _) = d.patch(&path(&a1), r#"{"sign_off": true}"#, Some("l1")).await;
    assert_eq!(s, 403, "the sign-off is the duty supervisor's");
    let (s, body) = d.patch(&path(&a1), r#"{"sign_off": true}"#, Some("sup")).await;
    assert_eq!((s, json_of(&body)["signed_off_by"].as_str()), (200, Some("duty-sup")));
    let (s, _) = d.patch(&path(&a1), r#"{"status": "dismissed"}"#, Some("l1")).await;
    assert_eq!(s, 409, "signed off: final");
    let (s, _) = d.patch(&path(&b1), r#"{"status": "draft"}"#, Some("l2")).await;
    assert_eq!(s, 422);
    let (s, _) = d.patch(&path(&b1), r#"{"status": "dismissed", "note": "system issue"}"#, Some("l2")).await;
    assert_eq!(s, 200);

    let totals = get(&d, "/api/overruns/totals?period=week", "sup").await;
    let row = |k: &str, v: &str| {
        totals[k].as_array().and_then(|a| a.iter().find(|x| x[&k[..k.len() - 1]] == v)).cloned()
    };
    let t1 = row("teams", "team-1").expect("team-1's totals");
    assert_eq!(
        (t1["records"].as_i64(), t1["confirmed"].as_i64(), t1["confirmed_tiers"].as_i64()),
        (Some(1), Some(1), Some(1))
    );
    let b1t = row("agents", "B1").expect("B1's totals");
    assert_eq!((b1t["dismissed"].as_i64(), b1t["confirmed"].as_i64()), (Some(1), Some(0)));
    let month = get(&d, "/api/overruns/totals?period=month", "sup").await;
    assert_eq!(month["agents"].as_array().map(Vec::len), Some(2));

    let audit = get(&d, "/api/audit", "adm").await;
    let actions: Vec<&str> =
        audit.as_array().into_iter().flatten().filter_map(|a| a["action"].as_str()).collect();
    for a in ["overrun.confirm", "overrun.explain", "overrun.sign_off", "overrun.dismiss"] {
        assert!(actions.contains(&a), "{a} not audited: {actions:?}");
    }
    let (s, csv) = http_send(d.addr, "GET", "/api/overruns?format=csv&team=team-1", "", Some("sup")).await;
    assert_eq!((s, csv.lines().count()), (200, 2), "{csv}");
    drop(b);
    d.shutdown().await.expect("clean shutdown");
}

/// Erlang C in log space, from its closed formula: a computation of its own.
fn needed_here(per_hour: f64, aht: f64, t: f64, target: f64) -> u32 {
    let a = per_hour * aht / 3600.0;
    let ln_fact = |k: u32| (1..=k).map(|i| f64::from(i).ln()).sum::<f64>();
    (1..1000u32)
        .find(|&n| {
            let nf = f64::from(n);
            if nf <= a {
                return false;
            }
            let terms: f64 = (0..n).map(|k| (f64::from(k) * a.ln() - ln_fact(k)).exp()).sum();
            let top = (nf * a.ln() - ln_fact(n)).exp() * nf / (nf - a);
            let pw = top / (terms + top);
            1.0 - pw * (-(nf - a) * t / aht).exp() >= target
        })
        .expect("a staffing")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_advice_agrees_with_an_erlang_c_computed_here() {
    let d = TestDaemon::with_config(config("")).await;
    let mut b = d.bridge(Some("acd")).await;
    let mut frame: Vec<Value> = (0..12)
        .map(|i| json!({"type": "agent_login", "ts": ts_now(-30.0), "agent": format!("A{i}"), "team": "team-1"}))
        .collect();
    frame.push(json!({"type": "agent_state", "ts": ts_now(-30.0), "agent": "A0", "state": "not_ready", "reason": "lunch"}));
    frame.extend((0..90).map(
        |i| json!({"type": "call_offered", "ts": ts_now(-20.0), "call": format!("C{i}"), "queue": "billing"}),
    ));
    b.send(Value::Array(frame).to_string()).await;
    d.wait_events(103).await;
    let (s, _) = http_send(d.addr, "GET", "/api/advice?horizon_mins=90", "", Some("sup")).await;
    assert_eq!(s, 400);
    let v = eventually(&d, "/api/advice?horizon_mins=60", "sup", |v| {
        v["queues"]
            .as_array()
            .is_some_and(|q| q.iter().any(|x| x["queue"] == "billing" && x["expected_calls"] == 90.0))
    })
    .await;
    let q = v["queues"]
        .as_array()
        .and_then(|q| q.iter().find(|x| x["queue"] == "billing"))
        .cloned()
        .expect("billing");
    assert_eq!(q["basis"], "recent", "a new daemon has no learned profile yet");
    let (aht, per_hour) =
        (v["aht_secs"].as_f64().expect("aht"), q["expected_per_hour"].as_f64().expect("rate"));
    assert_eq!(per_hour, 90.0);
    let want = needed_here(
        per_hour,
        aht,
        q["sl_secs"].as_f64().expect("T"),
        q["sl_target"].as_f64().expect("target"),
    );
    assert_eq!(q["needed"].as_u64(), Some(u64::from(want)), "{q}");
    // The floor needs the sum of its queues' needs, each sized with its own
    // handle time and target, computed here again from what each queue reports.
    let floor_needed: u32 = v["queues"]
        .as_array()
        .expect("queues")
        .iter()
        .map(|x| {
            let per_hour = x["expected_per_hour"].as_f64().expect("rate");
            if per_hour == 0.0 {
                return 0;
            }
            needed_here(
                per_hour,
                x["aht_secs"].as_f64().expect("queue aht"),
                x["sl_secs"].as_f64().expect("T"),
                x["sl_target"].as_f64().expect("target"),
            )
        })
        .sum();
    assert_eq!(q["aht_secs"].as_f64(), Some(aht), "billing answered nothing: the floor's handle time");
    assert_eq!(v["needed"].as_u64(), Some(u64::from(floor_needed)), "{v}");
    assert_eq!(v["needed_by"], "sum_of_queues");
    assert_eq!(v["staffed"], 11);
    assert_eq!(v["releasable"].as_u64(), Some(u64::from(11u32.saturating_sub(floor_needed))));
    assert!(floor_needed < 11, "quiet enough to release someone: {v}");
    drop(b);
    d.shutdown().await.expect("clean shutdown");
}

const ADMIN: &str = "duty-s3cret";

/// A floor whose writes need the admin token (the page asks for it once).
async fn desk() -> (TestDaemon, String) {
    let mut cfg = parse(&floor_toml(), "shift.toml", &Env::new()).expect("valid config");
    cfg.admin_token = Some(ADMIN.into());
    let d = TestDaemon::with_config(cfg).await;
    let (_, body) = d.get("/api/handover").await;
    let date = json_of(&body)["date"].as_str().expect("date").to_owned();
    let roster = format!(
        "date,shift,team,agent,name,seat\n{date},a,team-1,L1,Lead One,R1-1\n{date},a,team-1,A1,Ann,R1-2\n\
         {date},a,team-1,A3,Cy,R2-1\n{date},a,team-2,B1,Di,R1-3\n"
    );
    let (s, body) = http_send(d.addr, "PUT", "/api/roster", &roster, Some(ADMIN)).await;
    assert_eq!(s, 200, "{body}");
    (d, date)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_duty_page_runs_the_handover_in_chromium() {
    use fantoccini::Locator;

    use crate::wallboard::{js, text_of, until, with_browser};
    let (d, date) = desk().await;
    let mut b = d.bridge(Some("acd")).await;
    b.send(
        json!([
            {"type": "agent_login", "ts": ts_now(-1.0), "agent": "L1", "team": "team-1"},
            {"type": "agent_login", "ts": ts_now(-1.0), "agent": "A1", "team": "team-1"},
            {"type": "agent_login", "ts": ts_now(-1.0), "agent": "B1", "team": "team-2"}
        ])
        .to_string(),
    )
    .await;
    let (addr, day) = (d.addr, date.clone());
    with_browser("en-US", |c| async move {
        let date = day;
        c.set_window_size(1024, 768).await.expect("tablet size");
        c.goto(&format!("http://{addr}/duty?lang=en&date={date}&shift=a")).await.expect("open the duty page");
        let row = "#teams tr[data-team='team-1']";
        until(&c, "team 1 present", &format!("const r = document.querySelector(\"{row} .present\"); return r && r.textContent === '2';")).await;
        assert_eq!(js(&c, &text_of(&format!("{row} .expected"))).await, "3");
        assert_eq!(js(&c, &text_of("#th-absent")).await, "Absent and why");
        // The lead's reason for A3, then the confirmation: the first write asks for the token.
        c.find(Locator::Css(&format!("{row} .absent-agent[data-agent='A3'] input"))).await.expect("reason").send_keys("sick").await.expect("type");
        c.find(Locator::Css(&format!("{row} .save-reason"))).await.expect("save").click().await.expect("click");
        until(&c, "the token prompt", "const d = document.getElementById('token-dialog'); return d && d.open;").await;
        c.find(Locator::Css("#token-input")).await.expect("token").send_keys(ADMIN).await.expect("type");
        c.find(Locator::Css("#token-ok")).await.expect("ok").click().await.expect("click");
        until(&c, "the reason shown", &format!("const e = document.querySelector(\"{row} .absent-agent[data-agent='A3'] span\"); return e && e.textContent === 'A3 — sick';")).await;
        c.find(Locator::Css(&format!("{row} button.confirm"))).await.expect("confirm").click().await.expect("click");
        until(&c, "confirmed", &format!("const e = document.querySelector(\"{row} .confirmed\"); return e && e.textContent === 'admin';")).await;
        c.find(Locator::Css(&format!("{row} button.countersign"))).await.expect("countersign").click().await.expect("click");
        until(&c, "archived", &format!("const e = document.querySelector(\"{row} .countersigned\"); return e && e.textContent === 'admin (archived)';")).await;
        // The other language, and the printable sheet linked for it.
        c.find(Locator::Css("#lang-toggle")).await.expect("toggle").click().await.expect("click");
        until(&c, "Chinese headings", "return document.getElementById('th-absent').textContent === '未到人员及原因';").await;
        let print = js(&c, "return document.getElementById('print').getAttribute('href');").await;
        assert!(print.as_str().is_some_and(|h| h.contains("format=html") && h.contains("lang=zh-CN")), "{print}");

        // The lead's tablet: one tap logs the patrol.
        c.goto(&format!("http://{addr}/lead?team=team-1&lang=en")).await.expect("open the console");
        until(&c, "the patrol button", "const b = document.getElementById('patrol-done'); return b && !b.hidden && b.textContent.includes('Patrol done');").await;
        c.find(Locator::Css("#patrol-done")).await.expect("patrol").click().await.expect("click");
        until(&c, "patrol logged", "const b = document.getElementById('patrol-done'); return b && b.textContent.includes('min ago');").await;
    })
    .await;
    let (_, sheet) = d.get(&format!("/api/handover?date={date}&shift=a")).await;
    let sheet = json_of(&sheet);
    let t1 = team(&sheet, "team-1");
    assert_eq!(
        (t1["confirmed_by"].as_str(), t1["countersigned_by"].as_str()),
        (Some("admin"), Some("admin"))
    );
    assert_eq!(t1["absent"], json!([{"agent": "A3", "reason": "sick"}]));
    let (_, log) = d.get("/api/patrols?team=team-1").await;
    assert_eq!(json_of(&log).as_array().map(Vec::len), Some(1), "{log}");
    drop(b);
    d.shutdown().await.expect("clean shutdown");
}

/// The wall as the floor sits (`/?view=seats`): the plan's rows in order, each
/// seat in its place — its agent's cell, a rostered agent not signed in, or an
/// empty seat — and it follows the feed and the sign-ins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wall_shows_the_floor_as_it_sits_in_chromium() {
    use crate::wallboard::{js, until, with_browser};
    let (d, _) = desk().await;
    let mut b = d.bridge(Some("acd")).await;
    b.send(
        json!([
            {"type": "agent_login", "ts": ts_now(-1.0), "agent": "A1", "name": "Ann", "team": "team-1"},
            {"type": "agent_login", "ts": ts_now(-1.0), "agent": "B1", "name": "Di", "team": "team-2"},
            {"type": "agent_login", "ts": ts_now(-1.0), "agent": "Z9", "name": "Zed", "team": "team-2"},
            {"type": "agent_state", "ts": ts_now(0.0), "agent": "B1", "state": "acw"}
        ])
        .to_string(),
    )
    .await;
    let addr = d.addr;
    // Per row: its head, then each cell's name and reason line, in order.
    const ROWS: &str = "return [...document.querySelectorAll('#flow .team')].map(t => [t.querySelector('.tname').textContent,         ...[...t.querySelectorAll('.agent')].map(a => a.querySelector('.an').textContent + ' | ' + a.querySelector('.ar').textContent)]);";
    with_browser("en-US", |c| {
        let b = &mut b;
        async move {
            c.set_window_size(1920, 1080).await.expect("size");
            c.goto(&format!("http://{addr}/?lang=en&view=seats")).await.expect("open the wall");
            let want = json!([
                ["Row R1", "Lead One | R1-1 · not signed in", "Ann | R1-2 · Ready", "Di | R1-3 · After-call work"],
                ["Row R2", "Cy | R2-1 · not signed in", "R2-2 | R2-2 · empty", "R2-3 | R2-3 · empty"],
                ["No seat", "Zed | Ready"]
            ]);
            until(&c, "the floor by seat", &format!("return JSON.stringify((() => {{ {ROWS} }})()) === {:?};", want.to_string())).await;
            // Cy signs in and takes a call: her seat shows her.
            b.send(json!([
                {"type": "agent_login", "ts": ts_now(0.0), "agent": "A3", "name": "Cy", "team": "team-1"},
                {"type": "agent_state", "ts": ts_now(0.0), "agent": "A3", "state": "talking"}
            ]).to_string()).await;
            until(&c, "Cy at R2-1", "const t = document.querySelectorAll('#flow .team')[1]; const a = t && t.querySelector('.agent');                 return !!a && a.dataset.agent === 'A3' && a.querySelector('.ar').textContent === 'R2-1 · Talking';").await;
            assert_eq!(js(&c, "return document.querySelectorAll('#flow .agent.seat-empty').length;").await, 3, "R1-1, R2-2, R2-3");
        }
    })
    .await;
    drop(b);
    d.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seat_map_shows_who_sits_where_in_chromium() {
    use crate::wallboard::{js, until, with_browser};
    let (d, date) = desk().await;
    let mut b = d.bridge(Some("acd")).await;
    b.send(
        json!([
            {"type": "agent_login", "ts": ts_now(-1.0), "agent": "A1", "name": "Ann", "team": "team-1"},
            {"type": "agent_login", "ts": ts_now(-1.0), "agent": "B1", "team": "team-2"},
            {"type": "agent_state", "ts": ts_now(0.0), "agent": "B1", "state": "acw"}
        ])
        .to_string(),
    )
    .await;
    let addr = d.addr;
    let seat = |s: &str| format!("document.querySelector(\"#seats .seat[data-seat='{s}']\")");
    with_browser("zh-CN", |c| {
        let b = &mut b;
        async move {
            c.set_window_size(1280, 800).await.expect("size");
            c.goto(&format!("http://{addr}/duty?lang=zh-CN&date={date}&shift=a")).await.expect("open the duty page");
            until(&c, "Ann at R1-2, ready", &format!("const e = {}; return e && e.classList.contains('state-ready') && e.querySelector('.who').textContent === 'Ann';", seat("R1-2"))).await;
            assert_eq!(js(&c, &format!("return {}.classList.contains('state-acw');", seat("R1-3"))).await, true);
            assert_eq!(js(&c, &format!("return {}.classList.contains('off');", seat("R1-1"))).await, true, "L1 is rostered, not logged in");
            assert_eq!(js(&c, &format!("return {}.classList.contains('empty');", seat("R2-3"))).await, true);
            assert_eq!(js(&c, "return document.querySelectorAll('#seats .seat-row').length;").await, 2);
            assert_eq!(js(&c, "return document.getElementById('seatmap-title').textContent;").await, "座位图");
            // The map follows the floor: Ann goes on a break.
            b.send(json!({"type": "agent_state", "ts": ts_now(0.0), "agent": "A1", "state": "not_ready", "reason": "break"}).to_string()).await;
            until(&c, "Ann on a break", &format!("const e = {}; return e && e.classList.contains('state-not_ready');", seat("R1-2"))).await;
            let what = js(&c, &format!("return {}.querySelector('.what').textContent;", seat("R1-2"))).await;
            assert!(what.as_str().is_some_and(|w| w.starts_with("R1-2 · 示忙")), "{what}");
        }
    })
    .await;
    drop(b);
    d.shutdown().await.expect("clean shutdown");
}
