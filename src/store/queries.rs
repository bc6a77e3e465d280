//! The SQL behind each store command, run on the writer thread's connection.
//!
//! Guarantees: every statement is parameterised (no caller text is ever spliced
//! into SQL); every write runs in one IMMEDIATE transaction and returns only after
//! its COMMIT, so an `Ok` means the change is on disk.

use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params, params_from_iter};

use super::{AlertFilter, AlertRecord};
use crate::vocab::{AlertState, Kind, Severity};

/// The `alerts` columns in [`AlertRecord`] field order; [`alert_from_row`] and
/// the upsert depend on this order.
macro_rules! alert_columns {
    () => {
        "id, kind, severity, state, agent, team, queue, source, component, started_at, updated_at, \
         resolved_at, acked_by, acked_at, ack_note, message, value, threshold, notified_at, escalated, \
         message_zh, message_en, fired_severity"
    };
}

/// `list_alerts` answers at most this many rows when the filter says 0.
pub(super) const DEFAULT_LIMIT: usize = 500;

/// Column `idx` read as one of the vocabulary's spellings. Another spelling is an
/// error naming the column and the value, not a guess: only this daemon writes
/// these columns, so a stranger there means a damaged or foreign file.
fn spelled<T>(r: &Row<'_>, idx: usize, parse: fn(&str) -> Option<T>) -> rusqlite::Result<T> {
    let text: String = r.get(idx)?;
    parse(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            idx,
            rusqlite::types::Type::Text,
            format!("unknown {} {text:?}", r.as_ref().column_name(idx).unwrap_or("value")).into(),
        )
    })
}

fn alert_from_row(r: &Row<'_>) -> rusqlite::Result<AlertRecord> {
    Ok(AlertRecord {
        id: r.get(0)?,
        kind: spelled(r, 1, Kind::parse)?,
        severity: spelled(r, 2, Severity::parse)?,
        state: spelled(r, 3, AlertState::parse)?,
        agent: r.get(4)?,
        team: r.get(5)?,
        queue: r.get(6)?,
        source: r.get(7)?,
        component: r.get(8)?,
        started_at: r.get(9)?,
        updated_at: r.get(10)?,
        resolved_at: r.get(11)?,
        acked_by: r.get(12)?,
        acked_at: r.get(13)?,
        ack_note: r.get(14)?,
        message: r.get(15)?,
        value: r.get(16)?,
        threshold: r.get(17)?,
        notified_at: r.get(18)?,
        escalated: r.get(19)?,
        message_zh: r.get(20)?,
        message_en: r.get(21)?,
        fired_severity: spelled(r, 22, Severity::parse)?,
    })
}

fn now_ms() -> i64 {
    // A clock before 1970 is a broken host, not a reason to fail a write.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Saves every record in one transaction: a burst of alerts (a whole floor
/// crossing a threshold at once) costs one fsync, not one per alert.
pub(super) fn save_alerts(conn: &mut Connection, alerts: &[AlertRecord]) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for a in alerts {
        upsert_alert(&tx, a)?;
    }
    tx.commit()
}

fn upsert_alert(tx: &rusqlite::Transaction<'_>, a: &AlertRecord) -> rusqlite::Result<()> {
    // An upsert, not INSERT OR REPLACE: REPLACE deletes the old row first, which
    // the audit table's foreign key would refuse once the alert was acknowledged.
    tx.prepare_cached(concat!(
        "INSERT INTO alerts (",
        alert_columns!(),
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)
         ON CONFLICT (id) DO UPDATE SET
            kind = excluded.kind, severity = excluded.severity, state = excluded.state,
            agent = excluded.agent, team = excluded.team, queue = excluded.queue,
            source = excluded.source, component = excluded.component,
            started_at = excluded.started_at, updated_at = excluded.updated_at,
            resolved_at = excluded.resolved_at, acked_by = excluded.acked_by,
            acked_at = excluded.acked_at, ack_note = excluded.ack_note, message = excluded.message,
            value = excluded.value, threshold = excluded.threshold,
            notified_at = excluded.notified_at, escalated = excluded.escalated,
            message_zh = excluded.message_zh, message_en = excluded.message_en,
            fired_severity = excluded.fired_severity"
    ))?
    .execute(params![
        a.id,
        a.kind.as_str(),
        a.severity.as_str(),
        a.state.as_str(),
        a.agent,
        a.team,
        a.queue,
        a.source,
        a.component,
        a.started_at,
        a.updated_at,
        a.resolved_at,
        a.acked_by,
        a.acked_at,
        a.ack_note,
        a.message,
        a.value,
        a.threshold,
        a.notified_at,
        a.escalated,
        a.message_zh,
        a.message_en,
        a.fired_severity.as_str(),
    ])?;
    Ok(())
}

pub(super) fn ack_alert(
    conn: &mut Connection,
    id: &str,
    by: &str,
    note: Option<&str>,
    at_ms: i64,
) -> rusqlite::Result<Option<AlertRecord>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // A resolved alert stays resolved: turning it back into 'acknowledged' would
    // resurrect it in open_alerts() at the next start-up. The ack itself is still
    // recorded on the row and in the audit trail.
    let changed = tx
        .prepare_cached(
            "UPDATE alerts SET
                state = CASE state WHEN 'resolved' THEN 'resolved' ELSE 'acknowledged' END,
                acked_by = ?2, acked_at = ?3, ack_note = ?4, updated_at = MAX(updated_at, ?3)
             WHERE id = ?1",
        )?
        .execute(params![id, by, at_ms, note])?;
    if changed == 0 {
        // Nothing to record: dropping the transaction rolls it back.
        return Ok(None);
    }
    tx.prepare_cached(
        "INSERT INTO audit (ts, actor, action, alert_id, note) VALUES (?1, ?2, 'ack', ?3, ?4)",
    )?
    .execute(params![at_ms, by, id, note])?;
    let record = get_alert(&tx, id)?;
    tx.commit()?;
    Ok(record)
}

pub(super) fn get_alert(conn: &Connection, id: &str) -> rusqlite::Result<Option<AlertRecord>> {
    conn.prepare_cached(concat!("SELECT ", alert_columns!(), " FROM alerts WHERE id = ?1"))?
        .query_row([id], alert_from_row)
        .optional()
}

pub(super) fn open_alerts(conn: &Connection) -> rusqlite::Result<Vec<AlertRecord>> {
    let mut stmt = conn.prepare_cached(concat!(
        "SELECT ",
        alert_columns!(),
        " FROM alerts WHERE state IN ('firing', 'acknowledged') ORDER BY started_at ASC, id ASC"
    ))?;
    stmt.query_map([], alert_from_row)?.collect()
}

pub(super) fn list_alerts(conn: &Connection, f: &AlertFilter) -> rusqlite::Result<Vec<AlertRecord>> {
    // The WHERE clause is built from fixed fragments only; the caller's values go
    // in as numbered parameters.
    let mut clauses: Vec<&'static str> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let mut add = |clause: &'static str, v: Value| {
        clauses.push(clause);
        values.push(v);
    };
    if let Some(s) = f.state {
        add("state = ?", Value::Text(s.as_str().to_owned()));
    }
    if let Some(k) = f.kind {
        add("kind = ?", Value::Text(k.as_str().to_owned()));
    }
    if let Some(t) = &f.team {
        add("team = ?", Value::Text(t.clone()));
    }
    if let Some(q) = &f.queue {
        add("queue = ?", Value::Text(q.clone()));
    }
    if let Some(since) = f.since_ms {
        add("started_at >= ?", Value::Integer(since));
    }
    let limit = if f.limit == 0 { DEFAULT_LIMIT } else { f.limit };
    values.push(Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
    let filter = if clauses.is_empty() { String::new() } else { format!(" WHERE {}", clauses.join(" AND ")) };
    let sql =
        format!("SELECT {} FROM alerts{filter} ORDER BY started_at DESC, id DESC LIMIT ?", alert_columns!());
    // At most 2^5 distinct shapes: the statement cache (64) holds them all.
    let mut stmt = conn.prepare_cached(&sql)?;
    stmt.query_map(params_from_iter(values), alert_from_row)?.collect()
}

/// A tiny write transaction: proves the file is writable and the disk not full.
pub(super) fn ping(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.prepare_cached(
        "INSERT INTO health (id, checked_at, pings) VALUES (1, ?1, 1)
         ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at, pings = pings + 1",
    )?
    .execute([now_ms()])?;
    tx.commit()
}

/// Upserts every pair in one transaction.
pub(super) fn put_kvs(conn: &mut Connection, pairs: &[(String, String)]) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO kv (key, value, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )?;
        let now = now_ms();
        for (key, value) in pairs {
            stmt.execute(params![key, value, now])?;
        }
    }
    tx.commit()
}

/// Every pair whose key starts with `prefix`, by key.
pub(super) fn kv_with_prefix(conn: &Connection, prefix: &str) -> rusqlite::Result<Vec<(String, String)>> {
    // Range scan instead of LIKE: no escaping of `%`/`_` in the prefix needed.
    let end = format!("{prefix}\u{10FFFF}");
    let mut stmt =
        conn.prepare_cached("SELECT key, value FROM kv WHERE key >= ?1 AND key < ?2 ORDER BY key")?;
    let rows = stmt.query_map([prefix, end.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

pub(super) fn get_kv(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT value FROM kv WHERE key = ?1")?.query_row([key], |r| r.get(0)).optional()
}
