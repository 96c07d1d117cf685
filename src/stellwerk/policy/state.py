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

    @property
    def owner_consent(self) -> bool | None:
        """The data owner's consent as the admin API and ``stellwerk catalog list`` show it:
        ``None`` for a model without a ``data_owner`` (there is no consent to give or withdraw,
        and the policy's consent rule never refuses it), else whether it is granted. A consent
        withdrawn while the model had a data owner stays ``False`` once the config drops the
        owner: the rule still refuses the model until it is granted again."""
        if self.config.data_owner is None and self.consent:
            return None
        return self.consent

    @property
    def withdrawal_left(self) -> bool:
        """Whether a withdrawal stored while the model had a data owner outlived the owner in
        the config: still in force (it refuses the model), and an admin's grant lifts it."""
        return self.config.data_owner is None and not self.consent

    @classmethod
    def from_config(cls, config: ModelConfig) -> ModelState:
        """The state a model starts in when the config seeds the catalog."""
        return cls(config=config, lifecycle=config.lifecycle)
