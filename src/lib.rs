//! floorwatch: real-time call-center floor monitoring.
//!
//! # Layout
//! The modules follow an event's path, one way only:
//!
//! `ingest` (WebSocket in, decode, dedupe) → `engine` (the task that owns the
//! floor, around one synchronous `Step` of `floor`, the state model, and `rules`)
//! → readers: `metrics` (Prometheus), `http` (API, wallboard). `config`, `clock`, `signal` and `app` (wiring, shutdown) sit at the
//! edges; `sim` is the demo floor, a client of `/ingest` like any CTI bridge.
//! `event` (events) and `vocab` (alert kind, severity, state, subject) are the
//! vocabularies every layer imports; they import nothing but each other.
//! See ARCHITECTURE.md for the map and the invariants.

pub mod alerts;
pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod engine;
pub mod event;
pub mod floor;
pub mod http;
pub mod incidents;
pub mod ingest;
pub mod metrics;
pub mod notify;
pub mod replay;
pub mod rules;
pub mod signal;
pub mod sim;
pub mod store;
pub mod vocab;
pub mod wallboard;
