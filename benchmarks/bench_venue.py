"""Venue broadcast: public trades per second to WebSocket clients, and their delay.

Two scenarios. ``venue_broadcast``: one symbol (BTCUSDT) on the generated tape at a speed
that offers about 6,000 trades per second, to 20 clients subscribed to its
``publicTrade``. ``venue_four_symbols``: the default four symbols at their default trade
rates, to 10 clients each subscribed to every symbol's ``publicTrade`` and ``tickers``
(what ten trading accounts of four symbols each ask for); it adds the slowest client's
ticker pushes per second and symbol.

The venue runs as its own process (as ``gridbot venue`` does). Clients are spread over
``PROCESSES`` client processes: in one process the
clients' own CPU (20 sockets' frames, one core) was measured as much as the venue, so the
p99 moved with the client, not the server. Two, not more, because the machine this runs
on has two cores: with four client processes the venue itself got less CPU (the offered
rate fell by about 2 %) and the p99 was no better. The delay of a trade is its receipt time minus
its tape time shifted to now (the ``T`` field): the time the venue adds between when a
trade happens on its tape and when a client has it. p50/p99 are over every delivery to
every client. Loopback only, bounded time.

Clients read the ``T`` fields with a regular expression rather than a full JSON parse;
the first message of each client is fully parsed to check that it is a publicTrade push.
Each client process connects and subscribes all its clients, says ``ready``, and only
then gets the measuring window, so no client misses the start.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import numpy as np
import requests

PROCESSES = 2
WARMUP_S = 2.0
MEASURE_S = 10.0
TRADE_TIME = re.compile(r'"T": ?(\d+)')
FOREVER = float("inf")


@dataclass(frozen=True)
class Scenario:
    """One measurement: the venue's symbols and speed, and what each client subscribes."""

    name: str
    symbols: tuple[str, ...]  # ``--symbols`` entries: SYMBOL or SYMBOL:RATE
    speed: float
    clients: int
    tickers: bool
    target_trades_per_s: int

    @property
    def topics(self) -> list[str]:
        kinds = ("publicTrade", "tickers") if self.tickers else ("publicTrade",)
        return [f"{kind}.{s.partition(':')[0]}" for s in self.symbols for kind in kinds]


ONE_SYMBOL = Scenario("venue_broadcast", ("BTCUSDT",), 100.0, 20, False, 5000)
FOUR_SYMBOLS = Scenario("venue_four_symbols", ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"),
                        60.0, 10, True, 6000)
SCENARIOS = (ONE_SYMBOL, FOUR_SYMBOLS)


def serve_for_bench() -> None:
    """Child process: a venue on a free port; prints the port, serves until killed.

    argv: the speed and the ``--symbols`` text (default trade rates).
    """
    from decimal import Decimal

    from daemons.venue.config import AccountSpec, VenueConfig, parse_symbols
    from daemons.venue.server import serve

    config = VenueConfig(accounts=(AccountSpec("bench", "bench-key", "bench-secret",
                                               Decimal(1000)),),
                         speed=float(sys.argv[1]), symbols=parse_symbols(sys.argv[2]), seed=42)
    asyncio.run(serve(config, lambda server: print(server.port, flush=True)))


@dataclass
class Tally:
    """What one client process saw inside the window: per client, trades and ticker pushes."""

    trades: list[int] = field(default_factory=list)
    tickers: list[int] = field(default_factory=list)
    delays: list[np.ndarray] = field(default_factory=list)


async def _client(url: str, topics: list[str], window: list[float], connected: asyncio.Event,
                  tally: Tally) -> None:
    """One socket: count and time every trade received inside ``window`` (start, stop)."""
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.send_str(json.dumps({"op": "subscribe", "args": topics}))
        connected.set()
        received, tickers, mine, checked = 0, 0, [], False
        while time.time() < window[1]:
            try:
                msg = await ws.receive(timeout=min(window[1] - time.time(), 1.0))
            except TimeoutError:
                continue
            now_ms = time.time() * 1000
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            is_trade = '"publicTrade.' in msg.data
            if not is_trade and '"tickers.' not in msg.data:
                continue
            if not checked:
                assert json.loads(msg.data)["topic"] in topics
                checked = True
            if now_ms < window[0] * 1000:
                continue
            if not is_trade:
                tickers += 1
                continue
            times = np.array(TRADE_TIME.findall(msg.data), dtype=np.float64)
            received += len(times)
            mine.append(now_ms - times)
        tally.trades.append(received)
        tally.tickers.append(tickers)
        if mine:
            tally.delays.append(np.concatenate(mine))


async def _client_group(url: str, topics: list[str], clients: int, out: Path) -> None:
    """Connect ``clients`` sockets, say ready, read the window, save delays to ``out``."""
    window = [FOREVER, FOREVER]
    events = [asyncio.Event() for _ in range(clients)]
    tally = Tally()
    tasks = [asyncio.ensure_future(_client(url, topics, window, e, tally)) for e in events]
    await asyncio.gather(*(e.wait() for e in events))
    print("ready", flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    window[0], window[1] = (float(x) for x in line.split())
    await asyncio.gather(*tasks)
    np.save(out, np.concatenate(tally.delays) if tally.delays else np.zeros(0))
    print(json.dumps({"trades": tally.trades, "tickers": tally.tickers}), flush=True)


def client_process() -> None:
    """Child process entry: ``URL TOPICS CLIENTS OUT.npy`` in argv (topics comma-separated),
    the window on stdin."""
    url, topics, clients, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    asyncio.run(_client_group(url, topics.split(","), clients, out))


def _spread(clients: int, processes: int) -> list[int]:
    """``clients`` split as evenly as possible over at most ``processes`` groups."""
    groups = max(1, min(processes, clients))
    return [clients // groups + (1 if n < clients % groups else 0) for n in range(groups)]


def _measure(scenario: Scenario, port: int, workdir: Path) -> tuple[Tally, np.ndarray, int]:
    """Run the client processes over one window; counts, all delays, trades offered."""
    url = f"ws://127.0.0.1:{port}/v5/public/linear"
    script = "from benchmarks.bench_venue import client_process; client_process()"
    topics = ",".join(scenario.topics)
    children = [
        subprocess.Popen([sys.executable, "-c", script, url, topics, str(n),
                          str(workdir / f"{i}.npy")],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for i, n in enumerate(_spread(scenario.clients, PROCESSES))
    ]
    try:
        for child in children:
            assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        start_at = time.time() + WARMUP_S
        window = f"{start_at} {start_at + MEASURE_S}\n"
        for child in children:
            assert child.stdin is not None
            child.stdin.write(window)
            child.stdin.flush()
        time.sleep(WARMUP_S)
        played_before = trades_played(port)
        time.sleep(MEASURE_S)
        offered = trades_played(port) - played_before
        tally = Tally()
        for child in children:
            seen = json.loads(child.communicate(timeout=60)[0])
            tally.trades += seen["trades"]
            tally.tickers += seen["tickers"]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    delays = [np.load(workdir / f"{i}.npy") for i in range(len(children))]
    return tally, np.concatenate(delays), offered


def trades_played(port: int) -> int:
    """How many tape trades the venue on ``port`` has played (its offered rate, over time)."""
    status = requests.get(f"http://127.0.0.1:{port}/admin/status", timeout=5).json()
    return int(status["trades_played"])


def run() -> Iterator[dict]:
    """Yield each scenario's throughput and p50/p99 delay rows (and ticker pushes)."""
    for scenario in SCENARIOS:
        yield from run_scenario(scenario)


def run_scenario(scenario: Scenario) -> Iterator[dict]:
    """One venue process, its client processes, one window: the scenario's rows."""
    script = "from benchmarks.bench_venue import serve_for_bench; serve_for_bench()"
    child = subprocess.Popen([sys.executable, "-c", script, str(scenario.speed),
                              ",".join(scenario.symbols)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        with tempfile.TemporaryDirectory(prefix="gridbot-bench-venue-") as workdir:
            tally, delays, offered = _measure(scenario, port, Path(workdir))
    finally:
        child.terminate()
        child.wait(10)
    context = {"symbols": len(scenario.symbols), "clients": scenario.clients,
               "client_processes": len(_spread(scenario.clients, PROCESSES)),
               "speed": scenario.speed, "seconds": MEASURE_S, "tape": "generated",
               "offered_trades_per_s": round(offered / MEASURE_S),
               "trades_per_client": min(tally.trades), "deliveries": int(sum(tally.trades))}
    rate = round(min(tally.trades) / MEASURE_S)
    target = scenario.target_trades_per_s
    yield {"bench": f"{scenario.name}_trades_per_s", "value": rate, "unit": "trades/s",
           "target": target, "met": rate >= target, **context}
    for suffix, q in (("p50_ms", 50), ("p99_ms", 99)):
        value = round(float(np.percentile(delays, q)), 2) if delays.size else None
        p99 = 50 if q == 99 else None
        met = None if p99 is None or value is None else value <= p99
        yield {"bench": f"{scenario.name}_{suffix}", "value": value, "unit": "ms",
               "target": p99, "met": met, **context}
    if scenario.tickers:
        pushes = round(min(tally.tickers) / MEASURE_S / len(scenario.symbols), 1)
        yield {"bench": f"{scenario.name}_tickers_per_s", "value": pushes,
               "unit": "pushes/s per symbol", "target": 9, "met": pushes >= 9, **context}
