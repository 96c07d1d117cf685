"""key requests: the POST /admin/keys sent with an Idempotency-Key, for answering a retry

Revision ID: 1300_key_requests
Revises: 1200_usage_reference_energy
Create Date: 2026-12-07

The table is described in ``stellwerk.ledger.governance_tables`` (``gov_key_requests``) and
used by ``stellwerk.governance.key_requests``. A row is written in the transaction that makes
its key; keys made before this migration have none (they were made without the header).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "1300_key_requests"
down_revision = "1200_usage_reference_energy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gov_key_requests",
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("body_sha256", sa.Text(), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("actor", "idempotency_key", name="pk_gov_key_requests"),
    )


def downgrade() -> None:
    op.drop_table("gov_key_requests")
