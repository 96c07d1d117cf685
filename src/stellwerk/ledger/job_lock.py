"""One replica at a time: a named lock in the ledger's database, tried and never waited for.

A background job that several gateway replicas run on the same ledger (the scheduled adaptation
of the learned router) holds this lock while it runs; a replica that does not get it skips the
round. On PostgreSQL it is a session-level advisory lock (``pg_try_advisory_lock``) on a key
derived from the name and the ledger's URL (advisory locks are per database server: two ledgers
in two schemas of one database must not share the lock), held on a connection of its own for the
block and released by the database if the process dies. On a SQLite file it is a non-blocking
exclusive ``flock`` on the folder that holds the database (``migration_lock``: no lock file is
made, the kernel releases it when the holder exits); a replica migrating the ledger holds the
same lock, so the job skips a round then rather than run beside a migration. An in-memory SQLite
database lives in one process: the lock is always granted.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from stellwerk.ledger.ledger import Ledger
from stellwerk.ledger.migration_lock import lock_path, open_folder


def lock_key(name: str) -> int:
    """A stable signed 64-bit key of ``name`` (PostgreSQL's advisory lock keys are bigint)."""
    digest = hashlib.blake2b(f"stellwerk:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def job_lock(ledger: Ledger, name: str) -> Iterator[bool]:
    """Try the lock ``name``: yields True while this process holds it, False when another
    replica does (the block should then skip its work)."""
    if ledger.dialect == "postgresql":
        with _advisory(ledger, name) as held:
            yield held
        return
    path = lock_path(ledger.engine.url)
    if path is None:
        yield True
        return
    descriptor = open_folder(ledger.engine.url, path)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(descriptor)  # closing the only descriptor releases the lock


@contextmanager
def _advisory(ledger: Ledger, name: str) -> Iterator[bool]:
    key = lock_key(f"{ledger.url}|{name}")
    with ledger.engine.connect() as connection:
        held = bool(
            connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
        )
        connection.commit()
        try:
            yield held
        finally:
            if held:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()
