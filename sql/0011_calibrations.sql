-- Calibrations of the QUEUE fill model (docs/validation.md, "Calibration"): the queue
-- assumed ahead of a new order, fitted per symbol on one window of a live run and judged
-- on the next, with the measured order latency and both scores. The newest of a user's
-- calibrations for a symbol is what later replays use by default.
CREATE TABLE calibrations (
    calibration_id  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         uuid NOT NULL DEFAULT gridbot_current_user_id(),
    run_id          uuid NOT NULL,
    symbol          text NOT NULL CHECK (symbol ~ '^[A-Z0-9]{2,32}$'),
    queue_ahead     numeric NOT NULL CHECK (queue_ahead >= 0),
    latency_ms      integer NOT NULL CHECK (latency_ms >= 0),
    fit_start       timestamptz NOT NULL,
    fit_end         timestamptz NOT NULL,
    test_start      timestamptz NOT NULL,
    test_end        timestamptz NOT NULL,
    in_sample       jsonb NOT NULL,
    out_of_sample   jsonb NOT NULL,
    tried           jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (run_id, user_id) REFERENCES runs (run_id, user_id) ON DELETE CASCADE,
    CHECK (fit_end > fit_start AND test_end > test_start AND test_start >= fit_end)
);
CREATE INDEX calibrations_symbol ON calibrations (user_id, symbol, created_at);

GRANT SELECT, INSERT ON calibrations TO gridbot_app;
ALTER TABLE calibrations ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON calibrations
    USING (user_id = gridbot_current_user_id())
    WITH CHECK (user_id = gridbot_current_user_id());
