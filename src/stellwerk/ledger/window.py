"""Time windows for reads: ``[start, end)`` in UTC, months given as ``YYYY-MM``, and windows given
by two ISO 8601 times (``since``, ``until``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement

from stellwerk.errors import InvalidRequest, shown
from stellwerk.ledger.partitions import month_bounds

# [0-9], not \d: \d (and int()) take other scripts' digits too, fullwidth or Arabic-Indic
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_SPACED_OFFSET = re.compile(r"[0-9] [0-9]{2}(:?[0-9]{2})?$")
MONTH_FORM = "YYYY-MM, such as 2026-12 (the digits 0 to 9, no spaces)"
"""How a month is written, as every refusal of one says it (admin API, CLI)."""
FIRST_MONTH = "0001-01"
LAST_MONTH = "9999-11"  # its end, the start of the next month, is the last time Python holds


@dataclass(frozen=True, slots=True)
class Window:
    """Half-open interval ``start <= time < end``; either side may be open (``None``)."""

    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None and value.utcoffset() is None:
                raise InvalidRequest(
                    f"window {name} {value.isoformat()} has no timezone", param=name
                )
        if self.start is not None and self.end is not None and self.end < self.start:
            raise InvalidRequest(
                f"window end {self.end.isoformat()} is before its start {self.start.isoformat()}",
                param="end",
            )

    def clauses(self, column: ColumnElement[Any]) -> list[ColumnElement[bool]]:
        """The conditions that keep ``column`` (a time or a day) within the window: none, one or
        two, to be joined with a query's other conditions."""
        found: list[ColumnElement[bool]] = []
        if self.start is not None:
            found.append(column >= self.start)
        if self.end is not None:
            found.append(column < self.end)
        return found

    @classmethod
    def month(cls, text: str) -> Window:
        """The calendar month ``YYYY-MM`` in UTC (ASCII digits, nothing around it), e.g.
        ``Window.month("2026-11")``, from
        ``FIRST_MONTH`` to ``LAST_MONTH`` (a window's times are Python's, years 1 to 9999, and
        a month's end is the start of the next one). Each refusal names ``month`` and says
        which of its two problems it is (the code tells them apart): not a month of the form
        (``2026-13`` too), or out of that range (``9999-12``)."""
        match = _MONTH.fullmatch(text)  # no blanks around it: a month is echoed as it came
        year, number = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
        if not 1 <= number <= 12:
            raise InvalidRequest(
                f"month {shown(text)} is not a month of the form {MONTH_FORM}", param="month"
            )
        if not FIRST_MONTH <= f"{year:04d}-{number:02d}" <= LAST_MONTH:
            raise InvalidRequest(
                f"month {shown(text)} is out of the supported range, {FIRST_MONTH} to {LAST_MONTH}",
                param="month",
                code="month_out_of_range",
            )
        return cls(*month_bounds((year, number)))

    @classmethod
    def between(cls, since: str | None, until: str | None) -> Window:
        """From ``since`` (included) to ``until`` (excluded), each an ISO 8601 time or date
        (``2026-12-01``, ``2026-12-01T09:30:00Z``) or ``None`` for an open side. A time without
        an offset is UTC; another offset is converted. Each refusal names the side it is about."""
        start = instant(since, "since") if since is not None else None
        end = instant(until, "until") if until is not None else None
        if start is not None and end is not None and end < start:
            raise InvalidRequest(
                f"until {end.isoformat()} is before since {start.isoformat()}", param="until"
            )
        return cls(start, end)


def instant(text: str, name: str) -> datetime:
    """``text``, an ISO 8601 date or time, as an aware UTC time (no offset: UTC); an
    ``InvalidRequest`` naming ``name`` if it is not one."""
    try:
        moment = datetime.fromisoformat(text)  # no blanks around it, as a month
    except ValueError:
        # a "+" in a URL's query is a space: "T09:30:00+01:00" arrives as "T09:30:00 01:00"
        hint = "; write a + in a URL as %2B" if _SPACED_OFFSET.search(text) else ""
        raise InvalidRequest(
            f"{name} {shown(text)} is not an ISO 8601 date or time (e.g. 2026-12-01 or"
            f" 2026-12-01T09:30:00Z){hint}",
            param=name,
        ) from None
    if moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before the first time Python holds in UTC
        raise InvalidRequest(
            f"{name} {shown(text)} is out of the supported range", param=name
        ) from None


EVERYTHING = Window()
