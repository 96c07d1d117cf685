"""The dashboard's figures: its data turned into the generic charts of :mod:`charts`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from markupsafe import Markup

from stellwerk.dashboard.charts import PALETTE, Bar, Series, bars, stacked_columns
from stellwerk.dashboard.formats import DASH, Formatter
from stellwerk.dashboard.overview import RoutingMix
from stellwerk.ledger.tables import IDLE_GROUP
from stellwerk.ledger.usage_totals import Totals


def cost_bars(
    rows: Sequence[Totals], fmt: Formatter, title: str, places: int | None = None
) -> Markup:
    """Internal cost per group (department, model, key); the requests with no model (refused,
    failed, a load or an unload: no cost) left out. ``places``: the decimals of the table
    beside it (``Formatter.places``)."""
    return bars(
        [
            Bar(r.group, float(r.cost), fmt.money(r.cost, places))
            for r in rows
            if r.group and r.group != IDLE_GROUP
        ],
        title=title,
    )


def request_bars(rows: Sequence[Totals], fmt: Formatter, title: str) -> Markup:
    return bars(
        [Bar(r.group or DASH, r.requests, fmt.number(r.requests)) for r in rows], title=title
    )


def mix_columns(mix: RoutingMix, fmt: Formatter, title: str) -> Markup:
    """Each day's requests split by model, as shares."""
    return stacked_columns(
        [fmt.day(d) for d in mix.days],
        [Series(m, mix.requests[m]) for m in mix.models],
        title=title,
    )


def daily_bars(daily: Sequence[tuple[datetime, int]], fmt: Formatter, title: str) -> Markup:
    return bars(
        [Bar(fmt.day(d), n, fmt.number(n)) for d, n in daily[-14:]], title=title, fill=PALETTE[0]
    )
