"""The governance services of one running gateway (or one CLI command) over one ledger.

``Governance`` bundles the catalog, keys, use cases, budgets and the limiter, and keeps a
``Snapshot`` of what requests need (active keys, the principals of config and database keys, model
states, use cases, limits) in memory, so that no request waits for the database. The snapshot is
reloaded after every change made through this object and every ``refresh_seconds`` in the
background (changes by other replicas or by the CLI), so a revocation, a consent withdrawal or a
use case's new classification made here takes effect on the next request, and one made elsewhere
within ``refresh_seconds``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from stellwerk.config.loader import resolve_env
from stellwerk.config.schema import (
    Classification,
    ModelConfig,
    RiskTier,
    StellwerkConfig,
    UsageLimits,
    UseCaseConfig,
)
from stellwerk.errors import CountersUnavailable
from stellwerk.governance.budgets import Budgets
from stellwerk.governance.catalog import Catalog
from stellwerk.governance.key_store import KeyInfo, KeyStore
from stellwerk.governance.principal import Principal, config_key_principals, key_principal
from stellwerk.governance.retention import Expiry, expire_usage
from stellwerk.governance.state import ModelState
from stellwerk.governance.use_cases import UseCases
from stellwerk.ledger.graded import GradedStore
from stellwerk.ledger.in_thread import in_thread
from stellwerk.ledger.ledger import Ledger
from stellwerk.ledger.window import Window
from stellwerk.policy.counters import Counters, InProcessCounters
from stellwerk.policy.filter import PolicyFilter, PrincipalLike
from stellwerk.policy.limits import Limiter, Reservation, scopes_for

log = logging.getLogger("stellwerk.governance")
# the audit target of a config built in code rather than read from a file
IN_CODE = "(config built in code)"


@dataclass(frozen=True, slots=True)
class Snapshot:
    keys: dict[str, KeyInfo] = field(default_factory=dict)
    principals: dict[str, Principal] = field(default_factory=dict)  # by digest, as ``keys``
    config_principals: dict[str, Principal] = field(default_factory=dict)  # config keys, by id
    models: tuple[ModelState, ...] = ()
    use_cases: dict[str, UseCaseConfig] = field(default_factory=dict)
    department_limits: dict[str, UsageLimits] = field(default_factory=dict)
    key_limits: dict[str, UsageLimits] = field(default_factory=dict)
    policy: PolicyFilter | None = None
    evaluated: frozenset[str] = frozenset()


def redis_password(config: StellwerkConfig, environ: Mapping[str, str]) -> str | None:
    """The Redis password from the variable named by ``server.redis_password_env`` (a missing
    variable is a ``ConfigError`` naming it)."""
    name = config.server.redis_password_env
    return resolve_env([name], environ)[name] if name else None


def build_counters(config: StellwerkConfig, password: str | None = None) -> Counters:
    """Redis counters when ``server.redis_url`` is set (shared by replicas), else in-process."""
    server = config.server
    if not server.redis_url:
        return InProcessCounters()
    from stellwerk.policy.redis_counters import RedisCounters

    return RedisCounters(server.redis_url, prefix=server.redis_prefix, password=password)


class Governance:
    def __init__(
        self,
        ledger: Ledger,
        config: StellwerkConfig,
        *,
        config_hash: str | None = None,
        counters: Counters | None = None,
    ) -> None:
        self.ledger = ledger
        self.config = config
        self.config_hash = config_hash
        self.catalog = Catalog(ledger, config, config_hash)
        self.keys = KeyStore(ledger, config)
        self.use_cases = UseCases(ledger, config)
        self.budgets = Budgets(ledger, config)
        self.counters = counters if counters is not None else InProcessCounters()
        self.limiter = Limiter(self.counters)
        self.snapshot = Snapshot()
        self._departments = {d.name: d for d in config.departments}

    # start-up and refresh ------------------------------------------------------------------

    def start(self) -> None:
        """Seed the catalog and use cases from the config, audit a config change, load."""
        self.catalog.seed()
        self.use_cases.seed()
        self._audit_config()
        self.reload()

    def reload(self) -> None:
        departments, keys = self.budgets.effective()
        use_cases = self.use_cases.list()
        cases = {u.name: u for u in use_cases}
        active = self.keys.active_by_digest()
        evaluated = self.catalog.evaluated()
        self.snapshot = Snapshot(
            keys=active,
            principals={digest: self._principal(info, cases) for digest, info in active.items()},
            config_principals=config_key_principals(self.config, cases),
            models=tuple(self.catalog.states()),
            use_cases=cases,
            department_limits=departments,
            key_limits=keys,
            policy=PolicyFilter.from_config(self.config, use_cases, evaluated),
            evaluated=evaluated,
        )

    def _principal(self, info: KeyInfo, use_cases: Mapping[str, UseCaseConfig]) -> Principal:
        return key_principal(
            key_id=info.key_id,
            department=info.department,
            role=info.role,
            use_case=info.use_case,
            classification=info.classification,
            departments=self._departments,
            use_cases=use_cases,
        )

    async def refresh(self) -> None:
        await in_thread(self.reload)

    async def run(self, refresh_seconds: float, retention_every_s: float = 24 * 3600) -> None:
        """Background loop: reload the snapshot, expire usage records and graded requests once
        a day."""
        since_retention = retention_every_s  # run once at start
        while True:
            try:
                await self.refresh()
                if since_retention >= retention_every_s:
                    since_retention = 0.0
                    expiry = await in_thread(self.expire)
                    if expiry.total:
                        log.info("retention: %d usage records expired", expiry.total)
                    graded = await in_thread(self.expire_graded)
                    if graded:
                        log.info("retention: %d graded requests expired", graded)
            except Exception:
                log.exception("governance refresh failed; keeping the previous snapshot")
            await asyncio.sleep(refresh_seconds)
            since_retention += refresh_seconds

    def _audit_config(self) -> None:
        if self.config_hash is None:
            return
        last = self.ledger.list_audit(action="config.load", limit=1)
        if last and last[0].config_hash == self.config_hash:
            return
        self.ledger.append_audit(
            actor="config",
            action="config.load",
            target_kind="config",
            target=self.config.source or IN_CODE,
            details={"previous": last[0].config_hash if last else None},
            config_hash=self.config_hash,
        )

    async def seed_budgets(self, now: datetime | None = None) -> None:
        """Start this month's budget counters at the month's spend in the ledger, so that a
        restart (in-process counters) or an emptied Redis does not forget it. Counters that
        exist already are left alone."""
        try:
            await self._seed_budgets(now or datetime.now(UTC))
        except CountersUnavailable:
            log.exception("could not seed the budget counters; requests get 503 until they work")

    async def _seed_budgets(self, moment: datetime) -> None:
        window = Window.month(moment.strftime("%Y-%m"))
        by_department, by_key = await in_thread(lambda: self._month_spend(window))
        snapshot = self.snapshot
        for department, spent in by_department.items():
            limits = snapshot.department_limits.get(department)
            if limits is not None and limits.monthly_budget is not None:
                scope = scopes_for(department, limits, "", None)[0]
                await self.limiter.seed_spent(scope, spent)
        for key_id, spent in by_key.items():
            key_limits = snapshot.key_limits.get(key_id)
            if key_limits is not None and key_limits.monthly_budget is not None:
                scope = scopes_for("", UsageLimits(), key_id, key_limits)[1]
                await self.limiter.seed_spent(scope, spent)

    def _month_spend(self, window: Window) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
        departments = self.ledger.summarize_usage(window, by="department")
        keys = self.ledger.summarize_usage(window, by="key_id")
        return (
            {a.group: a.cost for a in departments if a.group},
            {a.group: a.cost for a in keys if a.group},
        )

    # request time --------------------------------------------------------------------------

    def key(self, digest: str) -> KeyInfo | None:
        """An active database key by its SHA-256 (from the snapshot)."""
        return self.snapshot.keys.get(digest)

    def principal(self, digest: str) -> Principal | None:
        """The principal of an active database key by its SHA-256 (from the snapshot, built at
        its reload: a key created, revoked or changed elsewhere counts from the next reload)."""
        return self.snapshot.principals.get(digest)

    def config_principal(self, key_id: str) -> Principal | None:
        """The principal of a config key by its id (from the snapshot, built at its reload with
        the database's use cases: a use case changed here or elsewhere counts from the next
        reload, as for database keys)."""
        return self.snapshot.config_principals.get(key_id)

    def policy(self) -> PolicyFilter:
        snapshot = self.snapshot
        if snapshot.policy is not None:
            return snapshot.policy
        return PolicyFilter.from_config(
            self.config, tuple(snapshot.use_cases.values()), snapshot.evaluated
        )

    def permitted(
        self, principal: PrincipalLike, classification: Classification, requested: str | None
    ) -> list[ModelConfig]:
        """The models that may serve the request (``PermissionDenied`` says why none may)."""
        allowed = self.policy().allowed(principal, classification, self.snapshot.models, requested)
        return [m.config for m in allowed]

    async def admit(
        self, department: str, key_id: str, *, max_tokens: int, max_cost: float
    ) -> Reservation:
        scopes = scopes_for(
            department,
            self.snapshot.department_limits.get(department, UsageLimits()),
            key_id,
            self.snapshot.key_limits.get(key_id),
        )
        return await self.limiter.admit(scopes, max_tokens=max_tokens, max_cost=max_cost)

    # retention -----------------------------------------------------------------------------

    def key_use_cases(self) -> dict[str, str]:
        """key id -> use case, for config keys and database keys bound to one."""
        bound: dict[str, str] = {
            k.id: k.use_case for d in self.config.departments for k in d.keys if k.use_case
        }
        bound.update(self.keys.use_case_of())
        return bound

    def key_tiers(self) -> dict[str, RiskTier]:
        cases = {u.name: u for u in self.use_cases.list()}
        bound = self.key_use_cases()
        return {key: cases[case].risk_tier for key, case in bound.items() if case in cases}

    def expire(self, now: datetime | None = None) -> Expiry:
        return expire_usage(
            self.ledger, self.config.governance, self.key_tiers(), now=now or datetime.now(UTC)
        )

    def expire_graded(self, now: datetime | None = None) -> int:
        """Delete the graded requests past ``router.graded_retention_days`` / ``_max``."""
        rules = self.config.router
        if rules.graded_retention_days is None and rules.graded_retention_max is None:
            return 0
        return GradedStore(self.ledger).expire(
            days=rules.graded_retention_days,
            keep=rules.graded_retention_max,
            now=now or datetime.now(UTC),
        )
