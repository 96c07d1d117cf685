"""UsageLimits and budgets in the database: per department (and per key), over the config's.

The config's ``departments[].limits`` and ``keys[].limits`` are the defaults; a row here,
written by the admin API or the CLI, replaces them for its scope. Changes are audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import insert, select, update

from stellwerk.config.schema import StellwerkConfig, UsageLimits
from stellwerk.errors import Conflict, InvalidRequest, NotFound, shown
from stellwerk.governance.reason import audit_reason
from stellwerk.ledger.audit import append_audit
from stellwerk.ledger.governance_tables import gov_limits
from stellwerk.ledger.ledger import Ledger

ScopeKind = Literal["department", "key"]
_FIELDS = ("requests_per_minute", "tokens_per_minute", "monthly_budget")


def parse_limits(raw: Mapping[str, Any]) -> UsageLimits:
    """UsageLimits from user input; a malformed value is an ``InvalidRequest`` naming the field."""
    try:
        return UsageLimits.model_validate(dict(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "limits"
        message = str(first.get("msg", "invalid"))
        if first.get("type") == "extra_forbidden":
            message = f"unknown field; known: {', '.join(_FIELDS)}"
        raise InvalidRequest(f"{where}: {message}", param=where) from exc


class Budgets:
    def __init__(self, ledger: Ledger, config: StellwerkConfig) -> None:
        self._ledger = ledger
        self._departments = {d.name: d for d in config.departments}
        self._config_keys = {k.id: k for d in config.departments for k in d.keys}

    def department_limits(self, department: str) -> UsageLimits:
        """The limits in force for a department (database over config)."""
        dept = self._departments.get(department)
        if dept is None:
            raise NotFound(f"unknown department {shown(department)}", param="department")
        stored = self._stored("department", department)
        return stored if stored is not None else dept.limits

    def effective(self) -> tuple[dict[str, UsageLimits], dict[str, UsageLimits]]:
        """All limits in force: (department -> limits, key id -> limits), in one read."""
        with self._ledger.connect() as connection:
            rows = list(connection.execute(select(gov_limits)))
        stored = {
            (row.scope_kind, row.scope): UsageLimits(**{f: row._mapping[f] for f in _FIELDS})
            for row in rows
        }
        departments = {
            name: stored.get(("department", name), dept.limits)
            for name, dept in self._departments.items()
        }
        keys = {k: v.limits for k, v in self._config_keys.items() if v.limits is not None}
        keys.update({scope: lim for (kind, scope), lim in stored.items() if kind == "key"})
        return departments, keys

    def set_limits(
        self, kind: ScopeKind, scope: str, limits: UsageLimits, *, actor: str, reason: str
    ) -> UsageLimits:
        if kind == "department" and scope not in self._departments:
            raise NotFound(f"unknown department {shown(scope)}", param="department")
        why = audit_reason(reason)
        now = datetime.now(UTC)
        values = {f: getattr(limits, f) for f in _FIELDS}
        with self._ledger.begin() as connection:
            row = connection.execute(
                select(gov_limits).where(
                    gov_limits.c.scope_kind == kind, gov_limits.c.scope == scope
                )
            ).first()
            if row is None:
                old: dict[str, Any] = {}
                connection.execute(
                    insert(gov_limits).values(
                        scope_kind=kind,
                        scope=scope,
                        **values,
                        version=1,
                        updated_at=now,
                        updated_by=actor,
                    )
                )
            else:
                old = {f: row._mapping[f] for f in _FIELDS}
                result = connection.execute(
                    update(gov_limits)
                    .where(
                        gov_limits.c.scope_kind == kind,
                        gov_limits.c.scope == scope,
                        gov_limits.c.version == row.version,
                    )
                    .values(**values, version=row.version + 1, updated_at=now, updated_by=actor)
                )
                if result.rowcount != 1:
                    raise Conflict(f"limits of {kind} {scope!r} were changed concurrently; retry")
            append_audit(
                connection,
                actor=actor,
                action="limits.set",
                target_kind=kind,
                target=scope,
                details={"from": old, "to": values, "reason": why},
                time=now,
            )
        return limits

    def _stored(self, kind: ScopeKind, scope: str) -> UsageLimits | None:
        with self._ledger.connect() as connection:
            row = connection.execute(
                select(gov_limits).where(
                    gov_limits.c.scope_kind == kind, gov_limits.c.scope == scope
                )
            ).first()
        if row is None:
            return None
        return UsageLimits(**{f: row._mapping[f] for f in _FIELDS})
