//! Quality assurance's tables: the call log, sampling rules, reviews, appeals.
//!
//! The call log is written by [`StoreHandle::keep_calls`], a task beside the
//! engine: the engine hands each round's finished calls over a bounded lossless
//! channel and never waits for a COMMIT; the task merges what queued up into one
//! transaction and purges rows older than `[qa] keep_days` once a day, in
//! chunks of [`super::retention::CHUNK_ROWS`] (each its own command, like the
//! other purges, so the writer is never held long).
//!
//! Rules are immutable once registered: the schema refuses an UPDATE or DELETE
//! (triggers), and [`StoreHandle::register_rule`] answers a second registration
//! of an id with the rule already there. Appeals move through their states
//! with a compare-and-set in one transaction with their audit row. Live-monitoring
//! sessions and the monthly analysis's approval (once per month) are written
//! with their audit rows too; the rotation reads its teams from the roster.

use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::incidents::{Audit, insert_audit};
use super::retention::{CHUNK_ROWS, EngineLog, keep_log};
use super::{StoreError, StoreHandle};
use crate::floor::FinishedCall;

/// One row of the call log. Times are UTC milliseconds (event time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRow {
    pub call: String,
    pub offered_at: i64,
    pub queue: Option<String>,
    pub agent: Option<String>,
    pub caller: Option<String>,
    pub answered_at: Option<i64>,
    pub abandoned_at: Option<i64>,
    pub ended_at: Option<i64>,
}

impl CallRow {
    /// Seconds waited before the answer or the abandon.
    pub fn wait_secs(&self) -> Option<f64> {
        self.answered_at.or(self.abandoned_at).map(|t| (t - self.offered_at) as f64 / 1000.0)
    }

    /// Seconds from answer to end.
    pub fn talk_secs(&self) -> Option<f64> {
        match (self.answered_at, self.ended_at) {
            (Some(a), Some(e)) => Some((e - a) as f64 / 1000.0),
            _ => None,
        }
    }
}

impl From<FinishedCall> for CallRow {
    fn from(c: FinishedCall) -> CallRow {
        CallRow {
            call: c.call.to_string(),
            offered_at: c.offered_at,
            queue: c.queue.map(|q| q.to_string()),
            agent: c.agent.map(|a| a.to_string()),
            caller: c.caller.map(|a| a.to_string()),
            answered_at: c.answered_at,
            abandoned_at: c.abandoned_at,
            ended_at: c.ended_at,
        }
    }
}

/// Which calls [`StoreHandle::list_calls`] returns; `None` matches all.
#[derive(Debug, Clone, Default)]
pub struct CallFilter {
    pub agent: Option<String>,
    pub queue: Option<String>,
    /// `offered_at >= from_ms`.
    pub from_ms: Option<i64>,
    /// `offered_at < to_ms`.
    pub to_ms: Option<i64>,
    /// At most this many rows; 0 means no limit.
    pub limit: usize,
    /// This call id only.
    pub call: Option<String>,
}

/// A sampling rule as registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRow {
    pub id: String,
    pub name: String,
    pub from_ms: i64,
    pub to_ms: i64,
    /// The canonical JSON the sample is computed from.
    pub body: String,
    /// SHA-256 of `body`, hex.
    pub digest: String,
    pub registered_at: i64,
    pub registered_by: String,
}

/// What a registration did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registered {
    Created,
    /// The id was registered before: the rule already there (the same or not).
    Exists(RuleRow),
}

/// A review of one call.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewRow {
    pub id: i64,
    pub call: String,
    pub rule_id: Option<String>,
    pub agent: String,
    pub reviewer: String,
    pub reviewed_at: i64,
    /// JSON list of `{item, points}`.
    pub deductions: String,
    pub score: f64,
    pub note: Option<String>,
}

/// An appeal of one review.
#[derive(Debug, Clone, PartialEq)]
pub struct AppealRow {
    pub id: i64,
    pub review_id: i64,
    pub agent: String,
    /// JSON list of the deducted items appealed.
    pub items: String,
    pub reason: String,
    /// `filed` | `accepted` | `rejected` | `upheld` | `amended` (the schema checks).
    pub status: String,
    pub filed_at: i64,
    pub lead: Option<String>,
    pub lead_at: Option<i64>,
    /// JSON `{supervisor, lead, qa}`.
    pub panel: Option<String>,
    pub decided_at: Option<i64>,
    /// The score the panel set (an amended review).
    pub score: Option<f64>,
    pub note: Option<String>,
}

/// A step of an appeal: from `from` to `to`, with what that step records.
#[derive(Debug, Clone)]
pub struct AppealStep {
    pub id: i64,
    pub from: &'static str,
    pub to: &'static str,
    pub at: i64,
    /// For a lead's step: who.
    pub lead: Option<String>,
    pub panel: Option<String>,
    pub score: Option<f64>,
    pub note: Option<String>,
}

/// What an appeal step found.
#[derive(Debug, Clone, PartialEq)]
pub enum Stepped {
    Done(AppealRow),
    NotFound,
    /// The appeal was not in the state the step starts from.
    WrongState(AppealRow),
}

const CALL_COLS: &str = "call_id, offered_at, queue, agent, caller, answered_at, abandoned_at, ended_at";
const REVIEW_COLS: &str = "id, call_id, rule_id, agent, reviewer, reviewed_at, deductions, score, note";
const APPEAL_COLS: &str =
    "id, review_id, agent, items, reason, status, filed_at, lead, lead_at, panel, decided_at, score, note";

fn call_row(r: &Row<'_>) -> rusqlite::Result<CallRow> {
    Ok(CallRow {
        call: r.get(0)?,
        offered_at: r.get(1)?,
        queue: r.get(2)?,
        agent: r.get(3)?,
        caller: r.get(4)?,
        answered_at: r.get(5)?,
        abandoned_at: r.get(6)?,
        ended_at: r.get(7)?,
    })
}

fn rule_row(r: &Row<'_>) -> rusqlite::Result<RuleRow> {
    Ok(RuleRow {
        id: r.get(0)?,
        name: r.get(1)?,
        from_ms: r.get(2)?,
        to_ms: r.get(3)?,
        body: r.get(4)?,
        digest: r.get(5)?,
        registered_at: r.get(6)?,
        registered_by: r.get(7)?,
    })
}

fn review_row(r: &Row<'_>) -> rusqlite::Result<ReviewRow> {
    Ok(ReviewRow {
        id: r.get(0)?,
        call: r.get(1)?,
        rule_id: r.get(2)?,
        agent: r.get(3)?,
        reviewer: r.get(4)?,
        reviewed_at: r.get(5)?,
        deductions: r.get(6)?,
        score: r.get(7)?,
        note: r.get(8)?,
    })
}

fn appeal_row(r: &Row<'_>) -> rusqlite::Result<AppealRow> {
    Ok(AppealRow {
        id: r.get(0)?,
        review_id: r.get(1)?,
        agent: r.get(2)?,
        items: r.get(3)?,
        reason: r.get(4)?,
        status: r.get(5)?,
        filed_at: r.get(6)?,
        lead: r.get(7)?,
        lead_at: r.get(8)?,
        panel: r.get(9)?,
        decided_at: r.get(10)?,
        score: r.get(11)?,
        note: r.get(12)?,
    })
}

fn get_appeal(conn: &rusqlite::Connection, id: i64) -> rusqlite::Result<Option<AppealRow>> {
    conn.prepare_cached(&format!("SELECT {APPEAL_COLS} FROM qa_appeals WHERE id = ?1"))?
        .query_row([id], appeal_row)
        .optional()
}

impl StoreHandle {
    /// Keeps the calls (a call already kept is left as it is), in one
    /// transaction; returns after COMMIT.
    pub async fn save_calls(&self, calls: Vec<CallRow>) -> Result<(), StoreError> {
        self.job("save_calls", move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut st = tx.prepare_cached(&format!(
                    "INSERT OR IGNORE INTO calls ({CALL_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                ))?;
                for c in &calls {
                    st.execute(params![
                        c.call,
                        c.offered_at,
                        c.queue,
                        c.agent,
                        c.caller,
                        c.answered_at,
                        c.abandoned_at,
                        c.ended_at
                    ])?;
                }
            }
            tx.commit()
        })
        .await
    }

    /// Calls matching the filter, by offer time (oldest first).
    pub async fn list_calls(&self, f: CallFilter) -> Result<Vec<CallRow>, StoreError> {
        self.job("list_calls", move |conn| {
            let limit = if f.limit == 0 { i64::MAX } else { i64::try_from(f.limit).unwrap_or(i64::MAX) };
            let mut st = conn.prepare_cached(&format!(
                "SELECT {CALL_COLS} FROM calls
                 WHERE (?1 IS NULL OR agent = ?1) AND (?2 IS NULL OR queue = ?2)
                   AND (?3 IS NULL OR offered_at >= ?3) AND (?4 IS NULL OR offered_at < ?4)
                   AND (?6 IS NULL OR call_id = ?6)
                 ORDER BY offered_at, call_id LIMIT ?5"
            ))?;
            st.query_map(params![f.agent, f.queue, f.from_ms, f.to_ms, limit, f.call], call_row)?.collect()
        })
        .await
    }

    /// Deletes up to one chunk of calls offered before `before_ms`; how many went.
    pub async fn purge_calls_chunk(&self, before_ms: i64) -> Result<usize, StoreError> {
        self.job("purge_calls", move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // The table has no rowid (WITHOUT ROWID): delete by its key.
            let n = tx.execute(
                "DELETE FROM calls WHERE (call_id, offered_at) IN
                    (SELECT call_id, offered_at FROM calls WHERE offered_at < ?1 LIMIT ?2)",
                params![before_ms, CHUNK_ROWS as i64],
            )?;
            tx.commit()?;
            Ok(n)
        })
        .await
    }

    /// Deletes every call offered before `before_ms`, chunk by chunk.
    pub async fn purge_calls(&self, before_ms: i64) -> Result<usize, StoreError> {
        let mut total = 0;
        loop {
            let n = self.purge_calls_chunk(before_ms).await?;
            total += n;
            if n < CHUNK_ROWS {
                return Ok(total);
            }
        }
    }

    /// Starts the call log's writer ([`keep_log`]): calls older than
    /// `keep_days` (0: forever) go once a day of `now_ms`.
    pub fn keep_calls(
        &self,
        rx: mpsc::Receiver<Vec<FinishedCall>>,
        keep_days: u32,
        now_ms: impl Fn() -> i64 + Send + 'static,
    ) -> JoinHandle<()> {
        keep_log::<CallLog>(self.clone(), rx, keep_days, now_ms)
    }

    /// Registers a rule with its audit row, unless its id is taken (then the
    /// rule already there is answered, and nothing is written).
    pub async fn register_rule(&self, r: RuleRow, audit: Audit) -> Result<Registered, StoreError> {
        self.job("register_rule", move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let existing = tx
                .prepare_cached("SELECT id, name, from_ms, to_ms, body, digest, registered_at, registered_by FROM qa_rules WHERE id = ?1")?
                .query_row([&r.id], rule_row)
                .optional()?;
            if let Some(e) = existing {
                return Ok(Registered::Exists(e));
            }
            tx.prepare_cached(
                "INSERT INTO qa_rules (id, name, from_ms, to_ms, body, digest, registered_at, registered_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![r.id, r.name, r.from_ms, r.to_ms, r.body, r.digest, r.registered_at, r.registered_by])?;
            insert_audit(&tx, &audit)?;
            tx.commit()?;
            Ok(Registered::Created)
        })
        .await
    }

    pub async fn get_rule(&self, id: String) -> Result<Option<RuleRow>, StoreError> {
        self.job("get_rule", move |conn| {
            conn.prepare_cached(
                "SELECT id, name, from_ms, to_ms, body, digest, registered_at, registered_by FROM qa_rules WHERE id = ?1",
            )?
            .query_row([id], rule_row)
            .optional()
        })
        .await
    }

    /// Every rule, by registration.
    pub async fn list_rules(&self) -> Result<Vec<RuleRow>, StoreError> {
        self.job("list_rules", move |conn| {
            conn.prepare_cached(
                "SELECT id, name, from_ms, to_ms, body, digest, registered_at, registered_by FROM qa_rules ORDER BY registered_at, id",
            )?
            .query_map([], rule_row)?
            .collect()
        })
        .await
    }

    /// Saves a review (its `id` is ignored) with its audit row; `None` when the
    /// call has a review already.
    pub async fn save_review(&self, r: ReviewRow, mut audit: Audit) -> Result<Option<ReviewRow>, StoreError> {
        self.job("save_review", move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO qa_reviews (call_id, rule_id, agent, reviewer, reviewed_at, deductions, score, note)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?
                .execute(params![r.call, r.rule_id, r.agent, r.reviewer, r.reviewed_at, r.deductions, r.score, r.note])?;
            if n == 0 {
                return Ok(None);
            }
            let id = tx.last_insert_rowid();
            audit.target = Some(format!("review:{id}"));
            insert_audit(&tx, &audit)?;
            tx.commit()?;
            Ok(Some(ReviewRow { id, ..r }))
        })
        .await
    }

    pub async fn get_review(&self, id: i64) -> Result<Option<ReviewRow>, StoreError> {
        self.job("get_review", move |conn| {
            conn.prepare_cached(&format!("SELECT {REVIEW_COLS} FROM qa_reviews WHERE id = ?1"))?
                .query_row([id], review_row)
                .optional()
        })
        .await
    }

    /// Reviews of `agent` (all when `None`) made in `[from_ms, to_ms)`.
    pub async fn list_reviews(
        &self,
        agent: Option<String>,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
    ) -> Result<Vec<ReviewRow>, StoreError> {
        self.job("list_reviews", move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {REVIEW_COLS} FROM qa_reviews WHERE (?1 IS NULL OR agent = ?1)
                   AND (?2 IS NULL OR reviewed_at >= ?2) AND (?3 IS NULL OR reviewed_at < ?3)
                 ORDER BY reviewed_at, id"
            ))?
            .query_map(params![agent, from_ms, to_ms], review_row)?
            .collect()
        })
        .await
    }

    /// Files an appeal (its `id` is ignored) with its audit row; `None` when the
    /// review has an appeal already.
    pub async fn file_appeal(&self, a: AppealRow, mut audit: Audit) -> Result<Option<AppealRow>, StoreError> {
        self.job("file_appeal", move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO qa_appeals (review_id, agent, items, reason, status, filed_at)
                     VALUES (?1, ?2, ?3, ?4, 'filed', ?5)",
                )?
                .execute(params![a.review_id, a.agent, a.items, a.reason, a.filed_at])?;
            if n == 0 {
                return Ok(None);
            }
            let id = tx.last_insert_rowid();
            audit.target = Some(format!("appeal:{id}"));
            insert_audit(&tx, &audit)?;
            let row = get_appeal(&tx, id)?;
            tx.commit()?;
            Ok(row)
        })
        .await
    }

    pub async fn get_appeal(&self, id: i64) -> Result<Option<AppealRow>, StoreError> {
        self.job("get_appeal", move |conn| get_appeal(conn, id)).await
    }

    /// Appeals of `agent` (all when `None`), by filing.
    pub async fn list_appeals(&self, agent: Option<String>) -> Result<Vec<AppealRow>, StoreError> {
        self.job("list_appeals", move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {APPEAL_COLS} FROM qa_appeals WHERE (?1 IS NULL OR agent = ?1) ORDER BY filed_at, id"
            ))?
            .query_map(params![agent], appeal_row)?
            .collect()
        })
        .await
    }

    /// Moves an appeal from `step.from` to `step.to` with its audit row, in one
    /// transaction; an amended decision also sets the review's score.
    pub async fn step_appeal(&self, step: AppealStep, audit: Audit) -> Result<Stepped, StoreError> {
        self.job("step_appeal", move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let Some(a) = get_appeal(&tx, step.id)? else { return Ok(Stepped::NotFound) };
            if a.status != step.from {
                return Ok(Stepped::WrongState(a));
            }
            if step.lead.is_some() {
                tx.prepare_cached("UPDATE qa_appeals SET status = ?2, lead = ?3, lead_at = ?4, note = coalesce(?5, note) WHERE id = ?1")?
                    .execute(params![step.id, step.to, step.lead, step.at, step.note])?;
            } else {
                tx.prepare_cached(
                    "UPDATE qa_appeals SET status = ?2, panel = ?3, decided_at = ?4, score = ?5, note = coalesce(?6, note) WHERE id = ?1",
                )?
                .execute(params![step.id, step.to, step.panel, step.at, step.score, step.note])?;
                if let Some(score) = step.score {
                    tx.prepare_cached("UPDATE qa_reviews SET score = ?2 WHERE id = ?1")?
                        .execute(params![a.review_id, score])?;
                }
            }
            insert_audit(&tx, &audit)?;
            let row = get_appeal(&tx, step.id)?;
            tx.commit()?;
            Ok(row.map_or(Stepped::NotFound, Stepped::Done))
        })
        .await
    }
}

/// A live-monitoring session as recorded (`outcome` is `done` or `skipped`: the
/// schema checks, and a skip has its reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitoringRow {
    pub id: i64,
    pub team: String,
    /// `YYYY-MM` in the floor's zone.
    pub month: String,
    pub agent: String,
    pub outcome: String,
    pub reason: Option<String>,
    pub at: i64,
    pub by: String,
}

/// The approval of a month's analysis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRow {
    pub month: String,
    pub approved_at: i64,
    pub approved_by: String,
    pub note: Option<String>,
}

/// What an approval did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approved {
    Done(ApprovalRow),
    /// The month was approved before: that approval (nothing written).
    Already(ApprovalRow),
}

const MONITORING_COLS: &str = "id, team, month, agent, outcome, reason, at, by";

fn monitoring_row(r: &Row<'_>) -> rusqlite::Result<MonitoringRow> {
    Ok(MonitoringRow {
        id: r.get(0)?,
        team: r.get(1)?,
        month: r.get(2)?,
        agent: r.get(3)?,
        outcome: r.get(4)?,
        reason: r.get(5)?,
        at: r.get(6)?,
        by: r.get(7)?,
    })
}

fn get_approval(conn: &rusqlite::Connection, month: &str) -> rusqlite::Result<Option<ApprovalRow>> {
    conn.prepare_cached(
        "SELECT month, approved_at, approved_by, note FROM qa_analysis_approvals WHERE month = ?1",
    )?
    .query_row([month], |r| {
        Ok(ApprovalRow { month: r.get(0)?, approved_at: r.get(1)?, approved_by: r.get(2)?, note: r.get(3)? })
    })
    .optional()
}

/// A roster line as the rotation reads it: who was on a team, under which name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterMember {
    pub agent: String,
    pub name: Option<String>,
}

impl StoreHandle {
    /// Records a live-monitoring session (its `id` is ignored) with its audit
    /// row, in one transaction; returns it after COMMIT.
    pub async fn add_monitoring(
        &self,
        m: MonitoringRow,
        mut audit: Audit,
    ) -> Result<MonitoringRow, StoreError> {
        self.job("add_monitoring", move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.prepare_cached(
                "INSERT INTO qa_monitoring (team, month, agent, outcome, reason, at, by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![m.team, m.month, m.agent, m.outcome, m.reason, m.at, m.by])?;
            let id = tx.last_insert_rowid();
            audit.target = Some(format!("monitoring:{id}"));
            insert_audit(&tx, &audit)?;
            tx.commit()?;
            Ok(MonitoringRow { id, ..m })
        })
        .await
    }

    /// The team's sessions of the month, in time order.
    pub async fn list_monitoring(
        &self,
        team: String,
        month: String,
    ) -> Result<Vec<MonitoringRow>, StoreError> {
        self.job("list_monitoring", move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {MONITORING_COLS} FROM qa_monitoring WHERE team = ?1 AND month = ?2 ORDER BY at, id"
            ))?
            .query_map(params![team, month], monitoring_row)?
            .collect()
        })
        .await
    }

    /// Who the roster puts on `team` on a date in `[from, to)` (`YYYY-MM-DD`),
    /// each agent once, with the latest name given for them.
    pub async fn roster_members(
        &self,
        team: String,
        from: String,
        to: String,
    ) -> Result<Vec<RosterMember>, StoreError> {
        self.job("roster_members", move |conn| {
            let mut st = conn.prepare_cached(
                "SELECT agent, name FROM roster WHERE team = ?1 AND date >= ?2 AND date < ?3
                 ORDER BY agent, date",
            )?;
            let rows = st.query_map(params![team, from, to], |r| {
                Ok(RosterMember { agent: r.get(0)?, name: r.get(1)? })
            })?;
            let mut out: Vec<RosterMember> = Vec::new();
            for r in rows {
                let r = r?;
                match out.last_mut() {
                    Some(last) if last.agent == r.agent => {
                        if r.name.is_some() {
                            last.name = r.name;
                        }
                    }
                    _ => out.push(r),
                }
            }
            Ok(out)
        })
        .await
    }

    /// Approves a month's analysis with its audit row, unless it was approved
    /// before (then that approval is answered and nothing is written).
    pub async fn approve_analysis(&self, a: ApprovalRow, audit: Audit) -> Result<Approved, StoreError> {
        self.job("approve_analysis", move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if let Some(e) = get_approval(&tx, &a.month)? {
                return Ok(Approved::Already(e));
            }
            tx.prepare_cached(
                "INSERT INTO qa_analysis_approvals (month, approved_at, approved_by, note) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![a.month, a.approved_at, a.approved_by, a.note])?;
            insert_audit(&tx, &audit)?;
            tx.commit()?;
            Ok(Approved::Done(a))
        })
        .await
    }

    pub async fn get_approval(&self, month: String) -> Result<Option<ApprovalRow>, StoreError> {
        self.job("get_approval", move |conn| get_approval(conn, &month)).await
    }
}

/// The call log as [`keep_log`] runs it.
struct CallLog;

impl EngineLog for CallLog {
    type Item = FinishedCall;
    const WHAT: &'static str = "call log";

    fn save(
        store: &StoreHandle,
        items: Vec<FinishedCall>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        store.save_calls(items.into_iter().map(CallRow::from).collect())
    }

    fn purge(store: &StoreHandle, before_ms: i64) -> impl Future<Output = Result<usize, StoreError>> + Send {
        store.purge_calls(before_ms)
    }
}
