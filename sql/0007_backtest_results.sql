-- Backtest results and engine snapshots.
--
-- A backtest is a `runs` row of type 'backtest'; its simulated executions, equity curve and
-- summary hang off it here. engine_snapshots hold a live (or shadow) engine's saved state
-- over time, so that a replay of a live window can start exactly where the live engine
-- stood (gridcore's GridEngine.save_state / restore). Like every tenant table, rows carry
-- the owner's user_id and are visible to that user only.

CREATE TABLE backtest_results (
    run_id        uuid PRIMARY KEY,
    user_id       uuid NOT NULL DEFAULT gridbot_current_user_id(),
    symbol        text NOT NULL,
    source        text NOT NULL,
    fill_model    text NOT NULL
                  CHECK (fill_model IN ('OPTIMISTIC', 'CONSERVATIVE', 'PESSIMISTIC', 'QUEUE')),
    window_start  timestamptz NOT NULL,
    window_end    timestamptz NOT NULL,
    events        bigint NOT NULL CHECK (events >= 0),
    params        jsonb NOT NULL,
    summary       jsonb NOT NULL,
    digest        text NOT NULL CHECK (digest ~ '^[0-9a-f]{64}$'),
    seeded_from   uuid,
    FOREIGN KEY (run_id, user_id) REFERENCES runs (run_id, user_id) ON DELETE CASCADE
);

CREATE TABLE sim_executions (
    run_id         uuid NOT NULL,
    user_id        uuid NOT NULL DEFAULT gridbot_current_user_id(),
    seq            integer NOT NULL,
    exchange_ts    timestamptz NOT NULL,
    exec_id        text NOT NULL,
    order_id       text NOT NULL,
    order_link_id  text NOT NULL,
    side           text NOT NULL CHECK (side IN ('Buy', 'Sell')),
    exec_price     numeric(20, 8) NOT NULL,
    exec_qty       numeric(20, 8) NOT NULL CHECK (exec_qty > 0),
    exec_fee       numeric NOT NULL,
    realised_pnl   numeric NOT NULL,
    position_idx   smallint NOT NULL CHECK (position_idx IN (1, 2)),
    PRIMARY KEY (run_id, seq),
    FOREIGN KEY (run_id, user_id) REFERENCES runs (run_id, user_id) ON DELETE CASCADE
);
CREATE INDEX sim_executions_link ON sim_executions (run_id, order_link_id);

CREATE TABLE equity_points (
    run_id          uuid NOT NULL,
    user_id         uuid NOT NULL DEFAULT gridbot_current_user_id(),
    ts              timestamptz NOT NULL,
    balance         numeric NOT NULL,
    unrealised_pnl  numeric NOT NULL,
    equity          numeric NOT NULL,
    PRIMARY KEY (run_id, ts),
    FOREIGN KEY (run_id, user_id) REFERENCES runs (run_id, user_id) ON DELETE CASCADE
);

CREATE TABLE engine_snapshots (
    run_id       uuid NOT NULL,
    user_id      uuid NOT NULL DEFAULT gridbot_current_user_id(),
    exchange_ts  timestamptz NOT NULL,
    state        jsonb NOT NULL,
    PRIMARY KEY (run_id, exchange_ts),
    FOREIGN KEY (run_id, user_id) REFERENCES runs (run_id, user_id) ON DELETE CASCADE
);

GRANT SELECT, INSERT ON backtest_results, sim_executions, equity_points, engine_snapshots
    TO gridbot_app;

DO $$
DECLARE
    v_table text;
BEGIN
    FOREACH v_table IN ARRAY ARRAY['backtest_results', 'sim_executions', 'equity_points',
                                   'engine_snapshots']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', v_table);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I'
                       ' USING (user_id = gridbot_current_user_id())'
                       ' WITH CHECK (user_id = gridbot_current_user_id())', v_table);
    END LOOP;
END
$$;
