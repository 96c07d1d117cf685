"""latency shadow: the daily latency histogram counts shadow grading's own calls apart

Revision ID: 1400_latency_shadow
Revises: 1300_key_requests
Create Date: 2026-12-07

``usage_latency_daily`` counted every record of a model, shadow grading's reference and judge
calls (key ``shadow``: an answer cut at ``router.shadow.reference_max_tokens``, a verdict of a
few tokens) among the clients' requests, so the model page's latency percentiles mixed in calls
no client made. This revision adds ``shadow`` (true for a record of key ``shadow``) as the last
column of its primary key ``(day, model, bucket, shadow)``, and the rollup trigger counts each
record in its own row. The counts already rolled up are split by the records ``usage`` still
holds: each (day, model, bucket) of key ``shadow`` is moved to its own row (records retention
deleted stay where they were counted). ``downgrade()`` adds the shadow rows back into the
others before it drops the column, so no request is lost either way.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "1400_latency_shadow"
down_revision = "1300_key_requests"
branch_labels = None
depends_on = None

_KEY = ("day", "model", "bucket")

# The SQL this revision runs, written out here: a migration never calls code that may change
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


_SQLITE_TRIGGER = f"""
CREATE TRIGGER usage_rollup AFTER INSERT ON usage BEGIN
INSERT INTO usage_daily (
    day, department, key_id, model, routed, requests, errors, fallbacks, prompt_tokens,
    completion_tokens, cost_micro, energy_wh, latency_ms_sum, familiarity_measured,
    unfamiliar, refused, referenced, reference_cost_micro, referenced_prompt,
    referenced_completion, reference_model, reference_energy_wh, reference_energy_tokens
)
VALUES (
    (substr(NEW.time, 1, 10) || ' 00:00:00.000000'), NEW.department, NEW.key_id,
    coalesce(NEW.model, ''), NEW.requested_model LIKE 'auto%', 1, NEW.status >= 400,
    NEW.fallback_from IS NOT NULL, NEW.prompt_tokens, NEW.completion_tokens, NEW.cost_micro,
    NEW.energy_wh, NEW.latency_ms, CASE WHEN NEW.familiarity IS NOT NULL THEN 1 ELSE 0 END,
    CASE WHEN NEW.unfamiliar THEN 1 ELSE 0 END,
    CASE WHEN NEW.status >= 400 AND NEW.status < 500 THEN 1 ELSE 0 END,
    CASE WHEN NEW.reference_cost_micro IS NOT NULL THEN 1 ELSE 0 END,
    coalesce(NEW.reference_cost_micro, 0),
    CASE WHEN NEW.reference_cost_micro IS NOT NULL THEN NEW.prompt_tokens ELSE 0 END,
    CASE WHEN NEW.reference_cost_micro IS NOT NULL THEN NEW.completion_tokens ELSE 0 END,
    coalesce(NEW.reference_model, ''), coalesce(NEW.reference_energy_wh, 0),
    CASE WHEN NEW.reference_energy_wh IS NOT NULL
        THEN NEW.prompt_tokens + NEW.completion_tokens ELSE 0 END
)
ON CONFLICT (day, department, key_id, model, routed, reference_model) DO UPDATE SET
    requests = usage_daily.requests + excluded.requests,
    errors = usage_daily.errors + excluded.errors,
    fallbacks = usage_daily.fallbacks + excluded.fallbacks,
    prompt_tokens = usage_daily.prompt_tokens + excluded.prompt_tokens,
    completion_tokens = usage_daily.completion_tokens + excluded.completion_tokens,
    cost_micro = usage_daily.cost_micro + excluded.cost_micro,
    energy_wh = usage_daily.energy_wh + excluded.energy_wh,
    latency_ms_sum = usage_daily.latency_ms_sum + excluded.latency_ms_sum,
    familiarity_measured = usage_daily.familiarity_measured + excluded.familiarity_measured,
    unfamiliar = usage_daily.unfamiliar + excluded.unfamiliar,
    refused = usage_daily.refused + excluded.refused,
    referenced = usage_daily.referenced + excluded.referenced,
    reference_cost_micro = usage_daily.reference_cost_micro + excluded.reference_cost_micro,
    referenced_prompt = usage_daily.referenced_prompt + excluded.referenced_prompt,
    referenced_completion = usage_daily.referenced_completion + excluded.referenced_completion,
    reference_energy_wh = usage_daily.reference_energy_wh + excluded.reference_energy_wh,
    reference_energy_tokens =
        usage_daily.reference_energy_tokens + excluded.reference_energy_tokens;
INSERT INTO usage_latency_daily (day, model, bucket, shadow, requests)
VALUES (
    (substr(NEW.time, 1, 10) || ' 00:00:00.000000'), coalesce(NEW.model, ''),
    {_NEW_BUCKET},
    NEW.key_id = 'shadow', 1
)
ON CONFLICT (day, model, bucket, shadow) DO UPDATE
SET requests = usage_latency_daily.requests + excluded.requests;
END"""

_POSTGRES_FUNCTION = f"""
CREATE FUNCTION usage_rollup() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
INSERT INTO usage_daily (
    day, department, key_id, model, routed, requests, errors, fallbacks, prompt_tokens,
    completion_tokens, cost_micro, energy_wh, latency_ms_sum, familiarity_measured,
    unfamiliar, refused, referenced, reference_cost_micro, referenced_prompt,
    referenced_completion, reference_model, reference_energy_wh, reference_energy_tokens
)
SELECT
    (date_trunc('day', time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'), department, key_id,
    coalesce(model, ''), requested_model LIKE 'auto%', count(*),
    sum(CASE WHEN status >= 400 THEN 1 ELSE 0 END),
    sum(CASE WHEN fallback_from IS NOT NULL THEN 1 ELSE 0 END), sum(prompt_tokens),
    sum(completion_tokens), sum(cost_micro), sum(energy_wh), sum(latency_ms),
    sum(CASE WHEN familiarity IS NOT NULL THEN 1 ELSE 0 END),
    sum(CASE WHEN unfamiliar THEN 1 ELSE 0 END),
    sum(CASE WHEN status >= 400 AND status < 500 THEN 1 ELSE 0 END),
    sum(CASE WHEN reference_cost_micro IS NOT NULL THEN 1 ELSE 0 END),
    sum(coalesce(reference_cost_micro, 0)),
    sum(CASE WHEN reference_cost_micro IS NOT NULL THEN prompt_tokens ELSE 0 END),
    sum(CASE WHEN reference_cost_micro IS NOT NULL THEN completion_tokens ELSE 0 END),
    coalesce(reference_model, ''), sum(coalesce(reference_energy_wh, 0)),
    sum(CASE WHEN reference_energy_wh IS NOT NULL
        THEN prompt_tokens + completion_tokens ELSE 0 END)
FROM new_usage WHERE true
GROUP BY 1, 2, 3, 4, 5, 21 ORDER BY 1, 2, 3, 4, 5, 21
ON CONFLICT (day, department, key_id, model, routed, reference_model) DO UPDATE SET
    requests = usage_daily.requests + excluded.requests,
    errors = usage_daily.errors + excluded.errors,
    fallbacks = usage_daily.fallbacks + excluded.fallbacks,
    prompt_tokens = usage_daily.prompt_tokens + excluded.prompt_tokens,
    completion_tokens = usage_daily.completion_tokens + excluded.completion_tokens,
    cost_micro = usage_daily.cost_micro + excluded.cost_micro,
    energy_wh = usage_daily.energy_wh + excluded.energy_wh,
    latency_ms_sum = usage_daily.latency_ms_sum + excluded.latency_ms_sum,
    familiarity_measured = usage_daily.familiarity_measured + excluded.familiarity_measured,
    unfamiliar = usage_daily.unfamiliar + excluded.unfamiliar,
    refused = usage_daily.refused + excluded.refused,
    referenced = usage_daily.referenced + excluded.referenced,
    reference_cost_micro = usage_daily.reference_cost_micro + excluded.reference_cost_micro,
    referenced_prompt = usage_daily.referenced_prompt + excluded.referenced_prompt,
    referenced_completion = usage_daily.referenced_completion + excluded.referenced_completion,
    reference_energy_wh = usage_daily.reference_energy_wh + excluded.reference_energy_wh,
    reference_energy_tokens =
        usage_daily.reference_energy_tokens + excluded.reference_energy_tokens;
INSERT INTO usage_latency_daily (day, model, bucket, shadow, requests)
SELECT
    (date_trunc('day', time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'), coalesce(model, ''),
    {_BUCKET},
    key_id = 'shadow', count(*)
FROM new_usage WHERE true
GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
ON CONFLICT (day, model, bucket, shadow) DO UPDATE
SET requests = usage_latency_daily.requests + excluded.requests;
RETURN NULL; END $$"""


# 1200_usage_reference_energy's trigger, made again by downgrade()
_SQLITE_TRIGGER_BEFORE = f"""
CREATE TRIGGER usage_rollup AFTER INSERT ON usage BEGIN
INSERT INTO usage_daily (
    day, department, key_id, model, routed, requests, errors, fallbacks, prompt_tokens,
    completion_tokens, cost_micro, energy_wh, latency_ms_sum, familiarity_measured,
    unfamiliar, refused, referenced, reference_cost_micro, referenced_prompt,
    referenced_completion, reference_model, reference_energy_wh, reference_energy_tokens
)
VALUES (
    (substr(NEW.time, 1, 10) || ' 00:00:00.000000'), NEW.department, NEW.key_id,
    coalesce(NEW.model, ''), NEW.requested_model LIKE 'auto%', 1, NEW.status >= 400,
    NEW.fallback_from IS NOT NULL, NEW.prompt_tokens, NEW.completion_tokens, NEW.cost_micro,
    NEW.energy_wh, NEW.latency_ms, CASE WHEN NEW.familiarity IS NOT NULL THEN 1 ELSE 0 END,
    CASE WHEN NEW.unfamiliar THEN 1 ELSE 0 END,
    CASE WHEN NEW.status >= 400 AND NEW.status < 500 THEN 1 ELSE 0 END,
    CASE WHEN NEW.reference_cost_micro IS NOT NULL THEN 1 ELSE 0 END,
    coalesce(NEW.reference_cost_micro, 0),
    CASE WHEN NEW.reference_cost_micro IS NOT NULL THEN NEW.prompt_tokens ELSE 0 END,
    CASE WHEN NEW.reference_cost_micro IS NOT NULL THEN NEW.completion_tokens ELSE 0 END,
    coalesce(NEW.reference_model, ''), coalesce(NEW.reference_energy_wh, 0),
    CASE WHEN NEW.reference_energy_wh IS NOT NULL
        THEN NEW.prompt_tokens + NEW.completion_tokens ELSE 0 END
)
ON CONFLICT (day, department, key_id, model, routed, reference_model) DO UPDATE SET
    requests = usage_daily.requests + excluded.requests,
    errors = usage_daily.errors + excluded.errors,
    fallbacks = usage_daily.fallbacks + excluded.fallbacks,
    prompt_tokens = usage_daily.prompt_tokens + excluded.prompt_tokens,
    completion_tokens = usage_daily.completion_tokens + excluded.completion_tokens,
    cost_micro = usage_daily.cost_micro + excluded.cost_micro,
    energy_wh = usage_daily.energy_wh + excluded.energy_wh,
    latency_ms_sum = usage_daily.latency_ms_sum + excluded.latency_ms_sum,
    familiarity_measured = usage_daily.familiarity_measured + excluded.familiarity_measured,
    unfamiliar = usage_daily.unfamiliar + excluded.unfamiliar,
    refused = usage_daily.refused + excluded.refused,
    referenced = usage_daily.referenced + excluded.referenced,
    reference_cost_micro = usage_daily.reference_cost_micro + excluded.reference_cost_micro,
    referenced_prompt = usage_daily.referenced_prompt + excluded.referenced_prompt,
    referenced_completion = usage_daily.referenced_completion + excluded.referenced_completion,
    reference_energy_wh = usage_daily.reference_energy_wh + excluded.reference_energy_wh,
    reference_energy_tokens =
        usage_daily.reference_energy_tokens + excluded.reference_energy_tokens;
INSERT INTO usage_latency_daily (day, model, bucket, requests)
VALUES (
    (substr(NEW.time, 1, 10) || ' 00:00:00.000000'), coalesce(NEW.model, ''),
    {_NEW_BUCKET},
    1
)
ON CONFLICT (day, model, bucket) DO UPDATE
SET requests = usage_latency_daily.requests + excluded.requests;
END"""

_POSTGRES_FUNCTION_BEFORE = f"""
CREATE FUNCTION usage_rollup() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
INSERT INTO usage_daily (
    day, department, key_id, model, routed, requests, errors, fallbacks, prompt_tokens,
    completion_tokens, cost_micro, energy_wh, latency_ms_sum, familiarity_measured,
    unfamiliar, refused, referenced, reference_cost_micro, referenced_prompt,
    referenced_completion, reference_model, reference_energy_wh, reference_energy_tokens
)
SELECT
    (date_trunc('day', time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'), department, key_id,
    coalesce(model, ''), requested_model LIKE 'auto%', count(*),
    sum(CASE WHEN status >= 400 THEN 1 ELSE 0 END),
    sum(CASE WHEN fallback_from IS NOT NULL THEN 1 ELSE 0 END), sum(prompt_tokens),
    sum(completion_tokens), sum(cost_micro), sum(energy_wh), sum(latency_ms),
    sum(CASE WHEN familiarity IS NOT NULL THEN 1 ELSE 0 END),
    sum(CASE WHEN unfamiliar THEN 1 ELSE 0 END),
    sum(CASE WHEN status >= 400 AND status < 500 THEN 1 ELSE 0 END),
    sum(CASE WHEN reference_cost_micro IS NOT NULL THEN 1 ELSE 0 END),
    sum(coalesce(reference_cost_micro, 0)),
    sum(CASE WHEN reference_cost_micro IS NOT NULL THEN prompt_tokens ELSE 0 END),
    sum(CASE WHEN reference_cost_micro IS NOT NULL THEN completion_tokens ELSE 0 END),
    coalesce(reference_model, ''), sum(coalesce(reference_energy_wh, 0)),
    sum(CASE WHEN reference_energy_wh IS NOT NULL
        THEN prompt_tokens + completion_tokens ELSE 0 END)
FROM new_usage WHERE true
GROUP BY 1, 2, 3, 4, 5, 21 ORDER BY 1, 2, 3, 4, 5, 21
ON CONFLICT (day, department, key_id, model, routed, reference_model) DO UPDATE SET
    requests = usage_daily.requests + excluded.requests,
    errors = usage_daily.errors + excluded.errors,
    fallbacks = usage_daily.fallbacks + excluded.fallbacks,
    prompt_tokens = usage_daily.prompt_tokens + excluded.prompt_tokens,
    completion_tokens = usage_daily.completion_tokens + excluded.completion_tokens,
    cost_micro = usage_daily.cost_micro + excluded.cost_micro,
    energy_wh = usage_daily.energy_wh + excluded.energy_wh,
    latency_ms_sum = usage_daily.latency_ms_sum + excluded.latency_ms_sum,
    familiarity_measured = usage_daily.familiarity_measured + excluded.familiarity_measured,
    unfamiliar = usage_daily.unfamiliar + excluded.unfamiliar,
    refused = usage_daily.refused + excluded.refused,
    referenced = usage_daily.referenced + excluded.referenced,
    reference_cost_micro = usage_daily.reference_cost_micro + excluded.reference_cost_micro,
    referenced_prompt = usage_daily.referenced_prompt + excluded.referenced_prompt,
    referenced_completion = usage_daily.referenced_completion + excluded.referenced_completion,
    reference_energy_wh = usage_daily.reference_energy_wh + excluded.reference_energy_wh,
    reference_energy_tokens =
        usage_daily.reference_energy_tokens + excluded.reference_energy_tokens;
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

# upgrade(): the shadow calls ``usage`` still holds, counted in their own rows, then taken out
# of the rows that counted them with the clients' requests
_DAY = {
    "sqlite": "(substr(time, 1, 10) || ' 00:00:00.000000')",
    "postgresql": "(date_trunc('day', time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')",
}
_SPLIT_SHADOW = """
INSERT INTO usage_latency_daily (day, model, bucket, shadow, requests)
SELECT {day}, coalesce(model, ''), {bucket}, true, count(*)
FROM usage WHERE key_id = 'shadow'
GROUP BY 1, 2, 3"""
_TAKE_OUT_SHADOW = """
UPDATE usage_latency_daily SET requests = requests - (
    SELECT s.requests FROM usage_latency_daily AS s
    WHERE s.shadow AND s.day = usage_latency_daily.day AND s.model = usage_latency_daily.model
        AND s.bucket = usage_latency_daily.bucket
)
WHERE NOT shadow AND EXISTS (
    SELECT 1 FROM usage_latency_daily AS s
    WHERE s.shadow AND s.day = usage_latency_daily.day AND s.model = usage_latency_daily.model
        AND s.bucket = usage_latency_daily.bucket
)"""
_EMPTY_ROWS = "DELETE FROM usage_latency_daily WHERE requests <= 0"

# downgrade(): the shadow rows added into the rows of the clients' requests, then deleted
_MERGE_SHADOW = """
INSERT INTO usage_latency_daily (day, model, bucket, shadow, requests)
SELECT day, model, bucket, false, requests FROM usage_latency_daily WHERE shadow
ON CONFLICT (day, model, bucket, shadow) DO UPDATE
SET requests = usage_latency_daily.requests + excluded.requests"""


def _drop_trigger(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute("DROP TRIGGER usage_rollup ON usage")
        op.execute("DROP FUNCTION usage_rollup()")
    else:
        op.execute("DROP TRIGGER usage_rollup")


def _make_trigger(dialect: str, *, before: bool) -> None:
    """The rollup trigger of this revision, or (``before``) of the one before it."""
    if dialect == "postgresql":
        op.execute(_POSTGRES_FUNCTION_BEFORE if before else _POSTGRES_FUNCTION)
        op.execute(_POSTGRES_TRIGGER)
    else:
        op.execute(_SQLITE_TRIGGER_BEFORE if before else _SQLITE_TRIGGER)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    _drop_trigger(dialect)
    with op.batch_alter_table("usage_latency_daily") as batch:
        batch.add_column(
            sa.Column("shadow", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.drop_constraint("pk_usage_latency_daily", type_="primary")
        batch.create_primary_key("pk_usage_latency_daily", [*_KEY, "shadow"])
    op.execute(_SPLIT_SHADOW.format(day=_DAY[dialect], bucket=_BUCKET))
    op.execute(_TAKE_OUT_SHADOW)
    op.execute(_EMPTY_ROWS)
    _make_trigger(dialect, before=False)


def downgrade() -> None:
    """Back to one histogram row per day, model and bucket: the shadow rows are added into the
    clients' rows first, then the column goes."""
    dialect = op.get_bind().dialect.name
    _drop_trigger(dialect)
    op.execute(_MERGE_SHADOW)
    op.execute("DELETE FROM usage_latency_daily WHERE shadow")
    with op.batch_alter_table("usage_latency_daily") as batch:
        batch.drop_constraint("pk_usage_latency_daily", type_="primary")
        batch.create_primary_key("pk_usage_latency_daily", list(_KEY))
        batch.drop_column("shadow")
    _make_trigger(dialect, before=True)
