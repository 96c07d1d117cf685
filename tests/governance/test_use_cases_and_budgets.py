from __future__ import annotations

from decimal import Decimal

import pytest
from tests.governance.factories import config

from stellwerk.errors import Conflict, InvalidRequest, NotFound
from stellwerk.governance.budgets import Budgets, parse_limits
from stellwerk.governance.key_store import KeyStore
from stellwerk.governance.use_cases import UseCases, parse_use_case
from stellwerk.ledger.ledger import Ledger


def test_use_cases_seed_create_update(ledger: Ledger) -> None:
    cfg = config(use_cases=[{"name": "helpdesk", "department": "it", "purpose": "answers"}])
    cases = UseCases(ledger, cfg)
    assert cases.seed() == ["helpdesk"]
    assert cases.seed() == []
    created = cases.create(
        parse_use_case(
            {"name": "triage", "department": "it", "risk_tier": "high", "purpose": "tickets"}
        ),
        actor="key-admin",
        reason="new service",
    )
    assert cases.get("triage") == created
    changed = parse_use_case(
        {
            "name": "triage",
            "department": "it",
            "risk_tier": "high",
            "purpose": "tickets",
            "oversight_contact": "ops@example.org",
        }
    )
    cases.update(changed, actor="key-admin", reason="oversight named", expected_version=1)
    assert cases.get("triage").oversight_contact == "ops@example.org"
    with pytest.raises(Conflict, match="changed concurrently"):
        cases.update(changed, actor="key-admin", reason="stale", expected_version=1)
    audit = ledger.list_audit(target_kind="use_case", target="triage")
    assert [e.action for e in audit] == ["use_case.update", "use_case.create"]
    assert audit[0].details["changes"] == {
        "oversight_contact": {"from": None, "to": "ops@example.org"}
    }


def test_a_use_case_with_keys_does_not_move_and_says_whose_keys_hold_it(ledger: Ledger) -> None:
    """The refusal said "keys of another department" of the keys of the use case's own
    department (the only ones that can be bound to it): it names that department."""
    cfg = config(use_cases=[{"name": "triage", "department": "it"}])
    cases = UseCases(ledger, cfg)
    cases.seed()
    key = KeyStore(ledger, cfg).create(department="it", actor="x", use_case=cases.get("triage"))
    moved = parse_use_case({"name": "triage", "department": "legal"})
    with pytest.raises(Conflict) as refused:
        cases.update(moved, actor="key-admin", reason="reorganised")
    assert refused.value.message == (
        f"use case 'triage' cannot move from department 'it' to 'legal': keys of 'it' are bound"
        f" to it: {key.info.key_id} (revoke it); unbind or revoke them first, or create a new"
        " use case in 'legal'"
    )
    assert cases.get("triage").department == "it"


@pytest.mark.parametrize(
    ("raw", "error", "message"),
    [
        ({"name": "x", "department": "it", "risk_tier": "prohibited"}, InvalidRequest, "prohib"),
        ({"name": "x", "department": "nope"}, NotFound, "unknown department 'nope'"),
        ({"name": "x", "department": "it", "allowed_models": ["gpt"]}, NotFound, "gpt"),
        ({"name": "x", "department": "it", "colour": "red"}, InvalidRequest, "colour: unknown"),
    ],
)
def test_bad_use_cases_are_refused(
    ledger: Ledger, raw: dict[str, object], error: type[Exception], message: str
) -> None:
    cases = UseCases(ledger, config())
    with pytest.raises(error, match=message):
        cases.create(parse_use_case(raw), actor="a", reason="r")
    assert cases.list() == []


def test_budgets_override_the_config_and_are_audited(ledger: Ledger) -> None:
    cfg = config(
        departments=[
            {"name": "it", "limits": {"monthly_budget": 100}},
            {"name": "legal"},
        ]
    )
    budgets = Budgets(ledger, cfg)
    assert budgets.department_limits("it").monthly_budget == 100
    budgets.set_limits(
        "department",
        "it",
        parse_limits({"monthly_budget": 250.5, "requests_per_minute": 60}),
        actor="key-admin",
        reason="Q4 project",
    )
    assert budgets.department_limits("it").monthly_budget == 250.5
    assert budgets.department_limits("it").requests_per_minute == 60
    budgets.set_limits(
        "department", "it", parse_limits({"monthly_budget": 50}), actor="cli:anna", reason="cut"
    )
    assert budgets.department_limits("it").monthly_budget == 50
    assert budgets.department_limits("it").requests_per_minute is None
    entries = ledger.list_audit(action="limits.set")
    assert entries[0].details["from"]["monthly_budget"] == "250.500000"
    assert entries[0].details["to"]["monthly_budget"] == "50.000000"
    assert "key-1" not in budgets.effective()[1]


def test_a_change_keeps_the_other_limits_and_audits_what_was_in_force(ledger: Ledger) -> None:
    """The config's rate limit survives a budget change; null clears one limit; the audit
    shows the limits in force before and after, config values included."""
    cfg = config(departments=[{"name": "it", "limits": {"requests_per_minute": 120}}])
    budgets = Budgets(ledger, cfg)
    after = budgets.change_limits(
        "department", "it", {"monthly_budget": "0.0005"}, actor="a", reason="pilot"
    )
    assert (after.requests_per_minute, after.monthly_budget) == (120, Decimal("0.0005"))
    assert budgets.department_limits("it") == after
    budgets.change_limits("department", "it", {"requests_per_minute": None}, actor="a", reason="r")
    assert budgets.department_limits("it").requests_per_minute is None
    assert budgets.department_limits("it").monthly_budget == Decimal("0.0005")
    first, second = reversed(ledger.list_audit(action="limits.set"))
    unlimited = {"requests_per_minute": None, "tokens_per_minute": None, "monthly_budget": None}
    assert first.details["from"] == {**unlimited, "requests_per_minute": 120}
    assert first.details["to"] == {
        **unlimited,
        "requests_per_minute": 120,
        "monthly_budget": "0.000500",
    }
    assert second.details["to"] == {**unlimited, "monthly_budget": "0.000500"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"monthly_budget": -5}, "monthly_budget: -5 is less than 0, the least it may be"),
        ({"monthly_budget": "lots"}, "monthly_budget"),
        ({"requests_per_minute": 0}, "requests_per_minute: 0 is less than 1, the least it may be"),
        ({"requests_per_minute": 1.5}, "requests_per_minute: 1.5 is not a whole number"),
        ({"requests_per_minute": "5"}, "requests_per_minute: a string is not a whole number"),
        (
            {"monthly_budget": 1e303},
            r"monthly_budget: 1E\+303 is more than 1000000000000, the most it may be",
        ),
        ({"monthly_budget": float("inf")}, "monthly_budget: inf is not a finite number"),
        ({"monthly_budget": "0.0000001"}, "monthly_budget: has more than 6 decimals"),
        (
            {"requests_per_minute": 99999999999999999999999},
            "requests_per_minute: 99999999999999999999999 is more than 1000000000, the most",
        ),
        (
            {"tokens_per_minute": 2**63},
            "tokens_per_minute: 9223372036854775808 is more than 1000000000, the most it may be",
        ),
        ({"budget": 5}, "budget: unknown field"),
    ],
)
def test_malformed_budgets_are_refused(raw: dict[str, object], message: str) -> None:
    """Each named with its bound in the words of every refusal of one (the CLI's, the admin
    API's); pydantic's (``Input should be greater than or equal to 0``) reached the dashboard's
    budget form."""
    with pytest.raises(InvalidRequest, match=message):
        parse_limits(raw)


def test_budget_of_unknown_department(ledger: Ledger) -> None:
    budgets = Budgets(ledger, config())
    with pytest.raises(NotFound, match="unknown department 'sales'"):
        budgets.set_limits("department", "sales", parse_limits({}), actor="a", reason="r")
    assert ledger.list_audit() == []
