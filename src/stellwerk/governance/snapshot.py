"""What a request reads of governance: one immutable ``Snapshot``, never a database round trip.

A snapshot holds the active database keys, the principals of database and config keys, the
models' states, the use cases, the limits in force and the policy filter built over them. It is
read whole from the database (``read_snapshot``) and swapped whole on every reload
(``stellwerk.governance.service``), never changed in place: a request that took one reads one
consistent state, and a change made meanwhile counts from the next request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from stellwerk.config.key_class import key_class
from stellwerk.config.schema import (
    Classification,
    DepartmentConfig,
    ModelConfig,
    StellwerkConfig,
    UsageLimits,
    UseCaseConfig,
)
from stellwerk.governance.admin import Administration
from stellwerk.governance.key_store import KeyInfo
from stellwerk.governance.principal import (
    Principal,
    config_key_principals,
    default_class,
    key_principal,
)
from stellwerk.policy.filter import PolicyFilter, PrincipalLike
from stellwerk.policy.limits import Scope, scopes_for
from stellwerk.policy.reach import Unservable, unservable
from stellwerk.policy.state import ModelState
from stellwerk.policy.weights import withdrawals


@dataclass(frozen=True, slots=True)
class Snapshot:
    policy: PolicyFilter
    keys: Mapping[str, KeyInfo] = field(default_factory=dict)  # active keys by SHA-256
    principals: Mapping[str, Principal] = field(default_factory=dict)  # by digest, as ``keys``
    config_principals: Mapping[str, Principal] = field(default_factory=dict)  # config keys, by id
    models: tuple[ModelState, ...] = ()
    use_cases: Mapping[str, UseCaseConfig] = field(default_factory=dict)
    departments: Mapping[str, DepartmentConfig] = field(default_factory=dict)  # the config's
    department_limits: Mapping[str, UsageLimits] = field(default_factory=dict)
    key_limits: Mapping[str, UsageLimits] = field(default_factory=dict)
    evaluated: frozenset[str] = frozenset()
    #: the models refused for consent, each with the model whose data owner withdrew it (its
    #: own, or another id serving the same weights: ``policy.weights``), and the key ids that may
    #: send requests (config keys and active database keys): what a running request is checked
    #: against (``stellwerk.gateway.cuts``), one lookup each
    withdrawn: Mapping[str, ModelState] = field(default_factory=dict)
    key_ids: frozenset[str] = frozenset()
    #: for every model that serves the same weights as others, their ids (``config.weights``)
    same_weights: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def empty(cls, config: StellwerkConfig) -> Snapshot:
        """The snapshot before the first read: no keys, no models, no use cases."""
        return cls(
            policy=PolicyFilter.from_config(config, ()),
            departments={d.name: d for d in config.departments},
        )

    def withdrawn_on(self, model_id: str) -> str | None:
        """The model whose data owner's withdrawal of consent refuses ``model_id``: its own id,
        or another id serving the same weights; None when consent refuses it not."""
        found = self.withdrawn.get(model_id)
        return None if found is None else found.id

    def key(self, digest: str) -> KeyInfo | None:
        """An active database key by its SHA-256."""
        return self.keys.get(digest)

    def principal(self, digest: str) -> Principal | None:
        """The principal of an active database key by its SHA-256 (built when this snapshot was
        read: a key created, revoked or changed since counts from the next snapshot)."""
        return self.principals.get(digest)

    def config_principal(self, key_id: str) -> Principal | None:
        """The principal of a config key by its id (built with the database's use cases when
        this snapshot was read, as for database keys)."""
        return self.config_principals.get(key_id)

    def key_class(
        self, department: str, use_case: str | None, own: Classification | None
    ) -> Classification:
        """The class a key with these facts runs under now without a header (its own, its use
        case's as this snapshot holds it, or its department's, whichever is highest): what the
        key listings show, the same rule as the principals'."""
        return default_class(
            own=own,
            department=department,
            use_case=use_case,
            departments=self.departments,
            use_cases=self.use_cases,
        )

    def use_case_class(self, case: UseCaseConfig) -> Classification:
        """The class the requests of a key bound to ``case`` run under now without a header,
        the key having no class of its own: the higher of the use case's and its department's
        (the same rule as ``key_class``). A use case's own class below its department's never
        applies; this is what the use case listings show beside it."""
        return key_class(None, case, self.departments.get(case.department))

    def unservable(self, case: UseCaseConfig) -> Unservable | None:
        """Why no model may serve a key of ``case`` now, by this snapshot's models and policy
        (``None``: one may); the use case need not be this snapshot's own (one just changed)."""
        return unservable(self.policy, case, self.models)

    def permitted(
        self,
        principal: PrincipalLike,
        classification: Classification,
        requested: str | None,
        kind: str | None = None,
    ) -> list[ModelConfig]:
        """The models that may serve the request (``PermissionDenied`` says why none may)."""
        allowed = self.policy.allowed(principal, classification, self.models, requested, kind)
        return [m.config for m in allowed]

    def scopes(self, department: str, key_id: str) -> tuple[Scope, ...]:
        """What the limits of a request of ``key_id`` in ``department`` apply to."""
        return scopes_for(
            department,
            self.department_limits.get(department, UsageLimits()),
            key_id,
            self.key_limits.get(key_id),
        )


def read_snapshot(admin: Administration) -> Snapshot:
    """The governance state requests need, read from the database in one go."""
    config = admin.config
    departments, keys = admin.budgets.effective()
    use_cases = admin.use_cases.list()
    cases = {u.name: u for u in use_cases}
    active = admin.keys.active_by_digest()
    evaluated = admin.evaluated()
    by_name = {d.name: d for d in config.departments}
    principals = {
        digest: key_principal(
            key_id=info.key_id,
            department=info.department,
            role=info.role,
            use_case=info.use_case,
            classification=info.classification,
            departments=by_name,
            use_cases=cases,
        )
        for digest, info in active.items()
    }
    models = tuple(admin.catalog.states())
    config_principals = config_key_principals(config, cases)
    same = admin.catalog.same_weights
    withdrawn = withdrawals(models, same)
    return Snapshot(
        policy=PolicyFilter.from_config(config, use_cases, evaluated, withdrawn),
        keys=active,
        principals=principals,
        config_principals=config_principals,
        models=models,
        use_cases=cases,
        departments=by_name,
        department_limits=departments,
        key_limits=keys,
        evaluated=evaluated,
        withdrawn=withdrawn,
        key_ids=frozenset(config_principals) | {info.key_id for info in active.values()},
        same_weights=same,
    )
