use super::*;
use crate::event::{AgentState, EventKind, FaultStatus};
use crate::ingest::canonical::encode;

/// 2026-11-23 00:00:00 UTC, a Monday.
const T0: Ts = 1_795_392_000_000;
const S: Ts = 1000;

fn ev(ts: Ts, seq: u64, kind: EventKind) -> Event {
    Event { ts, source: "acd".into(), seq: Some(seq), kind }
}

fn lines(events: &[Event]) -> String {
    let mut s = String::new();
    for e in events {
        encode(e, &mut s);
        s.push('\n');
    }
    s
}

fn agent(ts: Ts, seq: u64, agent: &str, state: AgentState, reason: Option<&str>) -> Event {
    ev(
        ts,
        seq,
        EventKind::AgentState {
            agent: agent.into(),
            state,
            reason: reason.map(Id::from),
            queue: Some("billing".into()),
            call: None,
        },
    )
}

fn login(ts: Ts, seq: u64, agent: &str) -> Event {
    ev(
        ts,
        seq,
        EventKind::AgentLogin {
            agent: agent.into(),
            name: None,
            team: Some("t1".into()),
            state: AgentState::Ready,
            reason: None,
        },
    )
}

/// A busy hour of a small floor with something for every rule: overruns at both
/// levels, a break too long, a queue where most callers hang up after a long
/// wait, a fault going down and up, heartbeats that stop for a minute (the
/// source goes down and comes back), a burst of `seq` gaps, and events stamped
/// off the whole second.
fn busy_hour() -> Vec<Event> {
    let mut v = Vec::new();
    let mut seq = 0u64;
    let mut next = || {
        seq += 1;
        seq
    };
    for a in ["A1", "A2", "A3", "A4"] {
        v.push(login(T0 + 250, next(), a));
    }
    // A1: ACW for 5 minutes (warning at 120 s, critical at 240 s).
    v.push(agent(T0 + 10_333, next(), "A1", AgentState::Acw, None));
    v.push(agent(T0 + 310_333, next(), "A1", AgentState::Ready, None));
    // A2: a break of 20 minutes (busy_overrun after 900 s).
    v.push(agent(T0 + 20_500, next(), "A2", AgentState::NotReady, Some("break")));
    v.push(agent(T0 + 1_220_500, next(), "A2", AgentState::Ready, None));
    // Calls: every 20 s; from minute 10 to 25 most are abandoned after 3 minutes.
    for i in 0..150i64 {
        let t = T0 + 5_000 + i * 20_000 + (i % 7) * 113;
        let call = Id::from(format!("C{i}"));
        v.push(ev(
            t,
            next(),
            EventKind::CallOffered {
                call: call.clone(),
                queue: "billing".into(),
                caller: Some(Id::from(format!("+86{i}"))),
            },
        ));
        let bad = (30..75).contains(&i) && i % 5 != 0;
        if bad {
            v.push(ev(t + 180_000, next(), EventKind::CallAbandoned { call, queue: Some("billing".into()) }));
        } else {
            let who = if i % 2 == 0 { "A3" } else { "A4" };
            v.push(ev(
                t + 4_000,
                next(),
                EventKind::CallAnswered {
                    call: call.clone(),
                    agent: who.into(),
                    queue: Some("billing".into()),
                },
            ));
            v.push(ev(t + 15_000, next(), EventKind::CallEnded { call, agent: Some(who.into()) }));
        }
    }
    // A trunk fault for two minutes.
    let fault = |status| EventKind::Fault { component: "trunk".into(), status, detail: None };
    v.push(ev(T0 + 1_800_777, next(), fault(FaultStatus::Down)));
    v.push(ev(T0 + 1_920_777, next(), fault(FaultStatus::Up)));
    // Heartbeats from a second source every 5 s, silent from minute 40 to 41.
    for k in 0..720i64 {
        let t = T0 + k * 5_000 + 1;
        if !(480..492).contains(&k) {
            v.push(Event {
                ts: t,
                source: "pbx".into(),
                seq: Some(k as u64 + 1),
                kind: EventKind::Heartbeat,
            });
        }
    }
    // A bridge numbers its events in the order it sends them: time order here.
    v.sort_by_key(|e| e.ts);
    let mut next: std::collections::HashMap<Id, u64> = Default::default();
    for e in &mut v {
        let n = next.entry(e.source.clone()).or_insert(0);
        *n += 1;
        e.seq = Some(*n);
    }
    v
}

fn replay(text: &str, ticking: Ticking) -> Report {
    let cfg = Config::default();
    let stream = Stream::read(Format::Canonical, text).expect("readable");
    let mut opts = Options::for_format(Format::Canonical, &cfg);
    opts.ticking = ticking;
    run(stream, &cfg, &opts, &mut |_, _| {}).0
}

/// The first alert that differs between two reports (either side's, by index).
fn first_difference(a: &Report, b: &Report) -> Option<(usize, serde_json::Value, serde_json::Value)> {
    let (a, b) =
        (serde_json::to_value(&a.alerts).expect("json"), serde_json::to_value(&b.alerts).expect("json"));
    let (a, b) = (a.as_array().cloned().unwrap_or_default(), b.as_array().cloned().unwrap_or_default());
    (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i)).map(|i| {
        let at = |v: &[serde_json::Value]| v.get(i).cloned().unwrap_or_default();
        (i, at(&a), at(&b))
    })
}

fn kinds(r: &Report) -> Vec<(&str, String, String)> {
    r.alerts.iter().map(|a| (a.kind, a.severity.to_owned(), a.raised_at.clone())).collect()
}

/// The skipping that `replay` does changes nothing: the same alerts (kinds,
/// subjects, times, severities, messages, resolutions) and figures as a run
/// that ticks every second like the live engine.
#[test]
fn deadlines_raise_what_every_second_ticking_raises() {
    let text = lines(&busy_hour());
    let naive = replay(&text, Ticking::EverySecond);
    let smart = replay(&text, Ticking::Deadlines);
    let json = |r: &Report| serde_json::to_value(r).expect("json");
    // The alerts first, the first that differs: the one to read.
    assert_eq!(first_difference(&smart, &naive), None);
    assert_eq!(json(&smart), json(&naive));
    // The stream is not trivial: every rule it aims at has fired.
    let raised: Vec<&str> = naive.alerts.iter().map(|a| a.kind).collect();
    for k in
        ["acw_overrun", "busy_overrun", "answer_rate_low", "longest_wait_high", "system_fault", "source_down"]
    {
        assert!(raised.contains(&k), "{k} not raised: {:?}", kinds(&naive));
    }
}

/// The same on the first two days of the real February file, when it is there
/// (CI keeps the shared folder beside the clone).
#[test]
fn deadlines_raise_what_every_second_ticking_raises_on_real_rows() {
    let Some(text) = february() else { return };
    let head: String = text.lines().take(2500).flat_map(|l| [l, "\n"]).collect();
    let cfg = Config::default();
    let go = |ticking| {
        let stream = Stream::read(Format::AnonymousBank, &head).expect("readable");
        let mut opts = Options::for_format(Format::AnonymousBank, &cfg);
        opts.ticking = ticking;
        run(stream, &cfg, &opts, &mut |_, _| {}).0
    };
    let (naive, smart) = (go(Ticking::EverySecond), go(Ticking::Deadlines));
    assert!(!naive.alerts.is_empty(), "a real day raises something");
    assert_eq!(serde_json::to_value(&smart).expect("json"), serde_json::to_value(&naive).expect("json"));
}

pub(crate) fn february() -> Option<String> {
    let name = "anonymous-bank-1999/data_anonymous_bank_february.txt";
    let roots =
        [std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"), "/work/shared/data".into()];
    roots.iter().find_map(|r| std::fs::read_to_string(r.join(name)).ok())
}

/// An agent left in after-call work by the last event of a file is overrun at
/// the threshold in stream time — warning at 120 s, critical at twice that —
/// with nothing after it; the silence after the last event raises no
/// `source_down`.
#[test]
fn an_acw_overrun_fires_at_its_threshold_in_stream_time() {
    let acw_at = T0 + 1_500;
    let text = lines(&[login(T0, 1, "A1"), agent(acw_at, 2, "A1", AgentState::Acw, None)]);
    let r = replay(&text, Ticking::Deadlines);
    let got: Vec<(&str, &str, String, &str)> =
        r.alerts.iter().map(|a| (a.kind, a.severity, a.raised_at.clone(), a.state)).collect();
    let limit = i64::from(Config::default().alerts.acw_overrun_secs) * S;
    // One alert, raised at the threshold exactly and escalated since.
    assert_eq!(got, [("acw_overrun", "critical", crate::event::format_ts(acw_at + limit), "firing")]);
    assert_eq!(r.alerts[0].started_at, crate::event::format_ts(acw_at));
    assert_eq!(
        r.alerts[0].value,
        Some(2.0 * limit as f64 / 1000.0),
        "the critical raise, at twice the limit"
    );
    let early = replay(&text, Ticking::EverySecond);
    assert_eq!(
        serde_json::to_value(&early.alerts).expect("json"),
        serde_json::to_value(&r.alerts).expect("json")
    );
    assert!(r.notes.iter().any(|n| n.key == "tail" && n.en.contains("(1 alert(s))")), "{:?}", r.notes);
}

/// The warning itself is raised at the threshold, not at the next event or tick.
#[test]
fn the_overrun_warning_is_raised_at_the_threshold_exactly() {
    let acw_at = T0 + 1_500;
    let limit = i64::from(Config::default().alerts.acw_overrun_secs) * S;
    // The agent leaves ACW between the warning and the critical level.
    let text = lines(&[
        login(T0, 1, "A1"),
        agent(acw_at, 2, "A1", AgentState::Acw, None),
        agent(acw_at + limit + 30 * S, 3, "A1", AgentState::Ready, None),
    ]);
    let r = replay(&text, Ticking::Deadlines);
    let a = r.alerts.iter().find(|a| a.kind == "acw_overrun").expect("overrun");
    assert_eq!(
        (a.severity, a.raised_at.as_str()),
        ("warning", crate::event::format_ts(acw_at + limit).as_str())
    );
    assert_eq!(a.resolved_at.as_deref(), Some(crate::event::format_ts(acw_at + limit + 30 * S).as_str()));
}

/// A recording reads back as the events that were written, `source` and `seq`
/// included; duplicates (a bridge's resend) are dropped as live ingest drops them.
#[test]
fn a_canonical_recording_reads_back_as_written() {
    let events = busy_hour();
    let mut text = lines(&events);
    // A resend of the first ten events, as after a reconnect.
    text.push_str(&lines(&events[..10]));
    let s = Stream::read(Format::Canonical, &text).expect("readable");
    assert_eq!(s.events, events);
    let Origin::Canonical(stats) = &s.origin else { unreachable!("canonical") };
    assert_eq!((stats.duplicates, stats.lines), (10, events.len() as u64 + 10));
    assert!(stats.rejected.is_empty());
}

/// The report's queue totals are the engine's, which for a clean stream are the
/// stream's own; per-day figures add up to them.
#[test]
fn the_report_counts_what_the_stream_holds() {
    let events = busy_hour();
    let count = |t: &str| events.iter().filter(|e| e.kind.type_name() == t).count() as u64;
    let r = replay(&lines(&events), Ticking::Deadlines);
    let q = &r.queues["billing"];
    assert_eq!(
        (q.offered, q.answered, q.abandoned),
        (count("call_offered"), count("call_answered"), count("call_abandoned"))
    );
    assert_eq!(q.days.iter().map(|d| u64::from(d.offered)).sum::<u64>(), q.offered);
    assert_eq!(r.events.applied, events.len() as u64);
    // The fault opened an incident (default playbook), closed with its recovery.
    let inc =
        r.incidents.iter().find(|i| i.kind == "system_fault" && i.component.as_deref() == Some("trunk"));
    assert!(inc.is_some_and(|i| i.state == "closed"), "{:?}", r.incidents);
    assert!(
        !r.charts.is_empty() && r.charts[0].offered.iter().map(|&n| u64::from(n)).sum::<u64>() == q.offered
    );
}

/// Broken lines are counted by reason, the rest replays.
#[test]
fn a_broken_line_is_counted_and_skipped() {
    let mut text = lines(&busy_hour()[..20]);
    text.push_str("{not json\n{\"type\":\"call_offered\",\"ts\":\"2026-11-23T00:00:09Z\"}\n\n");
    let s = Stream::read(Format::Canonical, &text).expect("readable");
    let Origin::Canonical(stats) = &s.origin else { unreachable!("canonical") };
    assert_eq!(stats.rejected.values().sum::<u64>(), 2, "{:?}", stats.rejected);
    assert_eq!(s.events.len(), 20);
    assert!(matches!(Stream::read(Format::Canonical, "\n{bad\n"), Err(ReplayError::NoEvents)));
}

/// The page is one file: no script, no link to anything outside, and outside
/// text (a queue id here) escaped.
#[test]
fn the_page_is_self_contained_and_escapes_outside_text() {
    let mut events = busy_hour();
    for e in &mut events {
        if let EventKind::CallOffered { queue, .. } = &mut e.kind {
            *queue = "<b>q".into();
        }
    }
    let r = replay(&lines(&events), Ticking::Deadlines);
    let page = html::render(&r, "day.jsonl");
    assert!(page.contains("&lt;b&gt;q") && !page.contains("<b>q"));
    for banned in ["<script", "src=", "href=", "@import", "url("] {
        assert!(!page.contains(banned), "the page has {banned}");
    }
    assert!(page.contains("<svg") && page.contains("Replay report") && page.contains("回放报告"));
}
