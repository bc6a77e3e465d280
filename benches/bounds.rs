//! What the limits cost and what they hold (issue 16 item 3): `cargo bench --bench bounds`.
//!
//! 1. Throughput of the engine's step on a realistic mix (5,000 agents, calls
//!    offered, answered, ended) with the default limits against limits so high
//!    they are never near (the checks' cost is the difference; they only compare
//!    lengths below a limit, so it should be noise).
//! 2. RSS at the agent limit: 50,000 agents logged in, then 1,000,000 more
//!    distinct ids refused; the process's RSS after each.

use floorwatch::config::Config;
use floorwatch::engine::Step;
use floorwatch::event::{AgentState, Event, EventKind, Id, Ts};
use floorwatch::floor::FloorLimits;
use tokio::time::Instant;

const T0: Ts = 1_795_420_800_000;

fn rss_mib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = s
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn ev(ts: Ts, kind: EventKind) -> Event {
    Event { ts, source: Id::from("acd"), seq: None, kind }
}

/// Batches of 200 events: calls offered to 20 queues, answered by one of 5,000
/// agents, ended, each agent's state following.
fn mix(n: usize) -> Vec<Vec<Event>> {
    let mut out = Vec::new();
    let mut batch = Vec::with_capacity(200);
    let mut call = 0u64;
    while out.len() * 200 < n {
        call += 1;
        let ts = T0 + (call as i64) * 10;
        let c = Id::from(format!("C{call}"));
        let a = Id::from(format!("A{}", call % 5000));
        let q = Id::from(format!("q{}", call % 20));
        batch.push(ev(ts, EventKind::CallOffered { call: c.clone(), queue: q.clone(), caller: None }));
        batch.push(ev(ts + 3, EventKind::CallAnswered { call: c.clone(), agent: a.clone(), queue: None }));
        let talking = AgentState::Talking;
        let st = EventKind::AgentState {
            agent: a.clone(),
            state: talking,
            reason: None,
            queue: Some(q),
            call: None,
        };
        batch.push(ev(ts + 3, st));
        batch.push(ev(ts + 9, EventKind::CallEnded { call: c, agent: Some(a.clone()) }));
        let ready = EventKind::AgentState {
            agent: a,
            state: AgentState::Ready,
            reason: None,
            queue: None,
            call: None,
        };
        batch.push(ev(ts + 9, ready));
        if batch.len() >= 200 {
            out.push(std::mem::replace(&mut batch, Vec::with_capacity(200)));
        }
    }
    out
}

fn run(limits: FloorLimits, batches: &[Vec<Event>]) -> f64 {
    let mut cfg = Config::default();
    cfg.floor.limits = limits;
    let mut step = Step::new(&cfg.floor, &cfg.alerts, Vec::new(), Vec::new());
    let n: usize = batches.iter().map(Vec::len).sum();
    let t0 = Instant::now();
    for b in batches {
        let now = b.last().map_or(T0, |e| e.ts);
        step.batch(b.clone(), now);
        let _ = step.take_counts();
        let _ = step.take_signals();
    }
    n as f64 / t0.elapsed().as_secs_f64()
}

fn main() {
    // First, on a fresh heap: measured after the throughput part, RSS would
    // include what the allocator kept of its 2,000,000 dropped events.
    rss_at_the_limit();

    let batches = mix(2_000_000);
    let off = FloorLimits {
        max_agents: usize::MAX,
        max_calls: usize::MAX,
        max_sources: usize::MAX,
        max_teams: usize::MAX,
        max_components: usize::MAX,
    };
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        without.push(run(off, &batches));
        with.push(run(FloorLimits::default(), &batches));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (w, wo) = (median(&mut with), median(&mut without));
    println!(
        "step throughput (2,000,000 events, median of 5): limits on {w:>10.0} ev/s   limits off {wo:>10.0} ev/s   ratio {:.3}",
        w / wo
    );
}

/// RSS of this process (nothing else in it yet) as the floor fills to the
/// default agent limit, then as a million more distinct ids are refused.
fn rss_at_the_limit() {
    let mut cfg = Config::default();
    cfg.floor.limits.max_agents = 50_000;
    let base = rss_mib();
    let mut step = Step::new(&cfg.floor, &cfg.alerts, Vec::new(), Vec::new());
    let login = |i: usize| {
        ev(
            T0,
            EventKind::AgentLogin {
                agent: Id::from(format!("agent-{i:08}")),
                name: Some(Id::from("王芳")),
                team: Some(Id::from(format!("t{}", i % 100))),
                state: AgentState::Ready,
                reason: None,
            },
        )
    };
    for start in (0..1_050_000).step_by(1000) {
        step.batch((start..start + 1000).map(login).collect(), T0);
        let _ = step.take_counts();
        let _ = step.take_signals();
        if start + 1000 == 50_000 {
            println!(
                "RSS at the agent limit (50,000 agents logged in): {:.0} MiB (+{:.0} MiB)",
                rss_mib(),
                rss_mib() - base
            );
        }
    }
    let snap = step.snapshot(T0);
    println!(
        "after 1,000,000 more distinct ids refused: {} agents held, RSS {:.0} MiB (+{:.0} MiB)",
        snap.agents.len(),
        rss_mib(),
        rss_mib() - base
    );
}
