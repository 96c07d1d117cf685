"""governance: catalog state and history, client keys (hashed), use cases, limits and budgets

Revision ID: 0400_governance
Revises: 0300_calibration_records
Create Date: 2026-11-25

The tables are described in ``stellwerk.ledger.governance_tables``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0400_governance"
down_revision = "0300_calibration_records"
branch_labels = None
depends_on = None

# ledger.types.json_type() as of this revision: JSON, JSONB on PostgreSQL
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "gov_models",
        sa.Column("model_id", sa.Text(), nullable=False),
        sa.Column("lifecycle", sa.Text(), nullable=False),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("model_id", name="pk_gov_models"),
    )
    op.create_table(
        "gov_model_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_id", sa.Text(), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("field", sa.Text(), nullable=False),
        sa.Column("old_value", sa.Text()),
        sa.Column("new_value", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_gov_model_history"),
    )
    op.create_index("ix_gov_model_history_model_id_time", "gov_model_history", ["model_id", "time"])
    op.create_table(
        "gov_keys",
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("key_sha256", sa.Text(), nullable=False),
        sa.Column("department", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("use_case", sa.Text()),
        sa.Column("classification", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_by", sa.Text()),
        sa.PrimaryKeyConstraint("key_id", name="pk_gov_keys"),
        sa.UniqueConstraint("key_sha256", name="uq_gov_keys_key_sha256"),
    )
    op.create_index("ix_gov_keys_department", "gov_keys", ["department"])
    op.create_table(
        "gov_use_cases",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("department", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("risk_tier", sa.Text(), nullable=False),
        sa.Column("classification", sa.Text(), nullable=False),
        sa.Column("allowed_models", _JSON),
        sa.Column("oversight_contact", sa.Text()),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_gov_use_cases"),
    )
    op.create_table(
        "gov_limits",
        sa.Column("scope_kind", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("requests_per_minute", sa.Integer()),
        sa.Column("tokens_per_minute", sa.Integer()),
        sa.Column("monthly_budget", sa.Double()),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("scope_kind", "scope", name="pk_gov_limits"),
    )


def downgrade() -> None:
    for table in ("gov_limits", "gov_use_cases", "gov_keys", "gov_model_history", "gov_models"):
        op.drop_table(table)
