"""What the department page's budget form asks for: a monthly budget, or none ("unlimited").

The form has an amount field (``monthly_budget``), a box "unlimited" (``unlimited=yes`` when
ticked) and a hidden field (``budget_shown``) holding the amount field's text as the page wrote it:
the budget in force, or nothing when the department has none (then the page ticks the box). With
both the box and the field to fill in, a form can say two things; it is read by what the user
changed, in this order:

1. the box not ticked: the amount typed (an empty field is refused: "unlimited" is the box);
2. the box ticked and the field empty: unlimited;
3. the box ticked, an amount typed, and the page showed no budget (``budget_shown`` empty): the
   amount. The page ticked the box; the user typed an amount, and an amount means a limit;
4. the box ticked and the field still showing the budget in force (``budget_shown``, or the
   same amount written otherwise: ``12.5`` for ``12.50``): unlimited. The user ticked the box and
   left the old amount as it was;
5. otherwise (the box ticked and a budget in force changed to another amount, or a post without
   ``budget_shown``, which no page sent): refused, "choose either an amount or unlimited, not
   both". Both were changed, and neither can be told to be the one meant.

The amount is read in the page's language (:mod:`stellwerk.dashboard.amounts`) and checked like
the admin API's (0 to the maximum, at most six decimals). The confirmation page names what was
read (the amount with its currency, or "unlimited") before anything changes, and posts it as one
choice only.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Final

from stellwerk.dashboard.amounts import AmountError, parse_amount
from stellwerk.dashboard.formats import Language
from stellwerk.governance.budgets import parse_limits

AMOUNT: Final = "monthly_budget"
UNLIMITED: Final = "unlimited"
"""The box for no budget (ticked: ``unlimited=yes``)."""
SHOWN: Final = "budget_shown"
"""The hidden field with the amount field's text as the page wrote it (empty: no budget)."""


def form_budget(form: Mapping[str, str], language: Language) -> Decimal | None:
    """The budget ``form`` asks for, ``None`` for unlimited (rules in the module docstring); an
    ``AmountError`` when it cannot be read one way only."""
    typed = form.get(AMOUNT, "").strip()
    if form.get(UNLIMITED) == "yes" and _unlimited(typed, form.get(SHOWN), language):
        return None
    value = parse_amount(form.get(AMOUNT, ""), language, AMOUNT)
    return parse_limits({AMOUNT: value}).monthly_budget


def _unlimited(typed: str, shown: str | None, language: Language) -> bool:
    """Whether a form with the box ticked means unlimited (rules 2 to 5)."""
    if not typed:
        return True
    if shown is not None and not shown.strip():
        return False  # the page showed no budget: the amount is what changed
    if shown is not None and _same(typed, shown.strip(), language):
        return True  # the amount in force left as it was: the box is what changed
    raise AmountError(
        AMOUNT, typed, "amount_and_unlimited", "choose either an amount or unlimited, not both"
    )


def _same(typed: str, shown: str, language: Language) -> bool:
    """Whether ``typed`` is the amount ``shown``, however written (``12.5``, ``12.50``); an
    amount the page cannot read is not the one it showed."""
    if typed == shown:
        return True
    try:
        return parse_amount(typed, language, AMOUNT) == parse_amount(shown, language, AMOUNT)
    except AmountError:
        return False
