"""Run the ledger's Alembic migrations from code: no ``alembic.ini``, no command line needed.

The migration scripts ship inside the package (``stellwerk/ledger/migrations``). The revision is
kept in the table ``stellwerk_alembic_version`` so that the ledger can share a database with other
applications that use Alembic. Processes opening one database together migrate it once, one after
the other: on PostgreSQL the upgrade holds an advisory lock, on a SQLite file an exclusive lock on
the folder that holds it (see :mod:`stellwerk.ledger.migration_lock`).

An upgrade is one transaction on both databases: it completes or leaves the database as it was,
also when the process is killed in the middle. (Python's sqlite3 driver opens a transaction only
before INSERT, UPDATE or DELETE, so the ``CREATE TABLE`` statements a migration starts with would
each commit on their own; the upgrade tells the driver to stay out and wraps itself in one
``BEGIN IMMEDIATE`` ... ``COMMIT``.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, text

from stellwerk.errors import LedgerError
from stellwerk.ledger.migration_lock import sqlite_migration_lock

VERSION_TABLE = "stellwerk_alembic_version"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# pg_advisory_xact_lock key: the first 8 bytes of "stellwerk" as a signed 64-bit integer.
_LOCK_KEY = int.from_bytes(b"stellwer", "big", signed=True)


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations, bound to ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise LedgerError("the ledger's migrations are missing from the installation")
    return head


def current_revision(connection: Connection) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def _check_known(connection: Connection) -> None:
    current = current_revision(connection)
    if current is None:
        return
    scripts = ScriptDirectory.from_config(alembic_config())
    try:
        scripts.get_revision(current)
    except CommandError as exc:
        raise LedgerError(
            f"the ledger database is at revision {current!r}, which this version of Stellwerk "
            "does not know (was it migrated by a newer version?)"
        ) from exc


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database behind ``engine`` to ``revision`` (default: the newest)."""
    if engine.dialect.name == "sqlite":
        with sqlite_migration_lock(engine.url), _sqlite_transaction(engine) as connection:
            _upgrade(connection, revision)
        return
    with engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        _upgrade(connection, revision)


@contextmanager
def _sqlite_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection inside one explicit SQLite transaction, DDL included (module docstring)."""
    with engine.connect() as connection:
        driver = connection.connection.driver_connection
        assert driver is not None
        legacy = driver.isolation_level
        driver.isolation_level = None  # the driver begins and commits nothing by itself now
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.exec_driver_sql("ROLLBACK")
                raise
            connection.exec_driver_sql("COMMIT")
            connection.commit()  # end SQLAlchemy's own idea of the transaction, too
        finally:
            driver.isolation_level = legacy


def _upgrade(connection: Connection, revision: str) -> None:
    _check_known(connection)
    command.upgrade(alembic_config(connection), revision)


def new_revision(engine: Engine, message: str, rev_id: str) -> Path:
    """Write a new migration script comparing ``tables.py`` with the database (a developer tool).

    The database is first migrated to head; the script lands in ``migrations/versions`` and must
    be read and completed by hand (autogenerate misses triggers, partitioning and data moves).
    """
    upgrade(engine)
    with engine.begin() as connection:
        script = command.revision(
            alembic_config(connection), message=message, autogenerate=True, rev_id=rev_id
        )
    if script is None or isinstance(script, list):  # pragma: no cover - one head, one script
        raise LedgerError("alembic did not write exactly one migration script")
    return Path(script.path)
