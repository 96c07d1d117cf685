"""Time windows for reads: ``[start, end)`` in UTC, and months given as ``YYYY-MM``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement

from stellwerk.errors import InvalidRequest
from stellwerk.ledger.partitions import month_bounds

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


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
        """The calendar month ``YYYY-MM`` in UTC, e.g. ``Window.month("2026-11")``."""
        match = _MONTH.match(text.strip())
        try:
            if match is None:
                raise ValueError(text)
            start, end = month_bounds((int(match.group(1)), int(match.group(2))))
        except ValueError as exc:
            raise InvalidRequest(
                f"month {text!r} is not a month of the form YYYY-MM", param="month"
            ) from exc
        return cls(start, end)


EVERYTHING = Window()
