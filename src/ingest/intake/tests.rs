use tokio::sync::mpsc;

use super::*;
use crate::event::EventKind;

fn ev(source: &str, seq: Option<u64>) -> Event {
    Event { ts: 0, source: source.into(), seq, kind: EventKind::Heartbeat }
}

fn intake(capacity: usize) -> (Intake, IngestMetrics, mpsc::Receiver<EngineInput>) {
    let (tx, rx) = mpsc::channel(capacity);
    let metrics = IngestMetrics::new();
    (Intake::new(tx, metrics.clone()), metrics, rx)
}

fn connection(input: Option<EngineInput>) -> Option<(String, i32, bool)> {
    match input {
        Some(EngineInput::Connection { source, delta, named }) => Some((source.to_string(), delta, named)),
        _ => None,
    }
}

/// Open, accept and close, as the engine and the counters see them.
#[tokio::test]
async fn a_connection_is_announced_deduplicated_counted_and_closed() {
    let (intake, m, mut rx) = intake(16);
    let conn = intake.open("acd-1".into(), true).await;
    assert_eq!(connection(rx.recv().await), Some(("acd-1".into(), 1, true)));
    assert_eq!((m.connections.get(), m.connections_total.get()), (1, 1));

    let bad = Rejection::new(RejectReason::UnknownType, "unknown event type".into()).at(1);
    let mut events = vec![ev("acd-1", Some(5)), ev("acd-1", Some(6))];
    conn.accept(&mut events, &[bad]).await.expect("engine runs");
    assert!(events.is_empty() && events.capacity() >= 2, "left empty, sized for the next frame");
    let Some(EngineInput::Batch(batch)) = rx.recv().await else { panic!("a batch") };
    assert_eq!(batch.len(), 2);

    // A replay and a jump: the replay is dropped, the gap reported before the batch.
    let mut events = vec![ev("acd-1", Some(6)), ev("acd-1", Some(10))];
    conn.accept(&mut events, &[]).await.expect("engine runs");
    let Some(EngineInput::SeqGaps { source, gaps, missing }) = rx.recv().await else { panic!("gaps") };
    assert_eq!((source.as_str(), gaps, missing), ("acd-1", 1, 3));
    let Some(EngineInput::Batch(batch)) = rx.recv().await else { panic!("a batch") };
    assert_eq!(batch.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![Some(10)]);
    assert_eq!(intake.marks().last(&"acd-1".into()), Some(10));

    // All duplicates: nothing to send.
    let mut events = vec![ev("acd-1", Some(9))];
    conn.accept(&mut events, &[]).await.expect("engine runs");
    assert!(rx.try_recv().is_err());

    assert_eq!(m.frames.get(), 3);
    assert_eq!(m.rejected[RejectReason::UnknownType.index()].get(), 1);
    assert_eq!(m.rejected[RejectReason::Duplicate.index()].get(), 2);
    assert_eq!((m.seq_gaps.get(), m.seq_missing.get()), (1, 3));

    conn.close().await;
    assert_eq!(connection(rx.recv().await), Some(("acd-1".into(), -1, true)));
    assert_eq!(m.connections.get(), 0);
    assert!(rx.try_recv().is_err(), "the close is announced once");
}

/// A connection dropped without `close` (a panic, a cancelled task) is closed
/// all the same, even when the engine channel is full at that moment.
#[tokio::test]
async fn a_dropped_connection_is_closed_even_behind_a_full_channel() {
    let (intake, m, mut rx) = intake(1);
    let a = intake.open(intake.unnamed_source(), false).await;
    assert_eq!(connection(rx.recv().await), Some(("conn-1".into(), 1, false)));
    drop(a);
    assert_eq!(connection(rx.recv().await), Some(("conn-1".into(), -1, false)));

    let b = intake.open(intake.unnamed_source(), false).await;
    // The channel (capacity 1) is full with b's open when b is dropped.
    drop(b);
    assert_eq!(m.connections.get(), 0);
    assert_eq!(connection(rx.recv().await), Some(("conn-2".into(), 1, false)));
    assert_eq!(connection(rx.recv().await), Some(("conn-2".into(), -1, false)));

    // A close cancelled while it waits for room is finished by the drop.
    let c = intake.open("acd-2".into(), true).await;
    let cancelled = tokio::time::timeout(std::time::Duration::from_millis(10), c.close()).await;
    assert!(cancelled.is_err(), "the close waited for room");
    assert_eq!(connection(rx.recv().await), Some(("acd-2".into(), 1, true)));
    assert_eq!(connection(rx.recv().await), Some(("acd-2".into(), -1, true)));
    assert_eq!(m.connections.get(), 0);
    assert!(rx.try_recv().is_err(), "each close is announced once");
}

#[tokio::test]
async fn an_engine_that_stopped_is_reported() {
    let (intake, _m, rx) = intake(4);
    let conn = intake.open("acd-1".into(), true).await;
    drop(rx);
    let mut events = vec![ev("acd-1", None)];
    assert_eq!(conn.accept(&mut events, &[]).await, Err(EngineStopped));
    conn.close().await;
}

#[test]
fn refusals_are_counted_by_reason_from_zero() {
    let (intake, m, _rx) = intake(1);
    intake.refuse(RefuseReason::TooMany);
    let registry = prometheus::Registry::new();
    m.register(&registry).expect("register");
    let text = prometheus::TextEncoder::new().encode_to_string(&registry.gather()).expect("encode");
    for line in [
        r#"floorwatch_ingest_connections_refused_total{reason="not_loopback"} 0"#,
        r#"floorwatch_ingest_connections_refused_total{reason="too_many"} 1"#,
        r#"floorwatch_ingest_connections_refused_total{reason="unauthorized"} 0"#,
        r#"floorwatch_events_rejected_total{reason="frame_too_large"} 0"#,
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
    }
}
