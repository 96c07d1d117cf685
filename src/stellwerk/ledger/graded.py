"""Graded requests and router versions in the ledger (``graded_tables``).

``GradedStore.add`` keeps one graded request (a ``Graded``: a ``GradedRecord`` with who asked,
when, on which route and base artifact); a second grade of the same request from the same source
is a ``Conflict``. ``records(base_version)`` gives back the newest ones of an artifact, oldest
first, as ``adapt`` wants them (each with the department that asked, so that an adaptation can
report its gain per department).

``expire`` deletes the records past ``router.graded_retention_days`` and, per artifact, all but
the newest ``router.graded_retention_max`` (the governance loop runs it with the usage records'
retention), audited ``graded.expire``. ``newest_id`` and ``last_adaptation`` tell a scheduled
adaptation (``learning.schedule``) how many records came since the last one; ``adaptations``
gives the newest runs' audit entries (the dashboard's router-learning page).

``promote`` and ``roll_back`` append a router version and its audit entry (``router.adapt``,
``router.rollback``) in one transaction; ``current(base_version)`` is the newest version of an
artifact (None: the base alone). A promotion names the newest version it was compared against
(``over``) and is refused (``Conflict``) when another was appended meanwhile (a rollback while the
adaptation ran must not be undone by it); a rollback names the newest graded record there was
(``newest_record``), so that a scheduled adaptation counts its new records from the rollback.
``learning_window`` is where adaptation learns from after a rollback: the records newer than the
newest one there was when the newest rollback of the artifact was made (a rollback to the base or
to an earlier version alike; a later promotion does not end it, the next rollback moves it).
A promotion carries a correction of its own; a rollback carries
again the correction of an earlier promotion (or none: the base alone), and ``correction_of``
names that promotion, the version the router's decisions name (``learned:<artifact>+<version>``):
the same number always means the same correction, whichever rollback restored it. A rollback to the
correction already in use changes nothing and is refused (``Conflict``), not appended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from stellwerk.errors import Conflict, NotFound
from stellwerk.ledger.audit import AuditEntry, append_audit
from stellwerk.ledger.graded_tables import graded_records, router_versions
from stellwerk.ledger.job_lock import lock_key
from stellwerk.ledger.ledger import Ledger
from stellwerk.ledger.tables import audit_log
from stellwerk.routing.graded_record import GradedRecord

DRY_RUN_ACTION = "router.adapt_dry_run"
"""The audit action of an adaptation tried with ``--dry-run`` (stored nothing): not a run of the
dashboard's adaptation list, nor one a schedule counts from."""

MAX_RECORDS = 5000
"""Records an adaptation reads at most (the newest): a decision's cost grows with them."""


@dataclass(frozen=True, slots=True)
class Graded:
    request_id: str
    source: str
    """``feedback`` (an application's score) or ``shadow`` (a grader's)."""
    time: datetime
    department: str
    key_id: str
    route: str
    base_version: str
    model: str
    """The model that answered."""
    record: GradedRecord


@dataclass(frozen=True, slots=True)
class RouterVersion:
    id: int
    time: datetime
    base_version: str
    actor: str
    correction: bytes | None
    details: dict[str, Any]

    @property
    def restores(self) -> int | None:
        """The version a rollback made current again (its promotion where the rollback wrote it,
        ``correction_of``); None: a promotion."""
        for key in ("correction_of", "rollback_to"):
            value = self.details.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        return None


@dataclass(frozen=True, slots=True)
class LearningWindow:
    """The records an adaptation learns from after a rollback: those newer than ``after``."""

    rollback: int
    """The newest rollback of the artifact (its version)."""
    time: datetime
    after: int
    """The newest graded record there was when it was made (0: none)."""


class GradedStore:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def add(self, graded: Graded) -> None:
        """Keep ``graded``; ``Conflict`` if this request already has a grade from its source."""
        rec = graded.record
        values = {
            "request_id": graded.request_id,
            "source": graded.source,
            "time": graded.time,
            "department": graded.department,
            "key_id": graded.key_id,
            "route": graded.route,
            "base_version": graded.base_version,
            "model": graded.model,
            "task": rec.task,
            "latent": list(rec.latent),
            "base": dict(rec.base),
            "stats": list(rec.stats),
            "grades": dict(rec.grades),
        }
        try:
            with self.ledger.begin() as connection:
                connection.execute(insert(graded_records).values(**values))
        except IntegrityError as exc:
            raise Conflict(
                f"request {graded.request_id[:32]!r} has already been graded ({graded.source})",
                param="request_id",
                code="already_graded",
            ) from exc

    def records(
        self,
        base_version: str,
        limit: int = MAX_RECORDS,
        *,
        up_to: int | None = None,
        after: int | None = None,
    ) -> list[GradedRecord]:
        """The newest ``limit`` records of ``base_version`` (of id ``up_to`` at most, greater
        than ``after``), oldest first."""
        t = graded_records
        statement = (
            select(t.c.latent, t.c.base, t.c.stats, t.c.grades, t.c.task, t.c.department)
            .where(t.c.base_version == base_version, *_ids(up_to, after))
            .order_by(t.c.id.desc())
            .limit(limit)
        )
        with self.ledger.connect() as connection:
            rows = list(connection.execute(statement))
        return [
            GradedRecord(
                latent=tuple(float(x) for x in row.latent),
                base={str(m): float(q) for m, q in row.base.items()},
                grades={str(m): float(g) for m, g in row.grades.items()},
                stats=tuple(float(x) for x in row.stats),
                task=row.task,
                department=row.department,
            )
            for row in reversed(rows)
        ]

    def count(
        self, base_version: str, *, up_to: int | None = None, after: int | None = None
    ) -> int:
        """The records of ``base_version`` (of id ``up_to`` at most, greater than ``after``)."""
        t = graded_records
        statement = select(func.count()).where(
            t.c.base_version == base_version, *_ids(up_to, after)
        )
        with self.ledger.connect() as connection:
            return int(connection.execute(statement).scalar_one())

    def newest_id(self, base_version: str, *, at: datetime | None = None) -> int:
        """The id of the newest record of ``base_version`` (of a request at ``at`` or before;
        0: none)."""
        t = graded_records
        statement = select(func.max(t.c.id)).where(t.c.base_version == base_version)
        if at is not None:
            statement = statement.where(t.c.time <= at)
        with self.ledger.connect() as connection:
            return int(connection.execute(statement).scalar_one() or 0)

    def learning_window(self, base_version: str) -> LearningWindow | None:
        """Where adaptation learns from: the records after the newest rollback of
        ``base_version`` (None: never rolled back, every record)."""
        t = router_versions
        statement = (
            select(t.c.id, t.c.time, t.c.details)
            .where(t.c.base_version == base_version)
            .order_by(t.c.id.desc())
        )
        with self.ledger.connect() as connection:
            rows = connection.execute(statement)
            found = next((r for r in rows if "rollback_to" in dict(r.details)), None)
            if found is None:
                return None
            rollback, time, details = int(found.id), found.time, dict(found.details)
        seen = details.get("newest_record")
        if not isinstance(seen, int) or isinstance(seen, bool):  # written before rollbacks named it
            seen = self.newest_id(base_version, at=time)
        return LearningWindow(rollback, time, seen)

    def last_adaptation(self, base_version: str) -> AuditEntry | None:
        """The newest ``router.adapt`` audit entry of ``base_version`` (promoted or not, by
        command or on schedule); None: never adapted."""
        entries = self.adaptations(base_version, limit=1)
        return entries[0] if entries else None

    def adaptations(self, base_version: str, limit: int = 10) -> list[AuditEntry]:
        """The newest ``limit`` ``router.adapt`` audit entries of ``base_version``, newest
        first: every adaptation run, promoted or not (its ``Adaptation.as_json`` figures)."""
        return self.ledger.list_audit(action="router.adapt", target=base_version, limit=limit)

    def dry_runs_since(self, base_version: str, since: datetime | None) -> int:
        """How many ``router.adapt_dry_run`` audit entries ``base_version`` has after ``since``
        (the newest version's time; None: ever): the tries a promotion's entry names."""
        a = audit_log
        query = (
            select(func.count())
            .select_from(a)
            .where(a.c.action == DRY_RUN_ACTION, a.c.target == base_version)
        )
        if since is not None:
            query = query.where(a.c.time > since)
        with self.ledger.begin() as connection:
            return int(connection.execute(query).scalar_one())

    def expire(
        self,
        *,
        days: int | None,
        keep: int | None,
        now: datetime,
        actor: str = "retention",
        config_hash: str | None = None,
    ) -> int:
        """Delete the records older than ``days`` and, per artifact, all but the newest
        ``keep`` (None: no such rule), in one transaction; audited when any went. Returns how
        many were deleted."""
        t = graded_records
        deleted = 0
        with self.ledger.begin() as connection:
            if days is not None:
                cutoff = now - timedelta(days=days)
                deleted += int(connection.execute(delete(t).where(t.c.time < cutoff)).rowcount or 0)
            if keep is not None:
                artifacts = list(connection.execute(select(t.c.base_version).distinct()).scalars())
                for artifact in artifacts:
                    oldest_kept = connection.execute(
                        select(t.c.id)
                        .where(t.c.base_version == artifact)
                        .order_by(t.c.id.desc())
                        .offset(keep - 1)
                        .limit(1)
                    ).scalar()
                    if oldest_kept is not None:
                        result = connection.execute(
                            delete(t).where(t.c.base_version == artifact, t.c.id < oldest_kept)
                        )
                        deleted += int(result.rowcount or 0)
            if deleted:
                append_audit(
                    connection,
                    actor=actor,
                    action="graded.expire",
                    target_kind="graded_records",
                    target="graded_records",
                    details={"deleted": deleted, "days": days, "keep": keep},
                    config_hash=config_hash,
                    time=now,
                )
        return deleted

    def current(self, base_version: str) -> RouterVersion | None:
        """The newest version of ``base_version`` (None: never adapted)."""
        versions = self.versions(base_version, limit=1)
        return versions[0] if versions else None

    def versions(self, base_version: str, limit: int = 100) -> list[RouterVersion]:
        """Versions of ``base_version``, newest first."""
        t = router_versions
        statement = (
            select(t).where(t.c.base_version == base_version).order_by(t.c.id.desc()).limit(limit)
        )
        with self.ledger.connect() as connection:
            return [_version(row._mapping) for row in connection.execute(statement)]

    def version(self, base_version: str, version_id: int) -> RouterVersion:
        t = router_versions
        statement = select(t).where(t.c.base_version == base_version, t.c.id == version_id)
        with self.ledger.connect() as connection:
            row = connection.execute(statement).first()
        if row is None:
            raise NotFound(f"router version {version_id} of artifact {base_version} does not exist")
        return _version(row._mapping)

    def promote(
        self,
        base_version: str,
        correction: bytes,
        *,
        actor: str,
        details: dict[str, Any],
        over: int | None = None,
        config_hash: str | None = None,
    ) -> RouterVersion:
        """Append a promoted version and its audit entry ``router.adapt``; ``over``: the newest
        version when the adaptation began (0: none), a ``Conflict`` if it is no longer so."""
        return self._append(
            base_version, correction, actor, details, "router.adapt", config_hash, over=over
        )

    def correction_of(self, version: RouterVersion | None) -> int:
        """The promotion whose correction ``version`` carries: its own id for a promotion, for a
        rollback the promotion it restored (through a rollback to a rollback, for a row written
        before rollbacks named it); 0: the base alone (``version`` None: never adapted)."""
        while version is not None and version.correction is not None:
            restored = version.restores
            if restored is None:
                return version.id
            if restored == 0 or restored >= version.id:  # a row only names an older one
                return 0
            version = self.version(version.base_version, restored)
        return 0

    def roll_back(
        self,
        base_version: str,
        to: int | None = None,
        *,
        actor: str,
        reason: str,
        config_hash: str | None = None,
    ) -> RouterVersion:
        """Make version ``to`` (0: the base alone; None: the one in use before the current one)
        current again, as a new version, audited ``router.rollback`` with ``reason`` (required,
        as for every governance change; checked by the caller with
        ``governance.reason.audit_reason``); a ``Conflict`` when its correction is the one in
        use already (nothing would change)."""
        now = self.current(base_version)
        if now is None:
            raise NotFound(f"the router artifact {base_version} has no version to roll back")
        if to is None:
            to = int(now.details.get("previous") or 0)
        target = None if to == 0 else self.version(base_version, to)
        restored, in_use = self.correction_of(target), self.correction_of(now)
        if restored == in_use:
            raise Conflict(_unchanged(to, restored, now.id), code="router_version_in_use")
        correction = None if target is None else target.correction
        details = {
            "rollback_to": to,
            "rolled_back": now.id,
            "correction_of": restored,
            "newest_record": self.newest_id(base_version),
            "reason": reason,
        }
        return self._append(
            base_version, correction, actor, details, "router.rollback", config_hash
        )

    def _append(
        self,
        base_version: str,
        correction: bytes | None,
        actor: str,
        details: dict[str, Any],
        action: str,
        config_hash: str | None,
        *,
        over: int | None = None,
    ) -> RouterVersion:
        now = datetime.now(UTC)
        with self.ledger.begin() as connection:
            if self.ledger.dialect == "postgresql":  # appends of one artifact one at a time
                lock = lock_key(f"{self.ledger.url}|router_versions|{base_version}")
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock})
            previous = connection.execute(
                select(func.max(router_versions.c.id)).where(
                    router_versions.c.base_version == base_version
                )
            ).scalar_one()
            if over is not None and int(previous or 0) != over:
                raise Conflict(
                    f"router version {previous} was stored while adapting against version"
                    f" {over}: nothing promoted (adapt again to judge against it)",
                    code="router_version_changed",
                )
            full = {**details, "previous": int(previous or 0)}
            key = connection.execute(
                insert(router_versions).values(
                    time=now,
                    base_version=base_version,
                    actor=actor,
                    correction=correction,
                    details=full,
                )
            ).inserted_primary_key
            new_id = int(key[0])  # type: ignore[index]
            append_audit(
                connection,
                actor=actor,
                action=action,
                target_kind="router",
                target=base_version,
                details={**full, "version": new_id},
                config_hash=config_hash,
                time=now,
            )
        return RouterVersion(new_id, now, base_version, actor, correction, full)


def _ids(up_to: int | None, after: int | None) -> list[Any]:
    """The conditions on a record's id: ``up_to`` at most, greater than ``after``."""
    t = graded_records
    return [
        *([t.c.id <= up_to] if up_to is not None else []),
        *([t.c.id > after] if after is not None else []),
    ]


def _unchanged(to: int, restored: int, current: int) -> str:
    """Why a rollback to ``to`` would change nothing: what it restores is in use already."""
    what = "the base router alone" if restored == 0 else f"version {restored}'s correction"
    return (
        f"rollback to version {to}: {what} is in use already (current version {current});"
        " nothing to roll back"
    )


def _version(row: Any) -> RouterVersion:
    return RouterVersion(
        id=int(row["id"]),
        time=row["time"],
        base_version=row["base_version"],
        actor=row["actor"],
        correction=None if row["correction"] is None else bytes(row["correction"]),
        details=dict(row["details"]),
    )
