"""The budget form's reading of an amount left as it was: the same amount however written."""

from __future__ import annotations

import pytest

from stellwerk.dashboard.amounts import AmountError
from stellwerk.dashboard.budget_form import form_budget
from stellwerk.dashboard.formats import Language
from stellwerk.errors import InvalidRequest


@pytest.mark.parametrize(
    ("language", "shown", "typed"),
    [("en", "12.50", "12.5"), ("de", "12,50", "12,5"), ("en", "1500.00", "1,500")],
)
def test_the_budget_in_force_written_otherwise_is_left_as_it_was(
    language: Language, shown: str, typed: str
) -> None:
    """Ticking "unlimited" with the amount in force retyped (``12.5`` for the page's ``12.50``)
    removes the budget, as leaving the field alone does; it was refused as both."""
    form = {"monthly_budget": typed, "unlimited": "yes", "budget_shown": shown}
    assert form_budget(form, language) is None


@pytest.mark.parametrize("typed", ["13", "12.51", "12.5.0"])
def test_another_amount_with_the_box_ticked_is_refused(typed: str) -> None:
    form = {"monthly_budget": typed, "unlimited": "yes", "budget_shown": "12.50"}
    with pytest.raises(AmountError) as caught:
        form_budget(form, "en")
    assert caught.value.code == "amount_and_unlimited"


@pytest.mark.parametrize(
    ("language", "typed"), [("en", "9,999,999,999,999"), ("de", "9.999.999.999.999")]
)
def test_a_budget_above_the_largest_is_refused_naming_the_bound(
    language: Language, typed: str
) -> None:
    """The words of every refusal of a bound (the CLI's, the admin API's); it said pydantic's
    ``monthly_budget: Input should be less than or equal to 1000000000000``."""
    with pytest.raises(InvalidRequest) as caught:
        form_budget({"monthly_budget": typed}, language)
    assert caught.value.message == (
        "monthly_budget: 9999999999999 is more than 1000000000000, the most it may be"
    )
    assert caught.value.param == "monthly_budget"
