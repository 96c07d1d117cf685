"""A department's keys that have limits of their own, for its page.

A key's own monthly budget or rate limit refuses its requests while its department's budget may
be almost untouched (walk 15: "budget used < 0.1 %" beside 51 requests refused for a spent
budget). The department page shows each such key's limits beside the department's, with the
key's spend this month against its budget; the requests its own limits refused are counted apart
from the department's in the refusals beside it (``RateLimited.recorded``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from stellwerk.config.schema import UsageLimits
from stellwerk.ledger import usage_totals


@dataclass(frozen=True, slots=True)
class KeyLimits:
    key_id: str
    limits: UsageLimits
    spent: Decimal
    """The key's internal cost this month, from the ledger (as its department's spend is)."""

    @property
    def used(self) -> float | None:
        """The share of its own monthly budget spent; None: it has none."""
        return self.limits.budget_used(self.spent)


def key_limits(
    key_ids: Iterable[str], limits: Mapping[str, UsageLimits], by_key: Sequence[usage_totals.Totals]
) -> list[KeyLimits]:
    """The keys of ``key_ids`` with a limit of their own in ``limits`` (key id -> limits in
    force), in that order, each with its spend (``by_key``: the department's totals per key)."""
    spent = {t.group: t.cost for t in by_key}
    found = []
    for key_id in dict.fromkeys(key_ids):
        own = limits.get(key_id)
        if own is None or own == UsageLimits():
            continue  # none of its own: its department's apply
        found.append(KeyLimits(key_id, own, spent.get(key_id, Decimal(0))))
    return found
