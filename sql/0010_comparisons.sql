-- Comparisons of a live (or shadow) run with its seeded replays (docs/validation.md,
-- "Comparison"; gridbot compare, gridbot compare --watch).
--
-- One comparisons row per check of a run's window: the window, the order latency measured
-- from the run's acknowledgements (and the one the replays ran with), the overall verdict
-- and where its reports were written (with the SHA-256 of the JSON report). Per fill model
-- a comparison_results row: every metric with its value and verdict, the model's overall
-- verdict, PnL and the first diverging decision. comparison_fills holds the model's pairs
-- and every unmatched or far-off order with its reason, so "which fills, and why" is a
-- query, not a file. Rows are written once (SELECT and INSERT only) and, like every tenant
-- table, carry the owner's user_id and are visible to that user only.

CREATE TABLE comparisons (
    comparison_id  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id        uuid NOT NULL DEFAULT gridbot_current_user_id(),
    run_id         uuid NOT NULL,
    symbol         text NOT NULL,
    window_start   timestamptz NOT NULL,
    window_end     timestamptz NOT NULL,
    latency        jsonb NOT NULL CHECK (jsonb_typeof(latency) = 'object'),
    passed         boolean NOT NULL,
    origin         text NOT NULL CHECK (origin IN ('cli', 'watch', 'pipeline')),
    report_dir     text,
    report_digest  text CHECK (report_digest ~ '^[0-9a-f]{64}$'),
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (comparison_id, user_id),
    FOREIGN KEY (run_id, user_id) REFERENCES runs (run_id, user_id) ON DELETE CASCADE,
    CHECK (window_end > window_start)
);
CREATE INDEX comparisons_run ON comparisons (run_id, created_at);

CREATE TABLE comparison_results (
    comparison_id  uuid NOT NULL,
    user_id        uuid NOT NULL DEFAULT gridbot_current_user_id(),
    fill_model     text NOT NULL
                   CHECK (fill_model IN ('OPTIMISTIC', 'CONSERVATIVE', 'PESSIMISTIC', 'QUEUE')),
    passed         boolean NOT NULL,
    metrics        jsonb NOT NULL CHECK (jsonb_typeof(metrics) = 'array'),
    verdicts       jsonb NOT NULL CHECK (jsonb_typeof(verdicts) = 'object'),
    live_pnl       numeric NOT NULL,
    pnl            numeric NOT NULL,
    pairs          integer NOT NULL CHECK (pairs >= 0),
    missed         integer NOT NULL CHECK (missed >= 0),
    phantom        integer NOT NULL CHECK (phantom >= 0),
    divergence     jsonb,
    PRIMARY KEY (comparison_id, fill_model),
    FOREIGN KEY (comparison_id, user_id)
        REFERENCES comparisons (comparison_id, user_id) ON DELETE CASCADE
);

CREATE TABLE comparison_fills (
    comparison_id  uuid NOT NULL,
    user_id        uuid NOT NULL DEFAULT gridbot_current_user_id(),
    fill_model     text NOT NULL,
    seq            integer NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('pair', 'missed', 'phantom', 'far-off')),
    reason         text CHECK (reason IN ('queue', 'latency', 'data gap', 'engine divergence')),
    detail         text,
    live_link_id   text,
    live_ts        timestamptz,
    live_price     numeric(20, 8),
    live_qty       numeric(20, 8),
    sim_link_id    text,
    sim_ts         timestamptz,
    sim_price      numeric(20, 8),
    sim_qty        numeric(20, 8),
    PRIMARY KEY (comparison_id, fill_model, seq),
    FOREIGN KEY (comparison_id, fill_model)
        REFERENCES comparison_results (comparison_id, fill_model) ON DELETE CASCADE,
    FOREIGN KEY (comparison_id, user_id)
        REFERENCES comparisons (comparison_id, user_id) ON DELETE CASCADE,
    CHECK ((kind = 'pair') = (reason IS NULL)),
    CHECK (kind = 'phantom' OR live_link_id IS NOT NULL),
    CHECK (kind = 'missed' OR sim_link_id IS NOT NULL)
);

GRANT SELECT, INSERT ON comparisons, comparison_results, comparison_fills TO gridbot_app;

DO $$
DECLARE
    v_table text;
BEGIN
    FOREACH v_table IN ARRAY ARRAY['comparisons', 'comparison_results', 'comparison_fills']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', v_table);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I'
                       ' USING (user_id = gridbot_current_user_id())'
                       ' WITH CHECK (user_id = gridbot_current_user_id())', v_table);
    END LOOP;
END
$$;
