"""usage familiarity: a routed request's record says how familiar its prompt was to the router,
and the daily rollups count the measured and the unfamiliar ones

Revision ID: 0900_usage_familiarity
Revises: 0800_router_learning
Create Date: 2026-12-06

``usage.familiarity`` (a number in [0, 1], never text) and ``usage.unfamiliar`` (whether the
router called the prompt unfamiliar, below its threshold at the time) are null for records
written before this revision and for requests the router did not measure. ``usage_daily`` gains
two counts, ``familiarity_measured`` and ``unfamiliar``, kept by the rollup trigger (made again
with them); the rollups of older records count 0 of both, since their familiarity was never
recorded.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stellwerk.ledger.rollup_sql import drop_trigger, postgres_trigger, sqlite_trigger

revision = "0900_usage_familiarity"
down_revision = "0800_router_learning"
branch_labels = None
depends_on = None

_SUMS = (
    "requests",
    "errors",
    "fallbacks",
    "prompt_tokens",
    "completion_tokens",
    "cost_micro",
    "energy_wh",
    "latency_ms_sum",
)
_COUNTS = ("familiarity_measured", "unfamiliar")


def _triggers(dialect: str, counts: tuple[str, ...]) -> None:
    if dialect == "postgresql":
        for statement in postgres_trigger(_SUMS, counts):
            op.execute(statement)
    else:
        op.execute(sqlite_trigger(_SUMS, counts))


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in drop_trigger(dialect):
        op.execute(statement)
    op.add_column("usage", sa.Column("familiarity", sa.Double(), nullable=True))
    op.add_column("usage", sa.Column("unfamiliar", sa.Boolean(), nullable=True))
    for column in _COUNTS:
        op.add_column(
            "usage_daily",
            sa.Column(column, sa.BigInteger(), nullable=False, server_default="0"),
        )
    _triggers(dialect, _COUNTS)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in drop_trigger(dialect):
        op.execute(statement)
    with op.batch_alter_table("usage_daily") as batch:
        for column in _COUNTS:
            batch.drop_column(column)
    with op.batch_alter_table("usage") as batch:
        batch.drop_column("unfamiliar")
        batch.drop_column("familiarity")
    _triggers(dialect, ())
