"""What an administrator changes: the governance stores over one ledger, each of which writes
the database and the audit trail (``catalog``: lifecycle and consent; ``keys``; ``use_cases``;
``budgets``: limits), and the upkeep around them (seeding from the config, retention).

Requests never read these stores: they read the ``Snapshot`` (``stellwerk.governance.snapshot``)
read from them, so a change made here counts for requests from the next reload.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal

from stellwerk.config.schema import RiskTier, StellwerkConfig
from stellwerk.governance.budgets import Budgets
from stellwerk.governance.catalog import Catalog
from stellwerk.governance.config_changes import load_details, secret_moved
from stellwerk.governance.key_store import KeyStore
from stellwerk.governance.retention import Expiry, expire_usage
from stellwerk.governance.use_cases import UseCases
from stellwerk.ledger.ledger import Ledger
from stellwerk.ledger.window import Window

#: The models with an evaluation record (a calibration record: ``CalibrationStore.evaluated``,
#: injected because calibration sits above governance).
Evaluated = Callable[[], frozenset[str]]

# the audit target of a config built in code rather than read from a file
IN_CODE = "(config built in code)"


class Administration:
    def __init__(
        self,
        ledger: Ledger,
        config: StellwerkConfig,
        *,
        evaluated: Evaluated,
        config_hash: str | None = None,
        key_hashes: Mapping[str, str] | None = None,
    ) -> None:
        self.ledger = ledger
        # key id -> SHA-256 of a key_env key's value, read at the start (config_changes)
        self.key_hashes = key_hashes
        self.evaluated = evaluated
        self.config = config
        self.config_hash = config_hash
        self.catalog = Catalog(ledger, config, config_hash)
        self.keys = KeyStore(ledger, config, config_hash)
        self.use_cases = UseCases(ledger, config, config_hash)
        self.budgets = Budgets(ledger, config, config_hash)

    def seed(self, actor: str = "config") -> bool:
        """Seed the catalog and use cases from the config, audit a config change (``actor``: who
        loaded it, ``config`` at a gateway's start, ``cli:<login>`` for a command). Whether it
        added a model or a use case the database lacked (the other replicas have to read it)."""
        models = self.catalog.seed()
        cases = self.use_cases.seed()
        self._audit_config(actor)
        return bool(models or cases)

    def _audit_config(self, actor: str) -> None:
        if self.config_hash is None:
            return
        last = self.ledger.list_audit(action="config.load", limit=1)
        previous = last[0] if last else None
        # what changed in governance terms since the previous load (governance.config_changes)
        details = load_details(
            self.config,
            None if previous is None else previous.details,
            None if previous is None else previous.config_hash,
            self.key_hashes,
        )
        same = previous is not None and previous.config_hash == self.config_hash
        if same and previous is not None and not secret_moved(previous.details, details):
            return  # the same file, and no key's secret changed in its variable
        self.ledger.append_audit(
            actor=actor,
            action="config.load",
            target_kind="config",
            target=self.config.source or IN_CODE,
            details=details,
            config_hash=self.config_hash,
        )

    def month_spend(self, window: Window) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
        """The spend in ``window`` by department and by key id (what seeds budget counters)."""
        departments = self.ledger.summarize_usage(window, by="department")
        keys = self.ledger.summarize_usage(window, by="key_id")
        return (
            {a.group: a.cost for a in departments if a.group},
            {a.group: a.cost for a in keys if a.group},
        )

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
            self.ledger,
            self.config.governance,
            self.key_tiers(),
            now=now or datetime.now(UTC),
            config_hash=self.config_hash,
        )
