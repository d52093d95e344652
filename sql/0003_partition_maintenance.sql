-- Partition maintenance, in SQL so that the CLI, the daemons and Dagster assets call the
-- same code (daemons/db/partitions.py wraps it). Run these as the owner (admin context).
--
--   gridbot_ensure_partitions(months_ahead, months_behind)  create missing monthly partitions
--   gridbot_default_partition_strays()                      rows caught by DEFAULT partitions
--   gridbot_adopt_strays()                                  give those rows their partitions
--   gridbot_expire_partitions(now)                          detach + drop/archive old months
--
-- Partitions are UTC calendar months named <table>_pYYYY_MM. Creating a month whose rows
-- already sit in the DEFAULT partition moves them into the new partition first (a plain
-- CREATE ... PARTITION OF would fail on them), so maintenance never needs a human.

CREATE SCHEMA IF NOT EXISTS archive;

-- Retention per table: NULL keeps every month; 'archive' moves an expired partition to the
-- archive schema (for export, then DROP by the operator or an asset), 'drop' deletes it.
CREATE TABLE partition_policies (
    table_name        text PRIMARY KEY,
    retention_months  integer CHECK (retention_months IS NULL OR retention_months >= 1),
    expiry_action     text NOT NULL DEFAULT 'archive' CHECK (expiry_action IN ('drop', 'archive'))
);
INSERT INTO partition_policies (table_name, retention_months, expiry_action) VALUES
    ('public_trades', 12, 'archive'),
    ('tickers', 3, 'drop'),
    ('funding_rates', NULL, 'archive'),
    ('orders', NULL, 'archive'),
    ('private_executions', NULL, 'archive'),
    ('positions', 12, 'archive'),
    ('wallets', 12, 'archive'),
    ('engine_decisions', 12, 'archive'),
    ('raw_quarantine', 3, 'drop');

CREATE FUNCTION gridbot_partition_key(p_table text) RETURNS text
    LANGUAGE sql STABLE
    AS $$
        SELECT a.attname::text
        FROM pg_partitioned_table p
        JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
        WHERE p.partrelid = p_table::regclass
    $$;

CREATE FUNCTION gridbot_month_start(p_ts timestamptz) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT date_trunc('month', p_ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' $$;

-- Create the partition of p_table holding the UTC month of p_month (a no-op returning NULL
-- when it exists); rows of that month found in the DEFAULT partition are moved into it.
CREATE FUNCTION gridbot_create_month_partition(p_table text, p_month timestamptz)
    RETURNS text
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_start   timestamptz := gridbot_month_start(p_month);
    v_end     timestamptz := gridbot_month_start(p_month) + interval '1 month';
    v_name    text := p_table || '_p' || to_char(p_month AT TIME ZONE 'UTC', 'YYYY_MM');
    v_key     text := gridbot_partition_key(p_table);
    v_default text := p_table || '_default';
    v_strays  boolean;
BEGIN
    IF v_key IS NULL THEN
        RAISE EXCEPTION 'table % is not range-partitioned', p_table;
    END IF;
    IF to_regclass(format('public.%I', v_name)) IS NOT NULL THEN
        RETURN NULL;
    END IF;
    -- Serialise with concurrent maintenance and with writers of the DEFAULT partition.
    EXECUTE format('LOCK TABLE %I IN SHARE ROW EXCLUSIVE MODE', v_default);
    IF to_regclass(format('public.%I', v_name)) IS NOT NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I >= $1 AND %I < $2)',
                   v_default, v_key, v_key)
        INTO v_strays USING v_start, v_end;
    IF NOT v_strays THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                       v_name, p_table, v_start, v_end);
    ELSE
        EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                       v_name, p_table);
        EXECUTE format('WITH moved AS (DELETE FROM %I WHERE %I >= $1 AND %I < $2 RETURNING *)'
                       ' INSERT INTO %I SELECT * FROM moved',
                       v_default, v_key, v_key, v_name)
            USING v_start, v_end;
        EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                       p_table, v_name, v_start, v_end);
    END IF;
    RETURN v_name;
END
$$;

-- Make sure every policy table has partitions from p_months_behind months before the
-- month of p_now to p_months_ahead months after it. Returns the partitions created.
CREATE FUNCTION gridbot_ensure_partitions(
    p_months_ahead integer DEFAULT 3,
    p_months_behind integer DEFAULT 0,
    p_now timestamptz DEFAULT now()
) RETURNS TABLE (table_name text, partition_name text)
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_table text;
    v_offset integer;
    v_created text;
BEGIN
    FOR v_table IN SELECT pp.table_name FROM partition_policies pp ORDER BY 1 LOOP
        FOR v_offset IN -p_months_behind .. p_months_ahead LOOP
            v_created := gridbot_create_month_partition(
                v_table, gridbot_month_start(p_now) + make_interval(months => v_offset));
            IF v_created IS NOT NULL THEN
                table_name := v_table;
                partition_name := v_created;
                RETURN NEXT;
            END IF;
        END LOOP;
    END LOOP;
END
$$;

-- Rows that landed in a DEFAULT partition because their month had no partition.
CREATE FUNCTION gridbot_default_partition_strays()
    RETURNS TABLE (table_name text, row_count bigint, oldest timestamptz, newest timestamptz)
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_table text;
    v_key text;
BEGIN
    FOR v_table IN SELECT pp.table_name FROM partition_policies pp ORDER BY 1 LOOP
        v_key := gridbot_partition_key(v_table);
        EXECUTE format('SELECT count(*), min(%I), max(%I) FROM %I', v_key, v_key,
                       v_table || '_default')
            INTO row_count, oldest, newest;
        IF row_count > 0 THEN
            table_name := v_table;
            RETURN NEXT;
        END IF;
    END LOOP;
END
$$;

-- Create the partitions the DEFAULT partitions' rows belong to, moving the rows there.
CREATE FUNCTION gridbot_adopt_strays()
    RETURNS TABLE (table_name text, partition_name text)
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_table text;
    v_month timestamptz;
    v_created text;
BEGIN
    FOR v_table IN SELECT s.table_name FROM gridbot_default_partition_strays() s LOOP
        FOR v_month IN EXECUTE format('SELECT DISTINCT gridbot_month_start(%I) FROM %I ORDER BY 1',
                                      gridbot_partition_key(v_table), v_table || '_default')
        LOOP
            v_created := gridbot_create_month_partition(v_table, v_month);
            IF v_created IS NOT NULL THEN
                table_name := v_table;
                partition_name := v_created;
                RETURN NEXT;
            END IF;
        END LOOP;
    END LOOP;
END
$$;

-- Detach the monthly partitions whose whole month ended more than retention_months before
-- the month of p_now, then drop them or move them to the archive schema.
CREATE FUNCTION gridbot_expire_partitions(p_now timestamptz DEFAULT now())
    RETURNS TABLE (table_name text, partition_name text, action text)
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_policy record;
    v_part record;
    v_cutoff timestamptz;
BEGIN
    FOR v_policy IN
        SELECT * FROM partition_policies pp WHERE pp.retention_months IS NOT NULL ORDER BY 1
    LOOP
        v_cutoff := gridbot_month_start(p_now) - make_interval(months => v_policy.retention_months);
        FOR v_part IN
            SELECT c.relname::text AS name,
                   (regexp_match(pg_get_expr(c.relpartbound, c.oid),
                                 'TO \(''([^'']+)''\)'))[1]::timestamptz AS upper_bound
            FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = v_policy.table_name::regclass
              AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
            ORDER BY 2
        LOOP
            CONTINUE WHEN v_part.upper_bound > v_cutoff;
            EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', v_policy.table_name, v_part.name);
            IF v_policy.expiry_action = 'drop' THEN
                EXECUTE format('DROP TABLE %I', v_part.name);
            ELSE
                EXECUTE format('ALTER TABLE %I SET SCHEMA archive', v_part.name);
            END IF;
            table_name := v_policy.table_name;
            partition_name := v_part.name;
            action := v_policy.expiry_action;
            RETURN NEXT;
        END LOOP;
    END LOOP;
END
$$;

-- Create this month's and the next three months' partitions right away.
SELECT count(*) FROM gridbot_ensure_partitions(3, 0);
