"""The dashboard's figures: its data turned into the generic charts of :mod:`charts`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from markupsafe import Markup

from stellwerk.dashboard.charts import PALETTE, Bar, Series, bars, stacked_columns
from stellwerk.dashboard.i18n import DASH, Formatter
from stellwerk.dashboard.overview import RoutingMix
from stellwerk.dashboard.queries import Totals


def cost_bars(rows: Sequence[Totals], fmt: Formatter, title: str) -> Markup:
    """Internal cost per group (department, model, key)."""
    return bars(
        [Bar(r.group or DASH, float(r.cost), fmt.money(float(r.cost))) for r in rows], title=title
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


def audit_details(details: Mapping[str, Any]) -> list[str]:
    """An audit entry's details as short ``name: value`` lines; empty values left out, nested
    changes (``from``/``to``) flattened."""
    lines: list[str] = []
    for name, value in details.items():
        if value is None or value == "" or value == {} or value == []:
            continue
        if isinstance(value, Mapping):
            inner = ", ".join(
                f"{k}={_short(v)}" for k, v in value.items() if v is not None and v != ""
            )
            lines.append(f"{name}: {inner or DASH}")
        else:
            lines.append(f"{name}: {_short(value)}")
    return lines


def _short(value: object) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
    return text if len(text) <= 120 else text[:119] + "…"
