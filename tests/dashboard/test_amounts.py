"""Amounts typed into the dashboard's forms are read the way the page's language writes them,
and refused (naming the field) when they can be read two ways or not at all."""

from __future__ import annotations

from decimal import Decimal

import pytest

from stellwerk.dashboard.amounts import AmountError, amount_input, parse_amount
from stellwerk.dashboard.formats import Language


@pytest.mark.parametrize(
    ("text", "language", "value"),
    [
        ("1,500", "en", "1500"),
        ("1.500", "de", "1500"),
        ("1,000.50", "en", "1000.50"),
        ("1.000,50", "de", "1000.50"),
        ("12,345,678.5", "en", "12345678.5"),
        ("1500", "en", "1500"),
        (" 0.0005 ", "en", "0.0005"),
        ("0,0005", "de", "0.0005"),
        ("12.5", "en", "12.5"),
        ("12,5", "de", "12.5"),
        ("0", "de", "0"),
        # a whole part of zeros cannot be a thousands group (nobody writes zero thousand one)
        ("0.001", "en", "0.001"),
        ("0,001", "de", "0.001"),
        ("0.0010", "en", "0.001"),
        ("0,0010", "de", "0.001"),
        ("00.500", "en", "0.5"),
        ("000,001", "de", "0.001"),
        ("00.5", "en", "0.5"),
    ],
)
def test_amounts_are_read_in_the_page_language(text: str, language: Language, value: str) -> None:
    assert parse_amount(text, language, "monthly_budget") == Decimal(value)


@pytest.mark.parametrize(
    ("text", "language", "code"),
    [
        ("", "en", "amount_missing"),
        ("   ", "de", "amount_missing"),
        ("1.500", "en", "amount_ambiguous"),  # German for one thousand five hundred
        ("1,500", "de", "amount_ambiguous"),
        ("01.500", "en", "amount_ambiguous"),  # a leading zero does not make it zero thousand
        ("10,001", "de", "amount_ambiguous"),
        ("0,001", "en", "amount_malformed"),  # the other language's zero point zero zero one
        ("0.001", "de", "amount_malformed"),
        ("01,500", "en", "amount_malformed"),  # a thousands group does not start with 0
        ("0.500.000", "de", "amount_malformed"),
        ("1,5", "en", "amount_malformed"),  # the other language's decimal comma
        ("1.5", "de", "amount_malformed"),
        ("1.000,50", "en", "amount_malformed"),
        ("1,000.50", "de", "amount_malformed"),
        ("1,50,000", "en", "amount_malformed"),
        ("1,000,", "en", "amount_malformed"),
        (".5", "en", "amount_malformed"),
        ("5.", "en", "amount_malformed"),
        ("1.2.3", "en", "amount_malformed"),
        ("€5", "en", "amount_malformed"),
        ("1 500", "de", "amount_malformed"),
        ("-5", "en", "amount_malformed"),
        ("1e3", "en", "amount_malformed"),
        ("NaN", "en", "amount_malformed"),
        ("٣", "en", "amount_malformed"),  # a digit, but not one the page writes
    ],
)
def test_ambiguous_or_malformed_amounts_are_refused_naming_the_field(
    text: str, language: Language, code: str
) -> None:
    with pytest.raises(AmountError) as caught:
        parse_amount(text, language, "monthly_budget")
    assert caught.value.code == code and caught.value.param == "monthly_budget"
    assert caught.value.message.startswith("monthly_budget")


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize(
    "value", ["1500", "0.0005", "12.5", "1000.125", "0", "7.000000", "0.001", "0.5"]
)
def test_a_field_prefilled_with_an_amount_reads_back_the_same(
    language: Language, value: str
) -> None:
    text = amount_input(Decimal(value), language)
    assert parse_amount(text, language, "f") == Decimal(value)


@pytest.mark.parametrize(("language", "text"), [("en", "0.001"), ("de", "0,001")])
def test_a_tenth_of_a_cent_is_prefilled_as_it_is_written(language: Language, text: str) -> None:
    assert amount_input(Decimal("0.001"), language) == text


@pytest.mark.parametrize(
    ("value", "en", "de"),
    [("12.5", "12.50", "12,50"), ("1500", "1500.00", "1500,00"), ("0.0005", "0.0005", "0,0005"),
     ("1000.125", "1000.1250", "1000,1250")],
)  # fmt: skip
def test_a_field_shows_at_least_two_decimals_as_the_page_writes_amounts(
    value: str, en: str, de: str
) -> None:
    """The page writes ``12,50 €``: the field showed ``12,5``."""
    assert amount_input(Decimal(value), "en") == en
    assert amount_input(Decimal(value), "de") == de


@pytest.mark.parametrize(
    ("text", "language", "readings"),
    [
        ("12,505", "de", ("12,5050", "12.505")),
        ("1.500", "en", ("1.5", "1,500")),
        ("1,500", "de", ("1,5", "1.500")),  # it said "1,5000" (walk 15, LOW-5)
        ("12,250", "de", ("12,25", "12.250")),
        ("2,000", "de", ("2", "2.000")),
    ],
)
def test_an_ambiguous_amount_is_offered_back_both_ways_it_can_mean(
    text: str, language: Language, readings: tuple[str, str]
) -> None:
    """The refusal writes the user's own number both ways (it offered a fixed 1,5 or 1.500),
    each of which the same page then reads one way only."""
    with pytest.raises(AmountError) as caught:
        parse_amount(text, language, "monthly_budget")
    assert caught.value.readings == readings
    decimal, thousands = (parse_amount(r, language, "monthly_budget") for r in readings)
    assert decimal < 100 < thousands
