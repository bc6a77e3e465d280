use std::collections::HashMap;

use super::*;
use crate::vocab::{Kind, Severity};

fn record(state: AlertState) -> AlertRecord {
    AlertRecord {
        id: "system_fault-1-ab".into(),
        kind: Kind::SystemFault,
        severity: Severity::Critical,
        state,
        agent: None,
        team: None,
        queue: None,
        source: None,
        component: Some("ivr".into()),
        started_at: 1_795_420_800_000,
        updated_at: 1_795_420_800_000,
        resolved_at: (state == AlertState::Resolved).then_some(1_795_420_860_000),
        acked_by: None,
        acked_at: None,
        ack_note: None,
        message: "IVR down".into(),
        message_zh: "IVR 故障".into(),
        message_en: "IVR down".into(),
        fired_severity: Severity::Warning,
        value: None,
        threshold: None,
        notified_at: None,
        escalated: false,
    }
}

#[test]
fn an_alert_change_is_named_from_what_was_published_before() {
    let (firing, acked, resolved) =
        (record(AlertState::Firing), record(AlertState::Acknowledged), record(AlertState::Resolved));
    assert_eq!(alert_change(None, &firing), "fired");
    assert_eq!(alert_change(Some(&firing), &firing), "updated");
    assert_eq!(alert_change(Some(&firing), &acked), "acknowledged");
    assert_eq!(alert_change(Some(&acked), &acked), "updated");
    assert_eq!(alert_change(Some(&acked), &resolved), "resolved");
    assert_eq!(alert_change(None, &resolved), "resolved");
}

#[test]
fn the_alert_json_carries_the_contract_fields() {
    let v = alert_json(&record(AlertState::Resolved));
    assert_eq!(v["kind"], "system_fault");
    assert_eq!(v["state"], "resolved");
    assert_eq!(v["severity"], "critical");
    assert_eq!(v["fired_severity"], "warning");
    assert_eq!(v["subject"], json!({"component": "ivr"}));
    assert_eq!(v["messages"]["zh-CN"], "IVR 故障");
    assert_eq!(v["started_at"], format_ts(1_795_420_800_000));
    assert_eq!(v["resolved_at"], format_ts(1_795_420_860_000));
}

fn view(id: &str, version: u32) -> IncidentView {
    IncidentView {
        id: id.into(),
        kind: "system_fault".into(),
        title: "fault".into(),
        queue: None,
        component: Some("ivr".into()),
        script_version: version,
        script_zh: format!("口径 {version}"),
        script_en: format!("script {version}"),
        published_at: 0,
    }
}

#[test]
fn incident_changes_are_opened_script_changed_and_closed() {
    let before: HashMap<String, IncidentView> =
        [view("INC-1", 1), view("INC-2", 1)].into_iter().map(|i| (i.id.clone(), i)).collect();
    let now = [view("INC-2", 2), view("INC-3", 1)];
    let changes: Vec<(&str, &str)> =
        incident_changes(&before, &now).into_iter().map(|(c, i)| (c, i.id.as_str())).collect();
    assert_eq!(changes, [("closed", "INC-1"), ("script_changed", "INC-2"), ("opened", "INC-3")]);
    let same: HashMap<String, IncidentView> = now.iter().map(|i| (i.id.clone(), i.clone())).collect();
    assert!(incident_changes(&same, &now).is_empty(), "nothing changed, nothing sent");
}

#[test]
fn backoff_grows_to_its_cap_with_jitter() {
    assert!(backoff(0) >= Duration::from_millis(200) && backoff(0) <= Duration::from_millis(300));
    assert!(backoff(20) >= Duration::from_secs(10) && backoff(20) <= Duration::from_secs(15));
}
