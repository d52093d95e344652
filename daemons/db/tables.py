"""The project's tables described once, in SQLAlchemy Core, for code that reads frames.

The migrations in ``sql/`` are the schema; this module describes the same tables (columns,
types, nullability, primary, unique and foreign keys) so that the Dagster pipeline can
build its queries with SQLAlchemy and read them into pandas (``pandas.read_sql`` takes a
SQLAlchemy connection). ``tests/daemons/db/test_tables.py`` keeps it equal to a migrated
database: a migration that adds or changes a table fails that test until it is described
here too. Check constraints, defaults, indexes and row-level security stay in the
migrations only; nothing creates tables from this metadata.

The capture and COPY hot paths keep writing through psycopg (``copy_writer.py``).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKeyConstraint,
    Identity,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP

metadata = MetaData()
#: Every time column is ``timestamptz``.
TS = TIMESTAMP(timezone=True)

api_credentials = Table(
    "api_credentials", metadata,
    Column("credential_id", Uuid, primary_key=True),
    Column("user_id", Uuid, nullable=False),
    Column("account_id", Uuid, nullable=False),
    Column("api_key_id", Text, nullable=False),
    Column("encrypted_secret", LargeBinary, nullable=False),
    Column("encrypted_data_key", LargeBinary, nullable=False),
    Column("encryption_key_id", Text, nullable=False),
    Column("is_active", Boolean, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("rotated_at", TS),
    Column("delete_after", TS),
    ForeignKeyConstraint(
        ["account_id", "user_id"],
        ["bybit_accounts.account_id", "bybit_accounts.user_id"]),
    UniqueConstraint("account_id", "api_key_id"),
)

backtest_results = Table(
    "backtest_results", metadata,
    Column("run_id", Uuid, primary_key=True),
    Column("user_id", Uuid, nullable=False),
    Column("symbol", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("fill_model", Text, nullable=False),
    Column("window_start", TS, nullable=False),
    Column("window_end", TS, nullable=False),
    Column("events", BigInteger, nullable=False),
    Column("params", JSONB, nullable=False),
    Column("summary", JSONB, nullable=False),
    Column("digest", Text, nullable=False),
    Column("seeded_from", Uuid),
    ForeignKeyConstraint(
        ["run_id", "user_id"],
        ["runs.run_id", "runs.user_id"]),
)

bybit_accounts = Table(
    "bybit_accounts", metadata,
    Column("account_id", Uuid, primary_key=True),
    Column("user_id", Uuid, nullable=False),
    Column("account_name", Text, nullable=False),
    Column("environment", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    ForeignKeyConstraint(
        ["user_id"],
        ["users.user_id"]),
    UniqueConstraint("account_id", "user_id"),
    UniqueConstraint("user_id", "account_name"),
)

calibrations = Table(
    "calibrations", metadata,
    Column("calibration_id", Uuid, nullable=False),
    Column("user_id", Uuid, nullable=False),
    Column("run_id", Uuid, nullable=False),
    Column("symbol", Text, nullable=False),
    Column("queue_ahead", Numeric, nullable=False),
    Column("latency_ms", Integer, nullable=False),
    Column("fit_start", TS, nullable=False),
    Column("fit_end", TS, nullable=False),
    Column("test_start", TS, nullable=False),
    Column("test_end", TS, nullable=False),
    Column("in_sample", JSONB, nullable=False),
    Column("out_of_sample", JSONB, nullable=False),
    Column("tried", JSONB, nullable=False),
    Column("created_at", TS, nullable=False),
    PrimaryKeyConstraint("calibration_id"),
    ForeignKeyConstraint(["run_id", "user_id"], ["runs.run_id", "runs.user_id"]),
)

capture_gaps = Table(
    "capture_gaps", metadata,
    Column("gap_id", Uuid, primary_key=True),
    Column("user_id", Uuid),
    Column("account_id", Uuid),
    Column("stream", Text, nullable=False),
    Column("symbol", Text),
    Column("window_start", TS, nullable=False),
    Column("window_end", TS, nullable=False),
    Column("reason", Text, nullable=False),
    Column("detected_at", TS, nullable=False),
    Column("filled", Boolean, nullable=False),
    Column("rows_recovered", Integer, nullable=False),
    Column("detail", Text),
    ForeignKeyConstraint(
        ["account_id", "user_id"],
        ["bybit_accounts.account_id", "bybit_accounts.user_id"]),
)

comparisons = Table(
    "comparisons", metadata,
    Column("comparison_id", Uuid, nullable=False),
    Column("user_id", Uuid, nullable=False),
    Column("run_id", Uuid, nullable=False),
    Column("symbol", Text, nullable=False),
    Column("window_start", TS, nullable=False),
    Column("window_end", TS, nullable=False),
    Column("latency", JSONB, nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("origin", Text, nullable=False),
    Column("report_dir", Text),
    Column("report_digest", Text),
    Column("created_at", TS, nullable=False),
    PrimaryKeyConstraint("comparison_id"),
    UniqueConstraint("comparison_id", "user_id"),
    ForeignKeyConstraint(["run_id", "user_id"], ["runs.run_id", "runs.user_id"]),
)

comparison_results = Table(
    "comparison_results", metadata,
    Column("comparison_id", Uuid, nullable=False),
    Column("user_id", Uuid, nullable=False),
    Column("fill_model", Text, nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("metrics", JSONB, nullable=False),
    Column("verdicts", JSONB, nullable=False),
    Column("live_pnl", Numeric, nullable=False),
    Column("pnl", Numeric, nullable=False),
    Column("pairs", Integer, nullable=False),
    Column("missed", Integer, nullable=False),
    Column("phantom", Integer, nullable=False),
    Column("divergence", JSONB),
    PrimaryKeyConstraint("comparison_id", "fill_model"),
    ForeignKeyConstraint(["comparison_id", "user_id"],
                         ["comparisons.comparison_id", "comparisons.user_id"]),
)

comparison_fills = Table(
    "comparison_fills", metadata,
    Column("comparison_id", Uuid, nullable=False),
    Column("user_id", Uuid, nullable=False),
    Column("fill_model", Text, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", Text, nullable=False),
    Column("reason", Text),
    Column("detail", Text),
    Column("live_link_id", Text),
    Column("live_ts", TS),
    Column("live_price", Numeric(20, 8)),
    Column("live_qty", Numeric(20, 8)),
    Column("sim_link_id", Text),
    Column("sim_ts", TS),
    Column("sim_price", Numeric(20, 8)),
    Column("sim_qty", Numeric(20, 8)),
    PrimaryKeyConstraint("comparison_id", "fill_model", "seq"),
    ForeignKeyConstraint(["comparison_id", "fill_model"],
                         ["comparison_results.comparison_id", "comparison_results.fill_model"]),
    ForeignKeyConstraint(["comparison_id", "user_id"],
                         ["comparisons.comparison_id", "comparisons.user_id"]),
)

engine_decisions = Table(
    "engine_decisions", metadata,
    Column("user_id", Uuid, nullable=False),
    Column("account_id", Uuid),
    Column("run_id", Uuid, nullable=False),
    Column("strategy_id", BigInteger),
    Column("seq", BigInteger, nullable=False),
    Column("symbol", Text, nullable=False),
    Column("exchange_ts", TS, nullable=False),
    Column("local_ts", TS, nullable=False),
    Column("trigger_kind", Text, nullable=False),
    Column("trigger_event", JSONB, nullable=False),
    Column("intent_kind", Text, nullable=False),
    Column("order_link_id", Text),
    Column("side", Text),
    Column("price", Numeric(20, 8)),
    Column("qty", Numeric(20, 8)),
    Column("intent", JSONB, nullable=False),
    Column("decided_ts", TS, nullable=False),
    PrimaryKeyConstraint("run_id", "seq", "exchange_ts"),
    ForeignKeyConstraint(
        ["account_id", "user_id"],
        ["bybit_accounts.account_id", "bybit_accounts.user_id"]),
    ForeignKeyConstraint(
        ["run_id", "user_id"],
        ["runs.run_id", "runs.user_id"]),
)

engine_inputs = Table(
    "engine_inputs", metadata,
    Column("user_id", Uuid, nullable=False),
    Column("account_id", Uuid),
    Column("run_id", Uuid, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("kind", Text, nullable=False),
    Column("exchange_ts", TS, nullable=False),
    Column("local_ts", TS, nullable=False),
    Column("event", JSONB, nullable=False),
    PrimaryKeyConstraint("run_id", "seq", "exchange_ts"),
    ForeignKeyConstraint(
        ["account_id", "user_id"],
        ["bybit_accounts.account_id", "bybit_accounts.user_id"]),
    ForeignKeyConstraint(
        ["run_id", "user_id"],
        ["runs.run_id", "runs.user_id"]),
)

engine_snapshots = Table(
    "engine_snapshots", metadata,
    Column("run_id", Uuid, nullable=False),
    Column("user_id", Uuid, nullable=False),
    Column("exchange_ts", TS, nullable=False),
    Column("state", JSONB, nullable=False),
    PrimaryKeyConstraint("run_id", "exchange_ts"),
    ForeignKeyConstraint(
        ["run_id", "user_id"],
        ["runs.run_id", "runs.user_id"]),
)

equity_points = Table(
    "equity_points", metadata,
    Column("run_id", Uuid, nullable=False),
    Column("user_id", Uuid, nullable=False),
    Column("ts", TS, nullable=False),
    Column("balance", Numeric, nullable=False),
    Column("unrealised_pnl", Numeric, nullable=False),
    Column("equity", Numeric, nullable=False),
    PrimaryKeyConstraint("run_id", "ts"),
    ForeignKeyConstraint(
        ["run_id", "user_id"],
        ["runs.run_id", "runs.user_id"]),
)

funding_rates = Table(
    "funding_rates", metadata,
    Column("symbol", Text, nullable=False),
    Column("exchange_ts", TS, nullable=False),
    Column("local_ts", TS, nullable=False),
    Column("funding_rate", Numeric(20, 10), nullable=False),
    Column("mark_price", Numeric(20, 8)),
    PrimaryKeyConstraint("symbol", "exchange_ts"),
)

orders = Table(
    "orders", metadata,
    Column("user_id", Uuid, nullable=False),
    Column("account_id", Uuid, nullable=False),
    Column("run_id", Uuid),
    Column("symbol", Text, nullable=False),
    Column("order_id", Text, nullable=False),
    Column("order_link_id", Text),
    Column("side", Text, nullable=False),
    Column("order_type", Text, nullable=False),
    Column("price", Numeric(20, 8)),
    Column("qty", Numeric(20, 8), nullable=False),
    Column("order_status", Text, nullable=False),
    Column("time_in_force", Text),
    Column("reduce_only", Boolean, nullable=False),
    Column("position_idx", SmallInteger, nullable=False),
    Column("cum_exec_qty", Numeric(20, 8), nullable=False),
    Column("cum_exec_value", Numeric(28, 8)),
    Column("cum_exec_fee", Numeric(20, 8)),
    Column("leaves_qty", Numeric(20, 8)),
    Column("created_ts", TS),
    Column("exchange_ts", TS, nullable=False),
    Column("local_ts", TS, nullable=False),
    Column("raw_json", JSONB),
    ForeignKeyConstraint(
        ["account_id", "user_id"],
        ["bybit_accounts.account_id", "bybit_accounts.user_id"]),
    ForeignKeyConstraint(
        ["run_id", "user_id"],
        ["runs.run_id", "runs.user_id"]),
    # NULLS NOT DISTINCT in the migration (0008): a market order's NULL price is a value.
    UniqueConstraint("account_id", "order_id", "exchange_ts", "order_status", "cum_exec_qty",
                     "price", "qty", name="orders_natural_key"),
)

partition_policies = Table(
    "partition_policies", metadata,
    Column("table_name", Text, primary_key=True),
    Column("retention_months", Integer),
    Column("expiry_action", Text, nullable=False),
)

positions = Table(
    "positions", metadata,
    Column("user_id", Uuid, nullable=False),
    Column("account_id", Uuid, nullable=False),
    Column("symbol", Text, nullable=False),
    Column("position_idx", SmallInteger, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("side", Text),
    Column("size", Numeric(20, 8), nullable=False),
    Column("avg_price", Numeric(20, 8)),
    Column("mark_price", Numeric(20, 8)),
    Column("liq_price", Numeric(20, 8)),
    Column("position_value", Numeric(28, 8)),
    Column("leverage", Numeric(10, 4)),
    Column("unrealised_pnl", Numeric(20, 8)),
    Column("cum_realised_pnl", Numeric(20, 8)),
    Column("position_status", Text),
    Column("exchange_ts", TS, nullable=False),
    Column("local_ts", TS, nullable=False),
    Column("raw_json", JSONB),
    PrimaryKeyConstraint("account_id", "symbol", "position_idx", "exchange_ts", "seq"),
    ForeignKeyConstraint(
        ["account_id", "user_id"],
        ["bybit_accounts.account_id", "bybit_accounts.user_id"]),
)

private_executions = Table(
    "private_executions", metadata,
    Column("id", BigInteger, Identity(), nullable=False),
    Column("user_id", Uuid, nullable=False),
    Column("account_id", Uuid, nullable=False),
    Column("run_id", Uuid),
    Column("symbol", Text, nullable=False),
    Column("exec_id", Text, nullable=False),
    Column("order_id", Text, nullable=False),
    Column("order_link_id", Text),
    Column("exchange_ts", TS, nullable=False),
    Column("local_ts", TS, nullable=False),
    Column("side", Text, nullable=False),
    Column("exec_price", Numeric(20, 8), nullable=False),
    Column("exec_qty", Numeric(20, 8), nullable=False),
    Column("exec_fee", Numeric(20, 8), nullable=False),
    Column("fee_rate", Numeric(20, 10)),
    Column("exec_type", Text, nullable=False),
    Column("is_maker", Boolean),
    Column("closed_pnl", Numeric(20, 8), nullable=False),
    Column("raw_json", JSONB),
    PrimaryKeyConstraint("account_id", "exec_id", "exchange_ts"),
    ForeignKeyConstraint(
        ["account_id", "user_id"],
        ["bybit_accounts.account_id", "bybit_accounts.user_id"]),
    ForeignKeyConstraint(
        ["run_id", "user_id"],
        ["runs.run_id", "runs.user_id"]),
)

public_trades = Table(
    "public_trades", metadata,
    Column("id", BigInteger, Identity(), nullable=False),
    Column("symbol", Text, nullable=False),
    Column("trade_id", Text, nullable=False),
    Column("exchange_ts", TS, nullable=False),
    Column("local_ts", TS, nullable=False),
    Column("side", Text, nullable=False),
    Column("price", Numeric(20, 8), nullable=False),
    Column("size", Numeric(20, 8), nullable=False),
    Column("is_block_trade", Boolean, nullable=False),
    PrimaryKeyConstraint("symbol", "exchange_ts", "trade_id"),
)

raw_quarantine = Table(
    "raw_quarantine", metadata,
    Column("id", BigInteger, Identity(), nullable=False),
    Column("user_id", Uuid),
    Column("account_id", Uuid),
    Column("source", Text, nullable=False),
    Column("topic", Text),
    Column("payload", Text, nullable=False),
    Column("error", Text, nullable=False),
    Column("exchange_ts", TS),
    Column("local_ts", TS, nullable=False),
    PrimaryKeyConstraint("id", "local_ts"),
    ForeignKeyConstraint(
        ["account_id", "user_id"],
        ["bybit_accounts.account_id", "bybit_accounts.user_id"]),
)

runs = Table(
    "runs", metadata,
    Column("run_id", Uuid, primary_key=True),
    Column("user_id", Uuid, nullable=False),
    Column("account_id", Uuid),
    Column("strategy_id", BigInteger),
    Column("run_type", Text, nullable=False),
    Column("gridcore_version", Text, nullable=False),
    Column("config_snapshot", JSONB, nullable=False),
    Column("start_ts", TS, nullable=False),
    Column("end_ts", TS),
    Column("status", Text, nullable=False),
    ForeignKeyConstraint(
        ["account_id", "user_id"],
        ["bybit_accounts.account_id", "bybit_accounts.user_id"]),
    ForeignKeyConstraint(
        ["strategy_id", "user_id"],
        ["strategies.strategy_id", "strategies.user_id"]),
    ForeignKeyConstraint(
        ["user_id"],
        ["users.user_id"]),
    UniqueConstraint("run_id", "user_id"),
)

schema_migrations = Table(
    "schema_migrations", metadata,
    Column("version", Integer, primary_key=True),
    Column("name", Text, nullable=False),
    Column("checksum", Text, nullable=False),
    Column("applied_at", TS, nullable=False),
    Column("duration_ms", Integer, nullable=False),
)

sim_executions = Table(
    "sim_executions", metadata,
    Column("run_id", Uuid, nullable=False),
    Column("user_id", Uuid, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("exchange_ts", TS, nullable=False),
    Column("exec_id", Text, nullable=False),
    Column("order_id", Text, nullable=False),
    Column("order_link_id", Text, nullable=False),
    Column("side", Text, nullable=False),
    Column("exec_price", Numeric(20, 8), nullable=False),
    Column("exec_qty", Numeric(20, 8), nullable=False),
    Column("exec_fee", Numeric, nullable=False),
    Column("realised_pnl", Numeric, nullable=False),
    Column("position_idx", SmallInteger, nullable=False),
    PrimaryKeyConstraint("run_id", "seq"),
    ForeignKeyConstraint(
        ["run_id", "user_id"],
        ["runs.run_id", "runs.user_id"]),
)

strategies = Table(
    "strategies", metadata,
    Column("strategy_id", BigInteger, Identity(), primary_key=True),
    Column("user_id", Uuid, nullable=False),
    Column("account_id", Uuid, nullable=False),
    Column("strategy_type", Text, nullable=False),
    Column("symbol", Text, nullable=False),
    Column("config_json", JSONB, nullable=False),
    Column("is_enabled", Boolean, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("mode", Text, nullable=False),
    Column("caps", JSONB, nullable=False),
    Column("latched_at", TS),
    Column("latch_reason", Text),
    ForeignKeyConstraint(
        ["account_id", "user_id"],
        ["bybit_accounts.account_id", "bybit_accounts.user_id"]),
    UniqueConstraint("account_id", "symbol"),
    UniqueConstraint("strategy_id", "user_id"),
)

tickers = Table(
    "tickers", metadata,
    Column("symbol", Text, nullable=False),
    Column("exchange_ts", TS, nullable=False),
    Column("cross_seq", BigInteger, nullable=False),
    Column("local_ts", TS, nullable=False),
    Column("last_price", Numeric(20, 8)),
    Column("mark_price", Numeric(20, 8)),
    Column("index_price", Numeric(20, 8)),
    Column("bid1_price", Numeric(20, 8)),
    Column("bid1_size", Numeric(20, 8)),
    Column("ask1_price", Numeric(20, 8)),
    Column("ask1_size", Numeric(20, 8)),
    Column("funding_rate", Numeric(20, 10)),
    Column("next_funding_ts", TS),
    Column("open_interest", Numeric(28, 8)),
    Column("volume_24h", Numeric(28, 8)),
    Column("turnover_24h", Numeric(28, 8)),
    PrimaryKeyConstraint("symbol", "exchange_ts", "cross_seq"),
)

users = Table(
    "users", metadata,
    Column("user_id", Uuid, primary_key=True),
    Column("username", Text, nullable=False),
    Column("email", Text),
    Column("status", Text, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    UniqueConstraint("username"),
)

wallets = Table(
    "wallets", metadata,
    Column("user_id", Uuid, nullable=False),
    Column("account_id", Uuid, nullable=False),
    Column("account_type", Text, nullable=False),
    Column("coin", Text, nullable=False),
    Column("wallet_balance", Numeric(28, 8), nullable=False),
    Column("equity", Numeric(28, 8)),
    Column("available_balance", Numeric(28, 8)),
    Column("unrealised_pnl", Numeric(28, 8)),
    Column("cum_realised_pnl", Numeric(28, 8)),
    Column("total_initial_margin", Numeric(28, 8)),
    Column("total_maintenance_margin", Numeric(28, 8)),
    Column("exchange_ts", TS, nullable=False),
    Column("local_ts", TS, nullable=False),
    Column("raw_json", JSONB),
    PrimaryKeyConstraint("account_id", "coin", "exchange_ts"),
    ForeignKeyConstraint(
        ["account_id", "user_id"],
        ["bybit_accounts.account_id", "bybit_accounts.user_id"]),
)

