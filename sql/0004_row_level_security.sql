-- Row-level security: the application role (gridbot_app) sees and writes only the rows of
-- the user named by the session setting gridbot.user_id, which the data layer sets with
-- SET LOCAL at the start of every unit of work (daemons/db/session.py).
--
-- The owner (migrations, maintenance, operator commands in the explicit admin context) is
-- not subject to these policies: RLS is enabled but not FORCEd, and gridbot_app owns
-- nothing and has no BYPASSRLS. Privileges are granted on the partitioned parents only:
-- partitions (including DEFAULT and archived ones) are unreachable to gridbot_app, so
-- the parents' policies cannot be sidestepped by naming a partition.

GRANT USAGE ON SCHEMA public TO gridbot_app;

-- Shared market data: no tenant, readable and appendable by the application.
GRANT SELECT, INSERT ON public_trades, tickers, funding_rates TO gridbot_app;

-- Tenant tables.
GRANT SELECT, UPDATE (email, status) ON users TO gridbot_app;
GRANT SELECT, INSERT, UPDATE (status) ON bybit_accounts TO gridbot_app;
GRANT SELECT, INSERT, DELETE ON api_credentials TO gridbot_app;
GRANT UPDATE (is_active, rotated_at, delete_after) ON api_credentials TO gridbot_app;
GRANT SELECT, INSERT, UPDATE (config_json, is_enabled), DELETE ON strategies TO gridbot_app;
GRANT SELECT, INSERT, UPDATE (end_ts, status) ON runs TO gridbot_app;
GRANT SELECT, INSERT ON orders, private_executions, positions, wallets, engine_decisions,
    raw_quarantine TO gridbot_app;

DO $$
DECLARE
    v_table text;
BEGIN
    FOREACH v_table IN ARRAY ARRAY['users', 'bybit_accounts', 'api_credentials', 'strategies',
                                   'runs', 'orders', 'private_executions', 'positions',
                                   'wallets', 'engine_decisions']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', v_table);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I'
                       ' USING (user_id = gridbot_current_user_id())'
                       ' WITH CHECK (user_id = gridbot_current_user_id())', v_table);
    END LOOP;
END
$$;

-- Quarantined public-stream messages (no tenant) are visible to every tenant.
ALTER TABLE raw_quarantine ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON raw_quarantine
    USING (user_id IS NULL OR user_id = gridbot_current_user_id())
    WITH CHECK (user_id IS NULL OR user_id = gridbot_current_user_id());
