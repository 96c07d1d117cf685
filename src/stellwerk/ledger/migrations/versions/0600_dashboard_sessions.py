"""dashboard sessions: one row per logged-in browser, deleted at logout

Revision ID: 0600_dashboard_sessions
Revises: 0500_dashboard_rollups
Create Date: 2026-11-25

The table is described in ``stellwerk.ledger.session_tables``. Sessions issued before this
migration have no row and so end: their admins log in again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0600_dashboard_sessions"
down_revision = "0500_dashboard_rollups"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboard_sessions",
        sa.Column("session_sha256", sa.Text(), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_sha256", name="pk_dashboard_sessions"),
    )
    op.create_index("ix_dashboard_sessions_expires_at", "dashboard_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_dashboard_sessions_expires_at", table_name="dashboard_sessions")
    op.drop_table("dashboard_sessions")
