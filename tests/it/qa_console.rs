//! The QA console (`/qa`, issue 21) in headless Chromium against the real
//! daemon: QA registers a rule through the page (a refusal shown in the page's
//! language first), sees its sample, and "verify" re-runs it to the same list
//! with the published checksum recomputed in the browser; QA scores a sampled
//! call on the configured sheet; the agent appeals it, the lead accepts it, the
//! three-party review decides — each with their own token. The English page
//! shows no Chinese, and nothing overflows a 1024×768 tablet.

use std::time::Duration;

use fantoccini::{Client, Locator};
use floorwatch::config::{Env, parse};
use serde_json::{Value, json};

use crate::harness::{PATIENCE, TestDaemon, http_send};
use crate::qa::DAY;
use crate::wallboard::{js, text_of, until, with_browser};

fn people_toml() -> String {
    let t = crate::harness::token_toml;
    [
        t("A1", "viewer", "", "a1-tok"),
        t("lead-team-1", "lead", "\"team-1\"", "l-tok"),
        t("qa-sup", "supervisor", "", "s-tok"),
    ]
    .concat()
}

/// Whether the page is no wider than its window (no horizontal scroll).
const FITS: &str = "const d = document.documentElement; return [d.scrollWidth, d.clientWidth];";

/// `datetime-local` values `secs` from now, set on the register form.
fn set_period(from: f64, to: f64) -> String {
    format!(
        "const f = (ms) => {{ const d = new Date(ms); const p = (x) => String(x).padStart(2, '0');
           return `${{d.getFullYear()}}-${{p(d.getMonth() + 1)}}-${{p(d.getDate())}}T${{p(d.getHours())}}:${{p(d.getMinutes())}}`; }};
         document.getElementById('r-from').value = f(Date.now() + {from} * 1000);
         document.getElementById('r-to').value = f(Date.now() + {to} * 1000);
         return true;"
    )
}

/// Types `token` into the token dialog once it opens.
async fn give_token(c: &Client, token: &str) {
    until(c, "the token prompt", "const d = document.getElementById('token-dialog'); return d && d.open;")
        .await;
    let input = c.find(Locator::Css("#token-input")).await.expect("token input");
    input.clear().await.expect("clear");
    input.send_keys(token).await.expect("type");
    c.find(Locator::Css("#token-ok")).await.expect("ok").click().await.expect("click");
}

/// Signs in as another person through "Change token".
async fn switch_to(c: &Client, token: &str, name: &str) {
    c.find(Locator::Css("#change-token")).await.expect("change token").click().await.expect("click");
    give_token(c, token).await;
    until(c, name, &format!("return document.getElementById('me').textContent.includes({name:?}) && document.body.dataset.loaded === '1';"))
        .await;
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}")).click().await.expect("click");
}

async fn english_fits(c: &Client, when: &str) {
    let cjk = js(c, &crate::wallboard::cjk_script(&[])).await;
    assert_eq!(cjk, json!([]), "Chinese on the English page ({when})");
    let fits = js(c, FITS).await;
    assert!(fits[0].as_i64() <= fits[1].as_i64(), "1024×768 scrolls sideways ({when}): {fits}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qa_registers_a_rule_verifies_its_sample_and_an_appeal_is_decided_in_chromium() {
    let cfg = parse(&people_toml(), "qa.toml", &Env::new()).expect("valid config");
    let d = TestDaemon::with_config(cfg).await;
    let mut b = d.bridge(Some("acd")).await;
    b.send(Value::Array(crate::qa::answered_traffic()).to_string()).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (_, body) = http_send(d.addr, "GET", "/api/calls", "", Some("s-tok")).await;
        let n = serde_json::from_str::<Value>(&body).ok().and_then(|v| v.as_array().map(Vec::len));
        if n == Some(16) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the calls never reached the log: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A lead's reach is judged by the agent's team on the floor now.
    d.wait_floor(|f| {
        f["agents"].as_array().is_some_and(|a| a.iter().any(|x| x["id"] == "A1" && x["team"] == "team-1"))
    })
    .await;

    let addr = d.addr;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
    let out = seen.clone();
    with_browser("en-US", |c| async move {
        c.set_window_size(1024, 768).await.expect("tablet size");
        c.goto(&format!("http://{addr}/qa?lang=en")).await.expect("open the QA console");
        // Reads need a token on a floor with people's tokens: asked once.
        give_token(&c, "s-tok").await;
        until(&c, "signed in as QA", "return document.getElementById('me').textContent === 'Signed in as qa-sup (supervisor)' && document.body.dataset.loaded === '1';").await;
        assert_eq!(js(&c, &text_of("#rule-list td.empty")).await, "No rule registered yet");

        // Register: a period already started is refused, in English, naming the input.
        click(&c, "#register summary").await;
        c.find(Locator::Css("#r-name")).await.expect("name").send_keys("week 49").await.expect("type");
        c.find(Locator::Css("#r-seed")).await.expect("seed").send_keys("published-2026-w49").await.expect("type");
        c.find(Locator::Css("#r-tz")).await.expect("tz").send_keys("Asia/Shanghai").await.expect("type");
        js(&c, "const r = document.getElementById('r-rate'); r.value = '5'; return true;").await;
        js(&c, &set_period(-120.0, 7.0 * DAY)).await;
        click(&c, "#rule-submit").await;
        let refused = until(&c, "the refusal", "const m = document.getElementById('rule-msg'); return m.classList.contains('err') && m.textContent;").await;
        assert_eq!(refused, "Not valid: From");
        js(&c, &set_period(3_600.0, 8.0 * DAY)).await;
        click(&c, "#rule-submit").await;
        let saved = until(&c, "registered", "const m = document.getElementById('rule-msg'); return !m.classList.contains('err') && m.textContent.startsWith('Rule ') && m.textContent;").await;
        let rule_id = saved.as_str().unwrap_or_default().trim_start_matches("Rule ").trim_end_matches(" registered").to_owned();
        assert!(rule_id.starts_with("rule-"), "{saved}");
        until(&c, "the rule listed", &format!("return document.querySelector(\"#rule-list tr[data-rule='{rule_id}'] td.sha\") !== null;")).await;

        // Its sample opens: the calls the rule picks, with why.
        let picked = until(&c, "the sample", "const r = [...document.querySelectorAll('#pick-list tr[data-call]')].map((t) => t.dataset.call); return r.length ? r : null;").await;
        let why = js(&c, &text_of("#pick-list tr td.why")).await;
        assert!(why.as_str().is_some_and(|w| !w.is_empty() && !w.contains('_')), "reasons in words: {why}");
        let csv = js(&c, "return document.getElementById('sample-csv').getAttribute('href');").await;
        assert_eq!(csv, json!(format!("/api/qa/rules/{rule_id}/sample?format=csv")));

        // Verify: the rule re-run gives the same list, and the published body
        // hashes (in the browser) to the published SHA-256.
        click(&c, "#verify").await;
        until(&c, "verified", "const v = document.getElementById('verify-result'); return !v.hidden && v.dataset.same === 'true' && v.dataset.ruleOk === 'true';").await;
        let shown = js(&c, "return [...document.querySelectorAll('#verify-result code.sha')].map((e) => e.textContent);").await;
        let published = js(&c, &format!("return document.querySelector(\"#rule-list tr[data-rule='{rule_id}'] td.sha\").textContent;")).await;
        assert_eq!(shown[0], published, "the rule checksum shown is the published one");
        assert!(js(&c, &text_of("#verify-result p.same")).await.as_str().is_some_and(|s| s.starts_with("Same list on both runs")));

        // Quotas: one row an agent of the sample.
        until(&c, "quotas", "return document.querySelectorAll('#quota-list tr[data-agent]').length === 2;").await;
        english_fits(&c, "rule and sample").await;

        // Score A1's first picked call: greeting −5, accuracy −10 → 85, good.
        let first_a1 = picked.as_array().and_then(|l| l.iter().find(|x| x.as_str().is_some_and(|s| s.starts_with("A1")))).and_then(Value::as_str).unwrap_or_default().to_owned();
        click(&c, &format!("#pick-list tr[data-call='{first_a1}'] button.score-call")).await;
        assert_eq!(js(&c, "return document.getElementById('s-call').value;").await, json!(first_a1));
        js(&c, "for (const [id, v] of [['s-item-greeting', '5'], ['s-item-accuracy', '10']]) { const i = document.getElementById(id); i.value = v; i.dispatchEvent(new Event('input')); } return true;").await;
        assert_eq!(js(&c, &text_of("#s-preview")).await, "Score 85 (good)");
        let label = js(&c, "return document.querySelector(\"label[for='s-item-accuracy']\").textContent;").await;
        assert_eq!(label, "Accurate answer (at most 25)", "the configured sheet, in English");
        click(&c, "#score-submit").await;
        until(&c, "scored", "return document.getElementById('score-msg').textContent === 'Saved: score 85 (good)';").await;
        until(&c, "the review listed", &format!("const r = document.querySelector(\"#review-list tr[data-call='{first_a1}'] td.grade\"); return r && r.textContent === 'good';")).await;
        assert_eq!(js(&c, &format!("return document.querySelector(\"#pick-list tr[data-call='{first_a1}'] button.score-call\") === null;")).await, true, "a reviewed call is not offered again");
        // A second A1 call: closing −15, compliance −20 → 65, a fail.
        let second_a1 = picked.as_array().and_then(|l| l.iter().filter_map(Value::as_str).filter(|s| s.starts_with("A1")).nth(1)).unwrap_or_default().to_owned();
        click(&c, &format!("#pick-list tr[data-call='{second_a1}'] button.score-call")).await;
        js(&c, "for (const [id, v] of [['s-item-closing', '15'], ['s-item-compliance', '20']]) { const i = document.getElementById(id); i.value = v; i.dispatchEvent(new Event('input')); } return true;").await;
        click(&c, "#score-submit").await;
        until(&c, "scored a fail", "return document.getElementById('score-msg').textContent === 'Saved: score 65 (fail)';").await;
        let review_id = |call: &str| format!("document.querySelector(\"#review-list tr[data-call='{call}']\").dataset.review");
        let (r1, r2) = (js(&c, &format!("return {};", review_id(&first_a1))).await, js(&c, &format!("return {};", review_id(&second_a1))).await);
        let (r1, r2) = (r1.as_str().unwrap_or_default().to_owned(), r2.as_str().unwrap_or_default().to_owned());

        // The agent: their own reviews, no QA forms; appeal the accuracy deduction.
        switch_to(&c, "a1-tok", "A1").await;
        let review_row = format!("#review-list tr[data-call='{first_a1}']");
        until(&c, "A1's review", &format!("return document.querySelector(\"{review_row} button.appeal\") !== null;")).await;
        assert_eq!(js(&c, "return getComputedStyle(document.getElementById('register')).display;").await, "none");
        assert_eq!(js(&c, "return getComputedStyle(document.getElementById('score')).display;").await, "none");
        click(&c, &format!("{review_row} button.appeal")).await;
        click(&c, "#a-item-accuracy").await;
        c.find(Locator::Css("#a-reason")).await.expect("reason").send_keys("the answer followed the script in force").await.expect("type");
        click(&c, "#appeal-submit").await;
        let appeal = format!("#appeal-list li[data-review='{r1}']");
        let other = format!("#appeal-list li[data-review='{r2}']");
        until(&c, "the appeal filed", &format!("const a = document.querySelector(\"{appeal} .a-status\"); return a && a.textContent === 'with the lead';")).await;
        assert_eq!(js(&c, &format!("return document.querySelectorAll(\"{appeal} button.a-accept\").length;")).await, 0, "an agent does not accept");
        // The second one too: the closing deduction.
        let review_row = format!("#review-list tr[data-call='{second_a1}']");
        until(&c, "the appeal button", &format!("return document.querySelector(\"{review_row} button.appeal\") !== null;")).await;
        click(&c, &format!("{review_row} button.appeal")).await;
        click(&c, "#a-item-closing").await;
        c.find(Locator::Css("#a-reason")).await.expect("reason").send_keys("the caller hung up first").await.expect("type");
        click(&c, "#appeal-submit").await;
        until(&c, "the second appeal filed", &format!("const a = document.querySelector(\"{other} .a-status\"); return a && a.textContent === 'with the lead';")).await;
        english_fits(&c, "the agent's view").await;

        // The lead accepts it to the three-party review.
        switch_to(&c, "l-tok", "lead-team-1").await;
        click(&c, &format!("{appeal} button.a-accept")).await;
        until(&c, "accepted", &format!("const a = document.querySelector(\"{appeal} .a-status\"); return a && a.textContent === 'at the three-party review';")).await;
        c.find(Locator::Css(&format!("{other} input.a-note"))).await.expect("note").send_keys("the recording is clear").await.expect("type");
        click(&c, &format!("{other} button.a-reject")).await;
        until(&c, "rejected", &format!("const a = document.querySelector(\"{other} .a-status\"); return a && a.textContent === 'rejected by the lead';")).await;
        let steps = js(&c, &format!("return [...document.querySelectorAll(\"{other} ol.path li\")].map((l) => l.textContent);")).await;
        assert!(steps[1].as_str().is_some_and(|s| s.ends_with("lead lead-team-1 rejected it")), "{steps}");
        assert_eq!(js(&c, &format!("return document.querySelectorAll(\"{appeal} form.decide\").length;")).await, 0, "a lead does not decide");

        // QA enters the three-party decision: amended to 95.
        switch_to(&c, "s-tok", "qa-sup").await;
        until(&c, "the decision form", &format!("return document.querySelector(\"{appeal} form.decide\") !== null;")).await;
        js(&c, &format!("const f = document.querySelector(\"{appeal} form.decide\"); const s = f.querySelector('.d-decision'); s.value = 'amended'; s.dispatchEvent(new Event('change')); f.querySelector('.d-score').value = '95'; return true;")).await;
        c.find(Locator::Css(&format!("{appeal} .d-qa"))).await.expect("qa").send_keys("qa-zhang").await.expect("type");
        click(&c, &format!("{appeal} .d-submit")).await;
        until(&c, "decided", &format!("const a = document.querySelector(\"{appeal} .a-status\"); return a && a.textContent === 'score amended';")).await;
        let steps = js(&c, &format!("return [...document.querySelectorAll(\"{appeal} ol.path li\")].map((l) => l.textContent);")).await;
        let steps: Vec<&str> = steps.as_array().map(|l| l.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        assert_eq!(steps.len(), 3, "{steps:?}");
        assert!(steps[0].ends_with("filed by A1"), "{steps:?}");
        assert!(steps[1].ends_with("lead lead-team-1 accepted it to the three-party review"), "{steps:?}");
        assert!(steps[2].ends_with("three-party review (supervisor qa-sup, lead lead-team-1, QA qa-zhang): amended to 95"), "{steps:?}");
        english_fits(&c, "the decided appeal").await;

        // The reports are linked for the month, in the page's language.
        let report = js(&c, "return document.getElementById('report-link').getAttribute('href');").await;
        assert!(report.as_str().is_some_and(|h| h.starts_with("/api/reports?period=month&date=") && h.ends_with("&format=html&lang=en")), "{report}");
        let analysis = js(&c, "return document.getElementById('analysis-link').getAttribute('href');").await;
        assert!(analysis.as_str().is_some_and(|h| h.starts_with("/api/qa/analysis?month=")), "{analysis}");

        // In Chinese: the labels, the appeal's state, and a refusal in Chinese.
        click(&c, "#lang-toggle").await;
        until(&c, "Chinese labels", "return document.getElementById('verify').textContent === '复核（重新运行规则）';").await;
        assert_eq!(js(&c, &format!("return document.querySelector(\"{appeal} .a-status\").textContent;")).await, "已改分");
        let label = js(&c, "return document.querySelector(\"label[for='s-item-accuracy']\").textContent;").await;
        assert_eq!(label, "解答准确（最多扣 25 分）");
        js(&c, &set_period(-120.0, 7.0 * DAY)).await;
        click(&c, "#rule-submit").await;
        let refused = until(&c, "the Chinese refusal", "const m = document.getElementById('rule-msg'); return m.classList.contains('err') && m.textContent;").await;
        assert_eq!(refused, "填写有误: 开始时间");
        let fits = js(&c, FITS).await;
        assert!(fits[0].as_i64() <= fits[1].as_i64(), "the Chinese page scrolls sideways at 1024×768: {fits}");
        *out.lock().expect("lock") = Some((rule_id, picked));
    })
    .await;
    let (rule_id, picked) = seen.lock().expect("lock").take().expect("the browser part ran");

    // What the page did is what the store holds, and the page's list is the rule's.
    let (_, body) =
        http_send(d.addr, "GET", &format!("/api/qa/rules/{rule_id}/sample"), "", Some("a1-tok")).await;
    let sample: Value = serde_json::from_str(&body).expect("json");
    let calls: Vec<Value> =
        sample["calls"].as_array().map(|l| l.iter().map(|c| c["call"].clone()).collect()).unwrap_or_default();
    assert_eq!(Value::Array(calls), picked, "the page showed the rule's sample, in its order");
    let (_, body) = http_send(d.addr, "GET", "/api/qa/appeals", "", Some("s-tok")).await;
    let appeals: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(appeals.as_array().map(Vec::len), Some(2), "{appeals}");
    let of = |item: &str| {
        appeals
            .as_array()
            .and_then(|l| l.iter().find(|a| a["items"] == json!([item])))
            .cloned()
            .unwrap_or_default()
    };
    let (won, lost) = (of("accuracy"), of("closing"));
    assert_eq!((won["status"].as_str(), won["score"].as_f64()), (Some("amended"), Some(95.0)), "{won}");
    assert_eq!(won["panel"], json!({"supervisor":"qa-sup","lead":"lead-team-1","qa":"qa-zhang"}));
    assert_eq!(
        (lost["status"].as_str(), lost["note"].as_str()),
        (Some("rejected"), Some("the recording is clear"))
    );
    // The sheet the score form was built from: read with a token, as the server scores.
    let (s, _) = http_send(d.addr, "GET", "/api/qa/sheet", "", None).await;
    assert_eq!(s, 401, "the sheet is read with a token, like the reviews");
    let (_, body) = http_send(d.addr, "GET", "/api/qa/sheet", "", Some("a1-tok")).await;
    let sheet: Value = serde_json::from_str(&body).expect("json");
    let accuracy = sheet["items"].as_array().and_then(|l| l.iter().find(|i| i["id"] == "accuracy")).cloned();
    assert_eq!(accuracy, Some(json!({"id":"accuracy","zh":"解答准确","en":"Accurate answer","points":25.0})));
    assert_eq!(sheet["bands"][1], json!({"grade":"good","from":85.0,"zh":"良好","en":"good"}));
    drop(b);
    d.shutdown().await.expect("clean shutdown");
}
