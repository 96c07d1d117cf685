"""One migration at a time on a SQLite file: an exclusive ``flock`` on the folder that holds it.

Without it, processes opening one fresh file together each see no version table and each run
the migrations: all but one fail with ``table ... already exists``. The upgrade's own
transaction (``BEGIN IMMEDIATE`` in ``migrate``) does not serialise them well enough: a waiting
process would give up after ``busy_timeout`` (5 s), while a migration that rolls up a large
ledger can take longer.

The lock is an exclusive ``flock`` on the folder that holds the database, so no lock file is
made, and none is left behind. A lock file beside the database would have to stay (deleting it
would let a late process lock a new file while another still holds the old one); the folder is
there anyway. Other ledgers in the same folder migrate one after another, which costs nothing
noticeable. A lock on the database file itself would not do: closing it would drop SQLite's own
POSIX locks of the process on that file. ``flock`` waits for as long as the migration takes, and
the kernel releases the lock when its holder exits, even by SIGKILL, so a crashed migration never
blocks the next start. ``flock`` is only reliable on a local file system; so is SQLite's WAL mode,
which needs every process on the same host.
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


def lock_path(url: URL) -> Path | None:
    """The folder locked while a SQLite file database migrates; ``None`` for an in-memory one."""
    database = url.database or ""
    if database.startswith("file:"):  # a URI filename (``?uri=true``)
        database, _, options = database.removeprefix("file:").partition("?")
        if "mode=memory" in options or url.query.get("mode") == "memory":
            return None
    if database in ("", ":memory:"):
        return None
    return Path(database).parent


def open_folder(url: URL, path: Path) -> int:
    """A descriptor of the SQLite database's folder ``path``, to ``flock``: closing it (the only
    one) releases the lock."""
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise LedgerError(
            f"cannot open the ledger at {safe_url(url)}: cannot open its folder {path}:"
            f" {exc.strerror}"
        ) from exc


@contextmanager
def sqlite_migration_lock(url: URL) -> Iterator[None]:
    """Hold the migration lock of the SQLite database at ``url`` (nothing for ``:memory:``)."""
    path = lock_path(url)
    if path is None:
        yield
        return
    descriptor = open_folder(url, path)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another process migrating the ledger (%s)", path)
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing the only descriptor releases the lock
