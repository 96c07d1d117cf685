"""money in micro-units: usage.cost, usage_daily.cost and gov_limits.monthly_budget become
integer columns of millionths (cost_micro, monthly_budget_micro)

Revision ID: 0700_money_micro
Revises: 0600_dashboard_sessions
Create Date: 2026-12-06

Floats could not hold amounts exactly (a cost read back as 0.00009400000000000001); integers of
micro-units can (see ``stellwerk.money``). Every existing amount is rounded to the nearest
micro-unit: the old floats were the exact amounts to about 15 significant digits, so a cost or
budget up to a billion units keeps its value. A budget above the new maximum (10**12 units, e.g.
``1e303`` written to mean "no limit") becomes the maximum. The rollup trigger is made again on the
new column; the rollups already summed are converted like the records, not summed again.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from stellwerk.ledger.rollup_sql import drop_trigger, postgres_trigger, sqlite_trigger

revision = "0700_money_micro"
down_revision = "0600_dashboard_sessions"
branch_labels = None
depends_on = None

_MAX_BUDGET_MICRO = 10**18  # stellwerk.money.MAX_BUDGET in micro-units, as of this revision
_SUMS_BEFORE = (
    "requests",
    "errors",
    "fallbacks",
    "prompt_tokens",
    "completion_tokens",
    "cost",
    "energy_wh",
    "latency_ms_sum",
)
_SUMS_AFTER = tuple("cost_micro" if c == "cost" else c for c in _SUMS_BEFORE)


def _to_micro(column: str) -> str:
    return f"CAST(ROUND({column} * 1000000) AS BIGINT)"


def _replace(
    table: str,
    old: str,
    new: str,
    value: str,
    *,
    new_type: sa.types.TypeEngine[Any],
    old_type: sa.types.TypeEngine[Any],
    nullable: bool,
) -> None:
    """Add ``new`` to ``table``, fill it with ``value`` (SQL over ``old``), drop ``old``."""
    op.add_column(table, sa.Column(new, new_type, nullable=True))
    op.execute(f"UPDATE {table} SET {new} = {value}")
    with op.batch_alter_table(table) as batch:
        if not nullable:
            batch.alter_column(new, existing_type=new_type, nullable=False)
        batch.drop_column(old, existing_type=old_type)


def _triggers(dialect: str, sums: tuple[str, ...]) -> None:
    if dialect == "postgresql":
        for statement in postgres_trigger(sums):
            op.execute(statement)
    else:
        op.execute(sqlite_trigger(sums))


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in drop_trigger(dialect):
        op.execute(statement)
    for table in ("usage", "usage_daily"):
        _replace(
            table,
            "cost",
            "cost_micro",
            _to_micro("cost"),
            new_type=sa.BigInteger(),
            old_type=sa.Double(),
            nullable=False,
        )
    budget = (
        f"CASE WHEN monthly_budget IS NULL THEN NULL"
        f" WHEN monthly_budget >= {_MAX_BUDGET_MICRO // 1_000_000} THEN {_MAX_BUDGET_MICRO}"
        f" ELSE {_to_micro('monthly_budget')} END"
    )
    _replace(
        "gov_limits",
        "monthly_budget",
        "monthly_budget_micro",
        budget,
        new_type=sa.BigInteger(),
        old_type=sa.Double(),
        nullable=True,
    )
    _triggers(dialect, _SUMS_AFTER)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in drop_trigger(dialect):
        op.execute(statement)
    for table in ("usage", "usage_daily"):
        _replace(
            table,
            "cost_micro",
            "cost",
            "cost_micro / 1000000.0",
            new_type=sa.Double(),
            old_type=sa.BigInteger(),
            nullable=False,
        )
    _replace(
        "gov_limits",
        "monthly_budget_micro",
        "monthly_budget",
        "monthly_budget_micro / 1000000.0",
        new_type=sa.Double(),
        old_type=sa.BigInteger(),
        nullable=True,
    )
    _triggers(dialect, _SUMS_BEFORE)
