//! The agent state log: every closed interval of an agent's state, for the
//! KPI reports' agent-time figures (`qa::report`).
//!
//! Written by [`StoreHandle::keep_states`], a task beside the engine, the
//! way the call log is: the engine hands each round's closed states over a
//! bounded lossless channel and never waits for a COMMIT; the task merges what
//! queued up into one transaction (a batch insert on the writer thread) and
//! purges intervals that ended more than `[qa] keep_days` ago once a day, in
//! chunks of [`super::retention::CHUNK_ROWS`].

use rusqlite::{Row, TransactionBehavior, params};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::retention::{CHUNK_ROWS, EngineLog, keep_log};
use super::{StoreError, StoreHandle};
use crate::engine::StateSpan;
use crate::event::AgentState;

/// One row of the state log: `[from_ms, to_ms)` UTC ms, event time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateRow {
    pub agent: String,
    /// The agent's team when the state began.
    pub team: Option<String>,
    pub state: AgentState,
    /// The not-ready reason.
    pub reason: Option<String>,
    pub from_ms: i64,
    pub to_ms: i64,
}

impl From<StateSpan> for StateRow {
    fn from(s: StateSpan) -> StateRow {
        StateRow {
            agent: s.agent.to_string(),
            team: s.team.map(|t| t.to_string()),
            state: s.state,
            reason: s.reason.map(|r| r.to_string()),
            from_ms: s.from,
            to_ms: s.to,
        }
    }
}

fn state_row(r: &Row<'_>) -> rusqlite::Result<StateRow> {
    let state: String = r.get(2)?;
    let state = AgentState::parse(&state).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            2,
            rusqlite::types::Type::Text,
            format!("unknown agent state {state:?}").into(),
        )
    })?;
    Ok(StateRow {
        agent: r.get(0)?,
        team: r.get(1)?,
        state,
        reason: r.get(3)?,
        from_ms: r.get(4)?,
        to_ms: r.get(5)?,
    })
}

impl StoreHandle {
    /// Keeps the intervals (one already kept, same agent and start, is left as
    /// it is), in one transaction; returns after COMMIT.
    pub async fn save_states(&self, rows: Vec<StateRow>) -> Result<(), StoreError> {
        self.job("save_states", move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut st = tx.prepare_cached(
                    "INSERT OR IGNORE INTO agent_states (agent, team, state, reason, from_ms, to_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                for r in &rows {
                    st.execute(params![r.agent, r.team, r.state.as_str(), r.reason, r.from_ms, r.to_ms])?;
                }
            }
            tx.commit()
        })
        .await
    }

    /// The intervals that overlap `[from_ms, to_ms)` (whole: the report clips
    /// them), by start.
    pub async fn list_states(&self, from_ms: i64, to_ms: i64) -> Result<Vec<StateRow>, StoreError> {
        self.job("list_states", move |conn| {
            conn.prepare_cached(
                "SELECT agent, team, state, reason, from_ms, to_ms FROM agent_states
                 WHERE to_ms > ?1 AND from_ms < ?2 ORDER BY from_ms, agent",
            )?
            .query_map(params![from_ms, to_ms], state_row)?
            .collect()
        })
        .await
    }

    /// Deletes every interval that ended before `before_ms`, chunk by chunk
    /// (each chunk its own command); how many went.
    pub async fn purge_states(&self, before_ms: i64) -> Result<usize, StoreError> {
        let mut total = 0;
        loop {
            let n = self
                .job("purge_states", move |conn| {
                    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                    // WITHOUT ROWID: delete by the key.
                    let n = tx.execute(
                        "DELETE FROM agent_states WHERE (agent, from_ms) IN
                            (SELECT agent, from_ms FROM agent_states WHERE to_ms < ?1 LIMIT ?2)",
                        params![before_ms, CHUNK_ROWS as i64],
                    )?;
                    tx.commit()?;
                    Ok(n)
                })
                .await?;
            total += n;
            if n < CHUNK_ROWS {
                return Ok(total);
            }
        }
    }

    /// Starts the state log's writer ([`keep_log`]): intervals that ended
    /// more than `keep_days` ago (0: never) go once a day of `now_ms`.
    pub fn keep_states(
        &self,
        rx: mpsc::Receiver<Vec<StateSpan>>,
        keep_days: u32,
        now_ms: impl Fn() -> i64 + Send + 'static,
    ) -> JoinHandle<()> {
        keep_log::<StateLog>(self.clone(), rx, keep_days, now_ms)
    }
}

/// The state log as [`keep_log`] runs it.
struct StateLog;

impl EngineLog for StateLog {
    type Item = StateSpan;
    const WHAT: &'static str = "agent state log";

    fn save(
        store: &StoreHandle,
        items: Vec<StateSpan>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        store.save_states(items.into_iter().map(StateRow::from).collect())
    }

    fn purge(store: &StoreHandle, before_ms: i64) -> impl Future<Output = Result<usize, StoreError>> + Send {
        store.purge_states(before_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(agent: &str, state: AgentState, reason: Option<&str>, from_ms: i64, to_ms: i64) -> StateRow {
        StateRow {
            agent: agent.into(),
            team: Some("team-1".into()),
            state,
            reason: reason.map(str::to_owned),
            from_ms,
            to_ms,
        }
    }

    /// Kept rows come back whole for the periods they overlap (and only
    /// those); a second save of the same interval is ignored; the purge goes
    /// by the end of the interval.
    #[tokio::test]
    async fn states_are_kept_listed_by_overlap_and_purged_by_their_end() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = StoreHandle::open(dir.path()).expect("store opens");
        let rows = vec![
            row("A1", AgentState::Ready, None, 1_000, 5_000),
            row("A1", AgentState::NotReady, Some("lunch"), 5_000, 9_000),
            row("A2", AgentState::Talking, None, 8_000, 20_000),
        ];
        store.save_states(rows.clone()).await.expect("saved");
        store.save_states(vec![row("A1", AgentState::Acw, None, 1_000, 2_000)]).await.expect("ignored");
        assert_eq!(store.list_states(0, 100_000).await.expect("listed"), rows);
        assert_eq!(store.list_states(5_000, 8_000).await.expect("listed"), rows[1..2]);
        assert_eq!(store.list_states(8_500, 8_600).await.expect("listed"), rows[1..]);
        assert_eq!(store.list_states(20_000, 30_000).await.expect("listed"), []);
        assert_eq!(store.purge_states(9_001).await.expect("purged"), 2);
        assert_eq!(store.list_states(0, 100_000).await.expect("listed"), rows[2..]);
    }
}
