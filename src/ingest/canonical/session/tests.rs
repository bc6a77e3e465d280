use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::mpsc;
use tokio_util::sync::PollSender;

use super::*;
use crate::engine::EngineInput;
use crate::ingest::IngestMetrics;

/// A socket made of a channel pair: what the test sends is read by the session,
/// what the session sends the test receives.
struct Pipe {
    incoming: mpsc::Receiver<Result<Message, axum::Error>>,
    outgoing: PollSender<Message>,
}

impl Stream for Pipe {
    type Item = Result<Message, axum::Error>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.incoming.poll_recv(cx)
    }
}

impl Sink<Message> for Pipe {
    type Error = ();
    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        self.outgoing.poll_reserve(cx).map_err(|_| ())
    }
    fn start_send(mut self: Pin<&mut Self>, item: Message) -> Result<(), ()> {
        self.outgoing.send_item(item).map_err(|_| ())
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
        self.outgoing.close();
        Poll::Ready(Ok(()))
    }
}

struct Bridge {
    to_session: mpsc::Sender<Result<Message, axum::Error>>,
    from_session: mpsc::Receiver<Message>,
    engine: mpsc::Receiver<EngineInput>,
    metrics: IngestMetrics,
    cancel: CancellationToken,
    session: tokio::task::JoinHandle<()>,
}

fn start(source: &str) -> Bridge {
    let (to_session, incoming) = mpsc::channel(8);
    let (outgoing, from_session) = mpsc::channel(8);
    let (engine_tx, engine) = mpsc::channel(8);
    let metrics = IngestMetrics::new();
    let cancel = CancellationToken::new();
    let s = Session {
        intake: Intake::new(engine_tx, metrics.clone()),
        source: source.into(),
        named: true,
        cancel: cancel.clone(),
        max_frame_bytes: 1024,
        max_field_bytes: 256,
        events_per_sec: 50_000,
    };
    let pipe = Pipe { incoming, outgoing: PollSender::new(outgoing) };
    let session = tokio::spawn(run(pipe, s));
    Bridge { to_session, from_session, engine, metrics, cancel, session }
}

impl Bridge {
    async fn send(&self, m: Message) {
        self.to_session.send(Ok(m)).await.expect("session reads");
    }

    async fn error_frame(&mut self) -> serde_json::Value {
        match self.from_session.recv().await {
            Some(Message::Text(t)) => serde_json::from_str(t.as_str()).expect("error frame is JSON"),
            other => panic!("expected an error frame, got {other:?}"),
        }
    }

    async fn engine(&mut self) -> EngineInput {
        self.engine.recv().await.expect("engine input")
    }
}

/// A frame's good events reach the engine and each bad one is answered with an
/// error frame naming its reason and index; a binary frame is refused whole; the
/// end of the stream closes the connection.
#[tokio::test]
async fn frames_are_decoded_handed_over_and_answered() {
    let mut b = start("acd-1");
    assert!(matches!(b.engine().await, EngineInput::Connection { delta: 1, named: true, .. }));

    b.send(Message::Text(
        r#"[{"type":"heartbeat","ts":"2026-11-23T08:00:00Z","seq":1},
            {"type":"teleport","ts":"2026-11-23T08:00:00Z","seq":2},
            {"type":"heartbeat","ts":"2026-11-23T08:00:01Z","seq":1}]"#
            .into(),
    ))
    .await;
    let EngineInput::Batch(batch) = b.engine().await else { panic!("a batch") };
    assert_eq!(batch.len(), 1, "the duplicate of seq 1 is dropped");
    assert_eq!(batch[0].source, "acd-1");
    let err = b.error_frame().await;
    assert_eq!((err["type"].as_str(), err["reason"].as_str()), (Some("error"), Some("unknown_type")));
    assert_eq!((err["index"].as_u64(), err["seq"].as_u64()), (Some(1), Some(2)));

    b.send(Message::Binary(vec![1, 2, 3].into())).await;
    assert_eq!(b.error_frame().await["reason"], "binary_frame");

    drop(b.to_session);
    assert!(matches!(b.engine.recv().await, Some(EngineInput::Connection { delta: -1, .. })));
    b.session.await.expect("session ends");
    let m = &b.metrics;
    assert_eq!(m.frames.get(), 2);
    for (reason, n) in
        [(RejectReason::UnknownType, 1), (RejectReason::Duplicate, 1), (RejectReason::BinaryFrame, 1)]
    {
        assert_eq!(m.rejected[reason.index()].get(), n, "{reason}");
    }
    assert_eq!(m.connections.get(), 0);
}

/// At shutdown the session says so with a 1001 close, and the engine hears the
/// connection close.
#[tokio::test]
async fn shutdown_closes_with_going_away() {
    let mut b = start("acd-1");
    assert!(matches!(b.engine().await, EngineInput::Connection { delta: 1, .. }));
    b.cancel.cancel();
    match b.from_session.recv().await {
        Some(Message::Close(Some(f))) => assert_eq!(f.code, CLOSE_GOING_AWAY),
        other => panic!("expected a close frame, got {other:?}"),
    }
    assert!(matches!(b.engine().await, EngineInput::Connection { delta: -1, .. }));
    b.session.await.expect("session ends");
}
