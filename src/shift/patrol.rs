//! Patrols (现场巡视): which teams on the floor have gone unpatrolled for longer
//! than the interval. Pure: the task feeds it the teams it sees, the patrols
//! logged and `now`; it answers with the alerts to raise and to clear.

use std::collections::{BTreeMap, BTreeSet};

use crate::event::Ts;

/// What the watch knows of each team.
#[derive(Debug, Clone, Default)]
pub struct PatrolWatch {
    /// The newest patrol of each team.
    last: BTreeMap<String, Ts>,
    /// Since when each team has had agents on the floor (in this run): a team
    /// that just came on is not overdue before a whole interval has passed.
    active_since: BTreeMap<String, Ts>,
    /// Teams whose `patrol_overdue` is raised.
    overdue: BTreeSet<String>,
}

/// A change to raise or clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Overdue: the reference (last patrol, or when the team came on) and how long ago.
    Overdue {
        team: String,
        since: Ts,
        last_patrol: Option<Ts>,
    },
    Patrolled {
        team: String,
    },
}

impl PatrolWatch {
    /// `last`: each team's newest patrol; `overdue`: teams whose alert an
    /// earlier run left open (restored by the alert task), so a patrol or the
    /// team leaving the floor clears it rather than leaving it firing forever.
    pub fn new(
        last: impl IntoIterator<Item = (String, Ts)>,
        overdue: impl IntoIterator<Item = String>,
    ) -> PatrolWatch {
        PatrolWatch {
            last: last.into_iter().collect(),
            overdue: overdue.into_iter().collect(),
            ..PatrolWatch::default()
        }
    }

    /// A patrol was logged (and committed) at `at`.
    pub fn patrolled(&mut self, team: &str, at: Ts) -> Option<Verdict> {
        let e = self.last.entry(team.to_owned()).or_insert(at);
        *e = (*e).max(at);
        self.overdue.remove(team).then(|| Verdict::Patrolled { team: team.to_owned() })
    }

    pub fn last(&self, team: &str) -> Option<Ts> {
        self.last.get(team).copied()
    }

    pub fn is_overdue(&self, team: &str) -> bool {
        self.overdue.contains(team)
    }

    /// One look at the floor: `active` are the teams with agents logged in now.
    /// A team that left the floor has its alert cleared (nobody to patrol).
    pub fn check(&mut self, active: &BTreeSet<String>, now: Ts, interval_ms: i64) -> Vec<Verdict> {
        self.active_since.retain(|t, _| active.contains(t));
        let mut out = Vec::new();
        let gone: Vec<String> = self.overdue.iter().filter(|t| !active.contains(*t)).cloned().collect();
        for t in gone {
            self.overdue.remove(&t);
            out.push(Verdict::Patrolled { team: t });
        }
        for t in active {
            let came_on = *self.active_since.entry(t.clone()).or_insert(now);
            let last = self.last.get(t).copied();
            let since = last.map_or(came_on, |l| l.max(came_on));
            if now - since > interval_ms && self.overdue.insert(t.clone()) {
                out.push(Verdict::Overdue { team: t.clone(), since, last_patrol: last });
            }
        }
        out
    }
}
