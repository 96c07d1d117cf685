"""Reading the audit log: one set of filters, and two orders over it.

* newest first, the latest ``limit`` entries (:func:`list_audit`: what a person reads);
* oldest first, a page after a cursor, the id of the last entry read (:func:`audit_page`: what an
  export walks). Ids only grow, so walking the pages from ``after=0`` gives every entry once,
  none skipped or repeated however many there are; entries appended meanwhile come at the end.

A target is matched as the log prints it (``model:mistral-8b``, its kind and name) or by its name
alone (``mistral-8b``, any kind). ``kind:name`` whose kind is one of ``TARGET_KINDS`` is read as
kind and name only: a use case once named ``model:mistral-8b`` (names may no longer hold a colon)
is not the model's, and is found by its name with ``target_kind`` ``use_case``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, and_, func, select, true

from stellwerk.errors import InvalidRequest
from stellwerk.ledger.audit import TARGET_KINDS, AuditEntry, readable
from stellwerk.ledger.tables import audit_log
from stellwerk.ledger.window import EVERYTHING, Window

MAX_LIMIT = 10_000
MAX_ID = 2**31 - 1
"""The largest entry id (the id column is a 32-bit integer on PostgreSQL)."""
_KIND = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Entries within ``window`` whose every given field matches (``None``: any)."""

    window: Window = EVERYTHING
    actor: str | None = None
    action: str | None = None
    target_kind: str | None = None
    target: str | None = None

    def __post_init__(self) -> None:
        """An empty (or blank) field would match no entry and pass for a filtered answer:
        refused."""
        for name in ("actor", "action", "target_kind", "target"):
            value = getattr(self, name)
            if value is not None and not value.strip():
                raise InvalidRequest(
                    f"{name} is empty; leave it out to match every {name.replace('_', ' ')}",
                    param=name,
                )
        if self.target_kind is not None and not _KIND.match(self.target_kind):
            raise InvalidRequest(
                f"target_kind {self.target_kind[:64]!r} is not a kind of target (a lower-case"
                " word such as model, key, department, use_case)",
                param="target_kind",
            )

    def clauses(self) -> list[ColumnElement[bool]]:
        found = self.window.clauses(audit_log.c.time)
        for column, value in (
            ("actor", self.actor),
            ("action", self.action),
            ("target_kind", self.target_kind),
        ):
            if value is not None:
                found.append(audit_log.c[column] == value)
        if self.target is not None:
            found.append(_target_is(self.target, self.target_kind))
        return found


def _target_is(text: str, kind_given: str | None) -> ColumnElement[bool]:
    """The target ``text`` as the log prints it: ``kind:name`` with a known kind
    (``TARGET_KINDS``) is the target ``name`` of that kind; any other text is a target's name.
    With ``target_kind`` given as another kind, ``text`` is read as a name of that kind (an older
    use case named ``model:x``)."""
    kind, colon, name = text.partition(":")
    if colon and name and kind in TARGET_KINDS and kind_given in (None, kind):
        return and_(audit_log.c.target_kind == kind, audit_log.c.target == name)
    return audit_log.c.target == text


@dataclass(frozen=True, slots=True)
class AuditPage:
    """Entries oldest first; ``next_after`` is the cursor of the next page, ``None`` when this
    one holds the last entry that matches."""

    entries: list[AuditEntry]
    next_after: int | None


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be between 1 and {MAX_LIMIT}, got {limit}", param="limit")


def list_audit(
    connection: Connection, where: AuditFilter = AuditFilter(), *, limit: int = 100
) -> list[AuditEntry]:
    """The newest ``limit`` entries that match, newest first."""
    _check_limit(limit)
    return _read(connection, where, newest_first=True, limit=limit)


def audit_page(
    connection: Connection, where: AuditFilter = AuditFilter(), *, after: int, limit: int
) -> AuditPage:
    """Up to ``limit`` matching entries with an id above ``after`` (0: from the first), oldest
    first."""
    _check_limit(limit)
    if not 0 <= after <= MAX_ID:
        raise InvalidRequest(
            f"after must be an entry id (0 to {MAX_ID}), got {after}", param="after"
        )
    # one more than asked tells whether a next page exists
    entries = _read(connection, where, newest_first=False, limit=limit + 1, after=after)
    more = len(entries) > limit
    del entries[limit:]
    return AuditPage(entries, entries[-1].id if more else None)


def _read(
    connection: Connection,
    where: AuditFilter,
    *,
    newest_first: bool,
    limit: int,
    after: int | None = None,
) -> list[AuditEntry]:
    """The query both orders run: up to ``limit`` entries that match ``where`` (and have an id
    above ``after``, when given), by id in the order asked."""
    clauses = where.clauses()
    if after is not None:
        clauses.append(audit_log.c.id > after)
    order = audit_log.c.id.desc() if newest_first else audit_log.c.id.asc()
    statement = select(audit_log).where(and_(true(), *clauses)).order_by(order).limit(limit)
    return [readable(AuditEntry(**row._mapping)) for row in connection.execute(statement)]


def count_audit(connection: Connection, where: AuditFilter = AuditFilter()) -> int:
    statement = select(func.count()).select_from(audit_log).where(and_(true(), *where.clauses()))
    return int(connection.execute(statement).scalar_one())
