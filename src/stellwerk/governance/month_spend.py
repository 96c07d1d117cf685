"""The limits in force beside the month's spend: what each department and key spent this month
so far and what is left of its monthly budget (``GET /admin/limits``, ``stellwerk limits show``).

The spend is the dashboard's (a department's page, "budget and spend", and the overview's
limits): the internal cost of the month's usage records, summed from the ledger's daily rollups
(``ledger.usage_totals``) in micro-units, so exact. It is what the records written so far hold:
a request running now is in it once it ends (the budget counters hold its reservation until
then, ``policy.limits``). The month is the calendar month in UTC, the budgets' month.
``remaining`` is the budget less the spend, never below zero (a budget lowered below what was
spent has nothing left); ``null`` without a budget (unlimited).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from stellwerk.config.schema import UsageLimits
from stellwerk.governance.budgets import ScopeKind, limits_json
from stellwerk.ledger import usage_totals
from stellwerk.ledger.ledger import Ledger
from stellwerk.ledger.window import Window
from stellwerk.money import micro_text, to_micro


@dataclass(frozen=True, slots=True)
class MonthSpend:
    """The spend of one month (``YYYY-MM``) in micro-units, by department and by key id."""

    month: str
    departments: Mapping[str, int]
    keys: Mapping[str, int]

    def scope_json(self, kind: ScopeKind, name: str, limits: UsageLimits) -> dict[str, Any]:
        """``limits`` of the department or key id ``name`` (``kind``) as JSON, with its spend
        this month and what is left of its budget (``spent_json``)."""
        spent = self.departments if kind == "department" else self.keys
        return spent_json(limits, spent.get(name, 0))


def month_spend(
    ledger: Ledger, *, department: str | None = None, now: datetime | None = None
) -> MonthSpend:
    """This month's spend (the month of ``now``, UTC), of every department and key, or of
    ``department``'s and its keys' only."""
    month = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m")
    window = Window.month(month)
    with ledger.connect() as connection:
        departments = usage_totals.totals_by(
            connection, window, "department", department=department
        )
        keys = usage_totals.totals_by(connection, window, "key_id", department=department)
    return MonthSpend(
        month=month,
        departments={t.group: t.cost_micro for t in departments},
        keys={t.group: t.cost_micro for t in keys},
    )


def spent_json(limits: UsageLimits, spent_micro: int) -> dict[str, Any]:
    """``limits`` as JSON (``budgets.limits_json``) with ``spent`` and ``remaining``, decimal
    strings with six decimals as the budget is (``remaining``: ``None`` without a budget)."""
    budget = limits.monthly_budget
    remaining = None if budget is None else max(to_micro(budget) - spent_micro, 0)
    return limits_json(limits) | {
        "spent": micro_text(spent_micro),
        "remaining": None if remaining is None else micro_text(remaining),
    }
