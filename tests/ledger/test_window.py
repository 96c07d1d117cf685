"""Time windows and months as the report and dashboard give them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stellwerk.errors import InvalidRequest
from stellwerk.ledger.window import Window


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026-11", datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)),
        ("2026-12", datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
        (" 2024-02 ", datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)),
    ],
)
def test_month(text: str, start: datetime, end: datetime) -> None:
    assert Window.month(text) == Window(start, end)


@pytest.mark.parametrize(
    "text", ["2026-13", "2026-00", "2026-1", "26-11", "november", "", "9999-12"]
)
def test_bad_month_names_the_input(text: str) -> None:
    with pytest.raises(InvalidRequest, match="YYYY-MM") as caught:
        Window.month(text)
    assert caught.value.param == "month"


def test_naive_or_reversed_windows_are_refused() -> None:
    with pytest.raises(InvalidRequest, match="no timezone"):
        Window(datetime(2026, 11, 1))
    with pytest.raises(InvalidRequest, match="before its start"):
        Window(datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
