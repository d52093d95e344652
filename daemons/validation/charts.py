"""The report's charts as plotly figures: price with grid levels and fills, equity, fills
per level, positions over time. Built from a finished comparison; nothing is drawn here
(the HTML report embeds them)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from daemons.validation.compare import Comparison
from daemons.validation.matching import OrderFill

#: The price chart draws the tape as a low-high band of at most this many buckets.
PRICE_BUCKETS = 3_000
_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2"]
LAYOUT = {"template": "plotly_white", "height": 420, "margin": {"l": 60, "r": 20, "t": 50,
                                                                  "b": 40}}


def colour(n: int, name: str) -> str:
    """Black for live, then one colour per model (sources are listed live first)."""
    return "#000" if name == "live" else _COLOURS[(n - 1) % len(_COLOURS)]


def _when(ms: np.ndarray | list[int]) -> np.ndarray:
    return np.asarray(ms, dtype="datetime64[ms]")


def price_chart(comparison: Comparison) -> go.Figure:
    """The market as a low-high band, the grid's levels, live and simulated fills."""
    tape = comparison.input.tape
    prints = (tape.kind == 1) | (tape.kind == 2)
    ts, price = tape.ts[prints], tape.price[prints]
    fig = go.Figure()
    if len(ts):
        edges = np.linspace(ts[0], ts[-1] + 1, min(PRICE_BUCKETS, len(ts)) + 1)
        bucket = np.searchsorted(edges, ts, side="right") - 1
        starts = np.flatnonzero(np.diff(bucket, prepend=-1))
        low, high = np.minimum.reduceat(price, starts), np.maximum.reduceat(price, starts)
        when = _when(ts[starts])
        fig.add_trace(go.Scatter(x=when, y=high, mode="lines", line={"width": 0.5,
                                 "color": "#999"}, name="market high", hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=when, y=low, mode="lines", line={"width": 0.5,
                                 "color": "#999"}, fill="tonexty", name="market low",
                                 fillcolor="rgba(150,150,150,0.25)", hoverinfo="skip"))
    for level in comparison.input.grid_levels:
        fig.add_hline(y=level, line={"width": 0.5, "dash": "dot", "color": "#bbb"})
    for n, name in enumerate(comparison.orders):
        _fills(fig, comparison.orders[name], name, colour(n, name), 9 if name == "live" else 6)
    fig.update_layout(title="Price, grid levels, live and simulated fills",
                      yaxis_title=comparison.input.symbol, **LAYOUT)
    return fig


def _fills(fig: go.Figure, orders: list[OrderFill], name: str, colour: str, size: int) -> None:
    for side, symbol in (("Buy", "triangle-up"), ("Sell", "triangle-down")):
        chosen = [o for o in orders if o.key.side == side]
        fig.add_trace(go.Scatter(
            x=_when([o.ts for o in chosen]), y=[float(o.price) for o in chosen], mode="markers",
            name=f"{name} {side.lower()}s", marker={"symbol": symbol, "size": size,
                                                     "color": colour, "line": {"width": 0}},
            text=[o.order_link_id for o in chosen]))


def equity_chart(comparison: Comparison) -> go.Figure:
    """PnL over the window (gridcore's books at the last price): live and each model."""
    fig = go.Figure()
    when = _when(comparison.equity_times)
    for n, (name, values) in enumerate(comparison.equity.items()):
        shade = colour(n, name)
        fig.add_trace(go.Scatter(x=when, y=values, mode="lines", name=name,
                                 line={"color": shade, "width": 2.5 if name == "live" else 1.5}))
    fig.update_layout(title="Equity (PnL since the start, USDT): live against each model",
                      yaxis_title="USDT", **LAYOUT)
    return fig


def levels_chart(comparison: Comparison) -> go.Figure:
    """Filled orders per grid level and side, per source."""
    rows = comparison.levels
    labels = [f"{r.price} {r.side}" for r in rows]
    fig = go.Figure()
    for n, name in enumerate(comparison.orders):
        shade = colour(n, name)
        fig.add_trace(go.Bar(y=labels, x=[r.fills.get(name, 0) for r in rows], name=name,
                             orientation="h", marker={"color": shade}))
    height = max(420, 7 * len(rows) * len(comparison.orders))
    fig.update_layout(title="Fills per grid level", barmode="group", xaxis_title="orders filled",
                      **{**LAYOUT, "height": height})
    return fig


def position_chart(comparison: Comparison) -> go.Figure:
    """Long and short size, and their entry prices, after every fill of every source."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=("size", "entry price"))
    for n, (name, books) in enumerate(comparison.books.items()):
        shade = colour(n, name)
        when = _when([p.ts for p in books.points])
        for label, size, entry, dash in (
                ("long", [float(p.long_size) for p in books.points],
                 [float(p.long_entry) or None for p in books.points], "solid"),
                ("short", [-float(p.short_size) for p in books.points],
                 [float(p.short_entry) or None for p in books.points], "dot")):
            style = {"color": shade, "dash": dash, "shape": "hv"}
            fig.add_trace(go.Scatter(x=when, y=size, mode="lines", line=style,
                                     name=f"{name} {label}"), row=1, col=1)
            fig.add_trace(go.Scatter(x=when, y=entry, mode="lines", line=style,
                                     name=f"{name} {label} entry", showlegend=False),
                          row=2, col=1)
    fig.update_layout(title="Position over time (short side negative)",
                      **{**LAYOUT, "height": 560})
    return fig
