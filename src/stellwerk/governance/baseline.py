"""What routing is compared against, the one rule for the dashboard and the usage report: each
routed request (``auto...``) against the best model its key MAY use (its permitted reference
model), never a model policy forbids it; requests that named a model were not routed and save
nothing.

The reference of a key is the largest chat model (by parameter count) the policy filter lets its
requests use: lifecycle, consent, compliance, its data classification's hosting locations, its
department's and its use case's allow-lists, all as the gateway decides now. Legal's
confidential traffic is compared with the largest on-premises model legal may use, not with an
EU-cloud model it may never call. The classification is the request's own when it is recorded
(the key's default, or higher where the request raised it), the key's default (the highest of its
own, its use case's and its department's) for a record that keeps no reference. A key that may
use no model has no reference; its requests are left out of the comparison.

The rule is applied twice, the same way: when a routed request is recorded (``References``, by
the gateway's accounting: the reference under the governance snapshot in force and the request's
own classification, stored in the usage record with what it would have cost, at its price then),
and when a report or the dashboard meets a record written before the ledger kept one
(``key_references``, ``permitted_reference``: the key's reference now). A stored reference is
never worked out again: a catalog change alters no comparison already recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from stellwerk.config.schema import Classification, ModelConfig, UseCaseConfig
from stellwerk.errors import PermissionDenied
from stellwerk.governance.principal import Principal, key_principal
from stellwerk.governance.service import Governance
from stellwerk.governance.snapshot import Snapshot
from stellwerk.policy.filter import PolicyFilter
from stellwerk.policy.state import ModelState


def permitted_reference(
    policy: PolicyFilter, principal: Principal, states: Sequence[ModelState]
) -> ModelConfig | None:
    """The largest chat model ``principal`` may use by its default classification (the first id
    on a tie); ``None`` when it may use none."""
    chat = [s for s in states if "chat" in s.config.capabilities]
    try:
        allowed = policy.allowed(principal, cast(Classification, principal.classification), chat)
    except PermissionDenied:
        return None
    return max((s.config for s in allowed), key=lambda m: (m.params_b, m.id), default=None)


def key_principals(gov: Governance, use_cases: Sequence[UseCaseConfig]) -> dict[str, Principal]:
    """Every key's principal by key id: the config's keys and the stored ones (revoked too, whose
    traffic of the month still counts)."""
    departments = {d.name: d for d in gov.admin.config.departments}
    cases = {u.name: u for u in use_cases}
    found: dict[str, Principal] = {}
    for dept in gov.admin.config.departments:
        for key in dept.keys:
            found[key.id] = key_principal(
                key_id=key.id,
                department=dept.name,
                role=key.role,
                use_case=key.use_case,
                classification=key.classification,
                departments=departments,
                use_cases=cases,
            )
    for info in gov.admin.keys.list():
        found[info.key_id] = key_principal(
            key_id=info.key_id,
            department=info.department,
            role=info.role,
            use_case=info.use_case,
            classification=info.classification,
            departments=departments,
            use_cases=cases,
        )
    return found


def key_references(gov: Governance, states: Sequence[ModelState]) -> dict[str, ModelConfig | None]:
    """Every known key's reference model (``None``: it may use none now)."""
    policy = gov.snapshot.policy
    principals = key_principals(gov, gov.admin.use_cases.list())
    return {key_id: permitted_reference(policy, p, states) for key_id, p in principals.items()}


class References:
    """Each principal's permitted reference under the governance snapshot in force, worked out
    once per snapshot and principal (a snapshot is immutable and swapped whole, so a new one
    starts afresh). Used on the event loop only."""

    def __init__(self, governance: Governance) -> None:
        self._governance = governance
        self._snapshot: Snapshot | None = None
        self._found: dict[Principal, ModelConfig | None] = {}

    def of(self, principal: Principal) -> ModelConfig | None:
        """The largest chat model ``principal`` may use now (``permitted_reference``)."""
        snapshot = self._governance.snapshot
        if snapshot is not self._snapshot:
            self._snapshot, self._found = snapshot, {}
        if principal not in self._found:
            self._found[principal] = permitted_reference(
                snapshot.policy, principal, snapshot.models
            )
        return self._found[principal]
