"""One migration at a time on a SQLite file: an exclusive ``flock`` on a lock file beside it.

Without it, processes opening one fresh file together each see no version table and each run
the migrations: all but one fail with ``table ... already exists``. The upgrade's own
transaction (``BEGIN IMMEDIATE`` in ``migrate``) does not serialise them well enough: a waiting
process would give up after ``busy_timeout`` (5 s), while a migration that rolls up a large
ledger can take longer.

The lock file ``<database>.migrate.lock`` is opened, never deleted (deleting it would let a late
process lock a new file while another still holds the old one). ``flock`` waits for as long as the
migration takes, and the kernel releases the lock when its holder exits, even by SIGKILL, so a
crashed migration never blocks the next start. ``flock`` is only reliable on a local file system;
so is SQLite's WAL mode, which needs every process on the same host.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import URL

from stellwerk.errors import LedgerError
from stellwerk.ledger.engine import safe_url

log = logging.getLogger("stellwerk.ledger")

SUFFIX = ".migrate.lock"


def lock_path(url: URL) -> Path | None:
    """The lock file of a SQLite file database; ``None`` for an in-memory one."""
    database = url.database or ""
    if database.startswith("file:"):  # a URI filename (``?uri=true``)
        database, _, options = database.removeprefix("file:").partition("?")
        if "mode=memory" in options or url.query.get("mode") == "memory":
            return None
    if database in ("", ":memory:"):
        return None
    path = Path(database)
    return path.with_name(path.name + SUFFIX)


@contextmanager
def sqlite_migration_lock(url: URL) -> Iterator[None]:
    """Hold the migration lock of the SQLite database at ``url`` (nothing for ``:memory:``)."""
    path = lock_path(url)
    if path is None:
        yield
        return
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise LedgerError(
            f"cannot open the ledger at {safe_url(url)}: cannot create its migration lock file"
            f" {path}: {exc.strerror}"
        ) from exc
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another process migrating the ledger (%s)", path)
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing the only descriptor releases the lock
