"""calibration_records and catalog_costs: models' evaluation records and measured costs

Revision ID: 0300_calibration_records
Revises: 0002_audit_log
Create Date: 2026-11-25

Both tables are append-only (a record is a compliance fact; a cost change is superseded by a newer
row, never edited): triggers refuse updates and deletes, as for audit_log.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0300_calibration_records"
down_revision = "0002_audit_log"
branch_labels = None
depends_on = None

# ledger.types.json_type() as of this revision: JSON, JSONB on PostgreSQL
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

_TABLES = ("calibration_records", "catalog_costs")


def _sqlite_triggers(table: str) -> list[str]:
    return [
        f"""CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table}
        BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"""
        for verb in ("UPDATE", "DELETE")
    ]


def _postgres_triggers(table: str) -> list[str]:
    return [
        f"""CREATE FUNCTION {table}_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '{table} is append-only' USING ERRCODE = 'insufficient_privilege';
        END $$""",
        f"""CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION {table}_refuse_change()""",
    ]


def upgrade() -> None:
    op.create_table(
        "calibration_records",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Text(), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("bank_name", sa.Text(), nullable=False),
        sa.Column("bank_sha256", sa.Text(), nullable=False),
        sa.Column("pairs", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("quality", sa.Double()),
        sa.Column("per_task", _JSON, nullable=False),
        sa.Column("errors", _JSON, nullable=False),
        sa.Column("skipped", _JSON, nullable=False),
        sa.Column("tokens_per_s", sa.Double()),
        sa.Column("throughput_tokens_per_s", sa.Double()),
        sa.Column("ttft_ms_p50", sa.Double()),
        sa.Column("latency_ms_p50", sa.Double()),
        sa.Column("max_tokens", sa.Integer(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("config_hash", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_calibration_records"),
    )
    op.create_index("ix_calibration_records_model_time", "calibration_records", ["model", "time"])
    op.create_table(
        "catalog_costs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("input_per_mtok", sa.Double(), nullable=False),
        sa.Column("output_per_mtok", sa.Double(), nullable=False),
        sa.Column("energy_wh_per_1k_tokens", sa.Double(), nullable=False),
        sa.Column("basis", _JSON, nullable=False),
        sa.Column("calibration_run", sa.Text()),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_catalog_costs"),
    )
    op.create_index("ix_catalog_costs_model_time", "catalog_costs", ["model", "time"])
    dialect = op.get_bind().dialect.name
    for table in _TABLES:
        if dialect == "sqlite":
            statements = _sqlite_triggers(table)
        elif dialect == "postgresql":
            statements = _postgres_triggers(table)
        else:
            statements = []
        for statement in statements:
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in _TABLES:
        op.drop_table(table)
        if dialect == "postgresql":
            op.execute(f"DROP FUNCTION {table}_refuse_change()")
