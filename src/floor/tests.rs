//! Table-driven tests of the floor model: events in, figures out.

use super::*;
use crate::event::{AgentState, Event, EventKind, FaultStatus, Id, Ts};

const T0: Ts = 1_795_420_800_000; // 2026-11-23T08:00:00Z: 16:00 in Shanghai, the evening shift starts

fn id(s: &str) -> Id {
    Id::from(s)
}

fn cfg() -> FloorConfig {
    let mut c = FloorConfig::default();
    c.queues = vec![QueueConfig {
        id: "billing".into(),
        name: "账单".into(),
        names: Default::default(),
        params: c.queue_defaults,
    }];
    c
}

fn ev(secs: f64, kind: EventKind) -> Event {
    Event { ts: T0 + (secs * 1000.0) as Ts, source: id("test"), seq: None, kind }
}

fn offered(s: f64, call: &str, queue: &str) -> Event {
    ev(s, EventKind::CallOffered { call: id(call), queue: id(queue), caller: None })
}

fn offered_from(s: f64, call: &str, queue: &str, caller: &str) -> Event {
    ev(s, EventKind::CallOffered { call: id(call), queue: id(queue), caller: Some(id(caller)) })
}

fn answered(s: f64, call: &str, agent: &str) -> Event {
    ev(s, EventKind::CallAnswered { call: id(call), agent: id(agent), queue: None })
}

fn answered_in(s: f64, call: &str, agent: &str, queue: &str) -> Event {
    ev(s, EventKind::CallAnswered { call: id(call), agent: id(agent), queue: Some(id(queue)) })
}

fn abandoned(s: f64, call: &str) -> Event {
    ev(s, EventKind::CallAbandoned { call: id(call), queue: None })
}

fn ended(s: f64, call: &str, agent: &str) -> Event {
    ev(s, EventKind::CallEnded { call: id(call), agent: Some(id(agent)) })
}

fn state(s: f64, agent: &str, st: AgentState, reason: Option<&str>) -> Event {
    ev(
        s,
        EventKind::AgentState {
            agent: id(agent),
            state: st,
            reason: reason.map(id),
            queue: None,
            call: None,
        },
    )
}

fn login(s: f64, agent: &str, team: &str) -> Event {
    ev(
        s,
        EventKind::AgentLogin {
            agent: id(agent),
            name: Some(id("王芳")),
            team: Some(id(team)),
            state: AgentState::Ready,
            reason: None,
        },
    )
}

fn run(events: &[Event], now_secs: f64) -> (Floor, Vec<Effect>, Snapshot) {
    let mut fx = Vec::new();
    let mut f = Floor::new(&cfg(), &mut fx);
    for e in events {
        f.apply(e, e.ts, &mut fx);
    }
    let snap = f.snapshot(T0 + (now_secs * 1000.0) as Ts);
    (f, fx, snap)
}

/// Applies more events to a floor that `run` left.
fn more(f: &mut Floor, fx: &mut Vec<Effect>, events: &[Event]) {
    for e in events {
        f.apply(e, e.ts, fx);
    }
}

/// Which of the floor's call tables holds `call`.
fn held(f: &Floor, call: &str) -> &'static str {
    f.calls.held(call)
}

fn anomalies(fx: &[Effect]) -> Vec<Anomaly> {
    fx.iter().filter_map(|e| if let Effect::Anomaly(a) = e { Some(*a) } else { None }).collect()
}

fn callers_lost(fx: &[Effect]) -> Vec<(&str, Ts)> {
    fx.iter()
        .filter_map(
            |e| if let Effect::CallerLost { caller, ts, .. } = e { Some((&**caller, *ts)) } else { None },
        )
        .collect()
}

fn queue<'a>(s: &'a Snapshot, q: &str) -> &'a snapshot::QueueView {
    s.queues.iter().find(|x| &*x.id == q).unwrap_or_else(|| panic!("no queue {q}"))
}

/// offered, answered, abandoned, waiting
fn counts(s: &Snapshot, q: &str) -> (u64, u64, u64, usize) {
    let v = queue(s, q);
    (v.offered_total, v.answered_total, v.abandoned_total, v.waiting.len())
}

#[test]
fn call_lifecycle_in_order() {
    let (_, _, s) = run(
        &[
            offered(0.0, "c1", "billing"),
            offered(1.0, "c2", "billing"),
            offered(2.0, "c3", "billing"),
            answered(10.0, "c1", "a1"),
            abandoned(40.0, "c2"),
            ended(100.0, "c1", "a1"),
        ],
        120.0,
    );
    assert_eq!(counts(&s, "billing"), (3, 1, 1, 1));
    let q = queue(&s, "billing");
    assert_eq!(&*q.waiting[0].call, "c3");
    assert_eq!(q.longest_wait_ms(T0 + 120_000), 118_000);
    let w15 = &q.windows[0];
    assert_eq!((w15.offered, w15.answered, w15.abandoned), (3, 1, 1));
    assert_eq!(w15.answered_within_sl, 1); // waited 10 s ≤ 20 s
    assert_eq!(w15.abandoned_short, 0); // waited 39 s
    assert_eq!(w15.answer_rate(), Some(0.5));
    assert_eq!(w15.asa_secs(), Some(10.0));
}

#[test]
fn order_of_arrival_does_not_change_counts() {
    let stream = vec![
        offered(0.0, "c1", "billing"),
        answered(5.0, "c1", "a1"),
        ended(50.0, "c1", "a1"),
        offered(1.0, "c2", "billing"),
        abandoned(3.0, "c2"), // short abandon (2 s < 5 s)
        offered(2.0, "c3", "billing"),
        abandoned(60.0, "c3"),
        offered(4.0, "c4", "billing"),
        answered(45.0, "c4", "a2"),
    ];
    let (_, _, forward) = run(&stream, 100.0);
    let mut reversed = stream.clone();
    reversed.reverse();
    let (_, _, backward) = run(&reversed, 100.0);
    for s in [&forward, &backward] {
        assert_eq!(counts(s, "billing"), (4, 2, 2, 0));
        let w = &queue(s, "billing").windows[0];
        assert_eq!(w.abandoned_short, 1);
        assert_eq!(w.answered_within_sl, 1);
        assert_eq!(w.answered_with_wait, 2);
        assert_eq!(w.answered_wait_ms, 5_000 + 41_000);
        // 2 answered / (2 + 2 − 1 short)
        assert_eq!(w.answer_rate(), Some(2.0 / 3.0));
    }
}

#[test]
fn answer_without_queue_waits_for_its_offer() {
    let (_, _, s) = run(&[answered(5.0, "c1", "a1")], 10.0);
    // Nothing can be placed yet: no queue is known for c1.
    assert_eq!(counts(&s, "billing"), (0, 0, 0, 0));
    let (_, _, s) = run(&[answered(5.0, "c1", "a1"), offered(1.0, "c1", "billing")], 10.0);
    assert_eq!(counts(&s, "billing"), (1, 1, 0, 0));
    assert_eq!(queue(&s, "billing").windows[0].answered_wait_ms, 4_000);
}

#[test]
fn answer_naming_its_queue_counts_at_once_and_offer_later_adds_the_wait() {
    let (_, _, s) = run(&[answered_in(5.0, "c1", "a1", "cards")], 10.0);
    assert_eq!(counts(&s, "cards"), (0, 1, 0, 0));
    let (_, _, s) = run(&[answered_in(5.0, "c1", "a1", "cards"), offered(1.0, "c1", "billing")], 10.0);
    // The call stays in the queue its answer named; no double count anywhere.
    assert_eq!(counts(&s, "cards"), (1, 1, 0, 0));
    assert_eq!(counts(&s, "billing"), (0, 0, 0, 0));
}

#[test]
fn duplicates_and_conflicts_are_counted_once() {
    let (_, fx, s) = run(
        &[
            offered(0.0, "c1", "billing"),
            offered(0.5, "c1", "billing"),
            answered(3.0, "c1", "a1"),
            answered(3.0, "c1", "a1"),
            abandoned(4.0, "c1"),
            ended(9.0, "zz", "a1"),
        ],
        10.0,
    );
    assert_eq!(counts(&s, "billing"), (1, 1, 0, 0));
    let anomalies: Vec<_> =
        fx.iter().filter_map(|e| if let Effect::Anomaly(a) = e { Some(*a) } else { None }).collect();
    assert_eq!(
        anomalies,
        vec![
            Anomaly::DuplicateOffer,
            Anomaly::DuplicateOutcome,
            Anomaly::DuplicateOutcome,
            Anomaly::EndOfUnknownCall
        ]
    );
}

#[test]
fn late_events_of_a_finished_answered_call_are_duplicates() {
    let (mut f, mut fx, _) =
        run(&[offered(0.0, "c1", "billing"), answered(5.0, "c1", "a1"), ended(60.0, "c1", "a1")], 60.0);
    assert_eq!(held(&f, "c1"), "finished");
    fx.clear();
    more(
        &mut f,
        &mut fx,
        &[
            offered(0.5, "c1", "billing"),
            answered(5.0, "c1", "a2"),
            abandoned(6.0, "c1"),
            // A second end (or one from the other leg) is neither odd nor unknown.
            ended(61.0, "c1", "a1"),
        ],
    );
    assert_eq!(
        anomalies(&fx),
        [Anomaly::DuplicateOffer, Anomaly::DuplicateOutcome, Anomaly::DuplicateOutcome]
    );
    assert_eq!(fx.len(), 3, "nothing but the anomalies: {fx:?}");
    let s = f.snapshot(T0 + 70_000);
    assert_eq!(counts(&s, "billing"), (1, 1, 0, 0));
    let w = &queue(&s, "billing").windows[0];
    assert_eq!(
        (w.offered, w.answered, w.abandoned, w.answered_with_wait, w.answered_wait_ms),
        (1, 1, 0, 1, 5_000)
    );
    // The duplicate answer did not reach its agent.
    assert!(s.agents.iter().all(|a| &*a.id != "a2"));
}

#[test]
fn an_answered_call_stays_active_until_its_end() {
    let (mut f, mut fx, _) = run(&[offered(0.0, "c1", "billing"), answered(5.0, "c1", "a1")], 10.0);
    assert_eq!(held(&f, "c1"), "active");
    fx.clear();
    more(&mut f, &mut fx, &[answered(6.0, "c1", "a1"), ended(60.0, "c1", "a1")]);
    assert_eq!(anomalies(&fx), [Anomaly::DuplicateOutcome]);
    assert_eq!(held(&f, "c1"), "finished");
}

#[test]
fn late_events_of_a_finished_abandoned_call_are_duplicates() {
    let caller = "+8613800000001";
    let (mut f, mut fx, _) = run(&[offered_from(0.0, "c1", "billing", caller), abandoned(30.0, "c1")], 30.0);
    // No end comes for an abandoned call: it is finished at once.
    assert_eq!(held(&f, "c1"), "finished");
    assert_eq!(callers_lost(&fx), [(caller, T0 + 30_000)]);
    fx.clear();
    more(
        &mut f,
        &mut fx,
        &[
            offered_from(0.0, "c1", "billing", caller),
            abandoned(31.0, "c1"),
            answered(32.0, "c1", "a1"),
            ended(40.0, "c1", "a1"),
        ],
    );
    assert_eq!(
        anomalies(&fx),
        [Anomaly::DuplicateOffer, Anomaly::DuplicateOutcome, Anomaly::DuplicateOutcome]
    );
    assert!(callers_lost(&fx).is_empty(), "the caller was lost once: {fx:?}");
    let s = f.snapshot(T0 + 60_000);
    assert_eq!(counts(&s, "billing"), (1, 0, 1, 0));
    assert_eq!(queue(&s, "billing").windows[0].abandoned, 1);
    assert!(s.agents.is_empty());
}

#[test]
fn outcome_before_offer_finishes_on_the_offer() {
    let caller = "+8613800000002";
    let (mut f, mut fx, s) = run(
        &[
            // Abandoned before its offer arrives: the caller is known only then.
            abandoned(30.0, "c1"),
            offered_from(0.0, "c1", "billing", caller),
            // End, answer, offer: finished on the offer, as its end was seen.
            ended(50.0, "c2", "a1"),
            answered(5.0, "c2", "a1"),
            offered(1.0, "c2", "billing"),
            // Answer, offer: still talking.
            answered(8.0, "c3", "a2"),
            offered(2.0, "c3", "billing"),
        ],
        60.0,
    );
    assert_eq!((held(&f, "c1"), held(&f, "c2"), held(&f, "c3")), ("finished", "finished", "active"));
    assert_eq!(callers_lost(&fx), [(caller, T0 + 30_000)]);
    assert_eq!(anomalies(&fx), [Anomaly::EndOfUnknownCall]);
    assert_eq!(counts(&s, "billing"), (3, 2, 1, 0));
    let w = &queue(&s, "billing").windows[0];
    assert_eq!((w.answered_with_wait, w.answered_wait_ms), (2, 4_000 + 6_000));

    // Now finished, each rejects what comes again.
    fx.clear();
    more(&mut f, &mut fx, &[offered_from(0.0, "c1", "billing", caller), answered(5.0, "c2", "a1")]);
    assert_eq!(anomalies(&fx), [Anomaly::DuplicateOffer, Anomaly::DuplicateOutcome]);
    assert!(callers_lost(&fx).is_empty());
}

#[test]
fn finished_calls_are_forgotten_after_retention() {
    let ret = cfg().call_retention_ms;
    // Finished calls go in rounds: once the oldest is this far past its retention.
    let rounds = (ret / 8).max(60_000);
    let late = 60.0 + rounds as f64 / 1000.0 + 600.0;
    let (mut f, mut fx, _) = run(
        &[
            offered(0.0, "c1", "billing"),
            answered(5.0, "c1", "a1"),
            ended(60.0, "c1", "a1"),
            offered(1.0, "c2", "billing"),
            abandoned(20.0, "c2"),
            // A late end moves the finished call's retention on, as any event does.
            ended(late, "c2", "a1"),
        ],
        late,
    );
    fx.clear();
    // Just before c1's retention nothing goes (a purge may run: c1 was active once).
    f.tick(T0 + 60_000 + ret - 1, &mut fx);
    assert_eq!((held(&f, "c1"), held(&f, "c2")), ("finished", "finished"));
    // Nothing is active, so the next purge is the round that forgets c1.
    assert_eq!(f.next_tick_due(), T0 + 60_000 + ret + rounds);
    f.tick(T0 + 60_000 + ret + rounds - 1, &mut fx);
    // Past its retention but before the round, c1 is still a duplicate.
    more(&mut f, &mut fx, &[offered(2.0, "c1", "billing")]);
    assert_eq!(anomalies(&fx), [Anomaly::DuplicateOffer]);
    fx.clear();
    f.tick(T0 + 60_000 + ret + rounds, &mut fx);
    // Retention runs from each call's latest event: c1's end, c2's late end.
    assert_eq!((held(&f, "c1"), held(&f, "c2")), ("forgotten", "finished"));
    // The next round is c2's.
    assert_eq!(f.next_tick_due(), T0 + (late * 1000.0) as Ts + ret + rounds);
    // Forgotten, c1's id counts as a new call; c2 is still known.
    more(&mut f, &mut fx, &[offered(3.0, "c1", "billing"), abandoned(4.0, "c2")]);
    assert_eq!(anomalies(&fx), [Anomaly::DuplicateOutcome]);
    let s = f.snapshot(T0 + 60_000 + ret + rounds);
    assert_eq!(counts(&s, "billing"), (3, 1, 1, 1));
    assert_eq!(&*queue(&s, "billing").waiting[0].call, "c1");
}

/// The purge wakes only when a call may expire: a waiting call at its exact
/// retention (its expiry is an anomaly and moves the longest wait), and not
/// every minute of a floor where nothing is old enough.
#[test]
fn the_purge_is_due_when_the_oldest_call_can_expire() {
    let ret = cfg().call_retention_ms;
    let mut fx = Vec::new();
    let mut f = Floor::new(&cfg(), &mut fx);
    assert_eq!(f.next_tick_due(), Ts::MAX, "an empty floor has nothing to purge");
    more(&mut f, &mut fx, &[offered(100.0, "c1", "billing")]);
    assert_eq!(f.next_tick_due(), T0 + 100_000 + ret);
    // An older call arriving late lowers it; a newer one does not.
    more(&mut f, &mut fx, &[offered(50.0, "c0", "billing"), offered(900.0, "c2", "billing")]);
    assert_eq!(f.next_tick_due(), T0 + 50_000 + ret);
    // Touching c0 again does not make the bound wrong, only early: the purge at
    // it finds nothing to forget and sets it exactly.
    more(&mut f, &mut fx, &[answered(200.0, "c0", "a1")]);
    fx.clear();
    f.tick(T0 + 50_000 + ret, &mut fx);
    assert!(fx.is_empty(), "nothing expired: {fx:?}");
    // c1 is the oldest now, but purges are a minute apart at the soonest.
    assert_eq!(f.next_tick_due(), T0 + 110_000 + ret);
    f.tick(T0 + 110_000 + ret - 1, &mut fx);
    assert!(fx.is_empty());
    f.tick(T0 + 110_000 + ret, &mut fx);
    assert_eq!(anomalies(&fx), [Anomaly::CallExpired]);
    assert_eq!((held(&f, "c1"), held(&f, "c2")), ("forgotten", "active"));
    // c0 (answered at 200 s, never ended) is next.
    assert_eq!(f.next_tick_due(), T0 + 200_000 + ret);
}

#[test]
fn the_active_table_gives_back_its_room_after_a_burst() {
    let mut fx = Vec::new();
    let mut f = Floor::new(&cfg(), &mut fx);
    // 100,000 calls waiting at once, then all abandoned: finished, none active.
    let calls: Vec<String> = (0..100_000).map(|i| format!("c{i}")).collect();
    more(&mut f, &mut fx, &calls.iter().map(|c| offered(0.0, c, "billing")).collect::<Vec<_>>());
    more(&mut f, &mut fx, &calls.iter().map(|c| abandoned(1.0, c)).collect::<Vec<_>>());
    let grown = f.calls.active.allocation_size();
    assert!(f.calls.active.is_empty() && grown > 100_000 * 80, "{grown}");
    f.tick(T0 + 2_000, &mut fx);
    assert!(f.calls.active.allocation_size() < grown / 8, "{}", f.calls.active.allocation_size());
    // Still finished, not forgotten.
    fx.clear();
    more(&mut f, &mut fx, &[offered(0.0, "c7", "billing")]);
    assert_eq!(anomalies(&fx), [Anomaly::DuplicateOffer]);
}

#[test]
fn agent_states_and_time_accounting() {
    let (_, _, s) = run(
        &[
            login(0.0, "a1", "team-1"),
            offered(10.0, "c1", "billing"),
            answered(12.0, "c1", "a1"),
            ended(72.0, "c1", "a1"),
            state(72.0, "a1", AgentState::Acw, None),
            state(100.0, "a1", AgentState::NotReady, Some("break")),
            // A stale event (before the current state) must not move the agent back.
            state(90.0, "a1", AgentState::Ready, None),
        ],
        130.0,
    );
    let a = s.agents.iter().find(|a| &*a.id == "a1").expect("a1 logged in");
    assert_eq!(a.state, Some(AgentState::NotReady));
    assert_eq!(a.reason.as_deref(), Some("break"));
    assert_eq!(a.since, T0 + 100_000);
    assert_eq!(a.handled_today, 1);
    assert_eq!(a.talk_ms_today, 60_000);
    assert_eq!(a.acw_ms_today, 28_000);
    assert_eq!(s.agents_in(AgentState::NotReady), 1);
    let team = s.teams.iter().find(|t| &*t.id == "team-1").expect("team seen at login");
    assert_eq!(team.agents_by_state[AgentState::NotReady.index()], 1);
}

#[test]
fn repeated_state_keeps_its_start() {
    let (_, _, s) =
        run(&[state(0.0, "a1", AgentState::Acw, None), state(50.0, "a1", AgentState::Acw, None)], 60.0);
    assert_eq!(s.agents[0].since, T0);
}

#[test]
fn logout_removes_agent_from_live_counts() {
    let (_, _, s) = run(
        &[
            login(0.0, "a1", "t"),
            login(0.0, "a2", "t"),
            ev(5.0, EventKind::AgentLogout { agent: id("a1"), reason: None }),
        ],
        10.0,
    );
    assert_eq!(s.agents.len(), 1);
    assert_eq!(s.agents_by_state.iter().sum::<u32>(), 1);
}

#[test]
fn rolling_windows_slide_with_the_clock_not_with_arrival() {
    let evs = [offered(0.0, "c1", "billing"), offered(1000.0, "c2", "billing")];
    // At 1000 s both are inside 60 min, only c2 is inside 15 min.
    let (mut f, _, s) = run(&evs, 1000.0);
    let q = queue(&s, "billing");
    assert_eq!((q.windows[0].offered, q.windows[1].offered), (1, 2));
    // An hour later nothing is left in the rolling windows; the shift still has both
    // (the evening shift runs 16:00–24:00 local).
    let s = f.snapshot(T0 + 5_000_000);
    let q = queue(&s, "billing");
    assert_eq!((q.windows[0].offered, q.windows[1].offered, q.windows[2].offered), (0, 0, 2));
}

#[test]
fn service_level_variant_is_per_queue() {
    let mut c = cfg();
    c.queues[0].params.sl_abandons = SlAbandons::Ignore;
    let mut fx = Vec::new();
    let mut f = Floor::new(&c, &mut fx);
    for e in [
        offered(0.0, "c1", "billing"),
        answered(5.0, "c1", "a1"),
        offered(0.0, "c2", "billing"),
        abandoned(30.0, "c2"),
    ] {
        f.apply(&e, e.ts, &mut fx);
    }
    let s = f.snapshot(T0 + 60_000);
    let q = queue(&s, "billing");
    assert_eq!(q.windows[0].service_level(&q.params), Some(1.0));
    let count = QueueParams { sl_abandons: SlAbandons::Count, ..q.params };
    assert_eq!(q.windows[0].service_level(&count), Some(0.5));
}

#[test]
fn queues_beyond_the_limit_fold_into_overflow() {
    let mut c = cfg();
    c.max_queues = 2;
    let mut fx = Vec::new();
    let mut f = Floor::new(&c, &mut fx);
    for (i, q) in ["billing", "q2", "q3", "q4"].iter().enumerate() {
        let e = offered(i as f64, &format!("c{i}"), q);
        f.apply(&e, e.ts, &mut fx);
    }
    let s = f.snapshot(T0 + 10_000);
    assert_eq!(counts(&s, OVERFLOW_QUEUE).0, 2);
    assert!(fx.contains(&Effect::Anomaly(Anomaly::QueueOverflow)));
}

#[test]
fn waiting_calls_expire_after_retention() {
    let (mut f, _, _) = run(&[offered(0.0, "c1", "billing")], 0.0);
    let mut fx = Vec::new();
    f.tick(T0 + cfg().call_retention_ms + 61_000, &mut fx);
    let s = f.snapshot(T0 + cfg().call_retention_ms + 61_000);
    assert_eq!(counts(&s, "billing"), (1, 0, 0, 0));
    assert!(fx.contains(&Effect::Anomaly(Anomaly::CallExpired)));
}

#[test]
fn faults_track_latest_status() {
    let fault = |s, st| {
        ev(s, EventKind::Fault { component: id("trunk-2"), status: st, detail: Some(id("E1 lost carrier")) })
    };
    let (_, _, s) = run(&[fault(0.0, FaultStatus::Down)], 5.0);
    assert_eq!(s.faults.len(), 1);
    let (_, _, s) = run(&[fault(0.0, FaultStatus::Down), fault(30.0, FaultStatus::Up)], 40.0);
    assert!(s.faults.is_empty());
    // A late "down" older than the "up" does not reopen it.
    let (_, _, s) = run(&[fault(30.0, FaultStatus::Up), fault(0.0, FaultStatus::Down)], 40.0);
    assert!(s.faults.is_empty());
}

fn limited(agents: usize, calls: usize, sources: usize) -> Floor {
    let mut c = cfg();
    c.limits = FloorLimits {
        max_agents: agents,
        max_calls: calls,
        max_sources: sources,
        max_teams: 2,
        max_components: 2,
    };
    Floor::new(&c, &mut Vec::new())
}

fn apply_all(f: &mut Floor, events: &[Event]) -> Vec<Applied> {
    let mut fx = Vec::new();
    events.iter().map(|e| f.apply(e, e.ts, &mut fx)).collect()
}

/// At each limit a new id is refused whole and named by its limit, while events
/// for ids the floor already holds go on applying: a floor over its limit keeps
/// serving what it knows.
#[test]
fn a_floor_at_its_limits_refuses_new_ids_and_serves_known_ones() {
    let mut f = limited(2, 2, 5);
    let got = apply_all(
        &mut f,
        &[
            login(0.0, "A1", "t1"),
            login(0.0, "A2", "t2"),
            login(1.0, "A3", "t1"),
            state(2.0, "A1", AgentState::Acw, None),
            state(2.0, "A9", AgentState::Ready, None),
            ev(2.0, EventKind::AgentLogout { agent: id("A8"), reason: None }),
            login(3.0, "A2", "t3"),
            offered(4.0, "C1", "billing"),
            offered(4.0, "C2", "billing"),
            offered(5.0, "C3", "billing"),
            answered(5.0, "C1", "A1"),
            ended(6.0, "C1", "A1"),
            offered(7.0, "C3", "billing"),
            answered(8.0, "C4", "A2"),
            ev(9.0, EventKind::Fault { component: id("pbx"), status: FaultStatus::Down, detail: None }),
            ev(9.0, EventKind::Fault { component: id("ivr"), status: FaultStatus::Down, detail: None }),
            ev(9.0, EventKind::Fault { component: id("rec"), status: FaultStatus::Down, detail: None }),
            ev(9.5, EventKind::Fault { component: id("pbx"), status: FaultStatus::Up, detail: None }),
        ],
    );
    use Applied::{Refused, Yes};
    use Refusal::*;
    assert_eq!(
        got,
        [
            Yes,
            Yes,
            Refused(AgentLimit),
            Yes,
            Refused(AgentLimit),
            Refused(AgentLimit),
            Refused(TeamLimit),
            Yes,
            Yes,
            Refused(CallLimit),
            Yes,
            Yes,
            // C1 is done, so there is room again for a new call.
            Yes,
            Refused(CallLimit),
            Yes,
            Yes,
            Refused(ComponentLimit),
            Yes,
        ]
    );
    let snap = f.snapshot(T0 + 10_000);
    assert_eq!(snap.agents.len(), 2);
    assert_eq!(snap.agents.iter().find(|a| &*a.id == "A1").and_then(|a| a.state), Some(AgentState::Acw));
    assert_eq!(f.held().1, 2, "C2 and C3 waiting");
    assert_eq!(snap.faults.len(), 1, "pbx recovered, ivr down, rec refused");
    assert_eq!(f.events_applied(), 11, "refused events are not applied");
}

/// A new source beyond `max_sources` is refused, in events and in connections,
/// and an anonymous connection's source leaves when it closes, so reconnects
/// that name no source never fill the table.
#[test]
fn sources_are_bounded_and_anonymous_ones_leave_with_their_connection() {
    let mut f = limited(10, 10, 2);
    for i in 0..5 {
        let conn = id(&format!("conn-{i}"));
        f.source_connection(&conn, 1, false, T0);
        f.source_connection(&conn, -1, false, T0);
    }
    assert_eq!(f.held().2, 0, "anonymous sources left with their connections");
    f.source_connection(&id("a"), 1, true, T0);
    let mut e = login(0.0, "A1", "t1");
    e.source = id("b");
    assert_eq!(apply_all(&mut f, &[e.clone()]), [Applied::Yes]);
    assert!(f.heard_from(&id("b"), 1, T0, T0));
    e.source = id("c");
    assert_eq!(apply_all(&mut f, &[e]), [Applied::Refused(Refusal::SourceLimit)]);
    assert!(!f.heard_from(&id("c"), 1, T0, T0), "a source beyond the limit is not added");
    f.source_connection(&id("d"), 1, true, T0);
    assert_eq!(f.held().2, 2);
}

/// An answered call whose end never comes is forgotten at retention with its
/// own count, so a feed that loses ends neither pins memory nor goes unseen.
#[test]
fn an_answered_call_that_never_ends_ages_out_counted() {
    let mut f = Floor::new(&cfg(), &mut Vec::new());
    let mut fx = Vec::new();
    for e in [offered(0.0, "C1", "billing"), answered(3.0, "C1", "A1"), offered(4.0, "C2", "billing")] {
        f.apply(&e, e.ts, &mut fx);
    }
    assert_eq!(f.held().1, 2);
    fx.clear();
    f.tick(T0 + 5 * 3_600_000, &mut fx);
    assert_eq!(f.held().1, 0);
    let anomalies: Vec<_> =
        fx.iter().filter_map(|e| if let Effect::Anomaly(a) = e { Some(*a) } else { None }).collect();
    assert!(anomalies.contains(&Anomaly::CallUnended) && anomalies.contains(&Anomaly::CallExpired));
    assert_eq!(anomalies.len(), 2);
}

mod limits_prop {
    use super::*;
    use proptest::prelude::*;

    fn any_event() -> impl Strategy<Value = Event> {
        let idx = 0u32..400;
        (0u8..9, idx.clone(), idx.clone(), idx, 0i64..600_000, 0u8..6).prop_map(|(k, a, b, c, t, st)| {
            let (a, b, c) = (id(&format!("x{a}")), id(&format!("y{b}")), id(&format!("z{c}")));
            let state = AgentState::ALL[usize::from(st) % AgentState::ALL.len()];
            let kind = match k {
                0 => EventKind::AgentLogin { agent: a, name: None, team: Some(b), state, reason: None },
                1 => EventKind::AgentLogout { agent: a, reason: None },
                2 => EventKind::AgentState { agent: a, state, reason: None, queue: Some(b), call: Some(c) },
                3 => EventKind::CallOffered { call: a, queue: b, caller: None },
                4 => EventKind::CallAnswered { call: a, agent: b, queue: Some(c) },
                5 => EventKind::CallAbandoned { call: a, queue: Some(b) },
                6 => EventKind::CallEnded { call: a, agent: Some(b) },
                7 => EventKind::Fault { component: a, status: FaultStatus::Down, detail: None },
                _ => EventKind::Heartbeat,
            };
            Event { ts: T0 + t, source: id(&format!("s{}", t % 11)), seq: None, kind }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Whatever ids a stream names, in whatever order, the floor never holds
        /// more than its limits allow, and every event is applied or refused.
        #[test]
        fn any_stream_leaves_the_floor_within_its_limits(events in proptest::collection::vec(any_event(), 1..600)) {
            let mut c = cfg();
            c.limits = FloorLimits { max_agents: 20, max_calls: 15, max_sources: 7, max_teams: 3, max_components: 4 };
            let mut f = Floor::new(&c, &mut Vec::new());
            let mut fx = Vec::new();
            let mut applied = 0;
            for e in &events {
                if f.apply(e, e.ts, &mut fx) == Applied::Yes {
                    applied += 1;
                }
                f.heard_from(&e.source, 1, e.ts, e.ts);
                let (agents, calls, sources) = f.held();
                prop_assert!(agents <= 20 && calls <= 15 && sources <= 7, "{agents} {calls} {sources}");
            }
            let snap = f.snapshot(T0 + 600_000);
            prop_assert!(snap.teams.len() <= 3);
            prop_assert!(f.faults.len() <= 4);
            prop_assert_eq!(f.events_applied(), applied);
        }
    }
}

/// Per queue, the wall shows who works it now (agents on its calls) and who is
/// ready to, and a per-minute trend of offers.
#[test]
fn queues_count_their_staff_and_keep_a_trend() {
    let (_, _, s) = run(
        &[
            login(0.0, "A1", "t"),
            login(0.0, "A2", "t"),
            login(0.0, "A3", "t"),
            offered(10.0, "C1", "billing"),
            answered_in(12.0, "C1", "A1", "billing"),
            offered(70.0, "C2", "billing"),
            answered_in(72.0, "C2", "A2", "billing"),
            ended(80.0, "C2", "A2"),
            state(81.0, "A2", AgentState::Ready, None),
        ],
        90.0,
    );
    let q = queue(&s, "billing");
    // A1 talks on billing; A2 (done) and A3 are ready for any queue.
    assert_eq!((q.staffed, q.available), (1, 2));
    assert_eq!(q.trend.len(), 60);
    assert_eq!(q.trend.iter().sum::<u32>(), 2, "{:?}", q.trend);
    assert_eq!(q.trend[59], 1, "the newest minute holds C2: {:?}", q.trend);
}

fn done(fx: &[Effect]) -> Vec<FinishedCall> {
    fx.iter().filter_map(|e| if let Effect::CallDone(c) = e { Some((**c).clone()) } else { None }).collect()
}

/// The call log's record: once per call, when it is counted in full, in any
/// order of its events, with its agent, caller and times.
#[test]
fn a_finished_call_is_announced_once_with_its_record() {
    let t = |s: f64| T0 + (s * 1000.0) as Ts;
    let expect = |call: &str,
                  agent: Option<&str>,
                  caller: Option<&str>,
                  ans: Option<f64>,
                  ab: Option<f64>,
                  end: Option<f64>| FinishedCall {
        call: id(call),
        queue: Some(id("billing")),
        agent: agent.map(id),
        caller: caller.map(id),
        offered_at: t(0.0),
        answered_at: ans.map(t),
        abandoned_at: ab.map(t),
        ended_at: end.map(t),
    };
    // In order; then an end before its answer; then an answer before its offer.
    for events in [
        vec![
            offered_from(0.0, "c1", "billing", "13800138000"),
            answered(5.0, "c1", "A1"),
            ended(65.0, "c1", "A1"),
        ],
        vec![
            offered_from(0.0, "c1", "billing", "13800138000"),
            ended(65.0, "c1", "A1"),
            answered(5.0, "c1", "A1"),
        ],
        vec![
            answered_in(5.0, "c1", "A1", "billing"),
            ended(65.0, "c1", "A1"),
            offered_from(0.0, "c1", "billing", "13800138000"),
        ],
    ] {
        let (mut f, fx, _) = run(&events, 70.0);
        assert_eq!(
            done(&fx),
            [expect("c1", Some("A1"), Some("13800138000"), Some(5.0), None, Some(65.0))],
            "{events:?}"
        );
        // A duplicate end changes nothing and announces nothing.
        let mut fx = Vec::new();
        more(&mut f, &mut fx, &[ended(66.0, "c1", "A1")]);
        assert!(done(&fx).is_empty());
    }
    let (_, fx, _) = run(&[offered(0.0, "c2", "billing"), abandoned(30.0, "c2")], 40.0);
    assert_eq!(
        done(&fx),
        [FinishedCall { call: id("c2"), ..expect("c2", None, None, None, Some(30.0), None) }]
    );
    // Answered and not yet ended: not finished.
    let (_, fx, _) = run(&[offered(0.0, "c3", "billing"), answered(5.0, "c3", "A1")], 40.0);
    assert!(done(&fx).is_empty());
}

#[test]
fn teams_seen_in_the_feed_follow_the_configured_ones_in_natural_order() {
    let mut c = cfg();
    c.teams = vec![crate::floor::TeamConfig {
        id: "z-first".into(),
        name: "Z".into(),
        names: Default::default(),
        lead: None,
    }];
    let mut fx = Vec::new();
    let mut f = Floor::new(&c, &mut fx);
    more(
        &mut f,
        &mut fx,
        &[
            login(1.0, "a", "team-10"),
            login(2.0, "b", "team-2"),
            login(3.0, "c", "team-1"),
            login(4.0, "d", "b"),
        ],
    );
    let s = f.snapshot(T0 + 5_000);
    let order: Vec<&str> = s.teams.iter().map(|t| &*t.id).collect();
    assert_eq!(
        order,
        ["z-first", "b", "team-1", "team-2", "team-10"],
        "configured first, then by name, numbers as numbers"
    );
}

#[test]
fn natural_order_compares_digit_runs_as_numbers() {
    use std::cmp::Ordering::*;
    let cmp = super::natural_cmp;
    assert_eq!(cmp("team-2", "team-10"), Less);
    assert_eq!(cmp("team-10", "team-9"), Greater);
    assert_eq!(cmp("a01", "a1"), Equal, "leading zeros aside");
    assert_eq!(cmp("a", "a1"), Less);
    assert_eq!(cmp("b1", "a2"), Greater);
    assert_eq!(cmp("x0", "x00"), Equal);
    assert_eq!(cmp("", ""), Equal);
}
