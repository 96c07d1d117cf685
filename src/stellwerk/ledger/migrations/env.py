"""Alembic environment: migrates the connection handed in by ``stellwerk.ledger.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

# imported for their side effect: they put the governance tables, the dashboard's rollups and its
# sessions on the ledger's metadata
from stellwerk.ledger import (  # noqa: F401
    governance_tables,
    graded_tables,
    rollup_tables,
    session_tables,
)
from stellwerk.ledger.migrate import VERSION_TABLE
from stellwerk.ledger.tables import metadata


def _include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    # Monthly partitions of ``usage`` are made at run time, not by migrations.
    return not (
        type_ == "table"
        and reflected
        and compare_to is None
        and name is not None
        and name.startswith("usage_y")
    )


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError(
            "run the ledger's migrations through stellwerk.ledger.migrate (it passes a connection)"
        )
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        include_object=_include_object,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported; open the ledger instead")
run_migrations_online()
