"""Venue broadcast: public trades per second to 20 WebSocket clients, and their delay.

The venue runs as its own process (as ``gridbot venue`` does) on the generated tape at a
speed that offers about 6,000 trades per second; one client process holds 20 WebSocket
connections subscribed to ``publicTrade``. The delay of a trade is its receipt time
minus its tape time shifted to now (the ``T`` field): the time the venue adds between
when a trade happens on its tape and when a client has it. Loopback only, bounded time.
Clients read the ``T`` fields with a regular expression rather than a full JSON parse so
that the measuring side (20 sockets in one Python process) does not become the bottleneck;
the first message of each client is fully parsed to check that it is a publicTrade push.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator

import aiohttp
import numpy as np

CLIENTS = 20
SPEED = 100.0
WARMUP_S = 2.0
MEASURE_S = 10.0
SYMBOL = "BTCUSDT"
TRADE_TIME = re.compile(r'"T": ?(\d+)')


def serve_for_bench() -> None:
    """Child process: a venue on a free port; prints the port, serves until killed."""
    from decimal import Decimal

    from daemons.venue.config import AccountSpec, VenueConfig
    from daemons.venue.server import serve

    config = VenueConfig(accounts=(AccountSpec("bench", "bench-key", "bench-secret",
                                               Decimal(1000)),),
                         speed=float(sys.argv[1]), seed=42)
    asyncio.run(serve(config, lambda server: print(server.port, flush=True)))


async def _client(url: str, stop_at: float, start_at: float, delays: list[np.ndarray],
                  counts: list[int]) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.send_str(json.dumps({"op": "subscribe", "args": [f"publicTrade.{SYMBOL}"]}))
        received, mine, checked = 0, [], False
        while time.time() < stop_at:
            try:
                msg = await ws.receive(timeout=max(stop_at - time.time(), 0.01))
            except TimeoutError:
                break
            now_ms = time.time() * 1000
            if msg.type != aiohttp.WSMsgType.TEXT or '"publicTrade.' not in msg.data:
                continue
            if not checked:
                assert json.loads(msg.data)["topic"] == f"publicTrade.{SYMBOL}"
                checked = True
            if now_ms < start_at * 1000:
                continue
            times = np.array(TRADE_TIME.findall(msg.data), dtype=np.float64)
            received += len(times)
            mine.append(now_ms - times)
        counts.append(received)
        if mine:
            delays.append(np.concatenate(mine))


async def _measure(port: int) -> tuple[list[int], np.ndarray]:
    url = f"ws://127.0.0.1:{port}/v5/public/linear"
    start_at = time.time() + WARMUP_S
    stop_at = start_at + MEASURE_S
    delays: list[np.ndarray] = []
    counts: list[int] = []
    await asyncio.gather(*(_client(url, stop_at, start_at, delays, counts)
                           for _ in range(CLIENTS)))
    return counts, np.concatenate(delays) if delays else np.zeros(1)


def run() -> Iterator[dict]:
    """Yield the throughput and the p50/p99 delay rows."""
    script = "from benchmarks.bench_venue import serve_for_bench; serve_for_bench()"
    child = subprocess.Popen([sys.executable, "-c", script, str(SPEED)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        counts, delays = asyncio.run(_measure(port))
    finally:
        child.terminate()
        child.wait(10)
    context = {"clients": CLIENTS, "speed": SPEED, "seconds": MEASURE_S,
               "tape": "generated", "trades_per_client": min(counts),
               "deliveries": int(sum(counts))}
    yield {"bench": "venue_broadcast_trades_per_s", "value": round(min(counts) / MEASURE_S),
           "unit": "trades/s", "target": 5000, **context}
    for name, q in (("venue_broadcast_p50_ms", 50), ("venue_broadcast_p99_ms", 99)):
        yield {"bench": name, "value": round(float(np.percentile(delays, q)), 2), "unit": "ms",
               "target": 50 if q == 99 else None, **context}
