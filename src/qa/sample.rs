//! The sample a rule picks: a deterministic function of (rule, calls).
//!
//! Anyone can re-run it from the published rule (its canonical JSON and SHA-256
//! are on `GET /api/qa/rules/{id}`) and the call log (`GET /api/calls`):
//!
//! 1. **Calls**: those answered by an agent, offered within `[from, to)`.
//! 2. **Key**: each call's key is the first 8 bytes (big-endian u64) of
//!    SHA-256(`"{seed}:{call}:{offered_at}"`), `offered_at` in UTC ms. Lower
//!    keys are picked first; nobody can choose which calls have low keys
//!    without changing the published seed.
//! 3. **Rate**: `target = ceil(rate × calls)`. Calls fall into strata by queue,
//!    weekday and hour (in the rule's `timezone`), as `strata` says; each
//!    stratum gets `floor(rate × n)` and the remaining picks go to the strata
//!    with the largest remainders (ties: smallest stratum key). Within a
//!    stratum, calls whose talk time lies within `band` (a fraction, e.g. 0.2)
//!    of the day's mean talk time are taken first, by key, then the others.
//! 4. **Characteristic calls**, per agent and half-month (days 1–15, 16–end):
//!    the longest and the shortest talk, the first call of the first Monday,
//!    the last call of the last Friday, and the call after the longest gap
//!    between two of the agent's calls on one day. Ties: the lower key.
//! 5. **Minimum**: per agent and ISO week, `per_agent_min` (times
//!    `new_agent_factor` for `new_agents`, times `watch_factor` for
//!    `watch_list`, rounded up) — if the picks so far fall short, the agent's
//!    other calls of that week are added by key.
//!
//! A call picked for several reasons is listed once with all of them; the list
//! is ordered by offer time, then call id.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Datelike, TimeZone, Timelike, Weekday};

use super::{Rule, Strata};
use crate::store::qa::CallRow;

/// Why a call is in the sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    Rate,
    Longest,
    Shortest,
    FirstOnMonday,
    LastOnFriday,
    AfterLongestGap,
    Minimum,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Rate => "rate",
            Reason::Longest => "longest",
            Reason::Shortest => "shortest",
            Reason::FirstOnMonday => "first_on_monday",
            Reason::LastOnFriday => "last_on_friday",
            Reason::AfterLongestGap => "after_longest_gap",
            Reason::Minimum => "minimum",
        }
    }
}

/// One picked call.
#[derive(Debug, Clone, PartialEq)]
pub struct Pick {
    pub call: CallRow,
    pub key: u64,
    pub reasons: Vec<Reason>,
}

/// A rule's sample over the calls it was given.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Calls the rule applies to (answered, by an agent, within its period).
    pub eligible: usize,
    /// `ceil(rate × eligible)`: what step 3 picks.
    pub target: usize,
    pub picks: Vec<Pick>,
}

/// The call's key for `seed` (step 2).
pub fn key(seed: &str, call: &str, offered_at: i64) -> u64 {
    let d = ring::digest::digest(&ring::digest::SHA256, format!("{seed}:{call}:{offered_at}").as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&d.as_ref()[..8]);
    u64::from_be_bytes(b)
}

struct Eligible<'a> {
    row: &'a CallRow,
    key: u64,
    agent: &'a str,
    answered: i64,
    talk: i64,
    local: chrono::DateTime<chrono_tz::Tz>,
}

/// The agent's weekly minimum under the rule (step 5).
pub fn minimum_for(rule: &Rule, agent: &str) -> u32 {
    let mut m = f64::from(rule.per_agent_min);
    if rule.new_agents.iter().any(|a| a == agent) {
        m *= rule.new_agent_factor;
    }
    if rule.watch_list.iter().any(|a| a == agent) {
        m *= rule.watch_factor;
    }
    m.ceil() as u32
}

/// ISO (year, week) of a local time: the week of the weekly minimum.
pub fn iso_week(t: &chrono::DateTime<chrono_tz::Tz>) -> (i32, u32) {
    let w = t.iso_week();
    (w.year(), w.week())
}

/// Runs the rule over `calls` (any order; only its eligible ones count).
pub fn sample(rule: &Rule, calls: &[CallRow]) -> Sample {
    let tz = rule.timezone;
    let mut el: Vec<Eligible<'_>> = calls
        .iter()
        .filter(|c| c.offered_at >= rule.from_ms && c.offered_at < rule.to_ms)
        .filter_map(|c| {
            let agent = c.agent.as_deref()?;
            let answered = c.answered_at?;
            let talk = c.ended_at.map_or(0, |e| (e - answered).max(0));
            let local = tz.timestamp_millis_opt(answered).single()?;
            Some(Eligible {
                row: c,
                key: key(&rule.seed, &c.call, c.offered_at),
                agent,
                answered,
                talk,
                local,
            })
        })
        .collect();
    // A call listed twice (the same id and offer) is one call.
    el.sort_by(|a, b| (a.key, &a.row.call, a.row.offered_at).cmp(&(b.key, &b.row.call, b.row.offered_at)));
    el.dedup_by(|a, b| a.row.call == b.row.call && a.row.offered_at == b.row.offered_at);

    let mut reasons: HashMap<usize, BTreeSet<Reason>> = HashMap::new();
    fn add(reasons: &mut HashMap<usize, BTreeSet<Reason>>, i: usize, r: Reason) {
        reasons.entry(i).or_default().insert(r);
    }

    // Step 3: the rate, spread over strata.
    let target = (rule.rate * el.len() as f64).ceil() as usize;
    let mut day_talk: HashMap<chrono::NaiveDate, (i64, i64)> = HashMap::new();
    for e in &el {
        let d = day_talk.entry(e.local.date_naive()).or_default();
        d.0 += e.talk;
        d.1 += 1;
    }
    let in_band = |e: &Eligible<'_>| match rule.band {
        None => true,
        Some(b) => {
            let (sum, n) = day_talk[&e.local.date_naive()];
            let mean = sum as f64 / n as f64;
            (e.talk as f64 - mean).abs() <= b * mean
        }
    };
    let mut strata: BTreeMap<(String, u32, u32), Vec<usize>> = BTreeMap::new();
    for (i, e) in el.iter().enumerate() {
        strata.entry(stratum(&rule.strata, e)).or_default().push(i);
    }
    let mut quota: Vec<(usize, f64, &(String, u32, u32))> = strata
        .iter()
        .map(|(k, v)| {
            let exact = rule.rate * v.len() as f64;
            (exact.floor() as usize, exact - exact.floor(), k)
        })
        .collect();
    let mut left = target.saturating_sub(quota.iter().map(|q| q.0).sum());
    let mut order: Vec<usize> = (0..quota.len()).collect();
    order.sort_by(|&a, &b| quota[b].1.total_cmp(&quota[a].1).then(quota[a].2.cmp(quota[b].2)));
    for i in order {
        if left == 0 {
            break;
        }
        if quota[i].1 > 0.0 {
            quota[i].0 += 1;
            left -= 1;
        }
    }
    for (n, _, k) in &quota {
        // Members are in key order (el is sorted by key): band first, then the rest.
        let members = &strata[*k];
        let first = members.iter().filter(|&&i| in_band(&el[i]));
        let rest = members.iter().filter(|&&i| !in_band(&el[i]));
        for &i in first.chain(rest).take(*n) {
            add(&mut reasons, i, Reason::Rate);
        }
    }

    // Step 4: characteristic calls per agent and half-month.
    let mut halves: BTreeMap<(&str, i32, u32, bool), Vec<usize>> = BTreeMap::new();
    for (i, e) in el.iter().enumerate() {
        let l = &e.local;
        halves.entry((e.agent, l.year(), l.month(), l.day() > 15)).or_default().push(i);
    }
    for members in halves.values() {
        // Key order already: `max_by_key`/`min_by_key` keep the first or last of
        // equals, so pick with explicit tie-breaks instead.
        let best = |f: &dyn Fn(&Eligible<'_>) -> Option<i64>| {
            members
                .iter()
                .filter_map(|&i| f(&el[i]).map(|v| (v, i)))
                .min_by(|a, b| a.0.cmp(&b.0).then(el[a.1].key.cmp(&el[b.1].key)))
        };
        if let Some((_, i)) = best(&|e| Some(-e.talk)) {
            add(&mut reasons, i, Reason::Longest);
        }
        if let Some((_, i)) = best(&|e| Some(e.talk)) {
            add(&mut reasons, i, Reason::Shortest);
        }
        if let Some((_, i)) = best(&|e| (e.local.weekday() == Weekday::Mon).then_some(e.answered)) {
            add(&mut reasons, i, Reason::FirstOnMonday);
        }
        if let Some((_, i)) = best(&|e| (e.local.weekday() == Weekday::Fri).then_some(-e.answered)) {
            add(&mut reasons, i, Reason::LastOnFriday);
        }
        let mut by_time: Vec<usize> = members.clone();
        by_time.sort_by_key(|&i| (el[i].answered, el[i].key));
        let mut gap: Option<(i64, usize)> = None;
        for w in by_time.windows(2) {
            let (a, b) = (&el[w[0]], &el[w[1]]);
            if a.local.date_naive() != b.local.date_naive() {
                continue;
            }
            let g = b.answered - a.row.ended_at.unwrap_or(a.answered);
            if gap.is_none_or(|(best, j)| g > best || (g == best && b.key < el[j].key)) {
                gap = Some((g, w[1]));
            }
        }
        if let Some((_, i)) = gap {
            add(&mut reasons, i, Reason::AfterLongestGap);
        }
    }

    // Step 5: the weekly minimum per agent.
    let mut weeks: BTreeMap<(&str, (i32, u32)), Vec<usize>> = BTreeMap::new();
    for (i, e) in el.iter().enumerate() {
        weeks.entry((e.agent, iso_week(&e.local))).or_default().push(i);
    }
    for ((agent, _), members) in &weeks {
        let min = minimum_for(rule, agent) as usize;
        let have = members.iter().filter(|i| reasons.contains_key(i)).count();
        let extra: Vec<usize> = members
            .iter()
            .copied()
            .filter(|i| !reasons.contains_key(i))
            .take(min.saturating_sub(have))
            .collect();
        for i in extra {
            add(&mut reasons, i, Reason::Minimum);
        }
    }

    let mut picks: Vec<Pick> = reasons
        .into_iter()
        .map(|(i, r)| Pick { call: el[i].row.clone(), key: el[i].key, reasons: r.into_iter().collect() })
        .collect();
    picks.sort_by(|a, b| (a.call.offered_at, &a.call.call).cmp(&(b.call.offered_at, &b.call.call)));
    Sample { eligible: el.len(), target, picks }
}

fn stratum(s: &Strata, e: &Eligible<'_>) -> (String, u32, u32) {
    (
        if s.queue { e.row.queue.clone().unwrap_or_default() } else { String::new() },
        if s.weekday { e.local.weekday().num_days_from_monday() } else { 0 },
        if s.hour { e.local.hour() } else { 0 },
    )
}
