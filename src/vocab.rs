//! The alert vocabulary: what an alert is ([`Kind`]), how bad ([`Severity`]),
//! where it stands ([`AlertState`]) and what it is about ([`Subject`]), beside
//! `event`, the event vocabulary. Everything that speaks of alerts — rules,
//! alerts, incidents, notify, store, http, config — takes these types from here,
//! so the spellings below are the only copy: adding a kind means one entry in
//! [`Kind::ALL`] (and `as_str`, `about`) plus its messages in `rules::text`.
//!
//! Plain data, no IO. Strings exist only at the edges: the store converts at the
//! row, the API and the pushes render with `as_str`, config parses with `parse`.

use std::fmt;

use crate::event::Id;

/// The alert kinds floorwatch raises (contract §5 plus three queue kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    AcwOverrun,
    BusyOverrun,
    TrafficSurge,
    AnswerRateLow,
    ServiceLevelLow,
    LongestWaitHigh,
    SourceDown,
    SystemFault,
    /// A team on the floor not patrolled by its lead for longer than the interval.
    PatrolOverdue,
}

impl Kind {
    /// Every kind, in the order metrics and listings show them.
    pub const ALL: [Kind; 9] = [
        Kind::AcwOverrun,
        Kind::BusyOverrun,
        Kind::TrafficSurge,
        Kind::AnswerRateLow,
        Kind::ServiceLevelLow,
        Kind::LongestWaitHigh,
        Kind::SourceDown,
        Kind::SystemFault,
        Kind::PatrolOverdue,
    ];

    /// The spelling in the API, the database, metric labels and config files.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::AcwOverrun => "acw_overrun",
            Kind::BusyOverrun => "busy_overrun",
            Kind::TrafficSurge => "traffic_surge",
            Kind::AnswerRateLow => "answer_rate_low",
            Kind::ServiceLevelLow => "service_level_low",
            Kind::LongestWaitHigh => "longest_wait_high",
            Kind::SourceDown => "source_down",
            Kind::SystemFault => "system_fault",
            Kind::PatrolOverdue => "patrol_overdue",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// What an alert of this kind is about: decides its [`Subject`], and whether
    /// it concerns one agent (a team lead's business) or the floor.
    pub fn about(self) -> About {
        match self {
            Kind::AcwOverrun | Kind::BusyOverrun => About::Agent,
            Kind::TrafficSurge | Kind::AnswerRateLow | Kind::ServiceLevelLow | Kind::LongestWaitHigh => {
                About::Queue
            }
            Kind::SourceDown => About::Source,
            Kind::SystemFault => About::Component,
            // Its subject is the team, named in the component field: a team is not
            // one of the four subjects, and a component is what it is to the alert.
            Kind::PatrolOverdue => About::Component,
        }
    }
}

/// The four things an alert can be about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum About {
    Agent,
    Queue,
    Source,
    Component,
}

/// Ordered: `Info < Warning < Critical` (routing and escalation compare them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Info, Severity::Warning, Severity::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// An alert's lifecycle: `firing → acknowledged → resolved` (acknowledging is
/// optional; a resolved alert stays resolved).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertState {
    Firing,
    Acknowledged,
    Resolved,
}

impl AlertState {
    pub const ALL: [AlertState; 3] = [AlertState::Firing, AlertState::Acknowledged, AlertState::Resolved];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Firing => "firing",
            AlertState::Acknowledged => "acknowledged",
            AlertState::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<AlertState> {
        AlertState::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Firing or acknowledged: still one of the open alerts.
    pub fn is_open(self) -> bool {
        self != AlertState::Resolved
    }
}

macro_rules! display_as_str {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}
display_as_str!(Kind, Severity, AlertState);

/// What one alert is about; with its kind, the alert's identity ([`AlertKey`]).
/// The two signatures of a component fault name the component *and* where it
/// shows, so they are their own variants rather than a formatted string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    Agent(Id),
    Queue(Id),
    Source(Id),
    /// A component a `fault` event names, or `agents` for a mass logout.
    Component(Id),
    /// The call dispatcher of this queue (calls offered, none answered, agents ready).
    Dispatcher(Id),
    /// The CTI link of this source (a burst of `seq` gaps).
    CtiLink(Id),
}

/// The component names the two signature subjects carry in an alert's fields.
pub const DISPATCHER: &str = "dispatcher";
pub const CTI_LINK: &str = "cti-link";

impl Subject {
    /// The subject of a stored alert of `kind`, from its fields — the inverse of
    /// what the rules put in those fields. `None` when the field it needs is empty.
    pub fn of(
        kind: Kind,
        agent: Option<&str>,
        queue: Option<&str>,
        source: Option<&str>,
        component: Option<&str>,
    ) -> Option<Subject> {
        let id = |s: &str| Id::from(s);
        match kind.about() {
            About::Agent => agent.map(|a| Subject::Agent(id(a))),
            About::Queue => queue.map(|q| Subject::Queue(id(q))),
            About::Source => source.map(|s| Subject::Source(id(s))),
            About::Component => match (component, queue, source) {
                (Some(DISPATCHER), Some(q), _) => Some(Subject::Dispatcher(id(q))),
                (Some(CTI_LINK), _, Some(s)) => Some(Subject::CtiLink(id(s))),
                (c, _, _) => c.map(|c| Subject::Component(id(c))),
            },
        }
    }

    /// The agent, queue, source or component named (the queue of a dispatcher,
    /// the source of a CTI link).
    pub fn id(&self) -> &Id {
        match self {
            Subject::Agent(x)
            | Subject::Queue(x)
            | Subject::Source(x)
            | Subject::Component(x)
            | Subject::Dispatcher(x)
            | Subject::CtiLink(x) => x,
        }
    }
}

/// The subject as one string, as logs and tests read it: the id itself, or
/// `dispatcher:{queue}` / `cti-link:{source}` for the two signatures.
impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Dispatcher(q) => write!(f, "{DISPATCHER}:{q}"),
            Subject::CtiLink(s) => write!(f, "{CTI_LINK}:{s}"),
            other => f.write_str(other.id()),
        }
    }
}

/// One alert per (kind, subject).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AlertKey {
    pub kind: Kind,
    pub subject: Subject,
}

/// The language alert messages are written in (`[alerts] language`). Here, not in
/// `rules`, because rules, alerts, http and config all speak it and none of them
/// should need another's config to do so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
pub enum Language {
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

/// A display name in each language (`names = { zh = "账单查询", en = "Billing" }`
/// on a queue, team or component), so every screen and customer-facing script
/// speaks one language. Either may be missing: a name given only in Chinese is
/// shown on the English page too, which is the site's choice, not a mix-up.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Names {
    pub zh: Option<String>,
    pub en: Option<String>,
}

impl Names {
    /// The name in `lang`, else the other one, else `None`.
    pub fn get(&self, lang: Language) -> Option<&str> {
        let (first, second) = match lang {
            Language::ZhCn => (&self.zh, &self.en),
            Language::En => (&self.en, &self.zh),
        };
        first.as_deref().or(second.as_deref()).filter(|n| !n.is_empty())
    }

    /// Whether neither language is given.
    pub fn is_empty(&self) -> bool {
        self.zh.as_deref().is_none_or(str::is_empty) && self.en.as_deref().is_none_or(str::is_empty)
    }
}

/// `a, b or c`: the valid spellings, for config and API errors.
pub fn one_of<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.into_iter().collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_parses_back_and_nothing_else_does() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
            assert_eq!(k.to_string(), k.as_str());
        }
        for s in Severity::ALL {
            assert_eq!(Severity::parse(s.as_str()), Some(s));
        }
        for s in AlertState::ALL {
            assert_eq!(AlertState::parse(s.as_str()), Some(s));
        }
        assert_eq!(Kind::parse("acw_overun"), None);
        let n = Names { zh: Some("账单".into()), en: None };
        assert_eq!(n.get(Language::En), Some("账单"), "a name given only in Chinese is still a name");
        let n = Names { zh: Some("账单".into()), en: Some("Billing".into()) };
        assert_eq!((n.get(Language::ZhCn), n.get(Language::En)), (Some("账单"), Some("Billing")));
        assert_eq!(Names::default().get(Language::En), None);
        assert_eq!(Severity::parse("fatal"), None);
        assert_eq!(AlertState::parse("open"), None);
        assert!(Severity::Info < Severity::Warning && Severity::Warning < Severity::Critical);
    }

    #[test]
    fn a_stored_alert_gives_back_the_subject_the_rules_keyed_it_by() {
        let of = |k, a, q, s, c| Subject::of(k, a, q, s, c).map(|s| s.to_string());
        assert_eq!(of(Kind::AcwOverrun, Some("A7"), Some("billing"), None, None).as_deref(), Some("A7"));
        assert_eq!(of(Kind::AnswerRateLow, None, Some("billing"), None, None).as_deref(), Some("billing"));
        assert_eq!(of(Kind::SourceDown, None, None, Some("acd-1"), None).as_deref(), Some("acd-1"));
        assert_eq!(
            Subject::of(Kind::SystemFault, None, Some("billing"), None, Some("dispatcher")),
            Some(Subject::Dispatcher("billing".into()))
        );
        assert_eq!(
            of(Kind::SystemFault, None, None, Some("acd"), Some("cti-link")).as_deref(),
            Some("cti-link:acd")
        );
        // A `fault` event's own component (even one called cti-link, with no source).
        assert_eq!(of(Kind::SystemFault, None, None, None, Some("cti-link")).as_deref(), Some("cti-link"));
        assert_eq!(of(Kind::SystemFault, None, None, None, Some("agents")).as_deref(), Some("agents"));
        assert_eq!(of(Kind::BusyOverrun, None, Some("billing"), None, None), None);
    }

    #[test]
    fn lists_read_as_a_sentence() {
        assert_eq!(one_of(Severity::ALL.map(Severity::as_str)), "info, warning or critical");
        assert_eq!(one_of(["a"]), "a");
        assert_eq!(one_of(Vec::new()), "");
    }
}
