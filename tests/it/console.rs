//! The team lead's console at work in headless Chromium (issue 18 item 5): the
//! call-back worklist end to end with the admin token asked on the first write,
//! the open incident preselected, a fault noted after it recovered, an unknown
//! team refused on screen, and no horizontal scrolling from phone to tablet.

use fantoccini::Locator;
use floorwatch::config::Config;
use serde_json::{Value, json};

use crate::harness::{TestDaemon, ts_now};
use crate::wallboard::{js, text_of, until, with_browser};

const TOKEN: &str = "lead-s3cret";

/// Whether the page is no wider than its window (no horizontal scroll).
const FITS: &str = "const d = document.documentElement; return [d.scrollWidth, d.clientWidth];";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_lead_works_the_call_back_list_from_a_tablet() {
    let mut cfg = Config { admin_token: Some(TOKEN.into()), ..Config::default() };
    cfg.floor.teams = crate::wallboard::two_teams();
    let d = TestDaemon::with_config(cfg).await;
    let mut b = d.bridge(Some("acd")).await;
    b.send(
        json!([
            {"type":"agent_login","ts":ts_now(-300.0),"agent":"A1","name":"王芳","team":"team-1"},
            {"type":"agent_login","ts":ts_now(-300.0),"agent":"B1","name":"Sam King","team":"team-2"},
            {"type":"fault","ts":ts_now(-1.0),"component":"trunk-2","status":"down"}
        ])
        .to_string(),
    )
    .await;
    // The fault opens an incident (the default playbook).
    let deadline = tokio::time::Instant::now() + crate::harness::PATIENCE;
    let incident = loop {
        let (_, body) = d.get("/api/incidents?state=open").await;
        let list: Value = serde_json::from_str(&body).expect("json");
        if let Some(id) = list[0]["id"].as_str() {
            break id.to_owned();
        }
        assert!(tokio::time::Instant::now() < deadline, "no incident opened: {body}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    // Two call-backs of the incident and one of none.
    let mut ids = Vec::new();
    for (caller, inc) in
        [("13800000001", Some(&incident)), ("13800000002", Some(&incident)), ("13900000003", None)]
    {
        let body = json!({"caller": caller, "incident": inc, "by": "test"}).to_string();
        let (status, reply) = d.post("/api/callbacks", &body, Some(TOKEN)).await;
        assert_eq!(status, 201, "{reply}");
        let rec: Value = serde_json::from_str(&reply).expect("json");
        ids.push(rec["id"].as_i64().expect("an id"));
    }
    let first = ids[0];

    let (addr, inc) = (d.addr, incident.clone());
    with_browser("en-US", |c| async move {
        c.set_window_size(1024, 768).await.expect("tablet size");
        c.goto(&format!("http://{addr}/lead?team=team-1&lang=en")).await.expect("open the console");
        // The open incident is preselected in the call-back form, not "(none)".
        until(&c, "the open incident preselected", &format!("return document.getElementById('cb-incident').value === {inc:?};")).await;

        // The worklist of the incident: its two pending call-backs.
        js(&c, &format!("const s = document.getElementById('wl-incident'); s.value = {inc:?}; s.dispatchEvent(new Event('change')); return true")).await;
        until(&c, "two call-backs of the incident", "return document.querySelectorAll('#cb-list li[data-callback]').length === 2;").await;
        let row = format!("#cb-list li[data-callback='{first}']");

        // Assign: the first write asks for the token, with the server's refusal shown.
        c.find(Locator::Css(&format!("{row} .cb-assign-to"))).await.expect("assignee").send_keys("A1").await.expect("type");
        c.find(Locator::Css(&format!("{row} .cb-assign"))).await.expect("assign").click().await.expect("click");
        until(&c, "the token prompt", "const d = document.getElementById('token-dialog'); return d && d.open;").await;
        let why = js(&c, &text_of("#token-dialog .err")).await;
        assert!(why.as_str().is_some_and(|w| w.contains("admin token")), "the refusal is shown: {why}");
        c.find(Locator::Css("#token-input")).await.expect("token").send_keys(TOKEN).await.expect("type");
        c.find(Locator::Css("#token-ok")).await.expect("ok").click().await.expect("click");
        until(&c, "assigned", &format!("const s = document.querySelector(\"{row} .cb-status\"); return s && s.textContent === 'Assigned';")).await;
        assert_eq!(js(&c, "return sessionStorage.getItem('floorwatch.session_token')").await, TOKEN);

        // Record an attempt, then done: no second prompt.
        c.find(Locator::Css(&format!("{row} .cb-attempt"))).await.expect("attempt").click().await.expect("click");
        until(&c, "one attempt", &format!("const s = document.querySelector(\"{row} .cb-attempts\"); return s && s.textContent === '1 attempt';")).await;
        assert_eq!(js(&c, "return document.getElementById('token-dialog').open").await, false);
        c.find(Locator::Css(&format!("{row} .cb-done"))).await.expect("done").click().await.expect("click");
        // The pending list no longer holds it.
        until(&c, "done leaves the pending list", &format!("return document.querySelector(\"{row}\") === null && document.querySelectorAll('#cb-list li[data-callback]').length === 1;")).await;

        // No horizontal scroll on the tablet, nor on a phone.
        let fits = js(&c, FITS).await;
        assert!(fits[0].as_i64() <= fits[1].as_i64(), "1024×768 scrolls sideways: {fits}");
        c.set_window_size(400, 800).await.expect("phone size");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let fits = js(&c, FITS).await;
        assert!(fits[1].as_i64().is_some_and(|w| w <= 400), "the phone window: {fits}");
        assert!(fits[0].as_i64() <= fits[1].as_i64(), "400×800 scrolls sideways: {fits}");

        // An unknown team is refused on screen, listing the teams there are.
        c.goto(&format!("http://{addr}/lead?team=nonexistent&lang=en")).await.expect("open");
        let shown = until(&c, "the refusal", "const e = document.getElementById('team-refused'); return e && !e.hidden ? e.textContent : null;").await;
        let shown = shown.as_str().unwrap_or_default().to_owned();
        for needle in ["nonexistent", "team-1", "team-2"] {
            assert!(shown.contains(needle), "{needle} not in {shown:?}");
        }
        assert_eq!(js(&c, "return document.querySelectorAll('#agents tr[data-agent]').length").await, 0, "no other team's agents");
        assert_eq!(js(&c, "return document.getElementById('team').value").await, "");
    })
    .await;

    // The store has what the console entered.
    let (_, body) = d.get(&format!("/api/callbacks?incident={incident}&status=done")).await;
    let done: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(done.as_array().map(Vec::len), Some(1), "{done}");
    assert_eq!(done[0]["id"], first);
    assert_eq!(done[0]["agent"], "A1");
    assert_eq!(done[0]["attempts"], 1);
    assert!(done[0]["finished_at"].is_string());
}

/// A fault that has recovered can still be annotated from the console (its cause
/// is often known only afterwards).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovered_fault_is_annotated_from_the_console() {
    let d = TestDaemon::start().await;
    let mut b = d.bridge(Some("acd")).await;
    b.send(json!({"type":"fault","ts":ts_now(-5.0),"component":"trunk-2","status":"down"}).to_string()).await;
    b.send(json!({"type":"fault","ts":ts_now(-1.0),"component":"trunk-2","status":"up"}).to_string()).await;
    let deadline = tokio::time::Instant::now() + crate::harness::PATIENCE;
    loop {
        let (_, body) = d.get("/api/faults").await;
        let f: Value = serde_json::from_str(&body).expect("json");
        if f[0]["recovered_at"].is_string() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the fault never recovered: {body}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let addr = d.addr;
    with_browser("zh-CN", |c| async move {
        c.goto(&format!("http://{addr}/lead?lang=en")).await.expect("open the console");
        until(&c, "the recovered fault offered", "const s = document.getElementById('fault-id'); return !document.getElementById('fault-notes').hidden && s.options.length > 0 && s.options[0].textContent.includes('(recovered)');").await;
        c.find(Locator::Css("#fault-cause")).await.expect("cause").send_keys("carrier lost on E1 2").await.expect("type");
        c.find(Locator::Css("#fault-form button[type=submit]")).await.expect("save").click().await.expect("click");
        until(&c, "saved", "return document.querySelector('#fault-form .msg').textContent === 'Saved';").await;

        // On the Chinese console a server refusal (an empty note: 422, field
        // "body", English text from the server) reads in Chinese.
        c.goto(&format!("http://{addr}/lead?lang=zh-CN")).await.expect("open the console");
        until(&c, "the fault form", "const s = document.getElementById('fault-id'); return !document.getElementById('fault-notes').hidden && s.options.length > 0;").await;
        c.find(Locator::Css("#fault-form button[type=submit]")).await.expect("save").click().await.expect("click");
        let shown = until(&c, "the refusal", "const m = document.querySelector('#fault-form .msg').textContent; return m ? m : null;").await;
        assert_eq!(shown, "未保存：填写有误: 内容", "no English on the Chinese console");
    })
    .await;
    let (_, body) = d.get("/api/faults").await;
    let f: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(f[0]["cause"], "carrier lost on E1 2", "{f}");
}

/// The console speaks one language: on `?lang=en` the alert cards read the
/// alerts' English messages with the config's English display names (a
/// component's, a team's), the team picker names the team in English, and no
/// Chinese shows but the names the config gives only in Chinese (the lead's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_english_console_shows_english_messages_and_display_names() {
    use floorwatch::vocab::Names;
    let mut cfg = Config::default();
    cfg.floor.teams = crate::wallboard::two_teams();
    for (t, en) in cfg.floor.teams.iter_mut().zip(["Team 1", "Team 2"]) {
        t.names = Names { zh: Some(t.name.clone()), en: Some(en.into()) };
    }
    cfg.incidents
        .components
        .insert("trunk-2".into(), Names { zh: Some("2 号中继线".into()), en: Some("trunk line 2".into()) });
    let d = TestDaemon::with_config(cfg).await;
    let mut b = d.bridge(Some("acd")).await;
    b.send(
        json!([
            {"type":"agent_login","ts":ts_now(-300.0),"agent":"A1","name":"Ann Lee","team":"team-1"},
            {"type":"fault","ts":ts_now(-1.0),"component":"trunk-2","status":"down","detail":"E1 lost carrier"}
        ])
        .to_string(),
    )
    .await;
    let addr = d.addr;
    with_browser("en-US", |c| async move {
        c.goto(&format!("http://{addr}/lead?team=team-1&lang=en")).await.expect("open the console");
        until(&c, "the fault's card", "return !!document.querySelector('#floor-alerts .card .msg');").await;
        let msg = js(&c, &text_of("#floor-alerts .card .msg")).await;
        let msg = msg.as_str().unwrap_or_default().to_owned();
        assert!(
            msg.contains("trunk line 2") && !msg.contains("trunk-2"),
            "the English message with the display name: {msg}"
        );
        let head = js(&c, &text_of("#floor-alerts .card .what")).await;
        assert!(head.as_str().is_some_and(|h| h.contains("trunk line 2")), "{head}");
        let option =
            js(&c, "return document.querySelector('#team option[value=\"team-1\"]').textContent").await;
        assert_eq!(option, "Team 1 · Lead 张伟");
        // Everything visible but the leads' names (given only in Chinese).
        let cjk = js(&c, &crate::wallboard::cjk_script(&["张伟", "李娜"])).await;
        assert_eq!(cjk, json!([]), "Chinese on the English console");
    })
    .await;
}
