// Helpers are `pub` so sibling test modules can share them; there is no outside API here.
#![allow(unreachable_pub)]

//! The one integration-test binary: the real daemon on an ephemeral port, driven
//! over WebSocket and HTTP as a CTI bridge, a browser or Prometheus would.

mod acd;
mod alerts;
mod bounds;
mod checkpoint;
mod cli;
mod console;
mod demo;
mod eventtime;
mod harness;
mod incidents;
mod ingest;
mod metrics;
mod nats;
mod notify;
mod ops;
mod prometheus;
mod qa;
mod qa_console;
mod replay;
mod restart;
mod roles;
mod shift;
mod shutdown;
mod tidy;
mod vendors;
mod wall_layout;
mod wallboard;
