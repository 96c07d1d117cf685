"""router learning: graded requests (no prompt text) and router versions

Revision ID: 0800_router_learning
Revises: 0700_money_micro
Create Date: 2026-12-06

The tables are described in ``stellwerk.ledger.graded_tables``. ``router_versions`` is
append-only (a rollback is a new row): triggers refuse updates and deletes, as for audit_log.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0800_router_learning"
down_revision = "0700_money_micro"
branch_labels = None
depends_on = None

# ledger.types.json_type() as of this revision: JSON, JSONB on PostgreSQL
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "graded_records",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("department", sa.Text(), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("route", sa.Text(), nullable=False),
        sa.Column("base_version", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("task", sa.Text()),
        sa.Column("latent", _JSON, nullable=False),
        sa.Column("base", _JSON, nullable=False),
        sa.Column("stats", _JSON, nullable=False),
        sa.Column("grades", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_graded_records"),
        sa.UniqueConstraint("request_id", "source", name="uq_graded_records_request_id_source"),
    )
    op.create_index("ix_graded_records_base_version_id", "graded_records", ["base_version", "id"])
    op.create_table(
        "router_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("base_version", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("correction", sa.LargeBinary()),
        sa.Column("details", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_router_versions"),
    )
    op.create_index("ix_router_versions_base_version_id", "router_versions", ["base_version", "id"])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(
            """CREATE FUNCTION router_versions_refuse_change() RETURNS trigger LANGUAGE plpgsql
            AS $$ BEGIN RAISE EXCEPTION 'router_versions is append-only'
            USING ERRCODE = 'insufficient_privilege'; END $$"""
        )
        op.execute(
            """CREATE TRIGGER router_versions_no_change BEFORE UPDATE OR DELETE ON router_versions
            FOR EACH ROW EXECUTE FUNCTION router_versions_refuse_change()"""
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"""CREATE TRIGGER router_versions_no_{verb.lower()} BEFORE {verb}
                ON router_versions BEGIN SELECT RAISE(ABORT, 'router_versions is append-only');
                END"""
            )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER router_versions_no_change ON router_versions")
        op.execute("DROP FUNCTION router_versions_refuse_change()")
    op.drop_index("ix_router_versions_base_version_id", table_name="router_versions")
    op.drop_table("router_versions")
    op.drop_index("ix_graded_records_base_version_id", table_name="graded_records")
    op.drop_table("graded_records")
