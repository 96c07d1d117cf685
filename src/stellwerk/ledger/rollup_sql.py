"""The SQL that keeps the dashboard rollups (:mod:`stellwerk.ledger.rollup_tables`) in step with
``usage``, for the migrations that create or change the rollup triggers.

``sums`` names the summed columns of ``usage_daily`` in migration order:
``requests, errors, fallbacks, prompt_tokens, completion_tokens, <cost>, energy_wh,
latency_ms_sum``, where ``<cost>`` is the cost column of that revision (``cost`` up to
``0700_money_micro``, ``cost_micro`` since), named the same in ``usage``. On SQLite a row trigger
with two plain upserts per record; on PostgreSQL a statement trigger with a transition table, which
aggregates the batch first and upserts in key order, so that replicas writing concurrently take
row locks in the same order and cannot deadlock.

``counts`` (since ``0900_usage_familiarity``) names further columns of ``usage_daily`` that count
the records meeting a condition (``COUNTED``), after the sums. ``refused`` (since
``1000_usage_refused``) counts the 4xx records: requests refused for what the client sent or is
allowed (a policy, a limit, a prompt over the context, a client that hung up), which are not
failures; ``errors`` minus ``refused`` are the failures (5xx: a backend down, failing, too slow,
a stream cut short). ``backfill_sql`` counts a new column for the records already rolled up.
"""

from __future__ import annotations

from collections.abc import Sequence

from stellwerk.ledger.rollup_tables import LATENCY_EDGES_MS

_DAILY_KEY = "day, department, key_id, model, routed"
COUNTED: dict[str, str] = {
    # column of usage_daily -> the condition on a usage row ({r}: the row's prefix) it counts
    "familiarity_measured": "{r}familiarity IS NOT NULL",
    "unfamiliar": "{r}unfamiliar",
    "refused": "{r}status >= 400 AND {r}status < 500",
}
_LATENCY_UPSERT = """ON CONFLICT (day, model, bucket) DO UPDATE
    SET requests = usage_latency_daily.requests + excluded.requests"""


def _updates(sums: Sequence[str]) -> str:
    return ", ".join(f"{c} = usage_daily.{c} + excluded.{c}" for c in sums)


def _bucket(latency: str) -> str:
    whens = " ".join(f"WHEN {latency} < {edge} THEN {i}" for i, edge in enumerate(LATENCY_EDGES_MS))
    return f"CASE {whens} ELSE {len(LATENCY_EDGES_MS)} END"


def _day(dialect: str, time: str) -> str:
    """The UTC day of ``time``, as a time (midnight)."""
    if dialect == "postgresql":
        return f"(date_trunc('day', {time} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"
    # SQLite keeps UTC times as text 'YYYY-MM-DD HH:MM:SS.ffffff' (see ledger.types.UTCDateTime)
    return f"(substr({time}, 1, 10) || ' 00:00:00.000000')"


def _counted(counts: Sequence[str], row: str, *, summed: bool) -> str:
    """The values of the ``counts`` columns: 1 or 0 for one row, or their sums."""
    values = [f"CASE WHEN {COUNTED[c].format(r=row)} THEN 1 ELSE 0 END" for c in counts]
    return "".join(f", sum({v})" if summed else f", {v}" for v in values)


def rollup_sql(
    sums: Sequence[str], dialect: str, source: str, counts: Sequence[str] = ()
) -> list[str]:
    """Two upserts adding the rows of ``source`` (a table or transition table) to the rollups."""
    cost = sums[5]
    columns = ", ".join((*sums, *counts))
    daily = f"""
    INSERT INTO usage_daily ({_DAILY_KEY}, {columns})
    SELECT {_day(dialect, "time")}, department, key_id, coalesce(model, ''),
           requested_model LIKE 'auto%', count(*),
           sum(CASE WHEN status >= 400 THEN 1 ELSE 0 END),
           sum(CASE WHEN fallback_from IS NOT NULL THEN 1 ELSE 0 END),
           sum(prompt_tokens), sum(completion_tokens), sum({cost}), sum(energy_wh),
           sum(latency_ms){_counted(counts, "", summed=True)}
    FROM {source} WHERE true
    GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT ({_DAILY_KEY}) DO UPDATE SET {_updates((*sums, *counts))}"""
    latency = f"""
    INSERT INTO usage_latency_daily (day, model, bucket, requests)
    SELECT {_day(dialect, "time")}, coalesce(model, ''), {_bucket("latency_ms")},
           count(*)
    FROM {source} WHERE true
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    {_LATENCY_UPSERT}"""
    return [daily, latency]


def backfill_sql(dialect: str, column: str) -> str:
    """Set the ``COUNTED`` column ``column`` of every rollup row from the ``usage`` records it
    sums (records that retention has deleted since are not counted again)."""
    condition = COUNTED[column].format(r="")
    return f"""
    UPDATE usage_daily SET {column} = counted.n
    FROM (SELECT {_day(dialect, "time")} AS day, department, key_id,
                 coalesce(model, '') AS model, requested_model LIKE 'auto%' AS routed,
                 count(*) AS n
          FROM usage WHERE {condition}
          GROUP BY 1, 2, 3, 4, 5) AS counted
    WHERE usage_daily.day = counted.day AND usage_daily.department = counted.department
      AND usage_daily.key_id = counted.key_id AND usage_daily.model = counted.model
      AND usage_daily.routed = counted.routed"""


def sqlite_trigger(sums: Sequence[str], counts: Sequence[str] = ()) -> str:
    day = _day("sqlite", "NEW.time")
    daily = f"""INSERT INTO usage_daily ({_DAILY_KEY}, {", ".join((*sums, *counts))})
    VALUES ({day}, NEW.department, NEW.key_id, coalesce(NEW.model, ''),
            NEW.requested_model LIKE 'auto%', 1, NEW.status >= 400, NEW.fallback_from IS NOT NULL,
            NEW.prompt_tokens, NEW.completion_tokens, NEW.{sums[5]}, NEW.energy_wh,
            NEW.latency_ms{_counted(counts, "NEW.", summed=False)})
    ON CONFLICT ({_DAILY_KEY}) DO UPDATE SET {_updates((*sums, *counts))}"""
    latency = f"""INSERT INTO usage_latency_daily (day, model, bucket, requests)
    VALUES ({day}, coalesce(NEW.model, ''), {_bucket("NEW.latency_ms")}, 1)
    {_LATENCY_UPSERT}"""
    return f"CREATE TRIGGER usage_rollup AFTER INSERT ON usage BEGIN {daily}; {latency}; END"


def postgres_trigger(sums: Sequence[str], counts: Sequence[str] = ()) -> list[str]:
    body = ";\n".join(rollup_sql(sums, "postgresql", "new_usage", counts))
    return [
        f"""CREATE FUNCTION usage_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN {body}; RETURN NULL; END $$""",
        """CREATE TRIGGER usage_rollup AFTER INSERT ON usage
        REFERENCING NEW TABLE AS new_usage FOR EACH STATEMENT EXECUTE FUNCTION usage_rollup()""",
    ]


def drop_trigger(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return ["DROP TRIGGER usage_rollup ON usage", "DROP FUNCTION usage_rollup()"]
    return ["DROP TRIGGER usage_rollup"]
