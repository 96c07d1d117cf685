"""The ledger: one object over one database, opened (and migrated) by :func:`open_ledger`.

Its methods are synchronous and short; call them from a thread (``asyncio.to_thread``) on an event
loop. The gateway writes usage through :class:`stellwerk.ledger.writer.LedgerWriter`, which batches
records off the request path and calls :meth:`Ledger.insert_usage`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from stellwerk.errors import LedgerError
from stellwerk.ledger import (
    answer_lengths,
    audit,
    audit_read,
    chargeback,
    migrate,
    partitions,
    retention,
    usage_read,
    usage_write,
)
from stellwerk.ledger.aggregates import GroupBy, UsageAggregate, summarize_usage
from stellwerk.ledger.audit import AuditEntry
from stellwerk.ledger.audit_read import AuditFilter, AuditPage
from stellwerk.ledger.engine import build_engine, safe_url
from stellwerk.ledger.record import UsageRecord
from stellwerk.ledger.window import EVERYTHING, Window


class Ledger:
    """Usage records and the audit log in one SQLite or PostgreSQL database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._months: set[partitions.Month] = set()

    @property
    def url(self) -> str:
        """The database URL with the password masked."""
        return safe_url(self.engine.url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection in a transaction, committed on success; later tables' services use it."""
        with self.engine.begin() as connection:
            yield connection

    def connect(self) -> Connection:
        return self.engine.connect()

    # usage ---------------------------------------------------------------------------------------

    def insert_usage(self, records: Sequence[UsageRecord]) -> None:
        """Write ``records`` in one transaction; records already stored are skipped."""
        months = partitions.with_next(partitions.month_of(record.time) for record in records)
        new_months = months - self._months
        try:
            with self.engine.begin() as connection:
                partitions.ensure_partitions(connection, new_months)
                usage_write.insert_usage(connection, records)
        except BaseException:
            self._months.clear()  # a partition may have been dropped behind our back
            raise
        self._months |= new_months

    def count_usage(self, window: Window = EVERYTHING, *, department: str | None = None) -> int:
        with self.engine.connect() as connection:
            return usage_read.count_usage(connection, window, department=department)

    def recent_usage(
        self, *, limit: int = 100, window: Window = EVERYTHING, department: str | None = None
    ) -> list[UsageRecord]:
        with self.engine.connect() as connection:
            return usage_read.recent_usage(
                connection, limit=limit, window=window, department=department
            )

    def summarize_usage(
        self,
        window: Window = EVERYTHING,
        *,
        by: GroupBy | None = None,
        department: str | None = None,
    ) -> list[UsageAggregate]:
        with self.engine.connect() as connection:
            return summarize_usage(connection, window, by=by, department=department)

    def usage_groups(
        self, window: Window, *, department: str | None = None
    ) -> list[chargeback.UsageGroup]:
        with self.engine.connect() as connection:
            return chargeback.usage_groups(connection, window, department=department)

    def answer_lengths(
        self, *, days: int, min_requests: int, now: datetime | None = None
    ) -> dict[str, int]:
        """Mean completion tokens per successful request of each model over the last ``days``
        UTC days, for models with at least ``min_requests`` such requests (from the rollups)."""
        with self.engine.connect() as connection:
            return answer_lengths.answer_lengths(
                connection, now=now or datetime.now(UTC), days=days, min_requests=min_requests
            )

    def delete_usage_before(self, cutoff: datetime) -> int:
        """Retention: remove usage records older than ``cutoff``; return how many."""
        with self.engine.begin() as connection:
            removed = retention.delete_usage_before(connection, cutoff)
        self._months.clear()  # dropped partitions are made again if a late record needs one
        return removed

    # audit ---------------------------------------------------------------------------------------

    def append_audit(
        self,
        *,
        actor: str,
        action: str,
        target_kind: audit.TargetKind,
        target: str,
        details: Mapping[str, Any] | None = None,
        config_hash: str | None = None,
        time: datetime | None = None,
    ) -> AuditEntry:
        with self.engine.begin() as connection:
            return audit.append_audit(
                connection,
                actor=actor,
                action=action,
                target_kind=target_kind,
                target=target,
                details=details,
                config_hash=config_hash,
                time=time,
            )

    def list_audit(
        self,
        *,
        window: Window = EVERYTHING,
        actor: str | None = None,
        action: str | None = None,
        target_kind: str | None = None,
        target: str | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """The newest ``limit`` entries that match every filter given, newest first."""
        where = AuditFilter(window, actor, action, target_kind, target)
        return self.latest_audit(where, limit=limit)

    def latest_audit(self, where: AuditFilter, *, limit: int) -> list[AuditEntry]:
        """The newest ``limit`` entries that match, newest first."""
        with self.engine.connect() as connection:
            return audit_read.list_audit(connection, where, limit=limit)

    def audit_page(self, where: AuditFilter, *, after: int, limit: int) -> AuditPage:
        """Up to ``limit`` entries that match, with an id above ``after``, oldest first."""
        with self.engine.connect() as connection:
            return audit_read.audit_page(connection, where, after=after, limit=limit)

    def count_audit(self, where: AuditFilter) -> int:
        with self.engine.connect() as connection:
            return audit_read.count_audit(connection, where)

    def iter_audit(self, where: AuditFilter, *, page: int = 1000) -> Iterator[AuditEntry]:
        """Every entry that matches, oldest first, read ``page`` entries at a time (one short
        read each: no connection is held between pages, and memory holds one page)."""
        after: int | None = 0
        while after is not None:
            found = self.audit_page(where, after=after, limit=page)
            yield from found.entries
            after = found.next_after

    def close(self) -> None:
        self.engine.dispose()


def open_ledger(url: str | URL, *, revision: str = "head") -> Ledger:
    """Open the ledger at ``url`` and migrate it to ``revision`` (the newest by default).

    ``url`` is ``sqlite:///path/to/file.db`` or ``postgresql+psycopg://user@host/db``. Raises
    :class:`LedgerError` naming the database (password hidden) when it cannot be reached or
    migrated.
    """
    engine = build_engine(url)
    try:
        migrate.upgrade(engine, revision)
    except LedgerError:
        engine.dispose()
        raise
    except (SQLAlchemyError, OSError) as exc:
        engine.dispose()
        raise LedgerError(
            f"cannot open the ledger at {safe_url(engine.url)}: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}"
        ) from exc
    return Ledger(engine)
