"""Amounts typed into the dashboard's forms, read the way the page's language writes them.

English writes ``1,500.25`` (``,`` groups thousands, ``.`` is the decimal point), German
``1.500,25``. The reading is strict; anything it cannot read one way only is refused with an
error that names the field (never guessed):

1. empty (or only spaces): refused; "unlimited" is its own choice on the form, not a blank field;
2. characters other than digits and the two separators (a currency sign, a space, a minus):
   refused;
3. the page's decimal separator at most once, with at least one digit on both sides;
4. the page's group separator only between groups of exactly three digits, the first not
   starting with 0, and only before the decimal separator (``1,500`` and ``12,345,678.5`` in
   English; ``1,50``, ``0,001`` and ``01,500`` are refused);
5. a lone decimal separator followed by exactly three digits (English ``1.500``, German
   ``1,500``) is refused as ambiguous: the other language writes one thousand five hundred so;
   unless the digits before it are all zeros (``0.001``, ``0,001``, ``00.500``): nobody writes
   zero thousand, so that separator can only be the decimal one.

Once its separators are read, an amount is the plain form the admin API takes too
(``stellwerk.money.read_amount``: ASCII digits, optionally a ``.`` and decimals): one rule for both.

:func:`amount_input` writes an amount back into a field so that the same page reads it again.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final

from stellwerk.dashboard.formats import Language
from stellwerk.errors import InvalidRequest
from stellwerk.money import read_amount

SEPARATORS: Final[dict[Language, tuple[str, str]]] = {"en": (",", "."), "de": (".", ",")}
"""language -> (group separator, decimal separator)"""


class AmountError(InvalidRequest):
    """An amount the page cannot read one way only; ``code`` says why, ``value`` what was
    typed (the dashboard shows it in the page's language)."""

    def __init__(
        self, field: str, value: str, code: str, message: str, readings: tuple[str, str] = ("", "")
    ) -> None:
        super().__init__(f"{field} {value!r}: {message}", param=field, code=code)
        self.value = value
        #: an ambiguous amount written both ways it can mean, in the page's separators: as a
        #: decimal amount the page reads one way only, and as thousands (``1,5`` and ``1.500``
        #: for a German ``1,500``; ``12,5050`` and ``12.505`` for ``12,505``)
        self.readings = readings


def parse_amount(text: str, language: Language, field: str) -> Decimal:
    """The amount ``text`` means on a page in ``language`` (rules in the module docstring)."""
    group, point = SEPARATORS[language]
    value = text.strip()
    if not value:
        raise AmountError(field, text, "amount_missing", "enter an amount")
    if not re.fullmatch(r"[0-9.,]+", value):
        raise AmountError(
            field, value, "amount_malformed", "write digits only (no currency, no spaces)"
        )
    whole, found, fraction = value.partition(point)
    if found and (point in fraction or group in fraction):
        raise AmountError(field, value, "amount_malformed", f"{point!r} once, after the groups")
    if found and (not whole or not fraction.isdigit()):
        raise AmountError(field, value, "amount_malformed", f"digits on both sides of {point!r}")
    # the first group starts with a digit other than 0: ``0,001`` is no thousand on an English
    # page (it is the German zero point zero zero one, the other language's decimal separator)
    grouped = rf"[1-9][0-9]{{0,2}}(?:{re.escape(group)}[0-9]{{3}})+"
    if group in whole and not re.fullmatch(grouped, whole):
        raise AmountError(
            field, value, "amount_malformed", f"{group!r} only between groups of three digits"
        )
    if not whole.replace(group, "").isdigit():
        raise AmountError(field, value, "amount_malformed", "not a number")
    # a whole part of zeros cannot start a thousands group (nobody writes zero thousand one)
    if found and group not in whole and len(fraction) == 3 and whole.strip("0"):
        raise AmountError(
            field,
            value,
            "amount_ambiguous",
            f"ambiguous: {value} is a thousands group in another language; write it with"
            " one, two or four decimals",
            (_decimal_reading(whole, point, fraction), whole + group + fraction),
        )
    # the same plain form the admin API takes, once the page's separators are read
    return read_amount(whole.replace(group, "") + ("." + fraction if found else ""))


def _decimal_reading(whole: str, point: str, fraction: str) -> str:
    """An ambiguous amount's decimal reading as the page reads it one way only: its trailing
    zeros dropped (German ``1,500`` is ``1,5``, which it suggested as ``1,5000``; ``1,000`` is
    ``1``), four decimals where all three count (``12,505`` is ``12,5050``)."""
    kept = fraction.rstrip("0")
    if not kept:
        return whole
    return whole + point + (kept + "0" if len(kept) == 3 else kept)


def amount_input(value: Decimal, language: Language) -> str:
    """``value`` as a form field's text that :func:`parse_amount` reads back on the same page:
    no group separators, the page's decimal separator, at least two decimals as the page writes
    amounts (``12,50``, not ``12,5``), no further trailing zeros (and never exactly three
    decimals after a whole part other than 0, which the reading refuses as ambiguous)."""
    text = f"{value.normalize():f}"
    whole, _, fraction = text.partition(".")
    fraction = fraction.ljust(2, "0")
    if len(fraction) == 3 and whole != "0":
        fraction += "0"
    return whole + SEPARATORS[language][1] + fraction
