//! The duty team's shift: roster, sign-ins, the handover sheet's reasons and
//! sign-offs, patrols and overrun records — the statements, on the writer thread.
//!
//! Every entry a person makes is one transaction with its [`Audit`] row, answered
//! after the COMMIT. A countersigned handover sheet is archived: triggers in the
//! schema refuse to change or delete it. Overrun drafts are made here from the
//! committed `acw_overrun` / `busy_overrun` alerts, so a record exists for
//! exactly the alerts the store holds, once each (`alert_id` is unique).

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::incidents::{Audit, insert_audit};
use super::{StoreError, StoreHandle};

/// One roster line as stored (the shift module judged it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterEntry {
    /// `YYYY-MM-DD`, the local date the shift starts on.
    pub date: String,
    pub shift: String,
    pub team: String,
    pub agent: String,
    pub name: Option<String>,
    pub seat: Option<String>,
}

/// An agent's first sign-in in a shift's window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signin {
    pub date: String,
    pub shift: String,
    pub agent: String,
    pub team: Option<String>,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbsenceReason {
    pub agent: String,
    pub team: String,
    pub reason: String,
    pub entered_by: String,
    pub entered_at: i64,
}

/// A team's sheet as its lead confirmed it, and the countersignature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signoff {
    pub team: String,
    /// The sheet as confirmed, frozen (JSON written by the HTTP edge).
    pub sheet: String,
    pub confirmed_by: String,
    pub confirmed_at: i64,
    pub countersigned_by: Option<String>,
    pub countersigned_at: Option<i64>,
}

/// What became of a sign-off or a reason entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignoffOutcome {
    Done,
    /// The lead has confirmed already: the sheet no longer changes.
    AlreadyConfirmed,
    /// Countersigning a sheet its lead has not confirmed.
    NotConfirmed,
    AlreadyCountersigned,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatrolRecord {
    pub id: i64,
    pub team: String,
    pub actor: String,
    pub at: i64,
    pub note: Option<String>,
}

/// An overrun record's review state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverrunStatus {
    Draft,
    Confirmed,
    Dismissed,
}

impl OverrunStatus {
    pub const ALL: [OverrunStatus; 3] =
        [OverrunStatus::Draft, OverrunStatus::Confirmed, OverrunStatus::Dismissed];

    pub fn as_str(self) -> &'static str {
        match self {
            OverrunStatus::Draft => "draft",
            OverrunStatus::Confirmed => "confirmed",
            OverrunStatus::Dismissed => "dismissed",
        }
    }

    pub fn parse(s: &str) -> Option<OverrunStatus> {
        OverrunStatus::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OverrunRecord {
    pub id: i64,
    pub alert_id: String,
    pub agent: String,
    pub team: Option<String>,
    pub kind: crate::vocab::Kind,
    pub reason: Option<String>,
    pub started_at: i64,
    pub duration_secs: i64,
    pub threshold_secs: i64,
    pub tier: u32,
    /// The alert has resolved: duration and tier no longer change.
    pub is_final: bool,
    pub status: OverrunStatus,
    pub note: Option<String>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<i64>,
    pub explanation: Option<String>,
    pub explained_by: Option<String>,
    pub explained_at: Option<i64>,
    pub signed_off_by: Option<String>,
    pub signed_off_at: Option<i64>,
    pub updated_at: i64,
}

/// A person's step on an overrun record; `None` fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OverrunPatch {
    /// Confirmed or dismissed, with the lead's note.
    pub review: Option<(OverrunStatus, Option<String>)>,
    pub explanation: Option<String>,
    pub sign_off: bool,
    pub actor: String,
    pub at: i64,
}

#[derive(Debug, Clone, Default)]
pub struct OverrunFilter {
    pub team: Option<String>,
    pub agent: Option<String>,
    pub status: Option<OverrunStatus>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    /// 0 means 1000.
    pub limit: usize,
}

/// Totals of overrun records of one agent (or team) over a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrunTotal {
    pub key: String,
    pub team: Option<String>,
    pub records: u64,
    pub confirmed: u64,
    pub dismissed: u64,
    pub draft: u64,
    pub duration_secs: i64,
    /// Sum of the tiers of the confirmed ones.
    pub confirmed_tiers: u64,
}

/// An overrun alert without a final record: what the shift module needs to
/// judge its duration and tier.
#[derive(Debug, Clone, PartialEq)]
pub struct OverrunSource {
    pub alert_id: String,
    pub kind: crate::vocab::Kind,
    pub agent: String,
    pub team: Option<String>,
    pub started_at: i64,
    pub resolved_at: Option<i64>,
    pub threshold_secs: i64,
}

/// A draft (new or updated) from an [`OverrunSource`].
#[derive(Debug, Clone, PartialEq)]
pub struct OverrunDraft {
    pub source: OverrunSource,
    pub reason: Option<String>,
    pub duration_secs: i64,
    pub tier: u32,
}

impl StoreHandle {
    /// Replaces the rows of every (date, shift) the entries name; one transaction.
    pub async fn put_roster(&self, rows: Vec<RosterEntry>, audit: Audit) -> Result<usize, StoreError> {
        self.job("put_roster", move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut named: Vec<(&str, &str)> = rows.iter().map(|r| (r.date.as_str(), r.shift.as_str())).collect();
            named.sort_unstable();
            named.dedup();
            for (date, shift) in named {
                tx.prepare_cached("DELETE FROM roster WHERE date = ?1 AND shift = ?2")?.execute(params![date, shift])?;
            }
            for r in &rows {
                tx.prepare_cached(
                    "INSERT INTO roster (date, shift, team, agent, name, seat) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![r.date, r.shift, r.team, r.agent, r.name, r.seat])?;
            }
            insert_audit(&tx, &audit)?;
            tx.commit()?;
            Ok(rows.len())
        })
        .await
    }

    pub async fn roster(&self, date: String, shift: String) -> Result<Vec<RosterEntry>, StoreError> {
        self.job("roster", move |conn| {
            conn.prepare_cached(
                "SELECT date, shift, team, agent, name, seat FROM roster
                 WHERE date = ?1 AND shift = ?2 ORDER BY team, agent",
            )?
            .query_map(params![date, shift], |r| {
                Ok(RosterEntry {
                    date: r.get(0)?,
                    shift: r.get(1)?,
                    team: r.get(2)?,
                    agent: r.get(3)?,
                    name: r.get(4)?,
                    seat: r.get(5)?,
                })
            })?
            .collect()
        })
        .await
    }

    /// Keeps each agent's first sign-in per shift (later ones are ignored).
    pub async fn record_signins(&self, signins: Vec<Signin>) -> Result<(), StoreError> {
        self.job("record_signins", move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for s in &signins {
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO shift_signins (date, shift, agent, team, signed_in_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![s.date, s.shift, s.agent, s.team, s.at])?;
            }
            tx.commit()
        })
        .await
    }

    pub async fn signins(&self, date: String, shift: String) -> Result<Vec<Signin>, StoreError> {
        self.job("signins", move |conn| {
            conn.prepare_cached(
                "SELECT date, shift, agent, team, signed_in_at FROM shift_signins
                 WHERE date = ?1 AND shift = ?2 ORDER BY agent",
            )?
            .query_map(params![date, shift], |r| {
                Ok(Signin {
                    date: r.get(0)?,
                    shift: r.get(1)?,
                    agent: r.get(2)?,
                    team: r.get(3)?,
                    at: r.get(4)?,
                })
            })?
            .collect()
        })
        .await
    }

    /// A lead's reason for an absent agent; refused once the team's sheet is confirmed.
    pub async fn set_absence(
        &self,
        date: String,
        shift: String,
        a: AbsenceReason,
        audit: Audit,
    ) -> Result<SignoffOutcome, StoreError> {
        self.job("set_absence", move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if signoff(&tx, &date, &shift, &a.team)?.is_some() {
                return Ok(SignoffOutcome::AlreadyConfirmed);
            }
            tx.prepare_cached(
                "INSERT OR REPLACE INTO handover_absences
                    (date, shift, agent, team, reason, entered_by, entered_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                date,
                shift,
                a.agent,
                a.team,
                a.reason,
                a.entered_by,
                a.entered_at
            ])?;
            insert_audit(&tx, &audit)?;
            tx.commit()?;
            Ok(SignoffOutcome::Done)
        })
        .await
    }

    pub async fn absences(&self, date: String, shift: String) -> Result<Vec<AbsenceReason>, StoreError> {
        self.job("absences", move |conn| {
            conn.prepare_cached(
                "SELECT agent, team, reason, entered_by, entered_at FROM handover_absences
                 WHERE date = ?1 AND shift = ?2 ORDER BY agent",
            )?
            .query_map(params![date, shift], |r| {
                Ok(AbsenceReason {
                    agent: r.get(0)?,
                    team: r.get(1)?,
                    reason: r.get(2)?,
                    entered_by: r.get(3)?,
                    entered_at: r.get(4)?,
                })
            })?
            .collect()
        })
        .await
    }

    /// The lead's confirmation: freezes the team's sheet as given.
    pub async fn confirm_handover(
        &self,
        date: String,
        shift: String,
        s: Signoff,
        audit: Audit,
    ) -> Result<SignoffOutcome, StoreError> {
        self.job("confirm_handover", move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if signoff(&tx, &date, &shift, &s.team)?.is_some() {
                return Ok(SignoffOutcome::AlreadyConfirmed);
            }
            tx.prepare_cached(
                "INSERT INTO handover_signoffs (date, shift, team, sheet, confirmed_by, confirmed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![date, shift, s.team, s.sheet, s.confirmed_by, s.confirmed_at])?;
            insert_audit(&tx, &audit)?;
            tx.commit()?;
            Ok(SignoffOutcome::Done)
        })
        .await
    }

    /// The duty supervisor's countersignature: the sheet is archived from then on.
    /// `outgoing` is what the outgoing shift hands over as it stands now (JSON);
    /// the first countersignature of the shift's sheet freezes it, in the same
    /// transaction, and later ones leave the frozen one as it is.
    pub async fn countersign_handover(
        &self,
        date: String,
        shift: String,
        team: String,
        outgoing: String,
        audit: Audit,
    ) -> Result<SignoffOutcome, StoreError> {
        self.job("countersign_handover", move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            match signoff(&tx, &date, &shift, &team)? {
                None => return Ok(SignoffOutcome::NotConfirmed),
                Some(s) if s.countersigned_by.is_some() => return Ok(SignoffOutcome::AlreadyCountersigned),
                Some(_) => {}
            }
            tx.prepare_cached(
                "UPDATE handover_signoffs SET countersigned_by = ?4, countersigned_at = ?5
                 WHERE date = ?1 AND shift = ?2 AND team = ?3",
            )?
            .execute(params![date, shift, team, audit.actor, audit.at])?;
            tx.prepare_cached(
                "INSERT INTO handover_outgoing (date, shift, outgoing, frozen_by, frozen_at)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (date, shift) DO NOTHING",
            )?
            .execute(params![date, shift, outgoing, audit.actor, audit.at])?;
            insert_audit(&tx, &audit)?;
            tx.commit()?;
            Ok(SignoffOutcome::Done)
        })
        .await
    }

    /// What the outgoing shift handed over, as the first countersignature froze
    /// it: `(outgoing JSON, frozen_by, frozen_at)`, or None before that.
    pub async fn handover_outgoing(
        &self,
        date: String,
        shift: String,
    ) -> Result<Option<(String, String, i64)>, StoreError> {
        self.job("handover_outgoing", move |conn| {
            conn.prepare_cached(
                "SELECT outgoing, frozen_by, frozen_at FROM handover_outgoing WHERE date = ?1 AND shift = ?2",
            )?
            .query_row(params![date, shift], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()
        })
        .await
    }

    pub async fn signoffs(&self, date: String, shift: String) -> Result<Vec<Signoff>, StoreError> {
        self.job("signoffs", move |conn| {
            conn.prepare_cached(
                "SELECT team, sheet, confirmed_by, confirmed_at, countersigned_by, countersigned_at
                 FROM handover_signoffs WHERE date = ?1 AND shift = ?2 ORDER BY team",
            )?
            .query_map(params![date, shift], signoff_from_row)?
            .collect()
        })
        .await
    }

    pub async fn add_patrol(
        &self,
        team: String,
        note: Option<String>,
        audit: Audit,
    ) -> Result<PatrolRecord, StoreError> {
        self.job("add_patrol", move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.prepare_cached("INSERT INTO patrols (team, actor, at, note) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![team, audit.actor, audit.at, note])?;
            let id = tx.last_insert_rowid();
            let rec = PatrolRecord { id, team, actor: audit.actor.clone(), at: audit.at, note };
            let audit = Audit { target: Some(format!("patrol:{id}")), ..audit };
            insert_audit(&tx, &audit)?;
            tx.commit()?;
            Ok(rec)
        })
        .await
    }

    /// Newest first; `team` and `since_ms` filter.
    pub async fn list_patrols(
        &self,
        team: Option<String>,
        since_ms: Option<i64>,
        limit: usize,
    ) -> Result<Vec<PatrolRecord>, StoreError> {
        let limit = if limit == 0 { 1000 } else { limit.min(100_000) } as i64;
        self.job("list_patrols", move |conn| {
            conn.prepare_cached(
                "SELECT id, team, actor, at, note FROM patrols
                 WHERE (?1 IS NULL OR team = ?1) AND (?2 IS NULL OR at >= ?2)
                 ORDER BY at DESC, id DESC LIMIT ?3",
            )?
            .query_map(params![team, since_ms, limit], |r| {
                Ok(PatrolRecord {
                    id: r.get(0)?,
                    team: r.get(1)?,
                    actor: r.get(2)?,
                    at: r.get(3)?,
                    note: r.get(4)?,
                })
            })?
            .collect()
        })
        .await
    }

    /// Each team's newest patrol.
    pub async fn last_patrols(&self) -> Result<Vec<(String, i64)>, StoreError> {
        self.job("last_patrols", move |conn| {
            conn.prepare_cached("SELECT team, MAX(at) FROM patrols GROUP BY team ORDER BY team")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })
        .await
    }

    /// Overrun alerts started since `since_ms` whose record is missing or not final.
    pub async fn overrun_sources(&self, since_ms: i64) -> Result<Vec<OverrunSource>, StoreError> {
        self.job("overrun_sources", move |conn| {
            let mut out = Vec::new();
            let mut st = conn.prepare_cached(
                "SELECT a.id, a.kind, a.agent, a.team, a.started_at, a.resolved_at, a.threshold
                 FROM alerts a LEFT JOIN overruns o ON o.alert_id = a.id
                 WHERE a.kind IN ('acw_overrun', 'busy_overrun') AND a.started_at >= ?1
                   AND a.agent IS NOT NULL AND (o.id IS NULL OR o.final = 0)
                 ORDER BY a.started_at, a.id",
            )?;
            let rows = st.query_map([since_ms], |r| {
                let kind: String = r.get(1)?;
                Ok((
                    r.get::<_, String>(0)?,
                    kind,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                    r.get::<_, Option<f64>>(6)?,
                ))
            })?;
            for row in rows {
                let (alert_id, kind, agent, team, started_at, resolved_at, threshold) = row?;
                let Some(kind) = crate::vocab::Kind::parse(&kind) else { continue };
                let threshold_secs = threshold.filter(|t| t.is_finite()).map_or(0, |t| t.round() as i64);
                out.push(OverrunSource {
                    alert_id,
                    kind,
                    agent,
                    team,
                    started_at,
                    resolved_at,
                    threshold_secs,
                });
            }
            Ok(out)
        })
        .await
    }

    /// Inserts new drafts and updates the duration and tier of records not final;
    /// a record's review fields are never touched here.
    pub async fn write_overrun_drafts(&self, drafts: Vec<OverrunDraft>, now: i64) -> Result<(), StoreError> {
        self.job("write_overrun_drafts", move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for d in &drafts {
                let s = &d.source;
                tx.prepare_cached(
                    "INSERT INTO overruns (alert_id, agent, team, kind, reason, started_at, duration_secs,
                        threshold_secs, tier, final, status, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'draft', ?11)
                     ON CONFLICT (alert_id) DO UPDATE SET
                        duration_secs = excluded.duration_secs, tier = excluded.tier,
                        final = excluded.final, reason = COALESCE(overruns.reason, excluded.reason),
                        updated_at = excluded.updated_at
                     WHERE overruns.final = 0",
                )?
                .execute(params![
                    s.alert_id,
                    s.agent,
                    s.team,
                    s.kind.as_str(),
                    d.reason,
                    s.started_at,
                    d.duration_secs,
                    s.threshold_secs,
                    d.tier,
                    s.resolved_at.is_some(),
                    now
                ])?;
            }
            tx.commit()
        })
        .await
    }

    pub async fn list_overruns(&self, f: OverrunFilter) -> Result<Vec<OverrunRecord>, StoreError> {
        let limit = if f.limit == 0 { 1000 } else { f.limit.min(100_000) } as i64;
        self.job("list_overruns", move |conn| {
            conn.prepare_cached(concat!(
                "SELECT ",
                overrun_columns!(),
                " FROM overruns
                 WHERE (?1 IS NULL OR team = ?1) AND (?2 IS NULL OR agent = ?2) AND (?3 IS NULL OR status = ?3)
                   AND (?4 IS NULL OR started_at >= ?4) AND (?5 IS NULL OR started_at < ?5)
                 ORDER BY started_at DESC, id DESC LIMIT ?6"
            ))?
            .query_map(
                params![f.team, f.agent, f.status.map(OverrunStatus::as_str), f.from_ms, f.to_ms, limit],
                overrun_from_row,
            )?
            .collect()
        })
        .await
    }

    pub async fn get_overrun(&self, id: i64) -> Result<Option<OverrunRecord>, StoreError> {
        self.job("get_overrun", move |conn| get_overrun(conn, id)).await
    }

    /// Applies a person's step and its audit row in one transaction; `None` when
    /// there is no such record.
    pub async fn review_overrun(
        &self,
        id: i64,
        p: OverrunPatch,
        audit: Audit,
    ) -> Result<Option<OverrunRecord>, StoreError> {
        self.job("review_overrun", move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if get_overrun(&tx, id)?.is_none() {
                return Ok(None);
            }
            if let Some((status, note)) = &p.review {
                tx.prepare_cached(
                    "UPDATE overruns SET status = ?2, note = COALESCE(?3, note), reviewed_by = ?4,
                        reviewed_at = ?5, updated_at = ?5 WHERE id = ?1",
                )?
                .execute(params![id, status.as_str(), note, p.actor, p.at])?;
            }
            if let Some(e) = &p.explanation {
                tx.prepare_cached(
                    "UPDATE overruns SET explanation = ?2, explained_by = ?3, explained_at = ?4,
                        updated_at = ?4 WHERE id = ?1",
                )?
                .execute(params![id, e, p.actor, p.at])?;
            }
            if p.sign_off {
                tx.prepare_cached(
                    "UPDATE overruns SET signed_off_by = ?2, signed_off_at = ?3, updated_at = ?3 WHERE id = ?1",
                )?
                .execute(params![id, p.actor, p.at])?;
            }
            insert_audit(&tx, &audit)?;
            let rec = get_overrun(&tx, id)?;
            tx.commit()?;
            Ok(rec)
        })
        .await
    }

    /// Totals per agent (`by_team` false) or per team over `[from, to)`.
    pub async fn overrun_totals(
        &self,
        from: i64,
        to: i64,
        by_team: bool,
    ) -> Result<Vec<OverrunTotal>, StoreError> {
        self.job("overrun_totals", move |conn| {
            let sql = if by_team {
                "SELECT COALESCE(team, ''), MAX(team), COUNT(*), SUM(status = 'confirmed'), SUM(status = 'dismissed'),
                    SUM(status = 'draft'), SUM(duration_secs), SUM(CASE WHEN status = 'confirmed' THEN tier ELSE 0 END)
                 FROM overruns WHERE started_at >= ?1 AND started_at < ?2
                 GROUP BY COALESCE(team, '') ORDER BY 1"
            } else {
                "SELECT agent, MAX(team), COUNT(*), SUM(status = 'confirmed'), SUM(status = 'dismissed'),
                    SUM(status = 'draft'), SUM(duration_secs), SUM(CASE WHEN status = 'confirmed' THEN tier ELSE 0 END)
                 FROM overruns WHERE started_at >= ?1 AND started_at < ?2
                 GROUP BY agent ORDER BY 1"
            };
            conn.prepare_cached(sql)?
                .query_map(params![from, to], |r| {
                    Ok(OverrunTotal {
                        key: r.get(0)?,
                        team: r.get(1)?,
                        records: r.get::<_, i64>(2)?.max(0) as u64,
                        confirmed: r.get::<_, i64>(3)?.max(0) as u64,
                        dismissed: r.get::<_, i64>(4)?.max(0) as u64,
                        draft: r.get::<_, i64>(5)?.max(0) as u64,
                        duration_secs: r.get(6)?,
                        confirmed_tiers: r.get::<_, i64>(7)?.max(0) as u64,
                    })
                })?
                .collect()
        })
        .await
    }
}

fn signoff(conn: &Connection, date: &str, shift: &str, team: &str) -> rusqlite::Result<Option<Signoff>> {
    conn.prepare_cached(
        "SELECT team, sheet, confirmed_by, confirmed_at, countersigned_by, countersigned_at
         FROM handover_signoffs WHERE date = ?1 AND shift = ?2 AND team = ?3",
    )?
    .query_row(params![date, shift, team], signoff_from_row)
    .optional()
}

fn signoff_from_row(r: &Row<'_>) -> rusqlite::Result<Signoff> {
    Ok(Signoff {
        team: r.get(0)?,
        sheet: r.get(1)?,
        confirmed_by: r.get(2)?,
        confirmed_at: r.get(3)?,
        countersigned_by: r.get(4)?,
        countersigned_at: r.get(5)?,
    })
}

macro_rules! overrun_columns {
    () => {
        "id, alert_id, agent, team, kind, reason, started_at, duration_secs, threshold_secs, tier, final,
         status, note, reviewed_by, reviewed_at, explanation, explained_by, explained_at, signed_off_by,
         signed_off_at, updated_at"
    };
}
use overrun_columns;

fn get_overrun(conn: &Connection, id: i64) -> rusqlite::Result<Option<OverrunRecord>> {
    conn.prepare_cached(concat!("SELECT ", overrun_columns!(), " FROM overruns WHERE id = ?1"))?
        .query_row([id], overrun_from_row)
        .optional()
}

fn overrun_from_row(r: &Row<'_>) -> rusqlite::Result<OverrunRecord> {
    let bad = |i: usize, what: &str, v: String| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("unknown overrun {what} {v:?}").into(),
        )
    };
    let kind: String = r.get(4)?;
    let status: String = r.get(11)?;
    Ok(OverrunRecord {
        id: r.get(0)?,
        alert_id: r.get(1)?,
        agent: r.get(2)?,
        team: r.get(3)?,
        kind: crate::vocab::Kind::parse(&kind).ok_or_else(|| bad(4, "kind", kind.clone()))?,
        reason: r.get(5)?,
        started_at: r.get(6)?,
        duration_secs: r.get(7)?,
        threshold_secs: r.get(8)?,
        tier: r.get(9)?,
        is_final: r.get(10)?,
        status: OverrunStatus::parse(&status).ok_or_else(|| bad(11, "status", status.clone()))?,
        note: r.get(12)?,
        reviewed_by: r.get(13)?,
        reviewed_at: r.get(14)?,
        explanation: r.get(15)?,
        explained_by: r.get(16)?,
        explained_at: r.get(17)?,
        signed_off_by: r.get(18)?,
        signed_off_at: r.get(19)?,
        updated_at: r.get(20)?,
    })
}
