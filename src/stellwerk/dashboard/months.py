"""The month a page shows, and the months the header's month picker offers: a list the server
renders in the page's language (a browser writes an ``<input type="month">`` in its own locale,
whatever the page's language)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from stellwerk.ledger.window import Window

OFFERED = 36
"""How many months the picker offers, the current one first; an older month stays reachable
through ``?month=YYYY-MM``, and is then offered too."""


def this_month() -> str:
    """The current month (UTC), ``YYYY-MM``."""
    return datetime.now(UTC).strftime("%Y-%m")


def month_window(month: str | None) -> tuple[str, Window]:
    """The month a page asked for (``?month=YYYY-MM``, this month without one) and its window;
    an ``InvalidRequest`` for a month the dashboard cannot show."""
    text = this_month() if month is None else month
    return text, Window.month(text)


def offered(selected: str, today: date | None = None) -> list[str]:
    """``YYYY-MM`` of the current month (UTC) and the ``OFFERED - 1`` before it, newest first,
    with ``selected`` in its place when it is not among them (a month further back or ahead)."""
    now = today or datetime.now(UTC).date()
    index = now.year * 12 + now.month - 1
    months = [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index, index - OFFERED, -1)]
    if selected not in months:
        months = sorted([*months, selected], reverse=True)
    return months
