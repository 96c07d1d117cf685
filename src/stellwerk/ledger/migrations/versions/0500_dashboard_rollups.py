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

# The SQL this revision ran, written out here: a migration never calls code that may change
# after it (the latency buckets are rollup_tables.LATENCY_EDGES_MS as of this revision).
_BUCKET = """CASE
    WHEN latency_ms < 5 THEN 0 WHEN latency_ms < 6 THEN 1 WHEN latency_ms < 8 THEN 2
    WHEN latency_ms < 10 THEN 3 WHEN latency_ms < 12 THEN 4 WHEN latency_ms < 15 THEN 5
    WHEN latency_ms < 19 THEN 6 WHEN latency_ms < 24 THEN 7 WHEN latency_ms < 30 THEN 8
    WHEN latency_ms < 37 THEN 9 WHEN latency_ms < 47 THEN 10 WHEN latency_ms < 58 THEN 11
    WHEN latency_ms < 73 THEN 12 WHEN latency_ms < 91 THEN 13 WHEN latency_ms < 114 THEN 14
    WHEN latency_ms < 142 THEN 15 WHEN latency_ms < 178 THEN 16 WHEN latency_ms < 222 THEN 17
    WHEN latency_ms < 278 THEN 18 WHEN latency_ms < 347 THEN 19 WHEN latency_ms < 434 THEN 20
    WHEN latency_ms < 542 THEN 21 WHEN latency_ms < 678 THEN 22 WHEN latency_ms < 847 THEN 23
    WHEN latency_ms < 1059 THEN 24 WHEN latency_ms < 1323 THEN 25
    WHEN latency_ms < 1654 THEN 26 WHEN latency_ms < 2068 THEN 27
    WHEN latency_ms < 2585 THEN 28 WHEN latency_ms < 3231 THEN 29
    WHEN latency_ms < 4039 THEN 30 WHEN latency_ms < 5049 THEN 31
    WHEN latency_ms < 6311 THEN 32 WHEN latency_ms < 7889 THEN 33
    WHEN latency_ms < 9861 THEN 34 WHEN latency_ms < 12326 THEN 35
    WHEN latency_ms < 15407 THEN 36 WHEN latency_ms < 19259 THEN 37
    WHEN latency_ms < 24074 THEN 38 WHEN latency_ms < 30093 THEN 39
    WHEN latency_ms < 37616 THEN 40 WHEN latency_ms < 47020 THEN 41
    WHEN latency_ms < 58775 THEN 42 WHEN latency_ms < 73468 THEN 43
    WHEN latency_ms < 91835 THEN 44 WHEN latency_ms < 114794 THEN 45
    WHEN latency_ms < 143493 THEN 46 WHEN latency_ms < 179366 THEN 47
    WHEN latency_ms < 224208 THEN 48 WHEN latency_ms < 280260 THEN 49
    WHEN latency_ms < 350325 THEN 50 WHEN latency_ms < 437906 THEN 51
    WHEN latency_ms < 547382 THEN 52 WHEN latency_ms < 684228 THEN 53
    WHEN latency_ms < 855285 THEN 54 WHEN latency_ms < 1069106 THEN 55
    ELSE 56 END"""
_NEW_BUCKET = """CASE
    WHEN NEW.latency_ms < 5 THEN 0 WHEN NEW.latency_ms < 6 THEN 1
    WHEN NEW.latency_ms < 8 THEN 2 WHEN NEW.latency_ms < 10 THEN 3
    WHEN NEW.latency_ms < 12 THEN 4 WHEN NEW.latency_ms < 15 THEN 5
    WHEN NEW.latency_ms < 19 THEN 6 WHEN NEW.latency_ms < 24 THEN 7
    WHEN NEW.latency_ms < 30 THEN 8 WHEN NEW.latency_ms < 37 THEN 9
    WHEN NEW.latency_ms < 47 THEN 10 WHEN NEW.latency_ms < 58 THEN 11
    WHEN NEW.latency_ms < 73 THEN 12 WHEN NEW.latency_ms < 91 THEN 13
    WHEN NEW.latency_ms < 114 THEN 14 WHEN NEW.latency_ms < 142 THEN 15
    WHEN NEW.latency_ms < 178 THEN 16 WHEN NEW.latency_ms < 222 THEN 17
    WHEN NEW.latency_ms < 278 THEN 18 WHEN NEW.latency_ms < 347 THEN 19
    WHEN NEW.latency_ms < 434 THEN 20 WHEN NEW.latency_ms < 542 THEN 21
    WHEN NEW.latency_ms < 678 THEN 22 WHEN NEW.latency_ms < 847 THEN 23
    WHEN NEW.latency_ms < 1059 THEN 24 WHEN NEW.latency_ms < 1323 THEN 25
    WHEN NEW.latency_ms < 1654 THEN 26 WHEN NEW.latency_ms < 2068 THEN 27
    WHEN NEW.latency_ms < 2585 THEN 28 WHEN NEW.latency_ms < 3231 THEN 29
    WHEN NEW.latency_ms < 4039 THEN 30 WHEN NEW.latency_ms < 5049 THEN 31
    WHEN NEW.latency_ms < 6311 THEN 32 WHEN NEW.latency_ms < 7889 THEN 33
    WHEN NEW.latency_ms < 9861 THEN 34 WHEN NEW.latency_ms < 12326 THEN 35
    WHEN NEW.latency_ms < 15407 THEN 36 WHEN NEW.latency_ms < 19259 THEN 37
    WHEN NEW.latency_ms < 24074 THEN 38 WHEN NEW.latency_ms < 30093 THEN 39
    WHEN NEW.latency_ms < 37616 THEN 40 WHEN NEW.latency_ms < 47020 THEN 41
    WHEN NEW.latency_ms < 58775 THEN 42 WHEN NEW.latency_ms < 73468 THEN 43
    WHEN NEW.latency_ms < 91835 THEN 44 WHEN NEW.latency_ms < 114794 THEN 45
    WHEN NEW.latency_ms < 143493 THEN 46 WHEN NEW.latency_ms < 179366 THEN 47
    WHEN NEW.latency_ms < 224208 THEN 48 WHEN NEW.latency_ms < 280260 THEN 49
    WHEN NEW.latency_ms < 350325 THEN 50 WHEN NEW.latency_ms < 437906 THEN 51
    WHEN NEW.latency_ms < 547382 THEN 52 WHEN NEW.latency_ms < 684228 THEN 53
    WHEN NEW.latency_ms < 855285 THEN 54 WHEN NEW.latency_ms < 1069106 THEN 55
    ELSE 56 END"""


_SQLITE_BACKFILL_DAILY = """
INSERT INTO usage_daily (
    day, department, key_id, model, routed, requests, errors, fallbacks, prompt_tokens,
    completion_tokens, cost, energy_wh, latency_ms_sum
)
SELECT
    (substr(time, 1, 10) || ' 00:00:00.000000'), department, key_id, coalesce(model, ''),
    requested_model LIKE 'auto%', count(*), sum(CASE WHEN status >= 400 THEN 1 ELSE 0 END),
    sum(CASE WHEN fallback_from IS NOT NULL THEN 1 ELSE 0 END), sum(prompt_tokens),
    sum(completion_tokens), sum(cost), sum(energy_wh), sum(latency_ms)
FROM usage WHERE true
GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
ON CONFLICT (day, department, key_id, model, routed) DO UPDATE SET
    requests = usage_daily.requests + excluded.requests,
    errors = usage_daily.errors + excluded.errors,
    fallbacks = usage_daily.fallbacks + excluded.fallbacks,
    prompt_tokens = usage_daily.prompt_tokens + excluded.prompt_tokens,
    completion_tokens = usage_daily.completion_tokens + excluded.completion_tokens,
    cost = usage_daily.cost + excluded.cost,
    energy_wh = usage_daily.energy_wh + excluded.energy_wh,
    latency_ms_sum = usage_daily.latency_ms_sum + excluded.latency_ms_sum"""

_SQLITE_BACKFILL_LATENCY = f"""
INSERT INTO usage_latency_daily (day, model, bucket, requests)
SELECT
    (substr(time, 1, 10) || ' 00:00:00.000000'), coalesce(model, ''),
    {_BUCKET},
    count(*)
FROM usage WHERE true
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
ON CONFLICT (day, model, bucket) DO UPDATE
SET requests = usage_latency_daily.requests + excluded.requests"""

_POSTGRES_BACKFILL_DAILY = """
INSERT INTO usage_daily (
    day, department, key_id, model, routed, requests, errors, fallbacks, prompt_tokens,
    completion_tokens, cost, energy_wh, latency_ms_sum
)
SELECT
    (date_trunc('day', time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'), department, key_id,
    coalesce(model, ''), requested_model LIKE 'auto%', count(*),
    sum(CASE WHEN status >= 400 THEN 1 ELSE 0 END),
    sum(CASE WHEN fallback_from IS NOT NULL THEN 1 ELSE 0 END), sum(prompt_tokens),
    sum(completion_tokens), sum(cost), sum(energy_wh), sum(latency_ms)
FROM usage WHERE true
GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
ON CONFLICT (day, department, key_id, model, routed) DO UPDATE SET
    requests = usage_daily.requests + excluded.requests,
    errors = usage_daily.errors + excluded.errors,
    fallbacks = usage_daily.fallbacks + excluded.fallbacks,
    prompt_tokens = usage_daily.prompt_tokens + excluded.prompt_tokens,
    completion_tokens = usage_daily.completion_tokens + excluded.completion_tokens,
    cost = usage_daily.cost + excluded.cost,
    energy_wh = usage_daily.energy_wh + excluded.energy_wh,
    latency_ms_sum = usage_daily.latency_ms_sum + excluded.latency_ms_sum"""

_POSTGRES_BACKFILL_LATENCY = f"""
INSERT INTO usage_latency_daily (day, model, bucket, requests)
SELECT
    (date_trunc('day', time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'), coalesce(model, ''),
    {_BUCKET},
    count(*)
FROM usage WHERE true
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
ON CONFLICT (day, model, bucket) DO UPDATE
SET requests = usage_latency_daily.requests + excluded.requests"""

_SQLITE_TRIGGER = f"""
CREATE TRIGGER usage_rollup AFTER INSERT ON usage BEGIN
INSERT INTO usage_daily (
    day, department, key_id, model, routed, requests, errors, fallbacks, prompt_tokens,
    completion_tokens, cost, energy_wh, latency_ms_sum
)
VALUES (
    (substr(NEW.time, 1, 10) || ' 00:00:00.000000'), NEW.department, NEW.key_id,
    coalesce(NEW.model, ''), NEW.requested_model LIKE 'auto%', 1, NEW.status >= 400,
    NEW.fallback_from IS NOT NULL, NEW.prompt_tokens, NEW.completion_tokens, NEW.cost,
    NEW.energy_wh, NEW.latency_ms
)
ON CONFLICT (day, department, key_id, model, routed) DO UPDATE SET
    requests = usage_daily.requests + excluded.requests,
    errors = usage_daily.errors + excluded.errors,
    fallbacks = usage_daily.fallbacks + excluded.fallbacks,
    prompt_tokens = usage_daily.prompt_tokens + excluded.prompt_tokens,
    completion_tokens = usage_daily.completion_tokens + excluded.completion_tokens,
    cost = usage_daily.cost + excluded.cost,
    energy_wh = usage_daily.energy_wh + excluded.energy_wh,
    latency_ms_sum = usage_daily.latency_ms_sum + excluded.latency_ms_sum;
INSERT INTO usage_latency_daily (day, model, bucket, requests)
VALUES (
    (substr(NEW.time, 1, 10) || ' 00:00:00.000000'), coalesce(NEW.model, ''),
    {_NEW_BUCKET},
    1
)
ON CONFLICT (day, model, bucket) DO UPDATE
SET requests = usage_latency_daily.requests + excluded.requests;
END"""

_POSTGRES_FUNCTION = f"""
CREATE FUNCTION usage_rollup() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
INSERT INTO usage_daily (
    day, department, key_id, model, routed, requests, errors, fallbacks, prompt_tokens,
    completion_tokens, cost, energy_wh, latency_ms_sum
)
SELECT
    (date_trunc('day', time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'), department, key_id,
    coalesce(model, ''), requested_model LIKE 'auto%', count(*),
    sum(CASE WHEN status >= 400 THEN 1 ELSE 0 END),
    sum(CASE WHEN fallback_from IS NOT NULL THEN 1 ELSE 0 END), sum(prompt_tokens),
    sum(completion_tokens), sum(cost), sum(energy_wh), sum(latency_ms)
FROM new_usage WHERE true
GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
ON CONFLICT (day, department, key_id, model, routed) DO UPDATE SET
    requests = usage_daily.requests + excluded.requests,
    errors = usage_daily.errors + excluded.errors,
    fallbacks = usage_daily.fallbacks + excluded.fallbacks,
    prompt_tokens = usage_daily.prompt_tokens + excluded.prompt_tokens,
    completion_tokens = usage_daily.completion_tokens + excluded.completion_tokens,
    cost = usage_daily.cost + excluded.cost,
    energy_wh = usage_daily.energy_wh + excluded.energy_wh,
    latency_ms_sum = usage_daily.latency_ms_sum + excluded.latency_ms_sum;
INSERT INTO usage_latency_daily (day, model, bucket, requests)
SELECT
    (date_trunc('day', time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'), coalesce(model, ''),
    {_BUCKET},
    count(*)
FROM new_usage WHERE true
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
ON CONFLICT (day, model, bucket) DO UPDATE
SET requests = usage_latency_daily.requests + excluded.requests;
RETURN NULL; END $$"""

_POSTGRES_TRIGGER = """CREATE TRIGGER usage_rollup AFTER INSERT ON usage
REFERENCING NEW TABLE AS new_usage FOR EACH STATEMENT EXECUTE FUNCTION usage_rollup()"""


def upgrade() -> None:
    op.create_table(
        "usage_daily",
        sa.Column("day", sa.DateTime(timezone=True), nullable=False),
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
        sa.Column("day", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "model", "bucket", name="pk_usage_latency_daily"),
    )
    if op.get_bind().dialect.name == "postgresql":
        statements = [
            _POSTGRES_BACKFILL_DAILY,
            _POSTGRES_BACKFILL_LATENCY,
            _POSTGRES_FUNCTION,
            _POSTGRES_TRIGGER,
        ]
    else:
        statements = [_SQLITE_BACKFILL_DAILY, _SQLITE_BACKFILL_LATENCY, _SQLITE_TRIGGER]
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER usage_rollup ON usage")
        op.execute("DROP FUNCTION usage_rollup()")
    else:
        op.execute("DROP TRIGGER usage_rollup")
    op.drop_table("usage_latency_daily")
    op.drop_table("usage_daily")
