//! floorwatch: real-time call-center floor monitoring.
//!
//! # Crate map
//! The modules follow an event's path, one way only (a tidy test keeps the
//! import graph acyclic and the pure cores pure):
//!
//! - sources: [`ingest`]: one folder per way in (`canonical`, the contract's
//!   WebSocket protocol; `anonymous_bank`, a historical call log), all handing
//!   their events to the one [`ingest::Intake`];
//! - [`engine`]: the task that owns the floor, around one synchronous
//!   [`engine::Step`] that drives the pure cores [`floor`] (the state model) and
//!   [`rules`] (alert conditions); live ingest, benches and replay drive the same step;
//! - downstream of the engine: [`alerts`] (the lifecycle owner) → [`incidents`]
//!   (playbooks, scripts, call-backs, the fault register) → [`store`] (SQLite);
//!   [`notify`] pushes to people;
//! - beside it, reading snapshots: [`metrics`] (Prometheus), [`http`] (API, feeds)
//!   and [`wallboard`] (the pages);
//! - vocabularies every layer imports: [`event`] (events, ids, times) and [`vocab`]
//!   (alert kind, severity, state, subject; languages); [`access`] (people's and
//!   bridges' tokens and roles, pure);
//! - at the edges: [`config`] (loading and composing every owner's section),
//!   [`clock`] (injected time), [`signal`], [`app`] (wiring, supervision, shutdown),
//!   [`cli`] (one file per command) and [`sim`] (the demo floor, a client of
//!   `/ingest` like any CTI bridge).
//!
//! See ARCHITECTURE.md for the map, an event's path and the invariants.

pub mod access;
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
pub mod qa;
pub mod replay;
pub mod rules;
pub mod shift;
pub mod signal;
pub mod sim;
pub mod store;
pub mod vocab;
pub mod wallboard;
