"""The governance services the dashboard reads and acts through: the same ones the admin API
uses, built over the gateway's open ledger and its validated config."""

from __future__ import annotations

from dataclasses import dataclass

from stellwerk.config.schema import ModelConfig, StellwerkConfig
from stellwerk.governance.budgets import Budgets
from stellwerk.governance.catalog import Catalog
from stellwerk.governance.key_store import KeyStore
from stellwerk.governance.state import ModelState
from stellwerk.governance.use_cases import UseCases
from stellwerk.ledger.ledger import Ledger


@dataclass(frozen=True, slots=True)
class Services:
    config: StellwerkConfig
    ledger: Ledger
    catalog: Catalog
    keys: KeyStore
    use_cases: UseCases
    budgets: Budgets

    @classmethod
    def build(cls, config: StellwerkConfig, ledger: Ledger) -> Services:
        return cls(
            config=config,
            ledger=ledger,
            catalog=Catalog(ledger, config),
            keys=KeyStore(ledger, config),
            use_cases=UseCases(ledger, config),
            budgets=Budgets(ledger, config),
        )


def largest_approved(states: list[ModelState]) -> ModelConfig | None:
    """The model routing is compared against: the largest approved chat model."""
    candidates = [
        s.config for s in states if s.lifecycle == "approved" and "chat" in s.config.capabilities
    ]
    return max(candidates, key=lambda m: (m.params_b, m.id), default=None)
