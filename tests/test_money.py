"""Money is exact: what a request is charged, and how amounts read back."""

from __future__ import annotations

from decimal import Decimal

import pytest

from stellwerk.config.schema import Price
from stellwerk.money import micro_text, read_amount


@pytest.mark.parametrize(
    ("prices", "tokens", "micro"),
    [
        ((1.0, 1.0), (47, 47), 94),
        ((0.7, 1.3), (47, 47), 94),  # prices read as the decimals written
        ((1.1, 0.0), (50, 0), 55),  # as floats 50 * 1.1 is 55.00000000000001: 56 rounded up
        ((0.1, 0.2), (3, 0), 1),  # 0.3 micro-units: rounded up, never charged as free
        ((0.0, 0.0), (1000, 1000), 0),
        ((10.0, 70.0), (9, 4), 370),
    ],
)
def test_a_request_is_charged_its_exact_price_rounded_up_once(
    prices: tuple[float, float], tokens: tuple[int, int], micro: int
) -> None:
    price = Price(input_per_mtok=prices[0], output_per_mtok=prices[1])
    assert price.cost_micro(*tokens) == micro


@pytest.mark.parametrize(
    ("micro", "text"),
    [(0, "0.000000"), (94, "0.000094"), (500, "0.000500"), (300_000_000, "300.000000")],
)
def test_amounts_read_as_six_decimals(micro: int, text: str) -> None:
    assert micro_text(micro) == text
    assert Decimal(text) * 1_000_000 == micro


@pytest.mark.parametrize("text", ["0", "5000", "0.0005", "12.50"])
def test_a_plain_amount_is_read_as_written(text: str) -> None:
    assert read_amount(text) == Decimal(text)


@pytest.mark.parametrize(
    "text", ["5_000", "١٢", " 5 ", "+5", "-5", "1e3", "5.", ".5", "", "1,000", "NaN", "Infinity"]
)
def test_anything_but_ascii_digits_and_a_point_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a plain amount"):
        read_amount(text)
