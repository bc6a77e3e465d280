//! The lifecycle: the escalation rule with explicit time, and the task against a
//! real store.

use std::time::Duration;

use super::*;
use crate::rules::Fire;

fn fire(kind: Kind, subject: &str, severity: Severity) -> Signal {
    Signal::Fire(Box::new(Fire {
        key: AlertKey { kind, subject: Subject::Component(subject.into()) },
        severity,
        started_at: 1_000,
        agent: None,
        team: None,
        queue: None,
        source: None,
        component: Some(subject.into()),
        text: crate::rules::Text { zh: format!("{subject} 中断"), en: format!("{subject} down") },
        value: None,
        threshold: None,
    }))
}

fn record(id: &str, severity: Severity, state: AlertState, notified_at: i64) -> AlertRecord {
    AlertRecord {
        id: id.into(),
        kind: Kind::SystemFault,
        severity,
        state,
        agent: None,
        team: None,
        queue: None,
        source: None,
        component: Some(id.into()),
        started_at: 0,
        updated_at: 0,
        resolved_at: None,
        acked_by: None,
        acked_at: None,
        ack_note: None,
        message: String::new(),
        message_zh: String::new(),
        message_en: String::new(),
        fired_severity: severity,
        value: None,
        threshold: None,
        notified_at: Some(notified_at),
        escalated: false,
    }
}

#[test]
fn unacknowledged_criticals_escalate_at_the_interval_and_again_after() {
    let mut open = FastMap::default();
    for (id, sev, state) in [
        ("crit", Severity::Critical, AlertState::Firing),
        ("warn", Severity::Warning, AlertState::Firing),
        ("acked", Severity::Critical, AlertState::Acknowledged),
    ] {
        let key = AlertKey { kind: Kind::SystemFault, subject: Subject::Component(id.into()) };
        open.insert(key, record(id, sev, state, 1_000));
    }
    assert!(escalate_due(&mut open, 1_000 + 299_999, 300_000).is_empty());
    let due = escalate_due(&mut open, 1_000 + 300_000, 300_000);
    assert_eq!(due.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), vec!["crit"]);
    assert!(due[0].escalated);
    // Re-notified every interval, counted from the last notice.
    assert!(escalate_due(&mut open, 1_000 + 599_999, 300_000).is_empty());
    assert_eq!(escalate_due(&mut open, 1_000 + 600_000, 300_000).len(), 1);
}

async fn next(rx: &mut broadcast::Receiver<Arc<AlertRecord>>) -> Arc<AlertRecord> {
    match tokio::time::timeout(Duration::from_secs(30), rx.recv()).await {
        Ok(Ok(a)) => a,
        other => panic!("no alert change: {other:?}"),
    }
}

#[tokio::test]
async fn one_alert_per_key_ack_and_resolve_through_the_store() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = StoreHandle::open(dir.path()).expect("store");
    let (tx, rx) = mpsc::channel(16);
    let clock = Clock::starting_at(1_000_000);
    let outlets = Outlets {
        language: Language::En,
        notifier: None,
        renotify: Duration::from_secs(300),
        downstream: None,
    };
    let a = spawn(store.clone(), rx, Arc::new(Metrics::new()), clock, outlets).await.expect("spawn");
    let mut updates = a.handle.subscribe();

    tx.send(vec![fire(Kind::SystemFault, "ivr", Severity::Warning)]).await.expect("send");
    let first = next(&mut updates).await;
    assert_eq!(first.state, AlertState::Firing);
    // The same condition again is the same alert: nothing new is announced…
    tx.send(vec![fire(Kind::SystemFault, "ivr", Severity::Warning)]).await.expect("send");
    // …unless it got worse.
    tx.send(vec![fire(Kind::SystemFault, "ivr", Severity::Critical)]).await.expect("send");
    let worse = next(&mut updates).await;
    assert_eq!((worse.id.as_str(), worse.severity), (first.id.as_str(), Severity::Critical));

    let acked = a.handle.ack(first.id.clone(), "值班长".into(), Some("called the vendor".into())).await;
    let acked = acked.expect("ack").expect("known");
    assert_eq!(acked.state, AlertState::Acknowledged);
    assert_eq!(next(&mut updates).await.state, AlertState::Acknowledged);
    assert!(a.handle.ack("nope".into(), "x".into(), None).await.expect("ack").is_none());

    tx.send(vec![Signal::Clear {
        key: AlertKey { kind: Kind::SystemFault, subject: Subject::Component("ivr".into()) },
        at: 2_000,
    }])
    .await
    .expect("send");
    let resolved = next(&mut updates).await;
    assert_eq!((resolved.id.as_str(), resolved.state), (first.id.as_str(), AlertState::Resolved));
    assert!(a.handle.open().await.expect("open").is_empty());
    assert!(matches!(a.handle.ack(first.id.clone(), "x".into(), None).await, Err(AlertsError::Resolved(_))));
    // Everything announced is in the store.
    let kept = store.get_alert(first.id.clone()).await.expect("get").expect("kept");
    assert_eq!(kept.state, AlertState::Resolved);
    assert_eq!(kept.acked_by.as_deref(), Some("值班长"));
    assert_eq!(kept.ack_note.as_deref(), Some("called the vendor"));
}
