//! The `[incidents]` section: playbooks (which alerts open an incident, the
//! unified reply script in both languages, whether it waits for the supervisor)
//! and how caller numbers show on shared screens.
//!
//! With no section at all, the default playbooks for `traffic_surge`,
//! `system_fault` and `source_down` apply: a floor gets the procedure on day one.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::vocab::{self, About, Kind, Language, Names};

/// `(key, message)` problems, mapped onto file:line:key by `config`.
pub type Problems = Vec<(String, String)>;

/// What a playbook is for: alerts of one kind, or incidents a supervisor opens
/// by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlaybookKind {
    Alert(Kind),
    Manual,
}

impl PlaybookKind {
    pub const MANUAL: &'static str = "manual";

    pub fn as_str(self) -> &'static str {
        match self {
            PlaybookKind::Alert(k) => k.as_str(),
            PlaybookKind::Manual => PlaybookKind::MANUAL,
        }
    }

    /// Any alert kind's spelling, or `manual`; [`RawIncidentsConfig::validate`]
    /// also refuses the kinds that may not open an incident.
    pub fn parse(s: &str) -> Option<PlaybookKind> {
        match s {
            PlaybookKind::MANUAL => Some(PlaybookKind::Manual),
            other => Kind::parse(other).map(PlaybookKind::Alert),
        }
    }

    /// Whether an incident may run this playbook: one agent's overrun is the team
    /// lead's business, not the floor's; every other kind may be escalated.
    fn may_open(self) -> bool {
        match self {
            PlaybookKind::Alert(k) => k.about() != About::Agent,
            PlaybookKind::Manual => true,
        }
    }

    /// The spellings a playbook may name.
    fn names() -> impl Iterator<Item = &'static str> {
        Kind::ALL
            .into_iter()
            .map(PlaybookKind::Alert)
            .chain([PlaybookKind::Manual])
            .filter(|k| k.may_open())
            .map(PlaybookKind::as_str)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Playbook {
    /// The alert kind that opens it, or manual for incidents a supervisor opens.
    pub kind: PlaybookKind,
    /// Only for this queue / component (a specific playbook wins over a general one).
    pub queue: Option<String>,
    pub component: Option<String>,
    /// Script templates; `{queue}`, `{component}` and `{eta}` are filled in.
    pub script_zh: String,
    pub script_en: String,
    /// The script waits for the supervisor to publish it, instead of going out at once.
    pub approval: bool,
    /// What callers are told about recovery (`{eta}`), minutes.
    pub expected_recovery_mins: u32,
    /// Receivers (`[[notify.receivers]]` names) told when it opens and closes;
    /// empty: the receivers whose `kinds` list "incident" (the duty supervisor's
    /// or maintenance's robot opts in; others already get the alert itself).
    pub notify: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IncidentsConfig {
    pub playbooks: Vec<Playbook>,
    /// Show caller numbers as 138****0001 to readers without the admin right
    /// (the wallboard, a LAN browser); call-back work needs the admin token or a
    /// loopback client to see them whole.
    pub mask_callers: bool,
    /// Display names of components (`[incidents.components]`, e.g. `trunk-2 =
    /// { zh = "2 号中继线", en = "trunk line 2" }`): scripts are read to
    /// customers, who must never hear an internal id.
    pub components: BTreeMap<String, Names>,
    /// The floor's queue display names, handed in by `config` (the floor owns
    /// them), for the same reason.
    pub queue_names: BTreeMap<String, Names>,
}

impl Default for IncidentsConfig {
    fn default() -> IncidentsConfig {
        IncidentsConfig {
            playbooks: default_playbooks(),
            mask_callers: true,
            components: BTreeMap::new(),
            queue_names: BTreeMap::new(),
        }
    }
}

impl std::fmt::Display for PlaybookKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl IncidentsConfig {
    /// A queue's name as a script says it in `lang`: its display name, else its id.
    pub fn queue_name<'a>(&'a self, id: &'a str, lang: Language) -> &'a str {
        self.queue_names.get(id).and_then(|n| n.get(lang)).unwrap_or(id)
    }

    /// A component's name as a script says it in `lang`: its display name, else its id.
    pub fn component_name<'a>(&'a self, id: &'a str, lang: Language) -> &'a str {
        self.components.get(id).and_then(|n| n.get(lang)).unwrap_or(id)
    }

    /// Fills a playbook's template in `lang` with display names (see [`render`]).
    pub fn render_in(
        &self,
        template: &str,
        queue: Option<&str>,
        component: Option<&str>,
        eta_mins: u32,
        lang: Language,
    ) -> String {
        let q = queue.map(|q| self.queue_name(q, lang));
        let c = component.map(|c| self.component_name(c, lang));
        render(template, q, c, eta_mins, lang == Language::ZhCn)
    }

    /// The playbook for an alert of `kind` on `queue`/`component`: the most
    /// specific that matches, a site's own before the defaults.
    pub fn playbook_for(
        &self,
        kind: PlaybookKind,
        queue: Option<&str>,
        component: Option<&str>,
    ) -> Option<&Playbook> {
        self.playbooks
            .iter()
            .filter(|p| p.kind == kind)
            .filter(|p| p.queue.is_none() || p.queue.as_deref() == queue)
            .filter(|p| p.component.is_none() || p.component.as_deref() == component)
            .max_by_key(|p| usize::from(p.queue.is_some()) + usize::from(p.component.is_some()))
    }
}

/// Fills a template. Unknown placeholders stay as written, so a typo shows on
/// the screen where the supervisor will see and fix it, rather than vanishing.
pub fn render(
    template: &str,
    queue: Option<&str>,
    component: Option<&str>,
    eta_mins: u32,
    zh: bool,
) -> String {
    let eta = if zh { format!("{eta_mins} 分钟") } else { format!("{eta_mins} minutes") };
    let dash = if zh { "相关" } else { "the affected" };
    template
        .replace("{queue}", queue.unwrap_or(dash))
        .replace("{component}", component.unwrap_or(dash))
        .replace("{eta}", &eta)
}

fn playbook(kind: PlaybookKind, zh: &str, en: &str, eta: u32) -> Playbook {
    Playbook {
        kind,
        queue: None,
        component: None,
        script_zh: zh.into(),
        script_en: en.into(),
        approval: false,
        expected_recovery_mins: eta,
        notify: Vec::new(),
    }
}

/// The floor's standard replies (统一应答口径) when nothing is configured.
pub fn default_playbooks() -> Vec<Playbook> {
    vec![
        playbook(
            PlaybookKind::Alert(Kind::TrafficSurge),
            "您好，目前{queue}业务来电较多，让您久等了，非常抱歉。您的问题我们已记录，\
             将在{eta}内安排专人给您回电，请保持电话畅通。",
            "We are receiving an unusually high number of calls about {queue} right now, and we are \
             sorry for the wait. We have noted your number and will call you back within {eta}; \
             please keep your phone available.",
            30,
        ),
        playbook(
            PlaybookKind::Alert(Kind::SystemFault),
            "您好，因系统故障（{component}），部分业务暂时无法办理，技术人员正在紧急处理，\
             预计{eta}内恢复。我们已记录您的电话，恢复后将第一时间给您回电，给您带来不便敬请谅解。",
            "Because of a system fault ({component}) some services are temporarily unavailable. Our \
             engineers are working on it and expect it to be restored within {eta}. We have noted your \
             number and will call you back as soon as it is; we apologise for the inconvenience.",
            30,
        ),
        playbook(
            PlaybookKind::Alert(Kind::SourceDown),
            "您好，系统正在紧急维护（{component}），部分查询暂时无法办理，预计{eta}内恢复。\
             我们已记录您的电话，恢复后将给您回电，请您谅解。",
            "Our systems are under urgent maintenance ({component}) and some enquiries cannot be handled \
             for now; we expect this to be resolved within {eta}. We have noted your number and will call \
             you back once it is.",
            15,
        ),
        playbook(
            PlaybookKind::Manual,
            "您好，因{component}原因，相关业务暂时受到影响，我们正在全力处理，预计{eta}内恢复。\
             我们已记录您的电话，处理完毕后将给您回电。",
            "Because of a problem with {component}, some services are affected for now. We are working \
             on it and expect it to be resolved within {eta}. We have noted your number and will call you \
             back once it is.",
            30,
        ),
    ]
}

/// The `[incidents]` section as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawIncidentsConfig {
    pub mask_callers: Option<bool>,
    /// Replace the default playbooks instead of adding to them.
    pub replace_defaults: bool,
    pub playbooks: Vec<RawPlaybook>,
    /// Component id → display names per language.
    pub components: BTreeMap<String, Names>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawPlaybook {
    pub kind: String,
    pub queue: Option<String>,
    pub component: Option<String>,
    pub script_zh: Option<String>,
    pub script_en: Option<String>,
    pub approval: bool,
    pub expected_recovery_mins: Option<u32>,
    pub notify: Vec<String>,
}

impl RawIncidentsConfig {
    pub fn validate(self) -> Result<IncidentsConfig, Problems> {
        let mut errs: Problems = Vec::new();
        let defaults = default_playbooks();
        let mut playbooks = Vec::new();
        for (i, p) in self.playbooks.into_iter().enumerate() {
            let key = |f: &str| format!("incidents.playbooks[{i}].{f}");
            let valid = || vocab::one_of(PlaybookKind::names());
            let kind = match PlaybookKind::parse(&p.kind) {
                Some(k) if k.may_open() => k,
                Some(k) => {
                    let why = format!("{k} is one agent's alert and opens no incident: must be {}", valid());
                    errs.push((key("kind"), why));
                    continue;
                }
                None => {
                    errs.push((key("kind"), format!("unknown kind {:?}: must be {}", p.kind, valid())));
                    continue;
                }
            };
            // A playbook that only sets, say, approval keeps the standard wording.
            let base = defaults.iter().find(|d| d.kind == kind);
            let mut script = |own: Option<String>, f: &str, fallback: Option<&String>| -> Option<String> {
                match own.or_else(|| fallback.cloned()) {
                    Some(s) if !s.trim().is_empty() => Some(s),
                    _ => None,
                }
                .or_else(|| {
                    errs.push((key(f), "needs a script (no default exists for this kind)".into()));
                    None
                })
            };
            let zh = script(p.script_zh, "script_zh", base.map(|b| &b.script_zh));
            let en = script(p.script_en, "script_en", base.map(|b| &b.script_en));
            let eta = p.expected_recovery_mins.or(base.map(|b| b.expected_recovery_mins)).unwrap_or(30);
            if !(1..=10_080).contains(&eta) {
                errs.push((key("expected_recovery_mins"), "must be between 1 and 10080 (a week)".into()));
            }
            if let (Some(script_zh), Some(script_en)) = (zh, en) {
                playbooks.push(Playbook {
                    kind,
                    queue: p.queue.filter(|q| !q.is_empty()),
                    component: p.component.filter(|c| !c.is_empty()),
                    script_zh,
                    script_en,
                    approval: p.approval,
                    expected_recovery_mins: eta,
                    notify: p.notify,
                });
            }
        }
        if !self.replace_defaults {
            // Defaults go last: for the same specificity, a site's own wins.
            playbooks.extend(defaults);
        } else if !playbooks.iter().any(|p| p.kind == PlaybookKind::Manual) {
            // Manual incidents always need a script to start from.
            playbooks.extend(default_playbooks().into_iter().filter(|d| d.kind == PlaybookKind::Manual));
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        Ok(IncidentsConfig {
            playbooks,
            mask_callers: self.mask_callers.unwrap_or(true),
            components: self.components,
            queue_names: BTreeMap::new(),
        })
    }
}

/// 13800000001 → 138****0001: enough to recognise a number, not to dial it.
pub fn mask(number: &str) -> String {
    let digits: Vec<char> = number.chars().collect();
    let n = digits.len();
    if n <= 4 {
        return "*".repeat(n);
    }
    // Keep a country code's "+86" out of the visible head for mobile numbers.
    let skip = if number.starts_with("+86") && n > 11 { 3 } else { 0 };
    let body = &digits[skip..];
    let m = body.len();
    // Mobile numbers as in 138****0001; shorter ones keep at most half in view.
    let (head, tail) = if m >= 11 { (3, 4) } else { ((m - (m / 2).min(4)) / 3, (m / 2).min(4)) };
    let stars = m - head - tail;
    let mut out: String = digits[..skip].iter().collect();
    out.extend(&body[..head]);
    out.push_str(&"*".repeat(stars));
    out.extend(&body[m - tail..]);
    out
}
