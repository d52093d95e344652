-- 1. orders: every order update, including an amend inside one millisecond.
--
-- The key of 0002, (account_id, order_id, exchange_ts, order_status, cum_exec_qty), made two
-- updates that differ only in price or qty (an amend stamped in the same millisecond as
-- the update before it) one row: the COPY writer dropped the second as a duplicate. price
-- and qty join the key. price is NULL for an order without one (capture stores a market
-- order's price 0 as NULL), and a primary key cannot hold NULL, so the key becomes a
-- UNIQUE constraint with NULLS NOT DISTINCT (PostgreSQL 15 or later): two deliveries of the
-- same price-less update are still one row. The partition key, exchange_ts, stays in the
-- key (PostgreSQL enforces uniqueness on a partitioned table only for keys containing it).
-- The new key is a superset of the old one, so no stored row conflicts with it.
-- daemons/db/copy_writer.py names the same columns as the orders natural key.

DO $$
BEGIN
    IF current_setting('server_version_num')::int < 150000 THEN
        RAISE EXCEPTION 'gridbot needs PostgreSQL 15 or later (this server is %)',
            current_setting('server_version');
    END IF;
END
$$;

ALTER TABLE orders DROP CONSTRAINT orders_pkey;
ALTER TABLE orders ADD CONSTRAINT orders_natural_key
    UNIQUE NULLS NOT DISTINCT (account_id, order_id, exchange_ts, order_status, cum_exec_qty,
                               price, qty);

-- 2. The application role keeps only the updates the application runs (0004 granted more).
--
-- Updates gridbot_app still runs, each in the owner's unit of work (RLS applies):
--   bybit_accounts.status                      accounts.set_status (gridbot accounts
--                                              enable/disable)
--   strategies.is_enabled                      strategies.set_enabled (gridbot strategies
--                                              enable/disable)
--   api_credentials.is_active, rotated_at,     credentials.rotate_credential
--   delete_after
--   runs.end_ts, status                        runs.finish_run
--   capture_gaps.filled, rows_recovered,       (0006)
--   detail
-- Revoked:
--   users.status, users.email: users.set_status runs in the admin context only (operator),
--     and nothing updates an e-mail; with the grant a suspended user's own unit of work
--     could set its status back to active.
--   strategies.config_json: a stored config is validated by GridConfig when it is added;
--     a direct UPDATE would store an unvalidated one. Nothing in the application changes a
--     stored config.
REVOKE UPDATE (email, status) ON users FROM gridbot_app;
REVOKE UPDATE (config_json) ON strategies FROM gridbot_app;
