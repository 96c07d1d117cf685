"""Catalog state in the database: each model's lifecycle and consent, with history and audit.

The config seeds the state of a model the database does not know yet; from then on the admin
API and the CLI change it, and the database wins over the config's ``lifecycle``. Every change
is one transaction: the new state (with its version raised by one), a history row and an audit
entry (who, when, why). Changes are optimistic: a change names the version it read (or the one
the caller saw); if another change came first, it fails with ``Conflict`` and nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType

from sqlalchemy import Connection, insert, select, update

from stellwerk.config.schema import Lifecycle, ModelConfig, StellwerkConfig
from stellwerk.config.weights import same_weights
from stellwerk.errors import Conflict, InvalidRequest, NotFound
from stellwerk.governance.reason import audit_reason
from stellwerk.ledger.audit import append_audit
from stellwerk.ledger.dialect import insert_if_absent
from stellwerk.ledger.governance_tables import gov_model_history, gov_models
from stellwerk.ledger.ledger import Ledger
from stellwerk.policy.lifecycle import check_transition, parse_state
from stellwerk.policy.state import ModelState

_NO_OWNER = "model {!r} has no data owner, so there is no consent to manage"


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    time: datetime
    actor: str
    field: str
    old_value: str | None
    new_value: str
    reason: str
    version: int


class Catalog:
    """Reads and changes catalog state; ``config`` supplies the models' static facts."""

    def __init__(self, ledger: Ledger, config: StellwerkConfig, config_hash: str | None = None):
        self._ledger = ledger
        self._models = {m.id: m for m in config.models}
        self._same = MappingProxyType(dict(same_weights(config)))
        self._config_hash = config_hash

    @property
    def same_weights(self) -> Mapping[str, tuple[str, ...]]:
        """For every model that serves the same weights as others, their ids
        (``config.weights``): worked out once, the config never changes while it runs."""
        return self._same

    def seed(self) -> list[str]:
        """Insert the state of every configured model the database lacks; returns their ids."""
        now = datetime.now(UTC)
        added: list[str] = []
        with self._ledger.begin() as connection:
            known = set(connection.execute(select(gov_models.c.model_id)).scalars())
            for model in self._models.values():
                if model.id in known:
                    continue
                row = {
                    "model_id": model.id,
                    "lifecycle": model.lifecycle,
                    "consent": True,
                    "version": 1,
                    "updated_at": now,
                    "updated_by": "config",
                }
                if not insert_if_absent(connection, gov_models, row):
                    continue  # another replica seeded it a moment ago
                append_audit(
                    connection,
                    actor="config",
                    action="model.seed",
                    target_kind="model",
                    target=model.id,
                    # as the admin API says it: null for a model without a data owner
                    details={
                        "lifecycle": model.lifecycle,
                        "consent": ModelState.from_config(model).owner_consent,
                    },
                    config_hash=self._config_hash,
                    time=now,
                )
                added.append(model.id)
        return added

    def states(self) -> list[ModelState]:
        """Every configured model with its state, in config order (unseeded ones as configured)."""
        with self._ledger.connect() as connection:
            rows = {r.model_id: r for r in connection.execute(select(gov_models))}
        result: list[ModelState] = []
        for model in self._models.values():
            row = rows.get(model.id)
            if row is None:
                result.append(ModelState.from_config(model))
            else:
                result.append(ModelState(model, row.lifecycle, bool(row.consent), row.version))
        return result

    def state(self, model_id: str) -> ModelState:
        for state in self.states():
            if state.id == model_id:
                return state
        raise NotFound(f"unknown model {model_id!r}", param="model", code="model_not_found")

    def model(self, model_id: str) -> ModelConfig:
        model = self._models.get(model_id)
        if model is None:
            raise NotFound(f"unknown model {model_id!r}", param="model", code="model_not_found")
        return model

    def refer_to_holder(self, model_id: str, department: str | None = None) -> None:
        """For a model without a data owner that serves the weights of one with a data owner
        (of ``department``, when given): raise the 400 that names that model, where their
        consent is managed (a withdrawal there holds for every id of the weights)."""
        if model_id not in self._models or self._models[model_id].data_owner is not None:
            return
        for other in self._same.get(model_id, ()):
            owner = self._models[other].data_owner
            if owner is not None and department in (None, owner):
                ids = "both" if len(self._same[model_id]) == 1 else "all of them"
                raise InvalidRequest(
                    f"model {model_id!r} serves the weights of model {other!r} (data owner"
                    f" {owner!r}), whose consent is managed there: withdraw or grant it on"
                    f" {other!r}; a withdrawal there holds for {ids}",
                    param="consent",
                )

    def transition(
        self,
        model_id: str,
        target: str,
        *,
        actor: str,
        reason: str,
        expected_version: int | None = None,
    ) -> ModelState:
        """Move a model to ``target``; ``Conflict`` on an illegal move or a concurrent change."""
        self.model(model_id)
        state_to = parse_state(target)
        why = audit_reason(reason)
        with self._ledger.begin() as connection:
            current = self._read(connection, model_id)
            check_transition(model_id, current.lifecycle, state_to)
            return self._write(
                connection,
                current,
                "lifecycle",
                current.lifecycle,
                state_to,
                actor,
                why,
                expected_version,
                lifecycle=state_to,
            )

    def set_consent(
        self,
        model_id: str,
        consent: bool,
        *,
        actor: str,
        reason: str,
        expected_version: int | None = None,
    ) -> ModelState:
        """Withdraw (``False``) or re-grant (``True``) the data owner's consent.

        A model without a data owner has no consent to manage, with one exception: a withdrawal
        stored while it had one (the config dropped the owner later) still refuses the model,
        and only granting lifts it, so granting it is allowed (and audited as any change)."""
        model = self.model(model_id)
        if model.data_owner is None and not consent:
            self.refer_to_holder(model_id)
            raise InvalidRequest(_NO_OWNER.format(model_id), param="consent")
        why = audit_reason(reason)
        with self._ledger.begin() as connection:
            current = self._read(connection, model_id)
            if model.data_owner is None and current.consent:
                self.refer_to_holder(model_id)
                raise InvalidRequest(_NO_OWNER.format(model_id), param="consent")
            if current.consent == consent:
                state = "granted" if consent else "withdrawn"
                raise Conflict(f"consent for model {model_id!r} is already {state}")
            old, new = ("granted", "withdrawn") if not consent else ("withdrawn", "granted")
            if model.data_owner is None:  # a withdrawal left without owner: lifted, not granted
                new = "lifted"
            return self._write(
                connection,
                current,
                "consent",
                old,
                new,
                actor,
                why,
                expected_version,
                consent=consent,
            )

    def history(self, model_id: str) -> list[HistoryEntry]:
        """The model's changes, oldest first."""
        self.model(model_id)
        statement = (
            select(gov_model_history)
            .where(gov_model_history.c.model_id == model_id)
            .order_by(gov_model_history.c.id)
        )
        with self._ledger.connect() as connection:
            return [
                HistoryEntry(
                    r.time, r.actor, r.field, r.old_value, r.new_value, r.reason, r.version
                )
                for r in connection.execute(statement)
            ]

    def _read(self, connection: Connection, model_id: str) -> ModelState:
        row = connection.execute(
            select(gov_models).where(gov_models.c.model_id == model_id)
        ).first()
        model = self._models[model_id]
        if row is None:
            raise Conflict(
                f"model {model_id!r} has no catalog state yet; the gateway seeds it at start-up"
                " (or run the catalog seed)"
            )
        return ModelState(model, row.lifecycle, bool(row.consent), row.version)

    def _write(
        self,
        connection: Connection,
        current: ModelState,
        field: str,
        old: str,
        new: str,
        actor: str,
        reason: str,
        expected_version: int | None,
        *,
        lifecycle: Lifecycle | None = None,
        consent: bool | None = None,
    ) -> ModelState:
        version = current.version if expected_version is None else expected_version
        now = datetime.now(UTC)
        values: dict[str, object] = {
            "version": version + 1,
            "updated_at": now,
            "updated_by": actor,
        }
        if lifecycle is not None:
            values["lifecycle"] = lifecycle
        if consent is not None:
            values["consent"] = consent
        result = connection.execute(
            update(gov_models)
            .where(gov_models.c.model_id == current.id, gov_models.c.version == version)
            .values(**values)
        )
        if result.rowcount != 1:
            raise Conflict(
                f"model {current.id!r} was changed concurrently: version {version} is no longer"
                " current; reload it and try again",
                code="version_conflict",
            )
        connection.execute(
            insert(gov_model_history).values(
                model_id=current.id,
                time=now,
                actor=actor,
                field=field,
                old_value=old,
                new_value=new,
                reason=reason,
                version=version + 1,
            )
        )
        append_audit(
            connection,
            actor=actor,
            action=f"model.{field}",
            target_kind="model",
            target=current.id,
            details={"from": old, "to": new, "reason": reason, "version": version + 1},
            config_hash=self._config_hash,
            time=now,
        )
        return ModelState(
            current.config,
            lifecycle if lifecycle is not None else current.lifecycle,
            consent if consent is not None else current.consent,
            version + 1,
        )
