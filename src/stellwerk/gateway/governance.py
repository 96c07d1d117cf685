"""Where governance meets the gateway: the policy filter as the selector's policy, limits and
budgets as the caller's admission, classification from the header (the keyring reads the
principals of config and database keys from the governance snapshot: ``Keyring.governed_by``).

Every decision is made at request time from the governance snapshot (no database round trip on
the request path); see :mod:`stellwerk.governance.snapshot`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from stellwerk.backends.tokens import PromptSize, inputs_bound
from stellwerk.config.schema import ModelConfig
from stellwerk.gateway.auth import Principal
from stellwerk.governance.service import Governance
from stellwerk.policy.classification import HEADER, effective_classification
from stellwerk.policy.limits import Reservation


class SnapshotPrincipals:
    """The keyring's principals: those of the governance snapshot in force at each request."""

    def __init__(self, governance: Governance) -> None:
        self.governance = governance

    def config_principal(self, key_id: str) -> Principal | None:
        return self.governance.snapshot.config_principal(key_id)

    def principal(self, digest: str) -> Principal | None:
        return self.governance.snapshot.principal(digest)


class GovernedPolicy:
    """The selector's policy: the models the policy filter lets serve this principal."""

    def __init__(self, governance: Governance) -> None:
        self.governance = governance

    def permitted(self, principal: Principal, requested: str | None) -> list[ModelConfig]:
        return self.governance.snapshot.permitted(principal, principal.classification, requested)  # type: ignore[arg-type]


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
        # The prompt is at most its bound (stellwerk.backends.tokens) and, with the answer, at
        # most the model's context; the answer at most max_tokens. The reservation is the worst
        # over those, so that a request never costs more than it reserved.
        worst_tokens = 0
        worst_cost = 0.0
        for model in models:
            tokens, cost = _worst(model, prompt.bound, max_answer_tokens)
            worst_tokens = max(worst_tokens, tokens)
            worst_cost = max(worst_cost, cost)
        return await self._reserve(principal, worst_tokens, worst_cost)

    async def admit_embeddings(
        self, principal: Principal, model: ModelConfig, inputs: Sequence[str]
    ) -> Reservation:
        tokens = inputs_bound(list(inputs))
        return await self._reserve(principal, tokens, model.price.cost(tokens, 0))

    async def release(self, reservation: Reservation) -> None:
        await self.governance.limiter.release(reservation)

    async def _reserve(self, principal: Principal, tokens: int, cost: float) -> Reservation:
        scopes = self.governance.snapshot.scopes(principal.department, principal.key_id)
        return await self.governance.limiter.admit(scopes, max_tokens=tokens, max_cost=cost)


def _worst(model: ModelConfig, prompt_bound: int, max_answer: int | None) -> tuple[int, float]:
    """The most tokens and the highest cost a request can reach on ``model``: its prompt ``p``
    is at most ``prompt_bound``, its answer at most ``max_answer`` and what the model's context
    leaves after ``p``. Tokens and cost are linear in ``p`` on either side of the point where the
    context starts to cut the answer, so their maxima are at one of the two ends."""
    context = model.context_length
    answer = context if max_answer is None else min(max_answer, context)
    ends = {prompt_bound, min(prompt_bound, max(0, context - answer))}
    worst = [(p, min(answer, max(0, context - p))) for p in ends]
    return (
        max(p + out for p, out in worst),
        max(model.price.cost(p, out) for p, out in worst),
    )
