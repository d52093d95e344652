-- The trading daemon (docs/trading.md): per-strategy mode and safety caps, the latch a
-- tripped loss cap sets, and the engine journal (every event a live or shadow engine was
-- fed, in the order it was fed), so a run's decisions can be replayed exactly.

-- 'live' sends orders; 'shadow' records what it would send and fills it from the live
-- public trades with the backtest's fill model.
ALTER TABLE strategies
    ADD COLUMN mode text NOT NULL DEFAULT 'live' CHECK (mode IN ('live', 'shadow')),
    -- Safety caps, off when absent: max_open_orders (integer), max_position_notional and
    -- max_session_loss (USDT, as decimal strings).
    ADD COLUMN caps jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(caps) = 'object'),
    -- Set by the daemon when the session-loss cap trips; the strategy then places nothing
    -- until an operator clears it (gridbot strategies clear-latch).
    ADD COLUMN latched_at timestamptz,
    ADD COLUMN latch_reason text CHECK (latch_reason IS NULL OR length(latch_reason) <= 500);

CREATE TABLE engine_inputs (
    user_id      uuid NOT NULL DEFAULT gridbot_current_user_id(),
    account_id   uuid,
    run_id       uuid NOT NULL,
    seq          bigint NOT NULL,
    kind         text NOT NULL,
    exchange_ts  timestamptz NOT NULL,
    local_ts     timestamptz NOT NULL,
    event        jsonb NOT NULL,
    PRIMARY KEY (run_id, seq, exchange_ts),
    FOREIGN KEY (run_id, user_id) REFERENCES runs (run_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (account_id, user_id)
        REFERENCES bybit_accounts (account_id, user_id) ON DELETE CASCADE
) PARTITION BY RANGE (exchange_ts);
CREATE TABLE engine_inputs_default PARTITION OF engine_inputs DEFAULT;
INSERT INTO partition_policies (table_name, retention_months, expiry_action)
    VALUES ('engine_inputs', 3, 'archive');

GRANT SELECT, INSERT ON engine_inputs TO gridbot_app;
GRANT UPDATE (latched_at, latch_reason) ON strategies TO gridbot_app;
ALTER TABLE engine_inputs ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON engine_inputs
    USING (user_id = gridbot_current_user_id())
    WITH CHECK (user_id = gridbot_current_user_id());

CREATE INDEX runs_strategy ON runs (strategy_id, start_ts);

-- Partitions for the new table's current month and the three after it, as 0003 did.
SELECT count(*) FROM gridbot_ensure_partitions(3, 0);
