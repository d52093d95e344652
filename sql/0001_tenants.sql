-- Tenancy: users own Bybit accounts; an account owns its credentials, strategies and runs.
--
-- Every tenant table carries user_id, kept consistent with the owning account by a
-- composite foreign key (account_id, user_id) -> bybit_accounts, so that row-level security
-- (0004) can be a plain "user_id = current user" test on every table. user_id defaults to
-- the session's current user (gridbot.user_id), which the data layer sets for each unit
-- of work.

-- The application role: logs in (embedded server: trust on a private Unix socket), is no
-- superuser, cannot bypass row-level security and owns nothing.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gridbot_app') THEN
        CREATE ROLE gridbot_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'gridbot_app'
               AND (rolsuper OR rolbypassrls)) THEN
        RAISE EXCEPTION 'role gridbot_app must not be superuser or BYPASSRLS';
    END IF;
    -- An owner that is not superuser needs membership to SET ROLE gridbot_app.
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT gridbot_app TO %I', current_user);
    END IF;
END
$$;

-- The tenant of the current unit of work, or NULL (then tenant tables show no rows).
CREATE FUNCTION gridbot_current_user_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('gridbot.user_id', true), '')::uuid $$;

CREATE FUNCTION gridbot_touch_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;

CREATE TABLE users (
    user_id     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username    text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    email       text CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    status      text NOT NULL DEFAULT 'active'
                CHECK (status IN ('active', 'suspended', 'deleted')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE TRIGGER users_touch BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION gridbot_touch_updated_at();

CREATE TABLE bybit_accounts (
    account_id    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL DEFAULT gridbot_current_user_id()
                  REFERENCES users ON DELETE CASCADE,
    account_name  text NOT NULL CHECK (account_name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
    environment   text NOT NULL CHECK (environment IN ('mainnet', 'testnet', 'local')),
    status        text NOT NULL DEFAULT 'enabled'
                  CHECK (status IN ('enabled', 'disabled', 'error')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, account_name),
    UNIQUE (account_id, user_id)  -- target of the tenant tables' composite foreign keys
);
CREATE TRIGGER bybit_accounts_touch BEFORE UPDATE ON bybit_accounts
    FOR EACH ROW EXECUTE FUNCTION gridbot_touch_updated_at();

-- Envelope encryption (docs/secrets.md): the secret is encrypted by a per-credential data
-- key, the data key by the master key named in encryption_key_id. Nothing here is usable
-- without the master key, which never enters the database.
CREATE TABLE api_credentials (
    credential_id       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id             uuid NOT NULL DEFAULT gridbot_current_user_id(),
    account_id          uuid NOT NULL,
    api_key_id          text NOT NULL CHECK (api_key_id ~ '^[A-Za-z0-9_-]{1,128}$'),
    encrypted_secret    bytea NOT NULL,
    encrypted_data_key  bytea NOT NULL,
    encryption_key_id   text NOT NULL,
    is_active           boolean NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL DEFAULT now(),
    rotated_at          timestamptz,
    delete_after        timestamptz,
    FOREIGN KEY (account_id, user_id)
        REFERENCES bybit_accounts (account_id, user_id) ON DELETE CASCADE,
    UNIQUE (account_id, api_key_id),
    CHECK (is_active OR rotated_at IS NOT NULL)
);
CREATE UNIQUE INDEX api_credentials_one_active ON api_credentials (account_id) WHERE is_active;
CREATE INDEX api_credentials_key_id ON api_credentials (encryption_key_id);

-- strategy_id is a short bigint: gridcore embeds it in order link ids (36 chars at most).
CREATE TABLE strategies (
    strategy_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id        uuid NOT NULL DEFAULT gridbot_current_user_id(),
    account_id     uuid NOT NULL,
    strategy_type  text NOT NULL DEFAULT 'grid' CHECK (strategy_type IN ('grid')),
    symbol         text NOT NULL CHECK (symbol ~ '^[A-Z0-9]{2,32}$'),
    config_json    jsonb NOT NULL CHECK (jsonb_typeof(config_json) = 'object'),
    is_enabled     boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (account_id, user_id)
        REFERENCES bybit_accounts (account_id, user_id) ON DELETE CASCADE,
    UNIQUE (account_id, symbol),
    UNIQUE (strategy_id, user_id)
);
CREATE TRIGGER strategies_touch BEFORE UPDATE ON strategies
    FOR EACH ROW EXECUTE FUNCTION gridbot_touch_updated_at();

CREATE TABLE runs (
    run_id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id           uuid NOT NULL DEFAULT gridbot_current_user_id()
                      REFERENCES users ON DELETE CASCADE,
    account_id        uuid,
    strategy_id       bigint,
    run_type          text NOT NULL CHECK (run_type IN ('live', 'backtest', 'shadow')),
    gridcore_version  text NOT NULL,
    config_snapshot   jsonb NOT NULL,
    start_ts          timestamptz NOT NULL DEFAULT now(),
    end_ts            timestamptz,
    status            text NOT NULL DEFAULT 'running'
                      CHECK (status IN ('running', 'completed', 'failed', 'stopped')),
    FOREIGN KEY (account_id, user_id)
        REFERENCES bybit_accounts (account_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (strategy_id, user_id)
        REFERENCES strategies (strategy_id, user_id) ON DELETE SET NULL (strategy_id),
    UNIQUE (run_id, user_id),
    CHECK (run_type = 'backtest' OR account_id IS NOT NULL),
    CHECK (end_ts IS NULL OR end_ts >= start_ts)
);
CREATE INDEX runs_account ON runs (account_id, start_ts);

-- Rotated-out API credentials are kept for a grace period, then deleted by this function
-- (called by `gridbot credentials rotate` and by scheduled maintenance).
CREATE FUNCTION gridbot_purge_rotated_credentials(p_now timestamptz DEFAULT now())
    RETURNS integer
    LANGUAGE sql
    AS $$
        WITH gone AS (
            DELETE FROM api_credentials
            WHERE NOT is_active AND delete_after IS NOT NULL AND delete_after <= p_now
            RETURNING 1
        )
        SELECT count(*)::integer FROM gone
    $$;
