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

from stellwerk.ledger.rollup_tables import LATENCY_EDGES_MS
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
_DAILY_KEY = "day, department, key_id, model, routed"
_UPDATES = ", ".join(f"{c} = usage_daily.{c} + excluded.{c}" for c in _SUMS)
_LATENCY_UPSERT = """ON CONFLICT (day, model, bucket) DO UPDATE
    SET requests = usage_latency_daily.requests + excluded.requests"""


def _bucket(latency: str) -> str:
    whens = " ".join(f"WHEN {latency} < {edge} THEN {i}" for i, edge in enumerate(LATENCY_EDGES_MS))
    return f"CASE {whens} ELSE {len(LATENCY_EDGES_MS)} END"


def _day(dialect: str, time: str) -> str:
    """The UTC day of ``time``, as a time (midnight)."""
    if dialect == "postgresql":
        return f"(date_trunc('day', {time} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"
    # SQLite keeps UTC times as text 'YYYY-MM-DD HH:MM:SS.ffffff' (see ledger.types.UTCDateTime)
    return f"(substr({time}, 1, 10) || ' 00:00:00.000000')"


def _rollup_sql(dialect: str, source: str) -> list[str]:
    """Two upserts adding the rows of ``source`` (a table or transition table) to the rollups."""
    daily = f"""
    INSERT INTO usage_daily ({_DAILY_KEY}, {", ".join(_SUMS)})
    SELECT {_day(dialect, "time")}, department, key_id, coalesce(model, ''),
           requested_model LIKE 'auto%', count(*),
           sum(CASE WHEN status >= 400 THEN 1 ELSE 0 END),
           sum(CASE WHEN fallback_from IS NOT NULL THEN 1 ELSE 0 END),
           sum(prompt_tokens), sum(completion_tokens), sum(cost), sum(energy_wh), sum(latency_ms)
    FROM {source} WHERE true
    GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT ({_DAILY_KEY}) DO UPDATE SET {_UPDATES}"""
    latency = f"""
    INSERT INTO usage_latency_daily (day, model, bucket, requests)
    SELECT {_day(dialect, "time")}, coalesce(model, ''), {_bucket("latency_ms")},
           count(*)
    FROM {source} WHERE true
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    {_LATENCY_UPSERT}"""
    return [daily, latency]


def _sqlite_trigger() -> str:
    day = _day("sqlite", "NEW.time")
    daily = f"""INSERT INTO usage_daily ({_DAILY_KEY}, {", ".join(_SUMS)})
    VALUES ({day}, NEW.department, NEW.key_id, coalesce(NEW.model, ''),
            NEW.requested_model LIKE 'auto%', 1, NEW.status >= 400, NEW.fallback_from IS NOT NULL,
            NEW.prompt_tokens, NEW.completion_tokens, NEW.cost, NEW.energy_wh, NEW.latency_ms)
    ON CONFLICT ({_DAILY_KEY}) DO UPDATE SET {_UPDATES}"""
    latency = f"""INSERT INTO usage_latency_daily (day, model, bucket, requests)
    VALUES ({day}, coalesce(NEW.model, ''), {_bucket("NEW.latency_ms")}, 1)
    {_LATENCY_UPSERT}"""
    return f"CREATE TRIGGER usage_rollup AFTER INSERT ON usage BEGIN {daily}; {latency}; END"


def _postgres_trigger() -> list[str]:
    body = ";\n".join(_rollup_sql("postgresql", "new_usage"))
    return [
        f"""CREATE FUNCTION usage_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN {body}; RETURN NULL; END $$""",
        """CREATE TRIGGER usage_rollup AFTER INSERT ON usage
        REFERENCING NEW TABLE AS new_usage FOR EACH STATEMENT EXECUTE FUNCTION usage_rollup()""",
    ]


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
    for statement in _rollup_sql(dialect, "usage"):
        op.execute(statement)
    if dialect == "postgresql":
        for statement in _postgres_trigger():
            op.execute(statement)
    else:
        op.execute(_sqlite_trigger())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER usage_rollup ON usage")
        op.execute("DROP FUNCTION usage_rollup()")
    else:
        op.execute("DROP TRIGGER usage_rollup")
    op.drop_table("usage_latency_daily")
    op.drop_table("usage_daily")
