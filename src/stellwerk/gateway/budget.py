"""A request's budget: reserved before a backend is called, settled on its usage when its
record is written, released when it used nothing.

Reserve takes the most tokens and the highest cost the request can reach (``chat_bound``,
``embeddings_bound``) in every scope its principal counts against (its department and its key,
whether they have limits or not), atomically with every other request, or raises
``RateLimited`` naming the limit. The request's usage record (``stellwerk.gateway.accounting``)
hands the reservation back: settled on the real use, or released when there is none. That is
the budget guarantee of docs/governance.md: a request never costs more than it reserved, so N
concurrent requests never together spend more than the budget.

The counters are ``stellwerk.policy.limits.Limiter``'s (in-process, or Redis shared by replicas);
the limits are the governance snapshot's, read at each request.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from stellwerk.backends.tokens import PromptSize, inputs_bound
from stellwerk.config.schema import ModelConfig
from stellwerk.gateway.auth import Principal
from stellwerk.governance.service import Governance
from stellwerk.policy.limits import Reservation


class Budget:
    """Reserve, settle and release the limits and budgets of requests."""

    def __init__(self, governance: Governance) -> None:
        self._governance = governance

    async def reserve(
        self, principal: Principal, tokens: int, cost: float, *, lower_with: str | None = None
    ) -> Reservation:
        """Hold ``tokens`` and ``cost`` for ``principal``'s request, or raise ``RateLimited``
        (naming ``lower_with``, the parameter that would lower a bound the client left to the
        model's context)."""
        scopes = self._governance.snapshot.scopes(principal.department, principal.key_id)
        return await self._governance.limiter.admit(
            scopes, max_tokens=tokens, max_cost=cost, lower_with=lower_with
        )

    async def settle(self, reservation: Reservation, *, tokens: int, cost: float | Decimal) -> None:
        """Replace the reservation by the request's real use (which may be more)."""
        await self._governance.limiter.settle(reservation, tokens=tokens, cost=cost)

    async def release(self, reservation: Reservation) -> None:
        """Give back the reservation of a request that used nothing that can be counted."""
        await self._governance.limiter.release(reservation)


def chat_bound(
    models: Sequence[ModelConfig], prompt: PromptSize, max_answer_tokens: int | None
) -> tuple[int, float]:
    """The most tokens and the highest cost a chat request can reach on any of ``models`` (every
    model it may go to, whichever the router ranks first)."""
    # The prompt is at most its bound (stellwerk.backends.tokens) and, with the answer, at most
    # the model's context; the answer at most max_tokens. The reservation is the worst over
    # those, so that a request never costs more than it reserved.
    worst_tokens = 0
    worst_cost = 0.0
    for model in models:
        tokens, cost = _worst(model, prompt.bound, max_answer_tokens)
        worst_tokens = max(worst_tokens, tokens)
        worst_cost = max(worst_cost, cost)
    return worst_tokens, worst_cost


def embeddings_bound(model: ModelConfig, inputs: Sequence[str]) -> tuple[int, float]:
    """The most tokens and the highest cost of embedding ``inputs`` with ``model``."""
    tokens = inputs_bound(list(inputs))
    return tokens, model.price.cost(tokens, 0)


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
