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
        ("2024-02", datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)),
    ],
)
def test_month(text: str, start: datetime, end: datetime) -> None:
    assert Window.month(text) == Window(start, end)


@pytest.mark.parametrize(
    "text",
    [
        "2026-13",
        "2026-00",
        "2026-1",
        "26-11",
        "november",
        "",
        # blanks, a line break and other scripts' digits (walk 19, B1)
        " 2024-02 ",
        "2024-02\n",
        "\uff12\uff10\uff12\uff16-12",
        "\u0662\u0660\u0662\u0666-\u0661\u0662",
        "2026-\u00b9\u00b2",
    ],
)
def test_bad_month_names_the_input(text: str) -> None:
    with pytest.raises(InvalidRequest, match="YYYY-MM") as caught:
        Window.month(text)
    assert caught.value.param == "month"


@pytest.mark.parametrize("text", ["9999-12", "0000-01"])
def test_a_month_out_of_range_says_so(text: str) -> None:
    """Of the form, but no window holds it: the refusal names the range, not the form."""
    with pytest.raises(InvalidRequest) as caught:
        Window.month(text)
    assert caught.value.message == (
        f"month {text!r} is out of the supported range, 0001-01 to 9999-11"
    )
    assert (caught.value.param, caught.value.code) == ("month", "month_out_of_range")
    assert Window.month("9999-11").end is not None and Window.month("0001-01").start is not None


def test_naive_or_reversed_windows_are_refused() -> None:
    with pytest.raises(InvalidRequest, match="no timezone"):
        Window(datetime(2026, 11, 1))
    with pytest.raises(InvalidRequest, match="before its start"):
        Window(datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
