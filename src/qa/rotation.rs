//! The live-monitoring rotation (监听轮换): each team's agents in pinyin order of
//! their names, rotated each month so that this month's first is next month's
//! last. Pure: the handler passes the team's members and the month's sessions.
//!
//! **Order.** A name is read as tokens: each Han character is one token, its
//! pinyin without tone (`pinyin` crate, Unihan readings; ü written `v`, as on a
//! keyboard); each run of other letters or digits is one token, lowercased;
//! anything else only separates tokens. Names compare token by token (so 陈
//! `chen` comes before 程 `cheng`, and `Anna` before 陈 `chen` before `Zoe`:
//! Chinese and other names in one order), then by the tones of their Han
//! characters, then by the name as written, then by agent id, so the order is
//! total and the same on every run. A polyphonic character that starts a name
//! is read as a surname (曾 zēng, 单 shàn, 解 xiè…: [`SURNAMES`]).
//!
//! **Rotation.** Month `k` is the number of months since January 2000
//! ([`Month::index`]). With the base order `b[0..n]`, month `k`'s order is `b`
//! rotated left by `k mod n`: `b[k mod n], b[k+1 mod n], …, b[k−1 mod n]`. Month
//! `k+1` then ends with `b[k mod n]`, month `k`'s first. This holds while the team
//! is the same; an agent who joins or leaves changes `n` and so the order.
//!
//! **Standing.** Within the month, an agent with a `done` session is done; one
//! with only `skipped` sessions is skipped (the latest reason counts); the rest
//! are pending. *Next* is the first pending agent in the month's order; when
//! none is pending, the first skipped one (skipped agents are caught up at the
//! end); when everyone is done, nobody.

use std::collections::HashMap;

use pinyin::ToPinyin;

use super::Month;

/// One agent of a team, with the name the order is by (the agent id when no
/// name is known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub agent: String,
    pub name: String,
}

/// Surname readings of characters whose first Unihan reading is another.
pub const SURNAMES: &[(char, &str, u8)] = &[
    ('曾', "zeng", 1),
    ('单', "shan", 4),
    ('解', "xie", 4),
    ('仇', "qiu", 2),
    ('朴', "piao", 2),
    ('查', "zha", 1),
    ('区', "ou", 1),
    ('乐', "yue", 4),
    ('覃', "qin", 2),
    ('翟', "zhai", 2),
    ('盖', "ge", 3),
    ('缪', "miao", 4),
    ('种', "chong", 2),
    ('华', "hua", 4),
    ('任', "ren", 2),
    ('召', "shao", 4),
    ('尉', "yu", 4),
    ('秘', "bi", 4),
    ('长', "chang", 2),
    ('重', "chong", 2),
];

/// What names are compared by (see the module's header).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct NameKey {
    tokens: Vec<String>,
    tones: Vec<u8>,
    written: String,
}

/// The key a name sorts by.
pub fn name_key(name: &str) -> NameKey {
    let mut tokens = Vec::new();
    let mut tones = Vec::new();
    let mut word = String::new();
    for (i, (c, py)) in name.chars().zip(name.to_pinyin()).enumerate() {
        let han = match SURNAMES.iter().find(|s| s.0 == c).filter(|_| i == 0) {
            Some(&(_, plain, tone)) => Some((plain.to_owned(), tone)),
            None => py.map(|p| split_tone(p.with_tone_num_end())),
        };
        if let Some((plain, tone)) = han {
            if !word.is_empty() {
                tokens.push(std::mem::take(&mut word));
            }
            tokens.push(plain);
            tones.push(tone);
        } else if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        } else if !word.is_empty() {
            tokens.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        tokens.push(word);
    }
    NameKey { tokens, tones, written: name.to_owned() }
}

/// `zhong1` → (`zhong`, 1); `lü3` → (`lv`, 3); no digit (neutral tone) → 0.
fn split_tone(s: &str) -> (String, u8) {
    let tone = s.chars().last().and_then(|c| c.to_digit(10)).map_or(0, |d| d as u8);
    let plain = s.trim_end_matches(|c: char| c.is_ascii_digit()).replace('ü', "v");
    (plain, tone)
}

/// The team's base order: by name key, then agent id; one entry per agent (the
/// first name given for an agent is kept).
pub fn base_order(members: Vec<Member>) -> Vec<Member> {
    let mut seen = std::collections::HashSet::new();
    let mut keyed: Vec<(NameKey, Member)> = members
        .into_iter()
        .filter(|m| seen.insert(m.agent.clone()))
        .map(|m| (name_key(&m.name), m))
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.agent.cmp(&b.1.agent)));
    keyed.into_iter().map(|(_, m)| m).collect()
}

/// The month's order: the base order rotated left by `month.index() mod n`.
pub fn order_for(base: &[Member], month: Month) -> Vec<Member> {
    if base.is_empty() {
        return Vec::new();
    }
    let n = base.len() as i64;
    let k = month.index().rem_euclid(n) as usize;
    base[k..].iter().chain(&base[..k]).cloned().collect()
}

/// How a live-monitoring session went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Passed over, with a reason (leave, training, no calls).
    Skipped,
}

impl Outcome {
    pub fn parse(s: &str) -> Option<Outcome> {
        match s {
            "done" => Some(Outcome::Done),
            "skipped" => Some(Outcome::Skipped),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Skipped => "skipped",
        }
    }
}

/// One recorded session of the month (as the store keeps it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub agent: String,
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub at: i64,
    pub by: String,
}

/// Where one agent stands this month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Pending,
    /// The first `done` session's time and who monitored.
    Done {
        at: i64,
        by: String,
    },
    /// The latest skip's reason, time and who skipped.
    Skipped {
        reason: String,
        at: i64,
        by: String,
    },
}

/// The month's rotation as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// The month's order with each agent's status.
    pub order: Vec<(Member, Status)>,
    /// Who is monitored next (see the module's header).
    pub next: Option<String>,
}

/// The standing of `order` after `sessions` (of this month, in time order;
/// sessions of agents not in the order are left out).
pub fn standing(order: Vec<Member>, sessions: &[Session]) -> Standing {
    let mut status: HashMap<&str, Status> = HashMap::new();
    for s in sessions {
        let cur = status.get(s.agent.as_str());
        let new = match (s.outcome, cur) {
            (_, Some(Status::Done { .. })) => continue,
            (Outcome::Done, _) => Status::Done { at: s.at, by: s.by.clone() },
            (Outcome::Skipped, _) => {
                Status::Skipped { reason: s.reason.clone().unwrap_or_default(), at: s.at, by: s.by.clone() }
            }
        };
        status.insert(s.agent.as_str(), new);
    }
    let order: Vec<(Member, Status)> = order
        .into_iter()
        .map(|m| {
            let st = status.get(m.agent.as_str()).cloned().unwrap_or(Status::Pending);
            (m, st)
        })
        .collect();
    let first = |want: fn(&Status) -> bool| order.iter().find(|(_, s)| want(s)).map(|(m, _)| m.agent.clone());
    let next = first(|s| *s == Status::Pending).or_else(|| first(|s| matches!(s, Status::Skipped { .. })));
    Standing { order, next }
}

#[cfg(test)]
mod tests;
