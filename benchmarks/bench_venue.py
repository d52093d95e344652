"""Venue broadcast: public trades per second to 20 WebSocket clients, and their delay.

The venue runs as its own process (as ``gridbot venue`` does) on the generated tape at a
speed that offers about 6,000 trades per second. The 20 clients subscribed to
``publicTrade`` are spread over ``PROCESSES`` client processes: in one process the
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
from pathlib import Path

import aiohttp
import numpy as np
import requests

CLIENTS = 20
PROCESSES = 2
SPEED = 100.0
WARMUP_S = 2.0
MEASURE_S = 10.0
SYMBOL = "BTCUSDT"
TRADE_TIME = re.compile(r'"T": ?(\d+)')
FOREVER = float("inf")


def serve_for_bench() -> None:
    """Child process: a venue on a free port; prints the port, serves until killed."""
    from decimal import Decimal

    from daemons.venue.config import AccountSpec, VenueConfig
    from daemons.venue.server import serve

    config = VenueConfig(accounts=(AccountSpec("bench", "bench-key", "bench-secret",
                                               Decimal(1000)),),
                         speed=float(sys.argv[1]), seed=42)
    asyncio.run(serve(config, lambda server: print(server.port, flush=True)))


async def _client(url: str, window: list[float], connected: asyncio.Event,
                  delays: list[np.ndarray], counts: list[int]) -> None:
    """One socket: count and time every trade received inside ``window`` (start, stop)."""
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.send_str(json.dumps({"op": "subscribe", "args": [f"publicTrade.{SYMBOL}"]}))
        connected.set()
        received, mine, checked = 0, [], False
        while time.time() < window[1]:
            try:
                msg = await ws.receive(timeout=min(window[1] - time.time(), 1.0))
            except TimeoutError:
                continue
            now_ms = time.time() * 1000
            if msg.type != aiohttp.WSMsgType.TEXT or '"publicTrade.' not in msg.data:
                continue
            if not checked:
                assert json.loads(msg.data)["topic"] == f"publicTrade.{SYMBOL}"
                checked = True
            if now_ms < window[0] * 1000:
                continue
            times = np.array(TRADE_TIME.findall(msg.data), dtype=np.float64)
            received += len(times)
            mine.append(now_ms - times)
        counts.append(received)
        if mine:
            delays.append(np.concatenate(mine))


async def _client_group(url: str, clients: int, out: Path) -> None:
    """Connect ``clients`` sockets, say ready, read the window, save delays to ``out``."""
    window = [FOREVER, FOREVER]
    events = [asyncio.Event() for _ in range(clients)]
    delays: list[np.ndarray] = []
    counts: list[int] = []
    tasks = [asyncio.ensure_future(_client(url, window, e, delays, counts)) for e in events]
    await asyncio.gather(*(e.wait() for e in events))
    print("ready", flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    window[0], window[1] = (float(x) for x in line.split())
    await asyncio.gather(*tasks)
    np.save(out, np.concatenate(delays) if delays else np.zeros(0))
    print(json.dumps(counts), flush=True)


def client_process() -> None:
    """Child process entry: ``URL CLIENTS OUT.npy`` in argv, the window on stdin."""
    url, clients, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    asyncio.run(_client_group(url, clients, out))


def _spread(clients: int, processes: int) -> list[int]:
    """``clients`` split as evenly as possible over at most ``processes`` groups."""
    groups = max(1, min(processes, clients))
    return [clients // groups + (1 if n < clients % groups else 0) for n in range(groups)]


def _measure(port: int, workdir: Path) -> tuple[list[int], np.ndarray, int]:
    """Run the client processes over one window; counts, all delays, trades offered."""
    url = f"ws://127.0.0.1:{port}/v5/public/linear"
    script = "from benchmarks.bench_venue import client_process; client_process()"
    children = [
        subprocess.Popen([sys.executable, "-c", script, url, str(n), str(workdir / f"{i}.npy")],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for i, n in enumerate(_spread(CLIENTS, PROCESSES))
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
        counts = [c for child in children for c in json.loads(child.communicate(timeout=60)[0])]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    delays = [np.load(workdir / f"{i}.npy") for i in range(len(children))]
    return counts, np.concatenate(delays), offered


def trades_played(port: int) -> int:
    """How many tape trades the venue on ``port`` has played (its offered rate, over time)."""
    status = requests.get(f"http://127.0.0.1:{port}/admin/status", timeout=5).json()
    return int(status["trades_played"])


def run() -> Iterator[dict]:
    """Yield the throughput and the p50/p99 delay rows."""
    script = "from benchmarks.bench_venue import serve_for_bench; serve_for_bench()"
    child = subprocess.Popen([sys.executable, "-c", script, str(SPEED)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        with tempfile.TemporaryDirectory(prefix="gridbot-bench-venue-") as workdir:
            counts, delays, offered = _measure(port, Path(workdir))
    finally:
        child.terminate()
        child.wait(10)
    context = {"clients": CLIENTS, "client_processes": len(_spread(CLIENTS, PROCESSES)),
               "speed": SPEED, "seconds": MEASURE_S, "tape": "generated",
               "offered_trades_per_s": round(offered / MEASURE_S),
               "trades_per_client": min(counts), "deliveries": int(sum(counts))}
    rate = round(min(counts) / MEASURE_S)
    yield {"bench": "venue_broadcast_trades_per_s", "value": rate, "unit": "trades/s",
           "target": 5000, "met": rate >= 5000, **context}
    for name, q in (("venue_broadcast_p50_ms", 50), ("venue_broadcast_p99_ms", 99)):
        value = round(float(np.percentile(delays, q)), 2) if delays.size else None
        target = 50 if q == 99 else None
        met = None if target is None or value is None else value <= target
        yield {"bench": name, "value": value, "unit": "ms", "target": target, "met": met,
               **context}
