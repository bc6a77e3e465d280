//! The canonical protocol's JSON shape (contract §3). This is the only place that
//! knows it; `decode` turns it into [`crate::event::Event`].
//!
//! One flat struct with every field optional, rather than a tagged enum: serde's
//! internally tagged enums buffer each object before choosing a variant, which
//! costs more than the rest of decoding together. Presence and types per event
//! type are checked in `decode`, which can then name the missing field.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize)]
pub struct WireEvent<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub ts: Option<Cow<'a, str>>,
    pub seq: Option<u64>,
    #[serde(borrow)]
    pub source: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub agent: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub team: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub state: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub reason: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub queue: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub call: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub caller: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub component: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub status: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub detail: Option<Cow<'a, str>>,
}

/// Field names and the JSON type each must have, for naming the culprit when the
/// fast typed parse fails.
pub const FIELD_TYPES: &[(&str, FieldType)] = &[
    ("type", FieldType::String),
    ("ts", FieldType::String),
    ("seq", FieldType::UnsignedInteger),
    ("source", FieldType::String),
    ("agent", FieldType::String),
    ("name", FieldType::String),
    ("team", FieldType::String),
    ("state", FieldType::String),
    ("reason", FieldType::String),
    ("queue", FieldType::String),
    ("call", FieldType::String),
    ("caller", FieldType::String),
    ("component", FieldType::String),
    ("status", FieldType::String),
    ("detail", FieldType::String),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    String,
    UnsignedInteger,
}

impl FieldType {
    pub fn describe(self) -> &'static str {
        match self {
            FieldType::String => "a string",
            FieldType::UnsignedInteger => "a non-negative integer",
        }
    }

    pub fn accepts(self, v: &serde_json::Value) -> bool {
        match self {
            FieldType::String => v.is_string() || v.is_null(),
            FieldType::UnsignedInteger => v.is_u64() || v.is_null(),
        }
    }
}

/// The frame sent back for each rejected event.
#[derive(Debug, Serialize)]
pub struct ErrorFrame<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub reason: &'static str,
    /// Position in the batch; absent when the whole frame was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    pub message: &'a str,
}
