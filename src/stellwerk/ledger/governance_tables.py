"""The governance tables: catalog state with its history, client keys, use cases, limits.

They live in the ledger's database and on its ``metadata`` (so that the comparison of the
metadata with a migrated database covers them); the migration ``0400_governance`` creates them.
Raw keys are never stored: ``gov_keys.key_sha256`` holds the SHA-256 of a key (see
:mod:`stellwerk.governance.keys`). Rows carrying a ``version`` column are changed with optimistic
concurrency: an update names the version it read, and a concurrent change makes it fail.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
)

from stellwerk.ledger.tables import metadata
from stellwerk.ledger.types import UTCDateTime, json_type

gov_models = Table(
    "gov_models",
    metadata,
    Column("model_id", Text, primary_key=True),
    Column("lifecycle", Text, nullable=False),
    Column("consent", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", Text, nullable=False),
)

gov_model_history = Table(
    "gov_model_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_id", Text, nullable=False),
    Column("time", UTCDateTime(), nullable=False),
    Column("actor", Text, nullable=False),
    Column("field", Text, nullable=False),
    Column("old_value", Text),
    Column("new_value", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Index("ix_gov_model_history_model_id_time", "model_id", "time"),
)

gov_keys = Table(
    "gov_keys",
    metadata,
    Column("key_id", Text, primary_key=True),
    Column("key_sha256", Text, nullable=False),
    Column("department", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("use_case", Text),
    Column("classification", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", Text, nullable=False),
    Column("revoked_at", UTCDateTime()),
    Column("revoked_by", Text),
    UniqueConstraint("key_sha256"),
    Index("ix_gov_keys_department", "department"),
)

gov_use_cases = Table(
    "gov_use_cases",
    metadata,
    Column("name", Text, primary_key=True),
    Column("department", Text, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("risk_tier", Text, nullable=False),
    Column("classification", Text, nullable=False),
    Column("allowed_models", json_type()),
    Column("oversight_contact", Text),
    Column("version", Integer, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", Text, nullable=False),
)

gov_limits = Table(
    "gov_limits",
    metadata,
    Column("scope_kind", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Column("requests_per_minute", Integer),
    Column("tokens_per_minute", Integer),
    Column("monthly_budget_micro", BigInteger),
    Column("version", Integer, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", Text, nullable=False),
    PrimaryKeyConstraint("scope_kind", "scope"),
)

# a POST /admin/keys with an Idempotency-Key, kept as long as a retry of it is answered as one
# (``governance.key_requests``): written in the transaction that makes the key, so a retry after
# a failed answer finds the key if it was made, and makes none twice
gov_key_requests = Table(
    "gov_key_requests",
    metadata,
    Column("actor", Text, nullable=False),
    Column("idempotency_key", Text, nullable=False),
    Column("body_sha256", Text, nullable=False),
    Column("key_id", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("actor", "idempotency_key"),
)
