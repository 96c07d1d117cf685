"""The dashboard's figures: its data turned into the generic charts of :mod:`charts`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, get_args

from markupsafe import Markup

from stellwerk.config.schema import Classification, Hosting, Lifecycle, RiskTier, Role
from stellwerk.dashboard.charts import PALETTE, Bar, Series, bars, stacked_columns
from stellwerk.dashboard.formats import DASH, Formatter
from stellwerk.dashboard.i18n import Labels
from stellwerk.dashboard.overview import RoutingMix
from stellwerk.ledger.usage_totals import Totals


def cost_bars(rows: Sequence[Totals], fmt: Formatter, title: str) -> Markup:
    """Internal cost per group (department, model, key); the refused requests (no model, no
    cost) left out."""
    return bars(
        [Bar(r.group, float(r.cost), fmt.money(r.cost)) for r in rows if r.group], title=title
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


MONEY_DETAILS = frozenset({"monthly_budget", "input_per_mtok", "output_per_mtok"})
"""Audit detail fields that hold an amount of money (shown with the currency)."""
VALUE_LABELS = frozenset(
    {
        *get_args(Lifecycle),
        *get_args(RiskTier),
        *get_args(Classification),
        *get_args(Hosting),
        *get_args(Role),
        "granted",
        "withdrawn",
    }
)
"""Audit detail values that are words of the dashboard (a state, a tier ...): translated."""


def audit_details(details: Mapping[str, Any], t: Labels, fmt: Formatter) -> list[str]:
    """An audit entry's details as short ``name: value`` lines in the page's language; empty
    values left out, nested changes (``from``/``to``) flattened."""
    lines: list[str] = []
    for name, value in details.items():
        if value is None or value == "" or value == {} or value == []:
            continue
        if isinstance(value, Mapping):
            inner = ", ".join(
                f"{_name(k, t)}={_value(k, v, t, fmt)}"
                for k, v in value.items()
                if v is not None and v != ""
            )
            lines.append(f"{_name(name, t)}: {inner or DASH}")
        else:
            lines.append(f"{_name(name, t)}: {_value(name, value, t, fmt)}")
    return lines


def _name(name: str, t: Labels) -> str:
    key = "detail_" + name
    if key not in t:
        return name
    return t[key]


def _value(name: str, value: object, t: Labels, fmt: Formatter) -> str:
    if isinstance(value, bool):
        return t["yes"] if value else t["no"]
    if name in MONEY_DETAILS and isinstance(value, int | float | Decimal | str):
        amount = _amount(value)  # the ledger writes amounts as exact decimal strings
        if amount is not None:
            return fmt.money(amount)
    if isinstance(value, float):
        return fmt.number(value, 4).rstrip("0").rstrip(".,")
    if isinstance(value, str) and value in VALUE_LABELS:
        return t(value)
    if isinstance(value, list | tuple):
        return _short(", ".join(_value(name, v, t, fmt) for v in value))
    return _short(str(value))


def _amount(value: int | float | Decimal | str) -> Decimal | int | float | None:
    if not isinstance(value, str):
        return value
    try:
        return Decimal(value)
    except ArithmeticError:  # decimal.InvalidOperation: not an amount after all
        return None


def _short(text: str) -> str:
    return text if len(text) <= 120 else text[:119] + "…"
