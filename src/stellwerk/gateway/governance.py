"""Where governance meets the gateway: the policy filter as the selector's policy, limits and
budgets as the caller's admission, classification from the header (the keyring reads the
principals of config and database keys from the governance snapshot: ``Keyring.governed_by``).

Every decision is made at request time from the governance snapshot (no database round trip on
the request path); see :mod:`stellwerk.governance.service`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from stellwerk.backends.tokens import PromptSize, estimate_tokens
from stellwerk.config.schema import ModelConfig
from stellwerk.gateway.auth import Principal
from stellwerk.governance.service import Governance
from stellwerk.policy.classification import HEADER, effective_classification
from stellwerk.policy.limits import Reservation

_PER_MESSAGE = 8
_PER_CHAT = 32


class GovernedPolicy:
    """The selector's policy: the models the policy filter lets serve this principal."""

    def __init__(self, governance: Governance) -> None:
        self.governance = governance

    def permitted(self, principal: Principal, requested: str | None) -> list[ModelConfig]:
        return self.governance.permitted(principal, principal.classification, requested)  # type: ignore[arg-type]


def classify(principal: Principal, headers: Mapping[str, str]) -> Principal:
    """The principal with the request's classification: the header may raise the key's default,
    never lower it (403)."""
    level = effective_classification(headers.get(HEADER), principal.classification)  # type: ignore[arg-type]
    return (
        principal if level == principal.classification else replace(principal, classification=level)
    )


class Admission:
    """Reserves a request's maximal tokens and cost before a backend is called."""

    def __init__(self, governance: Governance) -> None:
        self.governance = governance

    async def admit_chat(
        self,
        principal: Principal,
        models: Sequence[ModelConfig],
        prompt: PromptSize,
        max_answer_tokens: int | None,
    ) -> Reservation:
        # generous: chat templates add tokens around every message (about 25 for a one-line
        # chat on the test models), and the settlement corrects to the real count anyway
        tokens = prompt.tokens + _PER_MESSAGE * prompt.messages + _PER_CHAT
        worst_tokens = 0
        worst_cost = 0.0
        for model in models:
            room = max(0, model.context_length - tokens)
            out = room if max_answer_tokens is None else min(max_answer_tokens, room)
            worst_tokens = max(worst_tokens, tokens + out)
            worst_cost = max(worst_cost, model.price.cost(tokens, out))
        return await self._reserve(principal, worst_tokens, worst_cost)

    async def admit_embeddings(
        self, principal: Principal, model: ModelConfig, inputs: Sequence[str]
    ) -> Reservation:
        tokens = sum(estimate_tokens(text) + _PER_MESSAGE for text in inputs)
        return await self._reserve(principal, tokens, model.price.cost(tokens, 0))

    async def release(self, reservation: Reservation) -> None:
        await self.governance.limiter.release(reservation)

    async def _reserve(self, principal: Principal, tokens: int, cost: float) -> Reservation:
        return await self.governance.admit(
            principal.department, principal.key_id, max_tokens=tokens, max_cost=cost
        )
