"""dashboard rollups: daily usage sums and a daily latency histogram, kept by triggers

Revision ID: 0500_dashboard_rollups
Revises: 0400_governance
Create Date: 2026-11-25

The tables are described in ``stellwerk.ledger.rollup_tables``. Triggers on ``usage`` add every
inserted record to both rollups in the inserting transaction: on SQLite (one writer at a time) a
row trigger with two plain upserts per record; on PostgreSQL a statement trigger with a transition
table, which aggregates the batch first and upserts in key order, so that replicas writing
concurrently take row locks in the same order and cannot deadlock. Records already in ``usage``
are rolled up by this migration.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stellwerk.ledger.rollup_sql import postgres_trigger, rollup_sql, sqlite_trigger
from stellwerk.ledger.types import UTCDateTime

revision = "0500_dashboard_rollups"
down_revision = "0400_governance"
branch_labels = None
depends_on = None

_SUMS: tuple[str, ...] = (
    "requests",
    "errors",
    "fallbacks",
    "prompt_tokens",
    "completion_tokens",
    "cost",
    "energy_wh",
    "latency_ms_sum",
)


def upgrade() -> None:
    op.create_table(
        "usage_daily",
        sa.Column("day", UTCDateTime(), nullable=False),
        sa.Column("department", sa.Text(), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("routed", sa.Boolean(), nullable=False),
        *(sa.Column(c, sa.BigInteger(), nullable=False) for c in _SUMS[:5]),
        *(sa.Column(c, sa.Double(), nullable=False) for c in _SUMS[5:]),
        sa.PrimaryKeyConstraint(
            "day", "department", "key_id", "model", "routed", name="pk_usage_daily"
        ),
    )
    op.create_table(
        "usage_latency_daily",
        sa.Column("day", UTCDateTime(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "model", "bucket", name="pk_usage_latency_daily"),
    )
    dialect = op.get_bind().dialect.name
    for statement in rollup_sql(_SUMS, dialect, "usage"):
        op.execute(statement)
    if dialect == "postgresql":
        for statement in postgres_trigger(_SUMS):
            op.execute(statement)
    else:
        op.execute(sqlite_trigger(_SUMS))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER usage_rollup ON usage")
        op.execute("DROP FUNCTION usage_rollup()")
    else:
        op.execute("DROP TRIGGER usage_rollup")
    op.drop_table("usage_latency_daily")
    op.drop_table("usage_daily")
