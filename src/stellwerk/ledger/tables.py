"""The ledger's tables, as SQLAlchemy Core metadata.

This module is the source of truth for what the newest migration creates; a test compares it with
a database migrated to head (``alembic`` autogenerate finds no difference). Change a table here
*and* add a migration under ``migrations/versions`` (docs/ledger.md says how).

``usage`` never holds prompt or answer text: its columns are exactly the fields of
:class:`stellwerk.ledger.record.UsageRecord`. On PostgreSQL it is partitioned by month on
``time`` (see :mod:`stellwerk.ledger.partitions`), which is why its primary key includes ``time``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    and_,
    case,
    literal_column,
    text,
)
from sqlalchemy.sql.elements import ColumnElement

from stellwerk.ledger.types import UTCDateTime, json_type

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

ERROR_STATUS = 400
FAILED_STATUS = 500
"""A usage record's error below this status was refused for what the request asked (a 4xx); from
it on, it failed (a 5xx): the dashboard's rule, the rollup's ``refused`` and the reports'."""
#: A usage record refused for the request (4xx: what it sent or may do), not failed (5xx), as
#: SQL text (the partial index ``ix_usage_refused_time``).
REFUSED = f"status >= {ERROR_STATUS} AND status < {FAILED_STATUS}"


def refused(status: ColumnElement[int]) -> ColumnElement[bool]:
    """``REFUSED`` over a query's own ``status`` column, its bounds written into the SQL as
    constants, as the index's condition is: PostgreSQL reads a query through the partial index
    ``ix_usage_refused_time`` only when it can prove from the query's text that the query's
    condition implies the index's, which bound parameters do not let it do in a generic plan
    (the one a statement psycopg has prepared, after five runs on a connection, settles on)."""
    return and_(
        status >= literal_column(str(ERROR_STATUS)), status < literal_column(str(FAILED_STATUS))
    )


IDLE_GROUP = "(load/unload)"
"""The row, in usage by model, of the requests answered with no model: Ollama's load and unload
(``/api/generate`` without a prompt, ``/api/chat`` without messages, ``gateway.pipeline.ready``),
which ask for no answer and are recorded with no model, not refused and not failed. The other
records with no model were refused or failed before one was chosen. No model id can be this
(``config.base.check_name`` takes no parentheses)."""


def idle(model: ColumnElement[str | None], status: ColumnElement[int]) -> ColumnElement[bool]:
    """A record answered with no model (``IDLE_GROUP``): no model, and no error."""
    return and_(model.is_(None), status < literal_column(str(ERROR_STATUS)))


def asked_for_answers(
    model: ColumnElement[str], requests: ColumnElement[int], errors: ColumnElement[int]
) -> ColumnElement[int]:
    """Of a rollup row's ``requests``, those that asked for an answer: all of a model's row; of
    the row of no model (``''``), its errors, refused or failed before a model was chosen (the
    rest are loads and unloads, ``IDLE_GROUP``). Over routed rows, the routed requests, as every
    routing figure counts them (a load of ``auto`` asked the router nothing)."""
    return case((model == "", errors), else_=requests)


usage = Table(
    "usage",
    metadata,
    Column("request_id", Text, nullable=False),
    Column("time", UTCDateTime(), nullable=False),
    Column("department", Text, nullable=False),
    Column("key_id", Text, nullable=False),
    Column("api", Text, nullable=False),
    Column("endpoint", Text, nullable=False),
    Column("requested_model", Text, nullable=False),
    Column("model", Text),
    Column("backend", Text),
    Column("decision_reason", Text),
    Column("router", Text),
    Column("classification", Text),
    Column("stream", Boolean, nullable=False),
    Column("prompt_tokens", BigInteger, nullable=False),
    Column("completion_tokens", BigInteger, nullable=False),
    Column("usage_source", Text, nullable=False),
    Column("latency_ms", Double, nullable=False),
    Column("ttft_ms", Double),
    Column("status", Integer, nullable=False),
    Column("error_kind", Text),
    Column("fallback_from", Text),
    Column("cost_micro", BigInteger, nullable=False),  # stellwerk.money: millionths
    Column("energy_wh", Double, nullable=False),
    Column("config_hash", Text, nullable=False),
    Column("familiarity", Double),  # migration 0900_usage_familiarity
    Column("unfamiliar", Boolean),
    # migration 1100_usage_reference: a routed request's reference model and its cost then
    Column("reference_model", Text),
    Column("reference_cost_micro", BigInteger),
    # migration 1200_usage_reference_energy: its energy then for the same tokens, in Wh
    Column("reference_energy_wh", Double),
    PrimaryKeyConstraint("request_id", "time"),
    Index("ix_usage_time", "time"),
    Index("ix_usage_department_time", "department", "time"),
    Index("ix_usage_model_time", "model", "time"),
    # the refused records (4xx) only: the dashboard's refusals by reason read a month's of them
    # without reading its traffic (migration 1000_usage_refused)
    Index(
        "ix_usage_refused_time",
        "time",
        postgresql_where=text(REFUSED),
        sqlite_where=text(REFUSED),
    ),
    postgresql_partition_by="RANGE (time)",
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", UTCDateTime(), nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("target_kind", Text, nullable=False),
    Column("target", Text, nullable=False),
    Column("details", json_type(), nullable=False),
    Column("config_hash", Text),
    Index("ix_audit_log_time", "time"),
    Index("ix_audit_log_target", "target_kind", "target", "time"),
)

# Calibration (migration 0300_calibration_records): one record per model and calibration run, the
# model's evaluation record; and the catalog costs an operator accepted from a calibration.
calibration_records = Table(
    "calibration_records",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Text, nullable=False),
    Column("time", UTCDateTime(), nullable=False),
    Column("model", Text, nullable=False),
    Column("bank_name", Text, nullable=False),
    Column("bank_sha256", Text, nullable=False),
    Column("pairs", Integer, nullable=False),
    Column("answered", Integer, nullable=False),
    Column("quality", Double),
    Column("per_task", json_type(), nullable=False),
    Column("errors", json_type(), nullable=False),
    Column("skipped", json_type(), nullable=False),
    Column("tokens_per_s", Double),
    Column("throughput_tokens_per_s", Double),
    Column("ttft_ms_p50", Double),
    Column("latency_ms_p50", Double),
    Column("max_tokens", Integer, nullable=False),
    Column("actor", Text, nullable=False),
    Column("config_hash", Text),
    Index("ix_calibration_records_model_time", "model", "time"),
)

catalog_costs = Table(
    "catalog_costs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", UTCDateTime(), nullable=False),
    Column("model", Text, nullable=False),
    Column("input_per_mtok", Double, nullable=False),
    Column("output_per_mtok", Double, nullable=False),
    Column("energy_wh_per_1k_tokens", Double, nullable=False),
    Column("basis", json_type(), nullable=False),
    Column("calibration_run", Text),
    Column("actor", Text, nullable=False),
    Index("ix_catalog_costs_model_time", "model", "time"),
)
