//! The handover sheet (交接班): per team, who was expected (the roster, the lead
//! included), who is present (signed in during the shift's sign-in window), who
//! is absent and why, and who signed in late and by how much. Pure: the roster,
//! the sign-ins and the reasons come in, the sheet goes out.

use std::collections::{BTreeMap, HashMap};

use super::roster::RosterRow;
use crate::event::Ts;

/// One roster line of the sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub agent: String,
    pub name: Option<String>,
    pub seat: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Absent {
    pub agent: String,
    /// As the lead entered it; `None` until they do.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Late {
    pub agent: String,
    /// Whole minutes after the shift's start, rounded up.
    pub minutes: i64,
    pub signed_in_at: Ts,
}

/// One team's part of the sheet, before anyone signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamSheet {
    pub team: String,
    pub expected: Vec<Expected>,
    pub present: Vec<String>,
    pub absent: Vec<Absent>,
    pub late: Vec<Late>,
    /// Agents of the team who signed in but are not on its roster.
    pub unexpected: Vec<String>,
}

/// What the sheet is built from.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// The shift's start; a sign-in after `start + late_after_ms` is late.
    pub start: Ts,
    pub late_after_ms: i64,
}

/// The sheet of every team on the roster (and every team with a sign-in), by team id.
/// `signins` are each agent's first sign-in in the window with their team as
/// the floor knew it; `reasons` the leads' entries for absent agents.
pub fn sheet(
    roster: &[RosterRow],
    signins: &[(String, Option<String>, Ts)],
    reasons: &HashMap<String, String>,
    w: Window,
) -> Vec<TeamSheet> {
    let signed: HashMap<&str, Ts> = signins.iter().map(|(a, _, t)| (a.as_str(), *t)).collect();
    let mut teams: BTreeMap<&str, TeamSheet> = BTreeMap::new();
    let blank = |team: &str| TeamSheet {
        team: team.to_owned(),
        expected: Vec::new(),
        present: Vec::new(),
        absent: Vec::new(),
        late: Vec::new(),
        unexpected: Vec::new(),
    };
    for r in roster {
        let t = teams.entry(r.team.as_str()).or_insert_with(|| blank(&r.team));
        t.expected.push(Expected { agent: r.agent.clone(), name: r.name.clone(), seat: r.seat.clone() });
        match signed.get(r.agent.as_str()) {
            Some(&at) => {
                t.present.push(r.agent.clone());
                if at > w.start + w.late_after_ms {
                    let minutes = (at - w.start + 59_999) / 60_000;
                    t.late.push(Late { agent: r.agent.clone(), minutes, signed_in_at: at });
                }
            }
            None => t.absent.push(Absent { agent: r.agent.clone(), reason: reasons.get(&r.agent).cloned() }),
        }
    }
    let rostered: std::collections::HashSet<&str> = roster.iter().map(|r| r.agent.as_str()).collect();
    for (agent, team, _) in signins {
        if rostered.contains(agent.as_str()) {
            continue;
        }
        if let Some(team) = team {
            teams.entry(team.as_str()).or_insert_with(|| blank(team)).unexpected.push(agent.clone());
        }
    }
    let mut out: Vec<TeamSheet> = teams.into_values().collect();
    for t in &mut out {
        t.expected.sort_by(|a, b| a.agent.cmp(&b.agent));
        t.present.sort();
        t.absent.sort_by(|a, b| a.agent.cmp(&b.agent));
        t.late.sort_by(|a, b| b.minutes.cmp(&a.minutes).then_with(|| a.agent.cmp(&b.agent)));
        t.unexpected.sort();
    }
    out
}
