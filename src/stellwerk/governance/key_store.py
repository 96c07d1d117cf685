"""Client keys kept in the database: created by the CLI or the admin API, listed, revoked.

The raw key is returned once by ``create`` and never stored, logged or audited: the table holds
its SHA-256 and the audit log its public id. Keys from the config (``departments[].keys``) keep
working alongside; they are not in this table and are changed by editing the config.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from stellwerk.config.key_class import lowered_class
from stellwerk.config.schema import Classification, Role, StellwerkConfig, UseCaseConfig
from stellwerk.errors import Conflict, InvalidRequest, NotFound, shown
from stellwerk.governance.department_names import unknown_department
from stellwerk.governance.key_requests import Idempotency, refuse_retry, remember
from stellwerk.governance.keys import generate_key, generate_key_id, hash_key, parse_role
from stellwerk.governance.reason import audit_reason
from stellwerk.ledger.audit import append_audit
from stellwerk.ledger.governance_tables import gov_keys
from stellwerk.ledger.ledger import Ledger
from stellwerk.policy.classification import parse_classification


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """Everything about a key but the key itself."""

    key_id: str
    department: str
    role: Role
    use_case: str | None
    classification: Classification | None
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class NewKey:
    info: KeyInfo
    key: str  # shown once

    def __repr__(self) -> str:  # never print the key by accident
        return f"NewKey(info={self.info!r}, key='sk-stw-…')"


CONFIG_LIMITS = "set its limits there, in the key's limits (keys[].limits)"
"""What a limits change of a key the config defines is told to do instead (``KeyStore.get``)."""


class KeyStore:
    def __init__(
        self, ledger: Ledger, config: StellwerkConfig, config_hash: str | None = None
    ) -> None:
        self._ledger = ledger
        self._config_hash = config_hash
        self._departments = {d.name: d for d in config.departments}
        self._config_key_ids = {k.id for d in config.departments for k in d.keys}

    def create(
        self,
        *,
        department: str,
        actor: str,
        role: str = "user",
        use_case: UseCaseConfig | None = None,
        classification: str | None = None,
        reason: str | None = None,
        idempotency: Idempotency | None = None,
    ) -> NewKey:
        """Make a key; ``use_case`` (already looked up) must belong to ``department``, and its
        own ``classification`` may not be below the use case's or the department's (400
        ``classification_lowered``); ``reason`` (optional: a new key changes nothing that
        exists) goes into the audit. A request sent again with its ``idempotency`` makes no
        second key (``key_requests``: a 409 naming the first one's)."""
        if idempotency is not None:
            with self._ledger.connect() as connection:
                refuse_retry(connection, actor, idempotency, datetime.now(UTC))
        why = audit_reason(reason) if reason is not None else None
        if department not in self._departments:
            raise unknown_department(department, self._departments)
        parsed_role = parse_role(role)
        if use_case is not None and use_case.department != department:
            raise InvalidRequest(
                f"use case {use_case.name!r} belongs to department {use_case.department!r},"
                f" not {department!r}",
                param="use_case",
            )
        parsed_class = parse_classification(classification) if classification else None
        problem = lowered_class(parsed_class, use_case, self._departments[department])
        if problem is not None:
            raise InvalidRequest(
                f"classification {problem}", param="classification", code="classification_lowered"
            )
        key = generate_key()
        now = datetime.now(UTC)
        info = KeyInfo(
            key_id=generate_key_id(),
            department=department,
            role=parsed_role,
            use_case=use_case.name if use_case else None,
            classification=parsed_class,
            created_at=now,
            created_by=actor,
        )
        try:
            self._insert(info, key, why, idempotency)
        except IntegrityError:
            if idempotency is None:
                raise
            # the same request at the same time made the key first (``key_requests``, rule 3)
            with self._ledger.connect() as connection:
                refuse_retry(connection, actor, idempotency, datetime.now(UTC))
            raise
        return NewKey(info, key)

    def _insert(
        self, info: KeyInfo, key: str, why: str | None, idempotency: Idempotency | None
    ) -> None:
        """The key, its audit entry and the request that made it, in one transaction."""
        actor, now = info.created_by, info.created_at
        with self._ledger.begin() as connection:
            if idempotency is not None:  # first: a request made twice at once collides here
                remember(connection, actor, idempotency, info.key_id, now)
            connection.execute(
                insert(gov_keys).values(
                    key_id=info.key_id,
                    key_sha256=hash_key(key),
                    department=info.department,
                    role=info.role,
                    use_case=info.use_case,
                    classification=info.classification,
                    created_at=now,
                    created_by=actor,
                )
            )
            append_audit(
                connection,
                actor=actor,
                action="key.create",
                target_kind="key",
                target=info.key_id,
                details={
                    "department": info.department,
                    "role": info.role,
                    "use_case": info.use_case,
                    "classification": info.classification,
                }
                | ({"reason": why} if why is not None else {}),
                config_hash=self._config_hash,
                time=now,
            )

    def list(self, *, department: str | None = None, include_revoked: bool = True) -> list[KeyInfo]:
        statement = select(gov_keys).order_by(gov_keys.c.created_at, gov_keys.c.key_id)
        if department is not None:
            statement = statement.where(gov_keys.c.department == department)
        if not include_revoked:
            statement = statement.where(gov_keys.c.revoked_at.is_(None))
        with self._ledger.connect() as connection:
            return [_info(row) for row in connection.execute(statement)]

    def get(self, key_id: str, *, in_config: str = "remove it there") -> KeyInfo:
        """A key made through the CLI or the admin API; ``NotFound`` for another, whose message
        says ``in_config`` (what to do in the config instead) when the config defines it."""
        with self._ledger.connect() as connection:
            row = connection.execute(select(gov_keys).where(gov_keys.c.key_id == key_id)).first()
        if row is None:
            hint = (
                f" (it is defined in the config; {in_config})"
                if (key_id in self._config_key_ids)
                else ""
            )
            raise NotFound(f"unknown key {shown(key_id)}{hint}", param="key_id")
        return _info(row)

    def revoke(self, key_id: str, *, actor: str, reason: str) -> KeyInfo:
        """Revoke a key; its next request is refused with 401."""
        self.get(key_id)
        why = audit_reason(reason)
        now = datetime.now(UTC)
        with self._ledger.begin() as connection:
            result = connection.execute(
                update(gov_keys)
                .where(gov_keys.c.key_id == key_id, gov_keys.c.revoked_at.is_(None))
                .values(revoked_at=now, revoked_by=actor)
            )
            if result.rowcount != 1:
                raise Conflict(f"key {key_id!r} is already revoked")
            append_audit(
                connection,
                actor=actor,
                action="key.revoke",
                target_kind="key",
                target=key_id,
                details={"reason": why},
                config_hash=self._config_hash,
                time=now,
            )
        return self.get(key_id)

    def active_by_digest(self) -> dict[str, KeyInfo]:
        """SHA-256 -> info of every key not revoked (the gateway's snapshot for auth)."""
        statement = select(gov_keys).where(gov_keys.c.revoked_at.is_(None))
        with self._ledger.connect() as connection:
            return {row.key_sha256: _info(row) for row in connection.execute(statement)}

    def use_case_of(self) -> dict[str, str]:
        """key id -> use case, for keys bound to one (the usage report groups by it)."""
        statement = select(gov_keys.c.key_id, gov_keys.c.use_case).where(
            gov_keys.c.use_case.is_not(None)
        )
        with self._ledger.connect() as connection:
            return {row.key_id: row.use_case for row in connection.execute(statement)}


def _info(row: object) -> KeyInfo:
    mapping = row._mapping  # type: ignore[attr-defined]
    return KeyInfo(
        key_id=mapping["key_id"],
        department=mapping["department"],
        role=mapping["role"],
        use_case=mapping["use_case"],
        classification=mapping["classification"],
        created_at=mapping["created_at"],
        created_by=mapping["created_by"],
        revoked_at=mapping["revoked_at"],
        revoked_by=mapping["revoked_by"],
    )
