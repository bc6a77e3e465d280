//! Alert messages, in the configured language. Numbers are formatted the way the
//! floor says them: durations as m:ss, ratios as percentages. Queues and
//! components are said by their display names in the message's language (the
//! callers pass them from `AlertsConfig::names`; an unnamed one by its id).

use crate::event::Id;
use crate::floor::AgentChange;
use crate::vocab::Language;

use super::Kind;

fn dur(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

fn pct(r: f64) -> String {
    format!("{:.1}%", r * 100.0)
}

fn reason_zh(r: &str) -> &str {
    match r {
        "break" => "小休",
        "lunch" => "用餐",
        "training" => "培训",
        "meeting" => "会议",
        "system" => "系统",
        other => other,
    }
}

/// An alert kind's name in one language: what the wall's banners, the console and
/// the pushes call it. The one place a kind is named for people (the pages get
/// these through the wall config, so adding a kind touches `vocab::Kind` and
/// this file).
pub fn kind_name(kind: Kind, lang: Language) -> &'static str {
    match (lang, kind) {
        (Language::ZhCn, Kind::AcwOverrun) => "话后处理超时",
        (Language::ZhCn, Kind::BusyOverrun) => "示忙超时",
        (Language::ZhCn, Kind::TrafficSurge) => "话务异动",
        (Language::ZhCn, Kind::AnswerRateLow) => "接通率低",
        (Language::ZhCn, Kind::ServiceLevelLow) => "服务水平低",
        (Language::ZhCn, Kind::LongestWaitHigh) => "排队过长",
        (Language::ZhCn, Kind::SourceDown) => "数据源中断",
        (Language::ZhCn, Kind::SystemFault) => "系统故障",
        (Language::ZhCn, Kind::PatrolOverdue) => "巡视超时",
        (Language::En, Kind::AcwOverrun) => "ACW overrun",
        (Language::En, Kind::BusyOverrun) => "Not-ready overrun",
        (Language::En, Kind::TrafficSurge) => "Traffic surge",
        (Language::En, Kind::AnswerRateLow) => "Low answer rate",
        (Language::En, Kind::ServiceLevelLow) => "Low service level",
        (Language::En, Kind::LongestWaitHigh) => "Long waits",
        (Language::En, Kind::SourceDown) => "Source down",
        (Language::En, Kind::SystemFault) => "System fault",
        (Language::En, Kind::PatrolOverdue) => "Patrol overdue",
    }
}

/// `patrol_overdue`: the team and how long since its last patrol (or since it
/// came on the floor, when it has none).
pub fn patrol_overdue(lang: Language, team: &str, since_ms: i64, patrolled: bool) -> String {
    match (lang, patrolled) {
        (Language::ZhCn, true) => format!("班组 {team} 已 {} 未巡视", dur(since_ms)),
        (Language::ZhCn, false) => format!("班组 {team} 上岗 {} 仍未巡视", dur(since_ms)),
        (Language::En, true) => format!("team {team} not patrolled for {}", dur(since_ms)),
        (Language::En, false) => format!("team {team} on the floor {} without a patrol", dur(since_ms)),
    }
}

/// A kind's title in both languages ("话后处理超时 ACW overrun"), for incident titles.
pub fn kind_title(kind: Kind) -> String {
    format!("{} {}", kind_name(kind, Language::ZhCn), kind_name(kind, Language::En))
}

pub(super) fn overrun(lang: Language, kind: Kind, c: &AgentChange, elapsed_ms: i64, limit_ms: i64) -> String {
    let who = c.agent.as_str();
    let reason = c.reason.as_deref().unwrap_or("");
    match (lang, kind) {
        (Language::ZhCn, Kind::AcwOverrun) => {
            format!("坐席 {who} 话后处理(工作态)已 {}，超过 {} 上限", dur(elapsed_ms), dur(limit_ms))
        }
        (Language::ZhCn, _) => format!(
            "坐席 {who} 示忙({})已 {}，超过 {} 上限",
            reason_zh(reason),
            dur(elapsed_ms),
            dur(limit_ms)
        ),
        (Language::En, Kind::AcwOverrun) => {
            format!("Agent {who} in after-call work for {} (limit {})", dur(elapsed_ms), dur(limit_ms))
        }
        (Language::En, _) => {
            format!("Agent {who} not ready ({reason}) for {} (limit {})", dur(elapsed_ms), dur(limit_ms))
        }
    }
}

pub(super) fn fault(lang: Language, component: &str, detail: Option<&str>) -> String {
    let detail = detail.map(|d| format!(": {d}")).unwrap_or_default();
    match lang {
        Language::ZhCn => format!("系统故障：{component} 中断{detail}"),
        Language::En => format!("System fault: {component} down{detail}"),
    }
}

pub(super) fn mass_logout(lang: Language, n: u32, before: u32) -> String {
    match lang {
        Language::ZhCn => format!("疑似系统故障：1 分钟内 {n} 名坐席签出（原在线 {before} 名）"),
        Language::En => format!("Possible system fault: {n} of {before} agents logged out within a minute"),
    }
}

pub(super) fn answer_rate(lang: Language, queue: &str, rate: f64, min: f64, calls: u32) -> String {
    match lang {
        Language::ZhCn => format!("队列 {queue} 接通率 {}，低于 {}（{calls} 通）", pct(rate), pct(min)),
        Language::En => format!("Queue {queue} answer rate {} below {} ({calls} calls)", pct(rate), pct(min)),
    }
}

pub(super) fn service_level(lang: Language, queue: &str, sl: f64, target: f64, t_secs: u32) -> String {
    match lang {
        Language::ZhCn => {
            format!("队列 {queue} 服务水平 {}（{t_secs} 秒），低于目标 {}", pct(sl), pct(target))
        }
        Language::En => {
            format!("Queue {queue} service level {} ({t_secs} s) below target {}", pct(sl), pct(target))
        }
    }
}

pub(super) fn longest_wait(lang: Language, queue: &str, wait_ms: i64, max_ms: i64) -> String {
    match lang {
        Language::ZhCn => format!("队列 {queue} 最长排队 {}，超过 {}", dur(wait_ms), dur(max_ms)),
        Language::En => format!("Queue {queue} longest wait {} over {}", dur(wait_ms), dur(max_ms)),
    }
}

pub(super) fn stuck(lang: Language, queue: &str, offered: u32, ready: u32, secs: u32) -> String {
    match lang {
        Language::ZhCn => format!(
            "疑似派线故障：队列 {queue} 近 {} 分钟进线 {offered} 通无一接起，{ready} 名坐席空闲",
            secs / 60
        ),
        Language::En => format!(
            "Possible dispatcher fault: queue {queue} offered {offered} calls in {} min, none answered, {ready} agents ready",
            secs / 60
        ),
    }
}

pub(super) fn event_loss(lang: Language, source: &Id, gaps: usize, missing: u64) -> String {
    match lang {
        Language::ZhCn => {
            format!("数据源 {source} 1 分钟内序号跳变 {gaps} 次，丢失约 {missing} 条事件（CTI 链路异常）")
        }
        Language::En => format!(
            "Source {source}: {gaps} sequence gaps, about {missing} events lost in a minute (CTI link)"
        ),
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn surge(
    lang: Language,
    queue: &str,
    observed: u32,
    expected: f64,
    span_secs: f64,
    needed: Option<u32>,
    serving: u32,
    ready: u32,
) -> String {
    let mins = (span_secs / 60.0).max(1.0).round();
    let pct = if expected > 0.0 { (f64::from(observed) / expected - 1.0) * 100.0 } else { 0.0 };
    let have = serving + ready;
    match (lang, needed) {
        (Language::ZhCn, Some(n)) if n > have => format!(
            "话务异动：队列 {queue} 近 {mins} 分钟进线 {observed} 通，预期 {expected:.0} 通（+{pct:.0}%）；按服务水平目标需 {n} 名坐席，在处理本队列 {serving} 名、空闲 {ready} 名，需要增派 {} 名坐席",
            n - have
        ),
        (Language::ZhCn, _) => format!(
            "话务异动：队列 {queue} 近 {mins} 分钟进线 {observed} 通，预期 {expected:.0} 通（+{pct:.0}%）；在处理本队列 {serving} 名、空闲 {ready} 名，暂可承接"
        ),
        (Language::En, Some(n)) if n > have => format!(
            "Traffic surge: queue {queue} offered {observed} calls in {mins} min, expected {expected:.0} (+{pct:.0}%); the service-level target needs {n} agents, {serving} on its calls and {ready} ready: add {} agents",
            n - have
        ),
        (Language::En, _) => format!(
            "Traffic surge: queue {queue} offered {observed} calls in {mins} min, expected {expected:.0} (+{pct:.0}%); {serving} agents on its calls and {ready} ready can take it"
        ),
    }
}

pub(super) fn source_down(lang: Language, source: &Id, connected: bool, silent_ms: i64) -> String {
    match (lang, connected) {
        (Language::ZhCn, true) => {
            format!("数据源 {source} 已 {} 无任何消息（CTI 链路疑似中断）", dur(silent_ms))
        }
        (Language::ZhCn, false) => format!("数据源 {source} 连接断开已 {}，未恢复", dur(silent_ms)),
        (Language::En, true) => format!("Source {source} silent for {} (CTI link down?)", dur(silent_ms)),
        (Language::En, false) => format!("Source {source} disconnected for {}", dur(silent_ms)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surge_advice_counts_agents_on_the_queue_and_ready() {
        let q = "billing";
        let m = surge(Language::ZhCn, q, 35, 14.0, 120.0, Some(20), 9, 6);
        assert!(m.contains("需要增派 5 名坐席"), "{m}");
        let m = surge(Language::En, q, 35, 14.0, 120.0, Some(12), 9, 6);
        assert!(m.contains("can take it") && !m.contains("add"), "{m}");
    }

    #[test]
    fn durations_and_ratios_read_naturally() {
        assert_eq!(dur(125_400), "2:05");
        assert_eq!(dur(3_725_000), "1:02:05");
        assert_eq!(pct(0.8125), "81.2%");
    }
}
