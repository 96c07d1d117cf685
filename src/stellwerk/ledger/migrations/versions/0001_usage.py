"""usage: one row per request, partitioned by month on PostgreSQL

Revision ID: 0001_usage
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_usage"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage",
        sa.Column("request_id", sa.Text(), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("department", sa.Text(), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("api", sa.Text(), nullable=False),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("requested_model", sa.Text(), nullable=False),
        sa.Column("model", sa.Text()),
        sa.Column("backend", sa.Text()),
        sa.Column("decision_reason", sa.Text()),
        sa.Column("router", sa.Text()),
        sa.Column("classification", sa.Text()),
        sa.Column("stream", sa.Boolean(), nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger(), nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), nullable=False),
        sa.Column("usage_source", sa.Text(), nullable=False),
        sa.Column("latency_ms", sa.Double(), nullable=False),
        sa.Column("ttft_ms", sa.Double()),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("error_kind", sa.Text()),
        sa.Column("fallback_from", sa.Text()),
        sa.Column("cost", sa.Double(), nullable=False),
        sa.Column("energy_wh", sa.Double(), nullable=False),
        sa.Column("config_hash", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "time", name="pk_usage"),
        # Monthly partitions are created on demand by stellwerk.ledger.partitions.
        postgresql_partition_by="RANGE (time)",
    )
    op.create_index("ix_usage_time", "usage", ["time"])
    op.create_index("ix_usage_department_time", "usage", ["department", "time"])
    op.create_index("ix_usage_model_time", "usage", ["model", "time"])


def downgrade() -> None:
    op.drop_table("usage")
