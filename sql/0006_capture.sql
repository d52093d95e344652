-- Capture gaps: every window in which the capture daemon may have missed events.
--
-- The reconciler records each gap it detects (a reconnect, a jump in a trade sequence, a
-- silent stream, the daemon's own downtime) with its time window, and whether REST filled
-- it. A gap that could not be filled (more public trades lost than /v5/market/recent-trade
-- returns, a REST failure) stays filled = false: validation reports treat that window as
-- unknown instead of trusting it. Nothing is ever silently ignored.
--
-- Public-stream gaps (public trades, tickers) have no tenant: user_id and account_id are
-- NULL. Private-stream gaps belong to the account's user, and row-level security applies
-- as on the other tenant tables (0004); public gaps are visible to every tenant, as in
-- raw_quarantine.

CREATE TABLE capture_gaps (
    gap_id        uuid PRIMARY KEY,
    user_id       uuid DEFAULT gridbot_current_user_id(),
    account_id    uuid,
    stream        text NOT NULL,
    symbol        text,
    window_start  timestamptz NOT NULL,
    window_end    timestamptz NOT NULL,
    reason        text NOT NULL,
    detected_at   timestamptz NOT NULL DEFAULT now(),
    filled        boolean NOT NULL,
    rows_recovered integer NOT NULL DEFAULT 0,
    detail        text,
    FOREIGN KEY (account_id, user_id)
        REFERENCES bybit_accounts (account_id, user_id) ON DELETE CASCADE,
    CHECK ((user_id IS NULL) = (account_id IS NULL)),
    CHECK (window_end >= window_start)
);
CREATE INDEX capture_gaps_open ON capture_gaps (stream, symbol, window_start) WHERE NOT filled;
CREATE INDEX capture_gaps_detected ON capture_gaps (detected_at);

GRANT SELECT, INSERT ON capture_gaps TO gridbot_app;
GRANT UPDATE (filled, rows_recovered, detail) ON capture_gaps TO gridbot_app;

ALTER TABLE capture_gaps ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON capture_gaps
    USING (user_id IS NULL OR user_id = gridbot_current_user_id())
    WITH CHECK (user_id IS NULL OR user_id = gridbot_current_user_id());
