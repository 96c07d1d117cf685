"""SQL idioms that differ between SQLite and PostgreSQL, shared by every owner of a table."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def insert_if_absent(connection: Connection, table: Table, values: dict[str, Any]) -> bool:
    """Insert a row unless one with the same primary key exists; True if this call inserted it.

    ``INSERT ... ON CONFLICT DO NOTHING`` on both databases, so that several gateway replicas
    seeding the same rows at the same moment neither fail nor seed (and audit) a row twice.
    """
    if connection.dialect.name == "postgresql":
        statement: Any = postgresql.insert(table).values(values).on_conflict_do_nothing()
    else:
        statement = sqlite.insert(table).values(values).on_conflict_do_nothing()
    # RETURNING rather than rowcount: drivers report -1 for some inserts
    inserted = statement.returning(*table.primary_key.columns)
    return connection.execute(inserted).first() is not None
