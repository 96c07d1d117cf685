"""Money: amounts of the internal currency as whole micro-units (millionths), never floats.

Every cost, budget and spend is an ``int`` of micro-units where it is counted and stored (the
ledger's ``cost_micro`` columns, the budget counters, ``gov_limits.monthly_budget_micro``) and a
:class:`~decimal.Decimal` where it is shown or read (JSON carries it as a string, so no client
parses it into a float). Prices stay per one million tokens, so a request's cost in micro-units is
``tokens * price`` exactly; it is rounded up to a whole micro-unit once per request (a request
never costs less than it used, and the ledger and the budget counters add the same integers).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from stellwerk.errors import shown

MICRO = 1_000_000
MICRO_PLACES = 6
# The largest monthly budget (a million million units); in micro-units 10**18, which still fits a
# signed 64-bit counter (Redis, BIGINT) with room for the reservations on top.
MAX_BUDGET = Decimal(10**12)
# The highest price per one million tokens a model may have.
MAX_PRICE = 1_000_000.0


def exact(value: float | int | str | Decimal) -> Decimal:
    """A number as the decimal a person wrote: a float by its shortest representation (so
    ``0.1`` is ``Decimal('0.1')``, not the binary fraction next to it). Refuses NaN and
    infinities."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value} is not a finite number")
    try:
        result = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not result.is_finite():
        raise ValueError(f"{value} is not a finite number")
    return result


PLAIN_AMOUNT = re.compile(r"[0-9]+(?:\.[0-9]+)?")
"""An amount as text, the one form the admin API and the dashboard (once the page's separators
are read) take: ASCII digits, optionally a ``.`` and decimals. Python's ``Decimal`` reads more
(``5_000``, ``" 5 "``, ``1e3``, ``+5``, other scripts' digits such as ``١٢``): none is what a
person types as an amount, so each is refused, not guessed."""


def read_amount(text: str) -> Decimal:
    """The amount ``text`` in the plain form (``PLAIN_AMOUNT``), else ``ValueError`` saying so."""
    if not PLAIN_AMOUNT.fullmatch(text):
        raise ValueError(
            f"{shown(text)} is not a plain amount: write ASCII digits, optionally a '.' and"
            " decimals (no spaces, signs, underscores, exponents or other digits)"
        )
    return Decimal(text)


def plain_amount(value: object) -> object:
    """A validator's step before a ``Decimal`` field: a string must be a plain amount
    (``read_amount``); a JSON number passes as it is."""
    return read_amount(value) if isinstance(value, str) else value


_AMOUNT = "a decimal number or a string of ASCII digits with an optional decimal point"
_DECIMAL_PROBLEMS = {
    "decimal_max_places": "has more than {decimal_places} decimals; write at most {decimal_places}",
    "decimal_max_digits": "has more than {max_digits} digits; write at most {max_digits}",
    "decimal_whole_digits": "has more than {whole_digits} digits before the decimal point",
    "decimal_type": f"must be {_AMOUNT}",
    "decimal_parsing": f"must be {_AMOUNT}",
}


def decimal_problem(error_type: str, context: Mapping[str, Any]) -> str | None:
    """pydantic's error of a ``Decimal`` field (by its type and context) in plain words, else
    None: its own words name Python's type (``Decimal input should have no more than 6 decimal
    places``, ``... or Decimal object``)."""
    found = _DECIMAL_PROBLEMS.get(error_type)
    return found.format_map(context) if found is not None else None


def to_micro(amount: Decimal) -> int:
    """An amount in micro-units, rounded up to a whole micro-unit."""
    return math.ceil(amount * MICRO)


def from_micro(micro: int) -> Decimal:
    """Micro-units as an amount with exactly six decimals (``94`` -> ``Decimal('0.000094')``)."""
    return Decimal(micro).scaleb(-MICRO_PLACES)


def micro_text(micro: int) -> str:
    """Micro-units as the decimal string JSON and CSV carry (``'0.000094'``)."""
    return format(from_micro(micro), "f")


def cost_micro(
    prompt_tokens: int, completion_tokens: int, input_per_mtok: float, output_per_mtok: float
) -> int:
    """The exact cost of a request at prices per one million tokens, in micro-units, rounded up
    to a whole micro-unit (``94`` tokens at ``1.0`` cost ``94``, never ``95``)."""
    return math.ceil(
        prompt_tokens * exact(input_per_mtok) + completion_tokens * exact(output_per_mtok)
    )


def within_rounding(difference_micro: float, requests: int) -> bool:
    """Whether a cost and its baseline differing by ``difference_micro`` micro-units over
    ``requests`` requests differ by no more than the ledger's rounding: each request's cost is
    rounded up to a whole micro-unit, a baseline is priced unrounded (or rounded once per
    group), so up to one micro-unit a request is no difference, and a use case allowed one
    model saves nothing by being routed to it. The dashboard and the usage report both ask
    this; a float difference gets a hair's tolerance for its sum's binary noise."""
    return abs(difference_micro) <= requests * (1 + 1e-9)


def share_spent(spent: Decimal, budget: Decimal | None) -> float | None:
    """The share of ``budget`` that ``spent`` is; None: no budget (a budget of 0 is used up by
    any spend)."""
    if budget is None:
        return None
    if budget == 0:
        return 1.0 if spent > 0 else 0.0
    return float(spent / budget)
