//! Incidents, their scripts and timelines, the call-back log, the fault register
//! and the audit trail of every write: the statements, run on the writer thread.
//!
//! The incidents task owns open incidents and composes each change as one
//! [`Batch`], committed in one transaction (a half-opened incident cannot exist).
//! Call-back and fault-register edits from people are targeted UPDATEs, so an
//! edit and the daemon's own bookkeeping on the same row never overwrite each
//! other. Every write that a person made carries its [`Audit`] row into the same
//! transaction.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};

use super::{StoreError, StoreHandle};

/// One incident's row. Times are UTC milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentRecord {
    pub id: String,
    /// The alert kind whose playbook it runs (`traffic_surge`, `system_fault`,
    /// `source_down`, …) or `manual`.
    pub kind: String,
    /// `open` or `closed`.
    pub state: String,
    pub title: String,
    pub queue: Option<String>,
    pub component: Option<String>,
    pub opened_at: i64,
    pub opened_by: String,
    pub closed_at: Option<i64>,
    pub closed_by: Option<String>,
    pub summary: Option<String>,
    pub expected_recovery_mins: Option<u32>,
    /// The script version agents and the wallboard see; 0 while none is published.
    pub published_version: u32,
}

/// One version of an incident's unified reply script (统一应答口径).
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptVersion {
    pub version: u32,
    pub text_zh: String,
    pub text_en: String,
    pub author: String,
    pub created_at: i64,
    pub published_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    pub ts: i64,
    /// opened, script_published, script_edited, alert_linked, alert_resolved,
    /// callers_logged, notified, closed, …
    pub what: String,
    pub actor: String,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LinkedAlert {
    pub alert_id: String,
    /// `trigger` or `related`.
    pub role: String,
    pub linked_at: i64,
    pub resolved_at: Option<i64>,
}

/// An incident with everything recorded about it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentDetail {
    pub incident: IncidentRecord,
    /// Oldest first.
    pub scripts: Vec<ScriptVersion>,
    pub timeline: Vec<TimelineEntry>,
    pub alerts: Vec<LinkedAlert>,
}

impl IncidentDetail {
    /// The published script, if any.
    pub fn current_script(&self) -> Option<&ScriptVersion> {
        let v = self.incident.published_version;
        self.scripts.iter().find(|s| s.version == v && v > 0)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CallbackRecord {
    pub id: i64,
    pub caller: String,
    pub incident_id: Option<String>,
    pub queue: Option<String>,
    pub call_id: Option<String>,
    /// `abandoned` (logged by the daemon) or `manual` (entered by a person).
    pub origin: String,
    /// pending → assigned → done | failed.
    pub status: String,
    pub agent: Option<String>,
    pub note: Option<String>,
    pub attempts: u32,
    pub occurrences: u32,
    pub created_at: i64,
    pub updated_at: i64,
    pub assigned_at: Option<i64>,
    pub finished_at: Option<i64>,
}

/// A caller to log for a call-back. Within one incident the same number is
/// merged into the existing entry (its `occurrences` goes up).
#[derive(Debug, Clone, PartialEq)]
pub struct NewCallback {
    pub caller: String,
    pub incident_id: Option<String>,
    pub queue: Option<String>,
    pub call_id: Option<String>,
    pub origin: String,
    pub agent: Option<String>,
    pub note: Option<String>,
    pub at: i64,
}

/// A person's change to a call-back entry; `None` fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallbackPatch {
    pub status: Option<String>,
    pub agent: Option<String>,
    pub note: Option<String>,
    /// One more call-back attempt was made.
    pub attempted: bool,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FaultRecord {
    pub id: String,
    pub component: String,
    pub origin: String,
    pub alert_id: Option<String>,
    pub incident_id: Option<String>,
    pub detail: String,
    pub detected_at: i64,
    pub reported_at: Option<i64>,
    pub reported_to: Option<String>,
    pub recovered_at: Option<i64>,
    pub offered_before: u64,
    pub abandoned_before: u64,
    /// Calls offered to the floor while it lasted (known at recovery).
    pub offered_during: Option<u64>,
    pub abandoned_during: Option<u64>,
    pub cause: Option<String>,
    pub resolution: Option<String>,
    pub updated_at: i64,
}

impl FaultRecord {
    /// Seconds from detection to recovery.
    pub fn duration_secs(&self) -> Option<i64> {
        self.recovered_at.map(|r| (r - self.detected_at).max(0) / 1000)
    }
}

/// A supervisor's notes on a fault entry; `None` fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultPatch {
    pub cause: Option<String>,
    pub resolution: Option<String>,
    pub reported_to: Option<String>,
    pub reported_at: Option<i64>,
    pub at: i64,
}

/// One row of the audit trail: who did what to which entry, when.
#[derive(Debug, Clone, PartialEq)]
pub struct Audit {
    pub at: i64,
    pub actor: String,
    /// e.g. `incident.open`, `incident.script`, `callback.add`, `fault.note`.
    pub action: String,
    pub target: Option<String>,
    /// The request's body as JSON, so the trail shows what was entered.
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditRow {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
}

/// What the incidents task changes at once; committed in one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// Inserted or replaced whole (only the incidents task writes these rows).
    pub incidents: Vec<IncidentRecord>,
    /// Inserted or replaced (a publish sets `published_at` on an existing version).
    pub scripts: Vec<(String, ScriptVersion)>,
    pub timeline: Vec<(String, TimelineEntry)>,
    pub links: Vec<(String, LinkedAlert)>,
    /// New fault entries.
    pub new_faults: Vec<FaultRecord>,
    /// (fault id, recovered at, offered during, abandoned during).
    pub recovered_faults: Vec<(String, i64, u64, u64)>,
    pub audit: Vec<Audit>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        *self == Batch::default()
    }
}

#[derive(Debug, Clone, Default)]
pub struct CallbackFilter {
    pub status: Option<String>,
    pub incident_id: Option<String>,
    pub since_ms: Option<i64>,
    /// 0 means 1000.
    pub limit: usize,
}

#[derive(Debug, Clone, Default)]
pub struct FaultFilter {
    /// Only faults not yet recovered.
    pub open_only: bool,
    pub since_ms: Option<i64>,
    /// 0 means 1000.
    pub limit: usize,
}

impl StoreHandle {
    /// Commits a batch from the incidents task; answers after COMMIT.
    pub async fn write_incidents(&self, batch: Batch) -> Result<(), StoreError> {
        self.job("write_incidents", move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            write_batch(&tx, &batch)?;
            tx.commit()
        })
        .await
    }

    /// Open incidents with everything recorded about them, oldest first (restart).
    pub async fn open_incidents(&self) -> Result<Vec<IncidentDetail>, StoreError> {
        self.job("open_incidents", |conn| {
            let ids: Vec<String> = conn
                .prepare_cached("SELECT id FROM incidents WHERE state = 'open' ORDER BY opened_at, id")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(d) = incident_detail(conn, &id)? {
                    out.push(d);
                }
            }
            Ok(out)
        })
        .await
    }

    /// Incidents, newest first, with their scripts, timeline and alerts; `state`
    /// filters (`open`/`closed`).
    pub async fn list_incidents(
        &self,
        state: Option<String>,
        limit: usize,
    ) -> Result<Vec<IncidentDetail>, StoreError> {
        let limit = if limit == 0 { 200 } else { limit.min(5000) } as i64;
        self.job("list_incidents", move |conn| {
            let ids: Vec<String> = conn
                .prepare_cached(
                    "SELECT id FROM incidents WHERE (?1 IS NULL OR state = ?1)
                     ORDER BY opened_at DESC, id DESC LIMIT ?2",
                )?
                .query_map(params![state, limit], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(d) = incident_detail(conn, &id)? {
                    out.push(d);
                }
            }
            Ok(out)
        })
        .await
    }

    pub async fn get_incident(&self, id: String) -> Result<Option<IncidentDetail>, StoreError> {
        self.job("get_incident", move |conn| incident_detail(conn, &id)).await
    }

    /// Logs callers for call-back (merging a number already logged in the same
    /// incident), with the audit rows, in one transaction. Returns each entry as
    /// it stands after the write, in input order.
    pub async fn log_callbacks(
        &self,
        entries: Vec<NewCallback>,
        audit: Vec<Audit>,
    ) -> Result<Vec<CallbackRecord>, StoreError> {
        self.job("log_callbacks", move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut out = Vec::with_capacity(entries.len());
            for e in &entries {
                let id = upsert_callback(&tx, e)?;
                out.push(get_callback(&tx, id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?);
            }
            for a in &audit {
                insert_audit(&tx, a)?;
            }
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    /// [`StoreHandle::log_callbacks`] for the floor's own callers (an incident's
    /// abandons), which nobody waits to see: the same rows in one transaction,
    /// without reading each back. Under a burst of abandons that read was a third
    /// of the statements. Returns how many were logged.
    pub async fn log_lost_callers(&self, entries: Vec<NewCallback>) -> Result<usize, StoreError> {
        self.job("log_lost_callers", move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for e in &entries {
                upsert_callback(&tx, e)?;
            }
            tx.commit()?;
            Ok(entries.len())
        })
        .await
    }

    /// Applies a person's change to call-back `id`; `Ok(None)` when there is no such
    /// entry. The audit row goes in the same transaction.
    pub async fn update_callback(
        &self,
        id: i64,
        patch: CallbackPatch,
        audit: Audit,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        self.job("update_callback", move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let changed = tx
                .prepare_cached(
                    "UPDATE callbacks SET
                        status = COALESCE(?2, status),
                        agent = COALESCE(?3, agent),
                        note = COALESCE(?4, note),
                        attempts = attempts + ?5,
                        updated_at = MAX(updated_at, ?6),
                        assigned_at = CASE WHEN ?3 IS NOT NULL OR ?2 = 'assigned'
                                           THEN COALESCE(assigned_at, ?6) ELSE assigned_at END,
                        finished_at = CASE WHEN ?2 IN ('done', 'failed') THEN ?6
                                           WHEN ?2 IN ('pending', 'assigned') THEN NULL
                                           ELSE finished_at END
                     WHERE id = ?1",
                )?
                .execute(params![
                    id,
                    patch.status,
                    patch.agent,
                    patch.note,
                    i64::from(patch.attempted),
                    patch.at
                ])?;
            if changed == 0 {
                return Ok(None);
            }
            insert_audit(&tx, &audit)?;
            let rec = get_callback(&tx, id)?;
            tx.commit()?;
            Ok(rec)
        })
        .await
    }

    /// One call-back entry as it stands; `Ok(None)` when there is none.
    pub async fn get_callback(&self, id: i64) -> Result<Option<CallbackRecord>, StoreError> {
        self.job("get_callback", move |conn| get_callback(conn, id)).await
    }

    pub async fn list_callbacks(&self, f: CallbackFilter) -> Result<Vec<CallbackRecord>, StoreError> {
        let limit = if f.limit == 0 { 1000 } else { f.limit.min(100_000) } as i64;
        self.job("list_callbacks", move |conn| {
            conn.prepare_cached(concat!(
                "SELECT ",
                callback_columns!(),
                " FROM callbacks
                 WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR incident_id = ?2)
                   AND (?3 IS NULL OR created_at >= ?3)
                 ORDER BY created_at DESC, id DESC LIMIT ?4"
            ))?
            .query_map(params![f.status, f.incident_id, f.since_ms, limit], callback_from_row)?
            .collect()
        })
        .await
    }

    /// Sets the supervisor's notes on fault `id`; `Ok(None)` when there is none.
    pub async fn annotate_fault(
        &self,
        id: String,
        patch: FaultPatch,
        audit: Audit,
    ) -> Result<Option<FaultRecord>, StoreError> {
        self.job("annotate_fault", move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let changed = tx
                .prepare_cached(
                    "UPDATE faults SET
                        cause = COALESCE(?2, cause),
                        resolution = COALESCE(?3, resolution),
                        reported_to = COALESCE(?4, reported_to),
                        reported_at = COALESCE(?5, reported_at),
                        updated_at = MAX(updated_at, ?6)
                     WHERE id = ?1",
                )?
                .execute(params![
                    id,
                    patch.cause,
                    patch.resolution,
                    patch.reported_to,
                    patch.reported_at,
                    patch.at
                ])?;
            if changed == 0 {
                return Ok(None);
            }
            insert_audit(&tx, &audit)?;
            let rec = get_fault(&tx, &id)?;
            tx.commit()?;
            Ok(rec)
        })
        .await
    }

    pub async fn list_faults(&self, f: FaultFilter) -> Result<Vec<FaultRecord>, StoreError> {
        let limit = if f.limit == 0 { 1000 } else { f.limit.min(100_000) } as i64;
        self.job("list_faults", move |conn| {
            conn.prepare_cached(concat!(
                "SELECT ",
                fault_columns!(),
                " FROM faults
                 WHERE (?1 = 0 OR recovered_at IS NULL) AND (?2 IS NULL OR detected_at >= ?2)
                 ORDER BY detected_at DESC, id DESC LIMIT ?3"
            ))?
            .query_map(params![f.open_only, f.since_ms, limit], fault_from_row)?
            .collect()
        })
        .await
    }

    pub async fn get_fault(&self, id: String) -> Result<Option<FaultRecord>, StoreError> {
        self.job("get_fault", move |conn| get_fault(conn, &id)).await
    }

    /// The newest audit rows, newest first.
    pub async fn list_audit(&self, limit: usize) -> Result<Vec<AuditRow>, StoreError> {
        let limit = if limit == 0 { 500 } else { limit.min(100_000) } as i64;
        self.job("list_audit", move |conn| {
            conn.prepare_cached(
                "SELECT ts, actor, action, COALESCE(target, alert_id), COALESCE(detail, note)
                 FROM audit ORDER BY id DESC LIMIT ?1",
            )?
            .query_map([limit], |r| {
                Ok(AuditRow {
                    at: r.get(0)?,
                    actor: r.get(1)?,
                    action: r.get(2)?,
                    target: r.get(3)?,
                    detail: r.get(4)?,
                })
            })?
            .collect()
        })
        .await
    }

    /// Writes audit rows alone (a write whose own row is elsewhere, such as an
    /// alert acknowledgement, audits itself).
    pub async fn audit(&self, rows: Vec<Audit>) -> Result<(), StoreError> {
        self.job("audit", move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for a in &rows {
                insert_audit(&tx, a)?;
            }
            tx.commit()
        })
        .await
    }
}

fn write_batch(tx: &Transaction<'_>, b: &Batch) -> rusqlite::Result<()> {
    for i in &b.incidents {
        tx.prepare_cached(
            "INSERT OR REPLACE INTO incidents (id, kind, state, title, queue, component, opened_at,
                opened_by, closed_at, closed_by, summary, expected_recovery_mins, published_version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?
        .execute(params![
            i.id,
            i.kind,
            i.state,
            i.title,
            i.queue,
            i.component,
            i.opened_at,
            i.opened_by,
            i.closed_at,
            i.closed_by,
            i.summary,
            i.expected_recovery_mins,
            i.published_version
        ])?;
    }
    for (incident, s) in &b.scripts {
        tx.prepare_cached(
            "INSERT OR REPLACE INTO incident_scripts
                (incident_id, version, text_zh, text_en, author, created_at, published_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            incident,
            s.version,
            s.text_zh,
            s.text_en,
            s.author,
            s.created_at,
            s.published_at
        ])?;
    }
    for (incident, t) in &b.timeline {
        tx.prepare_cached(
            "INSERT INTO incident_timeline (incident_id, ts, what, actor, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![incident, t.ts, t.what, t.actor, t.detail])?;
    }
    for (incident, l) in &b.links {
        tx.prepare_cached(
            "INSERT INTO incident_alerts (incident_id, alert_id, role, linked_at, resolved_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (incident_id, alert_id) DO UPDATE SET resolved_at = excluded.resolved_at",
        )?
        .execute(params![incident, l.alert_id, l.role, l.linked_at, l.resolved_at])?;
    }
    for f in &b.new_faults {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO faults (id, component, origin, alert_id, incident_id, detail, detected_at,
                reported_at, reported_to, recovered_at, offered_before, abandoned_before, offered_during,
                abandoned_during, cause, resolution, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
        )?
        .execute(params![
            f.id,
            f.component,
            f.origin,
            f.alert_id,
            f.incident_id,
            f.detail,
            f.detected_at,
            f.reported_at,
            f.reported_to,
            f.recovered_at,
            clamp(f.offered_before),
            clamp(f.abandoned_before),
            f.offered_during.map(clamp),
            f.abandoned_during.map(clamp),
            f.cause,
            f.resolution,
            f.updated_at
        ])?;
    }
    for (id, at, offered, abandoned) in &b.recovered_faults {
        tx.prepare_cached(
            "UPDATE faults SET recovered_at = ?2, offered_during = ?3, abandoned_during = ?4,
                updated_at = MAX(updated_at, ?2)
             WHERE id = ?1 AND recovered_at IS NULL",
        )?
        .execute(params![id, at, clamp(*offered), clamp(*abandoned)])?;
    }
    for a in &b.audit {
        insert_audit(tx, a)?;
    }
    Ok(())
}

fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(super) fn insert_audit(tx: &Transaction<'_>, a: &Audit) -> rusqlite::Result<()> {
    tx.prepare_cached("INSERT INTO audit (ts, actor, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![a.at, a.actor, a.action, a.target, a.detail])?;
    Ok(())
}

/// Logs a caller, merging a number already logged in the same incident; returns
/// the entry's id.
fn upsert_callback(tx: &Transaction<'_>, e: &NewCallback) -> rusqlite::Result<i64> {
    if let Some(incident) = &e.incident_id {
        let existing: Option<i64> = tx
            .prepare_cached("SELECT id FROM callbacks WHERE incident_id = ?1 AND caller = ?2")?
            .query_row(params![incident, e.caller], |r| r.get(0))
            .optional()?;
        if let Some(id) = existing {
            // The same number again in the same incident: one call-back, with a
            // note of how often they tried, and any new note or agent kept.
            tx.prepare_cached(
                "UPDATE callbacks SET occurrences = occurrences + 1, updated_at = MAX(updated_at, ?2),
                    note = CASE WHEN ?3 IS NULL THEN note WHEN note IS NULL THEN ?3
                                ELSE note || char(10) || ?3 END,
                    agent = COALESCE(agent, ?4),
                    queue = COALESCE(queue, ?5)
                 WHERE id = ?1",
            )?
            .execute(params![id, e.at, e.note, e.agent, e.queue])?;
            return Ok(id);
        }
    }
    let status = if e.agent.is_some() { "assigned" } else { "pending" };
    tx.prepare_cached(
        "INSERT INTO callbacks (caller, incident_id, queue, call_id, origin, status, agent, note,
            created_at, updated_at, assigned_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, CASE WHEN ?7 IS NULL THEN NULL ELSE ?9 END)",
    )?
    .execute(params![
        e.caller,
        e.incident_id,
        e.queue,
        e.call_id,
        e.origin,
        status,
        e.agent,
        e.note,
        e.at
    ])?;
    Ok(tx.last_insert_rowid())
}

macro_rules! callback_columns {
    () => {
        "id, caller, incident_id, queue, call_id, origin, status, agent, note, attempts, occurrences,
         created_at, updated_at, assigned_at, finished_at"
    };
}
use callback_columns;

fn callback_from_row(r: &Row<'_>) -> rusqlite::Result<CallbackRecord> {
    Ok(CallbackRecord {
        id: r.get(0)?,
        caller: r.get(1)?,
        incident_id: r.get(2)?,
        queue: r.get(3)?,
        call_id: r.get(4)?,
        origin: r.get(5)?,
        status: r.get(6)?,
        agent: r.get(7)?,
        note: r.get(8)?,
        attempts: r.get(9)?,
        occurrences: r.get(10)?,
        created_at: r.get(11)?,
        updated_at: r.get(12)?,
        assigned_at: r.get(13)?,
        finished_at: r.get(14)?,
    })
}

fn get_callback(conn: &Connection, id: i64) -> rusqlite::Result<Option<CallbackRecord>> {
    conn.prepare_cached(concat!("SELECT ", callback_columns!(), " FROM callbacks WHERE id = ?1"))?
        .query_row([id], callback_from_row)
        .optional()
}

macro_rules! fault_columns {
    () => {
        "id, component, origin, alert_id, incident_id, detail, detected_at, reported_at, reported_to,
         recovered_at, offered_before, abandoned_before, offered_during, abandoned_during, cause,
         resolution, updated_at"
    };
}
use fault_columns;

fn fault_from_row(r: &Row<'_>) -> rusqlite::Result<FaultRecord> {
    let count = |i: usize| -> rusqlite::Result<u64> { Ok(u64::try_from(r.get::<_, i64>(i)?).unwrap_or(0)) };
    let opt = |i: usize| -> rusqlite::Result<Option<u64>> {
        Ok(r.get::<_, Option<i64>>(i)?.map(|n| u64::try_from(n).unwrap_or(0)))
    };
    Ok(FaultRecord {
        id: r.get(0)?,
        component: r.get(1)?,
        origin: r.get(2)?,
        alert_id: r.get(3)?,
        incident_id: r.get(4)?,
        detail: r.get(5)?,
        detected_at: r.get(6)?,
        reported_at: r.get(7)?,
        reported_to: r.get(8)?,
        recovered_at: r.get(9)?,
        offered_before: count(10)?,
        abandoned_before: count(11)?,
        offered_during: opt(12)?,
        abandoned_during: opt(13)?,
        cause: r.get(14)?,
        resolution: r.get(15)?,
        updated_at: r.get(16)?,
    })
}

fn get_fault(conn: &Connection, id: &str) -> rusqlite::Result<Option<FaultRecord>> {
    conn.prepare_cached(concat!("SELECT ", fault_columns!(), " FROM faults WHERE id = ?1"))?
        .query_row([id], fault_from_row)
        .optional()
}

fn incident_detail(conn: &Connection, id: &str) -> rusqlite::Result<Option<IncidentDetail>> {
    let incident = conn
        .prepare_cached(
            "SELECT id, kind, state, title, queue, component, opened_at, opened_by, closed_at, closed_by,
                    summary, expected_recovery_mins, published_version
             FROM incidents WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok(IncidentRecord {
                id: r.get(0)?,
                kind: r.get(1)?,
                state: r.get(2)?,
                title: r.get(3)?,
                queue: r.get(4)?,
                component: r.get(5)?,
                opened_at: r.get(6)?,
                opened_by: r.get(7)?,
                closed_at: r.get(8)?,
                closed_by: r.get(9)?,
                summary: r.get(10)?,
                expected_recovery_mins: r.get(11)?,
                published_version: r.get(12)?,
            })
        })
        .optional()?;
    let Some(incident) = incident else { return Ok(None) };
    let scripts = conn
        .prepare_cached(
            "SELECT version, text_zh, text_en, author, created_at, published_at
             FROM incident_scripts WHERE incident_id = ?1 ORDER BY version",
        )?
        .query_map([id], |r| {
            Ok(ScriptVersion {
                version: r.get(0)?,
                text_zh: r.get(1)?,
                text_en: r.get(2)?,
                author: r.get(3)?,
                created_at: r.get(4)?,
                published_at: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let timeline = conn
        .prepare_cached(
            "SELECT ts, what, actor, detail FROM incident_timeline WHERE incident_id = ?1 ORDER BY id",
        )?
        .query_map([id], |r| {
            Ok(TimelineEntry { ts: r.get(0)?, what: r.get(1)?, actor: r.get(2)?, detail: r.get(3)? })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let alerts = conn
        .prepare_cached(
            "SELECT alert_id, role, linked_at, resolved_at FROM incident_alerts
             WHERE incident_id = ?1 ORDER BY linked_at, alert_id",
        )?
        .query_map([id], |r| {
            Ok(LinkedAlert {
                alert_id: r.get(0)?,
                role: r.get(1)?,
                linked_at: r.get(2)?,
                resolved_at: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(IncidentDetail { incident, scripts, timeline, alerts }))
}
