"""Retention: usage records older than their risk tier's retention period are deleted.

Records older than the longest retention go first, in bulk (``Ledger.delete_usage_before``:
whole month partitions on PostgreSQL); then, tier by tier, the younger records of tiers with a
shorter retention.

A usage record's risk tier is its key's use case's tier; records of keys bound to no use case
count as ``minimal``. ``governance.retention_days`` sets the days per tier; the config refuses
less than six months for ``high`` (EU AI Act Art. 26(6): deployers of high-risk systems keep
the logs at least six months). The audit log is never expired: it is append-only by design
(the database refuses deletes), so it is kept at least as long as any tier requires.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from stellwerk.config.schema import GovernanceConfig, RiskTier
from stellwerk.ledger.audit import append_audit
from stellwerk.ledger.ledger import Ledger
from stellwerk.ledger.retention import delete_usage_of_keys


@dataclass(frozen=True, slots=True)
class Expiry:
    """``beyond_all`` records were older than every tier's retention (removed in bulk: whole
    month partitions on PostgreSQL); ``deleted`` counts the younger ones removed per tier."""

    cutoffs: dict[RiskTier, datetime]
    beyond_all: int
    deleted: dict[RiskTier, int]

    @property
    def total(self) -> int:
        return self.beyond_all + sum(self.deleted.values())


def expire_usage(
    ledger: Ledger,
    rules: GovernanceConfig,
    key_tiers: Mapping[str, RiskTier],
    *,
    now: datetime,
    config_hash: str | None = None,
) -> Expiry:
    """Delete the usage records past retention, in one transaction, and audit the counts."""
    cutoffs: dict[RiskTier, datetime] = {
        tier: now - timedelta(days=days) for tier, days in rules.retention_days.items()
    }
    deleted: dict[RiskTier, int] = {}
    bound = list(key_tiers)
    beyond_all = ledger.delete_usage_before(min(cutoffs.values()))
    with ledger.begin() as connection:
        for tier, cutoff in cutoffs.items():
            keys = [k for k, t in key_tiers.items() if t == tier]
            if tier == "minimal":  # records of unbound keys count as minimal risk
                deleted[tier] = delete_usage_of_keys(connection, cutoff, keys, and_all_but=bound)
            elif keys:
                deleted[tier] = delete_usage_of_keys(connection, cutoff, keys)
            else:
                deleted[tier] = 0
        if beyond_all or sum(deleted.values()):
            append_audit(
                connection,
                actor="retention",
                action="usage.expire",
                target_kind="usage",
                target="usage",
                details={
                    "beyond_all": beyond_all,
                    "deleted": dict(deleted),
                    "cutoffs": {t: c.isoformat() for t, c in cutoffs.items()},
                },
                config_hash=config_hash,
                time=now,
            )
    return Expiry(cutoffs, beyond_all, deleted)
