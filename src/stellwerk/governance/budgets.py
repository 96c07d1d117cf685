"""UsageLimits and budgets in the database: per department (and per key), over the config's.

The config's ``departments[].limits`` and ``keys[].limits`` are the defaults; a row here,
written by the admin API, the CLI or the dashboard, replaces them for its scope. A change names
only the limits it changes: the others keep the values in force before it (the row's, or the
config's when the scope had no row yet), and ``null`` clears one limit (unlimited). Every change
is audited with the limits in force before and after it. Budgets are stored in micro-units
(``monthly_budget_micro``), so what is read back is exactly what was set.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import Row, insert, select, update

from stellwerk.config.plain_number import above_most, below_least, said_number
from stellwerk.config.schema import StellwerkConfig, UsageLimits
from stellwerk.errors import Conflict, InvalidRequest, json_type
from stellwerk.governance.department_names import unknown_department
from stellwerk.governance.reason import audit_reason
from stellwerk.ledger.audit import append_audit
from stellwerk.ledger.governance_tables import gov_limits
from stellwerk.ledger.ledger import Ledger
from stellwerk.money import decimal_problem, from_micro, micro_text, plain_amount, to_micro
from stellwerk.policy.limits import UNLIMITED

ScopeKind = Literal["department", "key"]
LIMIT_FIELDS = ("requests_per_minute", "tokens_per_minute", "monthly_budget")


def parse_limits(raw: Mapping[str, Any]) -> UsageLimits:
    """UsageLimits from user input; a malformed value is an ``InvalidRequest`` naming the field.
    A budget given as text (``stellwerk limits set``) is read by the admin API's rule for a
    string (``money.plain_amount``): ``1e3`` or ``5_000`` is refused, not read as 1000 or 5000."""
    values = dict(raw)
    if "monthly_budget" in values:
        try:
            values["monthly_budget"] = plain_amount(values["monthly_budget"])
        except ValueError as exc:
            raise InvalidRequest(f"monthly_budget: {exc}", param="monthly_budget") from exc
    try:
        return UsageLimits.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "limits"
        message = _limit_problem(first)
        if first.get("type") == "extra_forbidden":
            message = f"unknown field; known: {', '.join(LIMIT_FIELDS)}"
        raise InvalidRequest(f"{where}: {message}", param=where) from exc


def _limit_problem(error: Mapping[str, Any]) -> str:
    """pydantic's error of a limit in the words of every refusal of a bound
    (``config.plain_number``: ``0 is less than 1, the least it may be``; pydantic said ``Input
    should be greater than 0``), or of a budget's decimals (``money.decimal_problem``)."""
    kind, context = str(error["type"]), error.get("ctx") or {}
    said = said_number(error.get("input"))
    if kind == "greater_than":  # a rate: more than 0, a whole number
        return below_least(said, context["gt"] + 1)
    if kind == "greater_than_equal":
        return below_least(said, context["ge"])
    if kind == "less_than_equal":
        return above_most(said, context["le"])
    if kind == "finite_number":
        return f"{said} is not a finite number"
    if kind.startswith("int_"):
        value = error.get("input")
        number = isinstance(value, float | Decimal) and not isinstance(value, bool)
        return f"{said if number else json_type(value)} is not a whole number"
    return decimal_problem(kind, context) or str(error.get("msg", "invalid"))


def merge_limits(current: UsageLimits, changes: Mapping[str, Any]) -> UsageLimits:
    """``current`` with the limits named in ``changes`` replaced (``None`` clears one); checked
    like user input, so a bad value is an ``InvalidRequest`` naming its field."""
    return parse_limits({**current.model_dump(), **changes})


def limits_json(limits: UsageLimits) -> dict[str, Any]:
    """Limits as JSON: the budget as a decimal string with six decimals (never a float)."""
    budget = limits.monthly_budget
    return {
        "requests_per_minute": limits.requests_per_minute,
        "tokens_per_minute": limits.tokens_per_minute,
        "monthly_budget": None if budget is None else micro_text(to_micro(budget)),
    }


def _row_values(limits: UsageLimits) -> dict[str, Any]:
    budget = limits.monthly_budget
    return {
        "requests_per_minute": limits.requests_per_minute,
        "tokens_per_minute": limits.tokens_per_minute,
        "monthly_budget_micro": None if budget is None else to_micro(budget),
    }


def _row_limits(row: Row[Any]) -> UsageLimits:
    budget = row.monthly_budget_micro
    return UsageLimits(
        requests_per_minute=row.requests_per_minute,
        tokens_per_minute=row.tokens_per_minute,
        monthly_budget=None if budget is None else from_micro(budget),
    )


class Budgets:
    def __init__(
        self, ledger: Ledger, config: StellwerkConfig, config_hash: str | None = None
    ) -> None:
        self._ledger = ledger
        self._config_hash = config_hash
        self._departments = {d.name: d for d in config.departments}
        self._config_keys = {k.id: k for d in config.departments for k in d.keys}

    def department_limits(self, department: str) -> UsageLimits:
        """The limits in force for a department (database over config)."""
        self._check_department(department)
        stored = self._stored("department", department)
        return stored if stored is not None else self._configured("department", department)

    def effective(self) -> tuple[dict[str, UsageLimits], dict[str, UsageLimits]]:
        """All limits in force: (department -> limits, key id -> limits), in one read."""
        with self._ledger.connect() as connection:
            rows = list(connection.execute(select(gov_limits)))
        stored = {(row.scope_kind, row.scope): _row_limits(row) for row in rows}
        departments = {
            name: stored.get(("department", name), dept.limits)
            for name, dept in self._departments.items()
        }
        keys = {k: v.limits for k, v in self._config_keys.items() if v.limits is not None}
        keys.update({scope: lim for (kind, scope), lim in stored.items() if kind == "key"})
        return departments, keys

    def change_limits(
        self,
        kind: ScopeKind,
        scope: str,
        changes: Mapping[str, Any],
        *,
        actor: str,
        reason: str,
    ) -> UsageLimits:
        """Change the limits named in ``changes`` (``None``: unlimited), keep the others; returns
        the limits in force afterwards."""
        unknown = sorted(set(changes) - set(LIMIT_FIELDS))
        if unknown:
            raise InvalidRequest(
                f"{unknown[0]}: unknown field; known: {', '.join(LIMIT_FIELDS)}", param=unknown[0]
            )
        return self._write(kind, scope, changes, actor=actor, reason=reason)

    def set_limits(
        self, kind: ScopeKind, scope: str, limits: UsageLimits, *, actor: str, reason: str
    ) -> UsageLimits:
        """Replace all limits of a scope by ``limits``."""
        return self._write(kind, scope, limits.model_dump(), actor=actor, reason=reason)

    def _write(
        self,
        kind: ScopeKind,
        scope: str,
        changes: Mapping[str, Any],
        *,
        actor: str,
        reason: str,
    ) -> UsageLimits:
        if kind == "department":
            self._check_department(scope)
        why = audit_reason(reason)
        now = datetime.now(UTC)
        with self._ledger.begin() as connection:
            row = connection.execute(
                select(gov_limits).where(
                    gov_limits.c.scope_kind == kind, gov_limits.c.scope == scope
                )
            ).first()
            before = _row_limits(row) if row is not None else self._configured(kind, scope)
            after = merge_limits(before, changes)
            values = _row_values(after)
            if row is None:
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
                details={"from": limits_json(before), "to": limits_json(after), "reason": why},
                config_hash=self._config_hash,
                time=now,
            )
        return after

    def _check_department(self, department: str) -> None:
        if department not in self._departments:
            raise unknown_department(department, self._departments)

    def _configured(self, kind: ScopeKind, scope: str) -> UsageLimits:
        """The config's limits of a scope (a key without its own limits: none, unlimited)."""
        if kind == "department":
            return self._departments[scope].limits
        key = self._config_keys.get(scope)
        return key.limits if key is not None and key.limits is not None else UNLIMITED

    def _stored(self, kind: ScopeKind, scope: str) -> UsageLimits | None:
        with self._ledger.connect() as connection:
            row = connection.execute(
                select(gov_limits).where(
                    gov_limits.c.scope_kind == kind, gov_limits.c.scope == scope
                )
            ).first()
        return None if row is None else _row_limits(row)
