"""Use cases in the database: seeded from the config, created and changed through the admin API.

A use case is validated like the config's ``use_cases`` entries: a known department, known
models, and a risk tier of minimal, limited or high (``prohibited`` is refused). Changes are
optimistic (``version``) and audited. A use case does not move to another department while keys
are bound to it (config keys, or database keys not revoked): a key serves only under a use case of
its own department, as the config loader and the key store require.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, select, update

from stellwerk.config.governance import new_use_case_name
from stellwerk.config.schema import StellwerkConfig, UseCaseConfig
from stellwerk.errors import Conflict, InvalidRequest, NotFound, shown
from stellwerk.governance.reason import audit_reason
from stellwerk.ledger.audit import append_audit
from stellwerk.ledger.dialect import insert_if_absent
from stellwerk.ledger.governance_tables import gov_keys, gov_use_cases
from stellwerk.ledger.ledger import Ledger


def parse_use_case(raw: Mapping[str, Any]) -> UseCaseConfig:
    """A use case from user input; the error names the field."""
    try:
        return UseCaseConfig.model_validate(dict(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "use case"
        message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        if first.get("type") == "extra_forbidden":
            message = "unknown field"
        raise InvalidRequest(f"{where}: {message}", param=where) from exc


class UseCases:
    def __init__(
        self, ledger: Ledger, config: StellwerkConfig, config_hash: str | None = None
    ) -> None:
        self._ledger = ledger
        self._config_hash = config_hash
        self._config = config
        self._departments = {d.name for d in config.departments}
        self._models = {m.id for m in config.models}

    def seed(self) -> list[str]:
        """Insert the configured use cases the database lacks; returns their names."""
        added: list[str] = []
        now = datetime.now(UTC)
        with self._ledger.begin() as connection:
            known = set(connection.execute(select(gov_use_cases.c.name)).scalars())
            for case in self._config.use_cases:
                if case.name not in known and self._insert(
                    connection, case, "config", "seeded from the config", now
                ):
                    added.append(case.name)
        return added

    def list(self) -> list[UseCaseConfig]:
        with self._ledger.connect() as connection:
            rows = connection.execute(select(gov_use_cases).order_by(gov_use_cases.c.name))
            return [_case(row._mapping) for row in rows]

    def get(self, name: str) -> UseCaseConfig:
        return self.get_versioned(name)[0]

    def get_versioned(self, name: str) -> tuple[UseCaseConfig, int]:
        with self._ledger.connect() as connection:
            row = connection.execute(
                select(gov_use_cases).where(gov_use_cases.c.name == name)
            ).first()
        if row is None:
            raise NotFound(f"unknown use case {shown(name)}", param="use_case")
        return _case(row._mapping), int(row.version)

    def create(self, case: UseCaseConfig, *, actor: str, reason: str) -> UseCaseConfig:
        try:
            new_use_case_name(case.name)  # only a new one: an older name with ':' is kept
        except ValueError as exc:
            raise InvalidRequest(f"name: {exc}", param="name") from None
        self._check(case)
        why = audit_reason(reason)
        with self._ledger.begin() as connection:
            if not self._insert(connection, case, actor, why, datetime.now(UTC)):
                raise Conflict(f"use case {case.name!r} exists already")
        return case

    def update(
        self, case: UseCaseConfig, *, actor: str, reason: str, expected_version: int | None = None
    ) -> UseCaseConfig:
        self._check(case)
        why = audit_reason(reason)
        old, version = self.get_versioned(case.name)
        if expected_version is not None:
            version = expected_version
        now = datetime.now(UTC)
        with self._ledger.begin() as connection:
            if case.department != old.department:
                self._check_move(connection, case, old.department)
            result = connection.execute(
                update(gov_use_cases)
                .where(gov_use_cases.c.name == case.name, gov_use_cases.c.version == version)
                .values(**_row(case), version=version + 1, updated_at=now, updated_by=actor)
            )
            if result.rowcount != 1:
                raise Conflict(
                    f"use case {case.name!r} was changed concurrently: version {version} is no"
                    " longer current; reload it and try again",
                    code="version_conflict",
                )
            changed = {
                k: {"from": v, "to": _row(case)[k]}
                for k, v in _row(old).items()
                if _row(case)[k] != v
            }
            append_audit(
                connection,
                actor=actor,
                action="use_case.update",
                target_kind="use_case",
                target=case.name,
                details={"changes": changed, "reason": why, "version": version + 1},
                config_hash=self._config_hash,
                time=now,
            )
        return case

    def _check(self, case: UseCaseConfig) -> None:
        if case.department not in self._departments:
            raise NotFound(f"unknown department {shown(case.department)}", param="department")
        unknown = [m for m in case.allowed_models or () if m not in self._models]
        if unknown:
            raise NotFound(f"unknown model(s): {', '.join(unknown)}", param="allowed_models")

    def _check_move(self, connection: Connection, case: UseCaseConfig, now_in: str) -> None:
        """Refuse moving ``case`` from department ``now_in`` to its new one while keys are bound
        to it (keys of ``now_in``: a key's use case is of its own department)."""
        config_keys = [
            k.id
            for d in self._config.departments
            if d.name != case.department
            for k in d.keys
            if k.use_case == case.name
        ]
        database_keys = list(
            connection.execute(
                select(gov_keys.c.key_id)
                .where(
                    gov_keys.c.use_case == case.name,
                    gov_keys.c.department != case.department,
                    gov_keys.c.revoked_at.is_(None),
                )
                .order_by(gov_keys.c.key_id)
            ).scalars()
        )
        if not config_keys and not database_keys:
            return
        bound = [f"{k} (config: remove its use_case and restart)" for k in config_keys]
        bound += [f"{k} (revoke it)" for k in database_keys]
        raise Conflict(
            f"use case {case.name!r} cannot move from department {now_in!r} to"
            f" {case.department!r}: keys of {now_in!r} are bound to it: {', '.join(bound)};"
            f" unbind or revoke them first, or create a new use case in {case.department!r}",
            param="department",
            code="use_case_has_keys",
        )

    def _insert(
        self, connection: Connection, case: UseCaseConfig, actor: str, reason: str, now: datetime
    ) -> bool:
        row = {
            **_row(case),
            "name": case.name,
            "version": 1,
            "updated_at": now,
            "updated_by": actor,
        }
        if not insert_if_absent(connection, gov_use_cases, row):
            return False  # made a moment ago by someone else (another replica's seed)
        append_audit(
            connection,
            actor=actor,
            action="use_case.create",
            target_kind="use_case",
            target=case.name,
            details={**_row(case), "reason": reason},
            config_hash=self._config_hash,
            time=now,
        )
        return True


def _row(case: UseCaseConfig) -> dict[str, Any]:
    return {
        "department": case.department,
        "purpose": case.purpose,
        "risk_tier": case.risk_tier,
        "classification": case.classification,
        "allowed_models": list(case.allowed_models) if case.allowed_models is not None else None,
        "oversight_contact": case.oversight_contact,
    }


def _case(row: Mapping[Any, Any]) -> UseCaseConfig:
    # a row was checked when it was written; one written before a rule was added (a purpose
    # with a hidden character, config.plain_text) is still read and shown, not a 500, and a
    # change of it is checked again
    return UseCaseConfig.model_construct(
        name=row["name"],
        department=row["department"],
        purpose=row["purpose"],
        risk_tier=row["risk_tier"],
        classification=row["classification"],
        allowed_models=tuple(row["allowed_models"]) if row["allowed_models"] is not None else None,
        oversight_contact=row["oversight_contact"],
    )
