//! The canonical protocol (contract §3): JSON events, one object or an array per
//! WebSocket text frame, on `WS /ingest`.
//!
//! - `wire`: the JSON shape (the only place that knows it), read leniently in one
//!   pass so one ill-typed event cannot spoil its batch; `fast` reads frames as
//!   bridges send them and declines anything else to the serde reader;
//! - `decode`: frame → events + rejections, never fails as a whole;
//! - `session`: the WebSocket session loop, generic over `Stream + Sink`, which
//!   hands each decoded frame to its [`Connection`](super::Connection).

pub mod decode;
pub mod encode;
mod fast;
pub mod session;
pub mod wire;

pub use decode::decode;
pub use encode::encode;

#[cfg(test)]
mod tests;
