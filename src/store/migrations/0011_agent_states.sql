-- The agent state log (issue 21, KPI reports): every closed interval of an
-- agent's state, as the engine closed it when the agent changed state or
-- logged out. Times are event times (UTC ms), `[from_ms, to_ms)`. Kept
-- `[qa] keep_days` (by `to_ms`), like the call log. Not a user entry: a
-- restart that replays a stream writes the same rows again, which the key
-- ignores.
CREATE TABLE agent_states (
    agent   TEXT NOT NULL,
    from_ms INTEGER NOT NULL,
    to_ms   INTEGER NOT NULL CHECK (to_ms > from_ms),
    -- The agent's team when the state began.
    team    TEXT,
    state   TEXT NOT NULL
            CHECK (state IN ('ready', 'ringing', 'talking', 'hold', 'acw', 'not_ready')),
    -- The not-ready reason; NULL for the other states.
    reason  TEXT,
    -- One agent's intervals never overlap, so one starts at a given instant.
    PRIMARY KEY (agent, from_ms)
) STRICT, WITHOUT ROWID;

-- Reports ask for the intervals that end after a period starts (and begin
-- before it ends); the purge deletes by the end too.
CREATE INDEX agent_states_to ON agent_states (to_ms);
