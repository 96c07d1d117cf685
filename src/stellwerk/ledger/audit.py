"""The audit log: an append-only record of every governance change.

Entries are only ever inserted; the database refuses updates and deletes (triggers made by the
migration ``0002_audit_log``). ``actor`` says who: a key id, ``"config"`` for a change made by
loading the configuration, or ``"cli:<user>"``. Never put a raw API key anywhere in an entry.

Every text of an entry is valid Unicode: a lone surrogate (``"\\ud800"``) is refused when an entry
is appended (PostgreSQL cannot store one; SQLite stores it, and no UTF-8 answer could carry it),
and one in an entry SQLite stored before that is read back as its escape (the six characters
``\\ud800``), so every reader of the log (admin API, dashboard, ``stellwerk audit``) can show it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Final, Literal, get_args

from sqlalchemy import Connection, insert

from stellwerk.config.plain_text import escape_surrogates, lone_surrogate
from stellwerk.errors import InvalidRequest, LedgerError
from stellwerk.ledger.tables import audit_log

_WORD = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")

TargetKind = Literal[
    "config", "department", "graded_records", "key", "model", "router", "usage", "use_case"
]
"""The kinds of target Stellwerk's changes are audited under: ``append_audit`` takes no other
(mypy checks every call)."""
TARGET_KINDS: Final[frozenset[str]] = frozenset(get_args(TargetKind))
"""A filter's ``kind:name`` with one of them is that kind's target ``name``
(``ledger.audit_read``), never a target named so."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    time: datetime
    actor: str
    action: str
    target_kind: str
    target: str
    details: Mapping[str, Any] = field(default_factory=dict)
    config_hash: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The entry as a JSON object, as the admin API and ``stellwerk audit`` give it."""
        return {
            "id": self.id,
            "time": self.time.astimezone(UTC).isoformat(),
            "actor": self.actor,
            "action": self.action,
            "target_kind": self.target_kind,
            "target": self.target,
            "details": dict(self.details),
            "config_hash": self.config_hash,
        }

    def with_text(self, rewrite: Callable[[str], str]) -> AuditEntry:
        """This entry with ``rewrite`` applied to its free text: the actor, the target and every
        string of its details, names included (how a reader shows what the log keeps as is)."""
        return replace(
            self,
            actor=rewrite(self.actor),
            target=rewrite(self.target),
            details=_rewritten(self.details, rewrite),
        )


def _rewritten(value: Any, rewrite: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return rewrite(value)
    if isinstance(value, Mapping):
        return {rewrite(str(k)): _rewritten(v, rewrite) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewritten(item, rewrite) for item in value]
    return value


def _check(actor: str, action: str, target_kind: str, target: str) -> None:
    if not actor or not actor.strip():
        raise InvalidRequest("audit actor must not be empty", param="actor")
    for name, value in (("action", action), ("target_kind", target_kind)):
        if not _WORD.match(value):
            raise InvalidRequest(
                f"audit {name} {value!r} must be a lower-case word (letters, digits, _ . -)",
                param=name,
            )
    if not target:
        raise InvalidRequest("audit target must not be empty", param="target")


def append_audit(
    connection: Connection,
    *,
    actor: str,
    action: str,
    target_kind: TargetKind,
    target: str,
    details: Mapping[str, Any] | None = None,
    config_hash: str | None = None,
    time: datetime | None = None,
) -> AuditEntry:
    """Insert one entry in the caller's transaction and return it with its id.

    ``details`` must be JSON-serialisable; it is stored as given (sorted keys when read back).
    """
    _check(actor, action, target_kind, target)
    payload = dict(details or {})
    try:  # written once: what the check finds in it is what the database would store
        written = json.dumps(payload, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(f"audit details are not JSON: {exc}", param="details") from exc
    _refuse_surrogates(actor=actor, target=target, details=written)
    moment = time if time is not None else datetime.now(UTC)
    if moment.utcoffset() is None:
        raise InvalidRequest("audit time must carry a timezone", param="time")
    statement = insert(audit_log).values(
        time=moment,
        actor=actor,
        action=action,
        target_kind=target_kind,
        target=target,
        details=payload,
        config_hash=config_hash,
    )
    key = connection.execute(statement).inserted_primary_key
    if key is None or key[0] is None:
        raise LedgerError("the database did not return the id of the new audit entry")
    return AuditEntry(int(key[0]), moment, actor, action, target_kind, target, payload, config_hash)


def _refuse_surrogates(**fields: str) -> None:
    """An ``InvalidRequest`` naming the first field whose text (the details' as JSON, written
    without escapes) holds a lone surrogate: PostgreSQL cannot store one, and an entry SQLite
    stored with one could not be sent as UTF-8."""
    for name, text in fields.items():
        found = lone_surrogate(text)
        if found is not None:
            raise InvalidRequest(
                f"audit {name}: not valid Unicode: {found}", param=name, code="invalid_unicode"
            )


def readable(entry: AuditEntry) -> AuditEntry:
    """``entry`` with every lone surrogate in its text written as its escape (``\\ud800``): an
    entry written before ``append_audit`` refused them is shown, not a failure to encode it."""
    return entry.with_text(escape_surrogates)
