-- Captured events, partitioned by month on exchange_ts (native range partitioning).
--
-- Every event row keeps exchange_ts (the exchange's timestamp) and local_ts (when gridbot
-- received it). Each table's primary key is its natural key, so the batch writer's
-- INSERT ... ON CONFLICT DO NOTHING stores every event exactly once however often capture
-- delivers it. PostgreSQL requires a partitioned table's unique keys to contain the
-- partition key: a trade id has one fixed exchange time, so (symbol, trade_id, exchange_ts)
-- identifies a trade exactly as (symbol, trade_id) would.
--
-- Monthly partitions are created by gridbot_ensure_partitions() (0003); the DEFAULT
-- partition catches rows of months without a partition, so an insert never fails for a
-- missing partition (gridbot_default_partition_strays() reports such rows).

-- Shared market data (no tenant) ------------------------------------------------------

CREATE TABLE public_trades (
    id              bigint GENERATED ALWAYS AS IDENTITY,
    symbol          text NOT NULL,
    trade_id        text NOT NULL,
    exchange_ts     timestamptz NOT NULL,
    local_ts        timestamptz NOT NULL,
    side            text NOT NULL CHECK (side IN ('Buy', 'Sell')),
    price           numeric(20, 8) NOT NULL CHECK (price > 0),
    size            numeric(20, 8) NOT NULL CHECK (size > 0),
    is_block_trade  boolean NOT NULL DEFAULT false,
    PRIMARY KEY (symbol, trade_id, exchange_ts)
) PARTITION BY RANGE (exchange_ts);
CREATE INDEX public_trades_replay ON public_trades (symbol, exchange_ts);
CREATE TABLE public_trades_default PARTITION OF public_trades DEFAULT;

-- One row per ticker message; cross_seq (Bybit "cs") separates messages of the same ms.
CREATE TABLE tickers (
    symbol           text NOT NULL,
    exchange_ts      timestamptz NOT NULL,
    cross_seq        bigint NOT NULL DEFAULT 0,
    local_ts         timestamptz NOT NULL,
    last_price       numeric(20, 8),
    mark_price       numeric(20, 8),
    index_price      numeric(20, 8),
    bid1_price       numeric(20, 8),
    bid1_size        numeric(20, 8),
    ask1_price       numeric(20, 8),
    ask1_size        numeric(20, 8),
    funding_rate     numeric(20, 10),
    next_funding_ts  timestamptz,
    open_interest    numeric(28, 8),
    volume_24h       numeric(28, 8),
    turnover_24h     numeric(28, 8),
    PRIMARY KEY (symbol, exchange_ts, cross_seq)
) PARTITION BY RANGE (exchange_ts);
CREATE TABLE tickers_default PARTITION OF tickers DEFAULT;

-- exchange_ts is the funding time the rate applies to.
CREATE TABLE funding_rates (
    symbol        text NOT NULL,
    exchange_ts   timestamptz NOT NULL,
    local_ts      timestamptz NOT NULL,
    funding_rate  numeric(20, 10) NOT NULL,
    mark_price    numeric(20, 8),
    PRIMARY KEY (symbol, exchange_ts)
) PARTITION BY RANGE (exchange_ts);
CREATE TABLE funding_rates_default PARTITION OF funding_rates DEFAULT;

-- Per account (tenant tables: row-level security in 0004) ------------------------------

-- Every order update: exchange_ts is Bybit's updatedTime.
CREATE TABLE orders (
    user_id         uuid NOT NULL DEFAULT gridbot_current_user_id(),
    account_id      uuid NOT NULL,
    run_id          uuid,
    symbol          text NOT NULL,
    order_id        text NOT NULL,
    order_link_id   text,
    side            text NOT NULL CHECK (side IN ('Buy', 'Sell')),
    order_type      text NOT NULL,
    price           numeric(20, 8),
    qty             numeric(20, 8) NOT NULL,
    order_status    text NOT NULL,
    time_in_force   text,
    reduce_only     boolean NOT NULL DEFAULT false,
    position_idx    smallint NOT NULL DEFAULT 0,
    cum_exec_qty    numeric(20, 8) NOT NULL DEFAULT 0,
    cum_exec_value  numeric(28, 8),
    cum_exec_fee    numeric(20, 8),
    leaves_qty      numeric(20, 8),
    created_ts      timestamptz,
    exchange_ts     timestamptz NOT NULL,
    local_ts        timestamptz NOT NULL,
    raw_json        jsonb,
    PRIMARY KEY (account_id, order_id, exchange_ts, order_status, cum_exec_qty),
    FOREIGN KEY (account_id, user_id)
        REFERENCES bybit_accounts (account_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (run_id, user_id) REFERENCES runs (run_id, user_id) ON DELETE SET NULL (run_id)
) PARTITION BY RANGE (exchange_ts);
CREATE INDEX orders_link ON orders (account_id, order_link_id);
CREATE TABLE orders_default PARTITION OF orders DEFAULT;

CREATE TABLE private_executions (
    id             bigint GENERATED ALWAYS AS IDENTITY,
    user_id        uuid NOT NULL DEFAULT gridbot_current_user_id(),
    account_id     uuid NOT NULL,
    run_id         uuid,
    symbol         text NOT NULL,
    exec_id        text NOT NULL,
    order_id       text NOT NULL,
    order_link_id  text,
    exchange_ts    timestamptz NOT NULL,
    local_ts       timestamptz NOT NULL,
    side           text NOT NULL CHECK (side IN ('Buy', 'Sell')),
    exec_price     numeric(20, 8) NOT NULL,
    exec_qty       numeric(20, 8) NOT NULL,
    exec_fee       numeric(20, 8) NOT NULL DEFAULT 0,
    fee_rate       numeric(20, 10),
    exec_type      text NOT NULL DEFAULT 'Trade',
    is_maker       boolean,
    closed_pnl     numeric(20, 8) NOT NULL DEFAULT 0,
    raw_json       jsonb,
    PRIMARY KEY (account_id, exec_id, exchange_ts),
    FOREIGN KEY (account_id, user_id)
        REFERENCES bybit_accounts (account_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (run_id, user_id) REFERENCES runs (run_id, user_id) ON DELETE SET NULL (run_id)
) PARTITION BY RANGE (exchange_ts);
CREATE INDEX private_executions_replay ON private_executions (account_id, symbol, exchange_ts);
CREATE INDEX private_executions_link ON private_executions (account_id, order_link_id);
CREATE TABLE private_executions_default PARTITION OF private_executions DEFAULT;

-- Position snapshots: exchange_ts is Bybit's updatedTime, seq its position sequence.
CREATE TABLE positions (
    user_id           uuid NOT NULL DEFAULT gridbot_current_user_id(),
    account_id        uuid NOT NULL,
    symbol            text NOT NULL,
    position_idx      smallint NOT NULL DEFAULT 0,
    seq               bigint NOT NULL DEFAULT 0,
    side              text CHECK (side IN ('Buy', 'Sell')),
    size              numeric(20, 8) NOT NULL,
    avg_price         numeric(20, 8),
    mark_price        numeric(20, 8),
    liq_price         numeric(20, 8),
    position_value    numeric(28, 8),
    leverage          numeric(10, 4),
    unrealised_pnl    numeric(20, 8),
    cum_realised_pnl  numeric(20, 8),
    position_status   text,
    exchange_ts       timestamptz NOT NULL,
    local_ts          timestamptz NOT NULL,
    raw_json          jsonb,
    PRIMARY KEY (account_id, symbol, position_idx, exchange_ts, seq),
    FOREIGN KEY (account_id, user_id)
        REFERENCES bybit_accounts (account_id, user_id) ON DELETE CASCADE
) PARTITION BY RANGE (exchange_ts);
CREATE TABLE positions_default PARTITION OF positions DEFAULT;

-- Wallet snapshots per coin: exchange_ts is the message's creationTime.
CREATE TABLE wallets (
    user_id                   uuid NOT NULL DEFAULT gridbot_current_user_id(),
    account_id                uuid NOT NULL,
    account_type              text NOT NULL DEFAULT 'UNIFIED',
    coin                      text NOT NULL,
    wallet_balance            numeric(28, 8) NOT NULL,
    equity                    numeric(28, 8),
    available_balance         numeric(28, 8),
    unrealised_pnl            numeric(28, 8),
    cum_realised_pnl          numeric(28, 8),
    total_initial_margin      numeric(28, 8),
    total_maintenance_margin  numeric(28, 8),
    exchange_ts               timestamptz NOT NULL,
    local_ts                  timestamptz NOT NULL,
    raw_json                  jsonb,
    PRIMARY KEY (account_id, coin, exchange_ts),
    FOREIGN KEY (account_id, user_id)
        REFERENCES bybit_accounts (account_id, user_id) ON DELETE CASCADE
) PARTITION BY RANGE (exchange_ts);
CREATE TABLE wallets_default PARTITION OF wallets DEFAULT;

-- Every intent a live or shadow engine emitted, with the event that triggered it.
-- exchange_ts/local_ts are the triggering event's; seq numbers the run's decisions.
CREATE TABLE engine_decisions (
    user_id        uuid NOT NULL DEFAULT gridbot_current_user_id(),
    account_id     uuid,
    run_id         uuid NOT NULL,
    strategy_id    bigint,
    seq            bigint NOT NULL,
    symbol         text NOT NULL,
    exchange_ts    timestamptz NOT NULL,
    local_ts       timestamptz NOT NULL,
    trigger_kind   text NOT NULL,
    trigger_event  jsonb NOT NULL,
    intent_kind    text NOT NULL,
    order_link_id  text,
    side           text CHECK (side IN ('Buy', 'Sell')),
    price          numeric(20, 8),
    qty            numeric(20, 8),
    intent         jsonb NOT NULL,
    decided_ts     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, seq, exchange_ts),
    FOREIGN KEY (run_id, user_id) REFERENCES runs (run_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (account_id, user_id)
        REFERENCES bybit_accounts (account_id, user_id) ON DELETE CASCADE
) PARTITION BY RANGE (exchange_ts);
CREATE TABLE engine_decisions_default PARTITION OF engine_decisions DEFAULT;

-- Messages that failed validation, kept verbatim for inspection. The exchange time of a
-- malformed message may be unknowable, so this table is partitioned by receipt time
-- (local_ts); exchange_ts is kept when it could be read. Rows of a private stream carry
-- their tenant; rows of public streams have none.
CREATE TABLE raw_quarantine (
    id           bigint GENERATED ALWAYS AS IDENTITY,
    user_id      uuid,
    account_id   uuid,
    source       text NOT NULL,
    topic        text,
    payload      text NOT NULL,
    error        text NOT NULL,
    exchange_ts  timestamptz,
    local_ts     timestamptz NOT NULL,
    PRIMARY KEY (id, local_ts),
    FOREIGN KEY (account_id, user_id)
        REFERENCES bybit_accounts (account_id, user_id) ON DELETE CASCADE,
    CHECK ((user_id IS NULL) = (account_id IS NULL))
) PARTITION BY RANGE (local_ts);
CREATE INDEX raw_quarantine_source ON raw_quarantine (source, local_ts);
CREATE TABLE raw_quarantine_default PARTITION OF raw_quarantine DEFAULT;
