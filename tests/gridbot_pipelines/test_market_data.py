"""captured_market_data and its great-expectations checks, materialised for real."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import dagster as dg
import pytest

from daemons.db.copy_writer import copy_events
from daemons.db.session import Database
from daemons.db.times import datetime_of_ms
from gridbot_pipelines.definitions import defs
from gridbot_pipelines.defs.market_data import checks
from gridbot_pipelines.defs.market_data.assets import captured_market_data
from gridbot_pipelines.resources import BybitResource, DatabaseResource
from tests.gridbot_pipelines.data import add_strategy, day_start_ms, store_market_day

pytestmark = pytest.mark.timeout(600)

GOOD_DAY = "2026-11-02"
BAD_DAY = "2026-11-03"
CHECKS = [checks.trades_valid, checks.tickers_in_order, checks.funding_rates_sane,
          checks.capture_gaps_short, checks.receipt_times_plausible]
RESOURCES = {"database": DatabaseResource(), "bybit": BybitResource(venue_url="http://127.0.0.1:9")}


def _checks(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def _nightly(day: str, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    """The nightly job's assets and checks for ``day``, as the schedule runs them."""
    job = defs.resolve_job_def("validation_job")
    return job.execute_in_process(partition_key=day, instance=instance, raise_on_error=False)


def test_captured_market_data_observes_rows_streams_and_gaps(pipeline_db: Database) -> None:
    tape = store_market_day(pipeline_db, "BTCUSDT", GOOD_DAY)
    start = day_start_ms(GOOD_DAY)
    with pipeline_db.market_data() as conn:
        conn.execute(
            "INSERT INTO capture_gaps (gap_id, stream, symbol, window_start, window_end, reason,"
            " filled) VALUES (gen_random_uuid(), 'tickers', 'BTCUSDT', %s, %s, 'reconnect',"
            " false)", [datetime_of_ms(start + 7_200_000), datetime_of_ms(start + 7_202_500)])
    result = dg.materialize([captured_market_data, *CHECKS], partition_key=GOOD_DAY,
                            resources=RESOURCES)
    assert result.success
    (event,) = result.asset_materializations_for_node("captured_market_data")
    meta = {key: value.value for key, value in event.metadata.items()}
    kinds = {kind: int((tape.kind == code).sum()) for kind, code in (("trades", 1),
                                                                     ("tickers", 2))}
    assert meta["public_trades_rows"] == kinds["trades"] == 3_000
    assert meta["tickers_rows"] == kinds["tickers"]
    assert meta["streams"] == ["public_trades.BTCUSDT", "tickers.BTCUSDT"]
    assert (meta["gaps"], meta["gaps_unfilled"], meta["longest_unfilled_gap_ms"]) == (1, 1, 2500)
    assert _checks(result) == {name: True for name in (
        "trades_valid", "tickers_in_order", "funding_rates_sane", "capture_gaps_short",
        "receipt_times_plausible")}


def test_trades_valid_fails_on_a_duplicated_trade_and_blocks_the_replays(
        pipeline_db: Database) -> None:
    """A trade id stored twice (the table allows it at two times) fails the blocking check;
    the nightly job then replays nothing."""
    store_market_day(pipeline_db, "ETHUSDT", BAD_DAY, seed=5)
    add_strategy(pipeline_db, "carol", "ETHUSDT")
    with pipeline_db.market_data() as conn:
        first = conn.execute(
            "SELECT trade_id, exchange_ts, local_ts, price FROM public_trades"
            " WHERE symbol = 'ETHUSDT' ORDER BY exchange_ts LIMIT 1").fetchone()
        copy_events(conn, "public_trades", [{
            "symbol": "ETHUSDT", "trade_id": first[0],
            "exchange_ts": first[1] + timedelta(seconds=30),
            "local_ts": first[2] + timedelta(seconds=30), "side": "Buy", "price": first[3],
            "size": Decimal(1)}])
    with dg.instance_for_test() as instance:
        result = _nightly(BAD_DAY, instance)
    assert not result.success
    evaluations = _checks(result)
    assert evaluations["trades_valid"] is False
    assert evaluations["tickers_in_order"] is True
    failed = next(e for e in result.get_asset_check_evaluations()
                  if e.check_name == "trades_valid")
    assert failed.metadata["results"].value[0]["examples"][0]["trade_id"] == first[0]
    assert result.asset_materializations_for_node("captured_market_data")
    assert result.asset_materializations_for_node("reconciled_account_data")
    started = {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
    assert "reconciled_account_data" in started
    assert not [key for key in started if key.startswith("daily_backtests")]
    with pipeline_db.admin() as conn:
        assert conn.execute("SELECT count(*) FROM backtest_results").fetchone()[0] == 0


def test_tickers_in_order_fails_when_a_stream_goes_back_in_time(pipeline_db: Database) -> None:
    day = "2026-11-04"
    store_market_day(pipeline_db, "SOLUSDT", day, seed=7)
    with pipeline_db.market_data() as conn:
        last = conn.execute("SELECT max(cross_seq), min(exchange_ts) FROM tickers"
                            " WHERE symbol = 'SOLUSDT'").fetchone()
        copy_events(conn, "tickers", [{"symbol": "SOLUSDT", "cross_seq": last[0] + 1,
                                       "exchange_ts": last[1] - timedelta(milliseconds=1),
                                       "local_ts": last[1], "last_price": Decimal(100)}])
    result = dg.materialize([captured_market_data, checks.tickers_in_order],
                            partition_key=day, resources=RESOURCES, raise_on_error=False)
    assert _checks(result) == {"tickers_in_order": False}


def test_funding_rates_sane_fails_on_a_rate_outside_the_band(pipeline_db: Database) -> None:
    day = "2026-11-05"
    with pipeline_db.market_data() as conn:
        at = datetime_of_ms(day_start_ms(day) + 8 * 3_600_000)
        copy_events(conn, "funding_rates", [
            {"symbol": "XRPUSDT", "exchange_ts": at, "local_ts": at,
             "funding_rate": Decimal("0.5"), "mark_price": Decimal("2.5")}])
    result = dg.materialize([captured_market_data, checks.funding_rates_sane],
                            partition_key=day, resources=RESOURCES, raise_on_error=False)
    assert _checks(result) == {"funding_rates_sane": False}


def test_capture_gaps_short_fails_on_a_long_unfilled_gap(pipeline_db: Database) -> None:
    day = "2026-11-06"
    start = day_start_ms(day)
    with pipeline_db.market_data() as conn:
        for length_ms, filled in ((600_000, True), (120_000, False)):
            conn.execute(
                "INSERT INTO capture_gaps (gap_id, stream, symbol, window_start, window_end,"
                " reason, filled) VALUES (gen_random_uuid(), 'publicTrade', 'BTCUSDT', %s, %s,"
                " 'reconnect', %s)",
                [datetime_of_ms(start + 1000), datetime_of_ms(start + 1000 + length_ms),
                 filled])
    result = dg.materialize([captured_market_data, checks.capture_gaps_short],
                            partition_key=day, resources=RESOURCES, raise_on_error=False)
    assert _checks(result) == {"capture_gaps_short": False}  # the filled 10 minutes pass


def test_receipt_times_plausible_warns_on_a_receipt_before_the_trade(
        pipeline_db: Database) -> None:
    day = "2026-11-07"
    at = datetime_of_ms(day_start_ms(day) + 3_600_000)
    with pipeline_db.market_data() as conn:
        copy_events(conn, "public_trades", [{
            "symbol": "BTCUSDT", "trade_id": "early", "exchange_ts": at,
            "local_ts": at - timedelta(seconds=30), "side": "Sell",
            "price": Decimal("60000"), "size": Decimal("0.01")}])
    result = dg.materialize([captured_market_data, checks.receipt_times_plausible,
                             checks.trades_valid], partition_key=day, resources=RESOURCES,
                            raise_on_error=False)
    assert _checks(result) == {"receipt_times_plausible": False, "trades_valid": True}
