"""The governance services the dashboard reads and acts through: the running gateway's own
``Governance`` (its ``admin``: catalog, keys, use cases, budgets over its ledger; its
``snapshot``), the object the admin API uses.
After a change the dashboard reloads its snapshot, as the admin API does, so that the change
takes effect on the next request."""

from __future__ import annotations

from fastapi import Request

from stellwerk.gateway.deps import runtime_of
from stellwerk.governance.service import Governance


def governance_of(request: Request) -> Governance:
    return runtime_of(request).governance
