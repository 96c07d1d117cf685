"""Turn a database URL into a SQLAlchemy engine with the settings the ledger relies on.

SQLite (``sqlite:///path``, the default) gets WAL journaling, ``synchronous=NORMAL`` (a committed
transaction survives a crash of the process; only a power loss or OS crash can roll back the last
commits), a busy timeout so that a reader never makes a writer fail, and foreign keys on.
PostgreSQL (``postgresql+psycopg://...``) gets a pre-ping pool, so that a restarted server costs
one retried batch rather than an error on every pooled connection.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.pool import StaticPool

from stellwerk.errors import LedgerError

SQLITE_BUSY_TIMEOUT_MS = 5000
SUPPORTED = ("sqlite", "postgresql")


def parse_url(url: str | URL) -> URL:
    """Parse and check a ledger URL; the error names the URL (password hidden)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        raise LedgerError(
            f"ledger database URL {_masked(str(url))!r} is not a valid URL: {exc}"
        ) from exc
    if parsed.get_backend_name() not in SUPPORTED:
        raise LedgerError(
            f"ledger database URL {safe_url(parsed)!r}: unsupported database "
            f"{parsed.get_backend_name()!r}; use sqlite:///path or postgresql+psycopg://..."
        )
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def safe_url(url: str | URL) -> str:
    """The URL as text with the password masked, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<invalid URL>"


def _masked(text: str) -> str:
    """A URL that does not parse, with what may be a password (``user:secret@``) masked."""
    return re.sub(
        r"(://[^/@:]*):.*@", r"\1:***@", text
    )  # to the last @: a password may hold / or @


def _is_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def build_engine(url: str | URL) -> Engine:
    """An engine for ``url`` with the ledger's connection settings (see the module docstring)."""
    parsed = parse_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        if _is_memory(parsed):
            # One shared connection, or every connection would see its own empty database.
            kwargs["poolclass"] = StaticPool
            kwargs["connect_args"] = {"check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **kwargs)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise LedgerError(f"ledger database URL {safe_url(parsed)!r}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine
