"""The sums the chargeback report is made of: usage per department, model and key, routed
requests apart from those that named a model, and the routed ones by the reference their records
keep (``usage.reference_model``; None for records without one, which the report compares with
today's reference). ``stellwerk.governance.report`` prices and groups them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy import Connection, case, func, select

from stellwerk.ledger.tables import FAILED_STATUS, idle, refused, usage
from stellwerk.ledger.usage_read import usage_filter
from stellwerk.ledger.window import Window

#: A requested model that starts with this asked for a route (``auto``, ``auto-economy`` ...);
#: the rollups' ``routed`` column is made by the same rule (their trigger, in the migrations).
ROUTED_PREFIX: Final = "auto"


@dataclass(frozen=True, slots=True)
class UsageGroup:
    """The sums of the usage records of one department, model and key, routed or not."""

    department: str | None
    model: str | None
    key_id: str
    routed: bool
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_micro: int
    energy_wh: float
    refused: int
    """Of ``requests``, those refused for what they asked (a 4xx), as the dashboard counts them."""
    failed: int
    """Of ``requests``, those that failed (a 5xx: a backend down, failing or too slow)."""
    reference_model: str | None = None
    """The reference model the records keep (``UsageRecord.reference_model``); None: they keep
    none (not routed, or written before the ledger kept one)."""
    reference_cost_micro: int = 0
    """What ``reference_model`` would have charged for the records' tokens, as recorded."""
    idle: bool = False
    """The records were answered with no model (``tables.IDLE_GROUP``: a load or an unload)."""


def usage_groups(
    connection: Connection, window: Window, *, department: str | None = None
) -> list[UsageGroup]:
    """The usage in ``window`` (of one department, if given) by department, model, key, whether
    the request was routed, the reference its record keeps and whether it was answered with no
    model (a load or an unload, apart from the refused and failed that have none either)."""
    routed = usage.c.requested_model.like(ROUTED_PREFIX + "%")
    status = usage.c.status
    answered_idle = idle(usage.c.model, status)
    statement = (
        select(
            usage.c.department,
            usage.c.model,
            usage.c.key_id,
            routed,
            func.count(),
            func.coalesce(func.sum(usage.c.prompt_tokens), 0),
            func.coalesce(func.sum(usage.c.completion_tokens), 0),
            func.coalesce(func.sum(usage.c.cost_micro), 0),
            func.coalesce(func.sum(usage.c.energy_wh), 0.0),
            func.coalesce(func.sum(case((refused(status), 1), else_=0)), 0),
            func.coalesce(func.sum(case((status >= FAILED_STATUS, 1), else_=0)), 0),
            usage.c.reference_model,
            func.coalesce(func.sum(usage.c.reference_cost_micro), 0),
            answered_idle,
        )
        .where(usage_filter(window, department))
        .group_by(
            usage.c.department,
            usage.c.model,
            usage.c.key_id,
            routed,
            usage.c.reference_model,
            answered_idle,
        )
    )
    return [
        UsageGroup(
            department=row[0],
            model=row[1],
            key_id=row[2],
            routed=bool(row[3]),
            requests=int(row[4]),
            prompt_tokens=int(row[5]),
            completion_tokens=int(row[6]),
            cost_micro=int(row[7]),
            energy_wh=float(row[8]),
            refused=int(row[9]),
            failed=int(row[10]),
            reference_model=row[11],
            reference_cost_micro=int(row[12]),
            idle=bool(row[13]),
        )
        for row in connection.execute(statement)
    ]
