"""Rollups of ``usage`` for the dashboard: daily sums and a daily latency histogram.

Database triggers made by the migration ``0500_dashboard_rollups`` (and made again by each
migration that adds a column) keep both tables in step with
every insert into ``usage`` (same transaction, so they are never behind and never double-count
a record skipped as a duplicate). A month of the dashboard then reads a few thousand rollup rows
instead of a million usage records. (Hours would be 24 times as many rows; the dashboard's finest
time step is a day, and its "last hour" figures read ``usage`` itself through its time index.)

``usage_daily`` has one row per (UTC day, department, key, model, routed, reference model);
``model`` is ``''`` for requests that failed before a model was chosen, ``routed`` says the
client asked for a route (``auto...``) rather than naming a model, ``reference_model`` is the
reference a routed request's record keeps (``''``: none, as for every record not routed and every
record written before migration 1200_usage_reference_energy). ``usage_latency_daily`` counts
requests per (day, model, latency bucket, shadow); bucket ``b`` holds latencies below
``LATENCY_EDGES_MS[b]`` (and at or above the edge before it); the last bucket,
``len(LATENCY_EDGES_MS)``, holds everything slower; ``shadow`` is true for shadow grading's own
calls (key ``shadow``), which are no client's and so are left out of a model's latency
(``usage_totals.latency``).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    false,
)

from stellwerk.ledger.tables import metadata
from stellwerk.ledger.types import UTCDateTime

# 5 ms to about 20 minutes in steps of 25 %: a percentile read from the histogram is within 25 %.
LATENCY_EDGES_MS: Final[tuple[int, ...]] = tuple(sorted({round(5 * 1.25**i) for i in range(56)}))

usage_daily = Table(
    "usage_daily",
    metadata,
    Column("day", UTCDateTime(), nullable=False),
    Column("department", Text, nullable=False),
    Column("key_id", Text, nullable=False),
    Column("model", Text, nullable=False),
    Column("routed", Boolean, nullable=False),
    Column("requests", BigInteger, nullable=False),
    Column("errors", BigInteger, nullable=False),
    Column("fallbacks", BigInteger, nullable=False),
    Column("prompt_tokens", BigInteger, nullable=False),
    Column("completion_tokens", BigInteger, nullable=False),
    Column("cost_micro", BigInteger, nullable=False),
    Column("energy_wh", Double, nullable=False),
    Column("latency_ms_sum", Double, nullable=False),
    # since 0900_usage_familiarity: records whose prompt familiarity the router measured, and of
    # those the ones it called unfamiliar (rollup_sql.COUNTED)
    Column("familiarity_measured", BigInteger, nullable=False, server_default="0"),
    Column("unfamiliar", BigInteger, nullable=False, server_default="0"),
    # since 1000_usage_refused: of ``errors``, the 4xx (refused for the request, not failed)
    Column("refused", BigInteger, nullable=False, server_default="0"),
    # since 1100_usage_reference: the records with a stored reference (``usage.reference_model``),
    # their reference cost and their tokens (the rest are compared with today's reference)
    Column("referenced", BigInteger, nullable=False, server_default="0"),
    Column("reference_cost_micro", BigInteger, nullable=False, server_default="0"),
    Column("referenced_prompt", BigInteger, nullable=False, server_default="0"),
    Column("referenced_completion", BigInteger, nullable=False, server_default="0"),
    # since 1200_usage_reference_energy: the stored reference model (``''``: none stored), a
    # key of the row, and the stored reference energy with the tokens of the records keeping one
    Column("reference_model", Text, nullable=False, server_default=""),
    Column("reference_energy_wh", Double, nullable=False, server_default="0"),
    Column("reference_energy_tokens", BigInteger, nullable=False, server_default="0"),
    PrimaryKeyConstraint("day", "department", "key_id", "model", "routed", "reference_model"),
)

usage_latency_daily = Table(
    "usage_latency_daily",
    metadata,
    Column("day", UTCDateTime(), nullable=False),
    Column("model", Text, nullable=False),
    Column("bucket", Integer, nullable=False),
    Column("requests", BigInteger, nullable=False),
    # since 1400_latency_shadow: shadow grading's own calls (key ``shadow``) are counted apart
    Column("shadow", Boolean, nullable=False, server_default=false()),
    PrimaryKeyConstraint("day", "model", "bucket", "shadow"),
)
