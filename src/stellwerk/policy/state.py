"""What the governance layer knows about a model at request time: its config plus the state the
catalog keeps in the database (lifecycle, consent, optimistic version)."""

from __future__ import annotations

from dataclasses import dataclass

from stellwerk.config.schema import Lifecycle, ModelConfig


@dataclass(frozen=True, slots=True)
class ModelState:
    config: ModelConfig
    lifecycle: Lifecycle
    consent: bool = True
    version: int = 1

    @property
    def id(self) -> str:
        return self.config.id

    @classmethod
    def from_config(cls, config: ModelConfig) -> ModelState:
        """The state a model starts in when the config seeds the catalog."""
        return cls(config=config, lifecycle=config.lifecycle)
