"""usage refused: the daily rollups count the refused requests (4xx) apart from the failed ones,
and ``usage`` has an index of its refused records

Revision ID: 1000_usage_refused
Revises: 0900_usage_familiarity
Create Date: 2026-12-06

``usage_daily.errors`` counted every record with a status of 400 or more, so a prompt over the
context or another request the client can fix read as a backend error. ``usage_daily.refused``
counts the 4xx of them (kept by the rollup trigger, made again with it; filled here from the
records already rolled up); the failures are ``errors - refused``. The partial index
``ix_usage_refused_time`` lets the dashboard read a month's refusals by reason without reading
the month's traffic. The usage records themselves are unchanged.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stellwerk.ledger.rollup_sql import backfill_sql, drop_trigger, postgres_trigger, sqlite_trigger

revision = "1000_usage_refused"
down_revision = "0900_usage_familiarity"
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
_BEFORE = ("familiarity_measured", "unfamiliar")
_COUNTS = (*_BEFORE, "refused")
_REFUSED = "status >= 400 AND status < 500"


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
    op.add_column(
        "usage_daily", sa.Column("refused", sa.BigInteger(), nullable=False, server_default="0")
    )
    op.execute(backfill_sql(dialect, "refused"))
    op.create_index(
        "ix_usage_refused_time",
        "usage",
        ["time"],
        postgresql_where=sa.text(_REFUSED),
        sqlite_where=sa.text(_REFUSED),
    )
    _triggers(dialect, _COUNTS)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in drop_trigger(dialect):
        op.execute(statement)
    op.drop_index("ix_usage_refused_time", table_name="usage")
    with op.batch_alter_table("usage_daily") as batch:
        batch.drop_column("refused")
    _triggers(dialect, _BEFORE)
