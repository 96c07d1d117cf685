"""Steps 2 and 3 of a request: keep the models that may serve it, then let the router choose.

A model named in the request is used if the caller may use it; a route name (``auto``,
``auto-economy`` ...) asks the router to choose among every model the caller may use and that can
do the job (capabilities, context length). The policy check here is the seam governance plugs into.

A routed request is selected in two steps, with the admission (limits and budgets) between them:
``eligible`` (the models it may go to, whose prices the budget reservation reads) and ``decide``
(the router's ranking, which may need the prompt's embedding: an extra call that a request
refused by its limits must not cost).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from stellwerk.config.schema import ModelConfig, StellwerkConfig
from stellwerk.errors import InvalidRequest, NotFound, PermissionDenied, shown
from stellwerk.gateway.auth import Principal
from stellwerk.routing.base import Decision, Router, RouteRequest
from stellwerk.routing.candidate import candidate


@dataclass(frozen=True, slots=True)
class Selection:
    route: str | None
    decision: Decision
    models: tuple[ModelConfig, ...]

    @property
    def model(self) -> ModelConfig:
        return self.models[0]


class ModelPolicy(Protocol):
    """The policy seam: the models that may serve ``principal`` (``requested`` names one, or
    ``None`` for any); raises ``PermissionDenied`` saying why none may."""

    def permitted(self, principal: Principal, requested: str | None) -> list[ModelConfig]: ...


class Selector:
    def __init__(
        self, config: StellwerkConfig, router: Router, policy: ModelPolicy | None = None
    ) -> None:
        self.models = {m.id: m for m in config.models}
        self.routes = dict(config.routes)
        self.router = router
        self.policy = policy
        self._candidates = {m.id: candidate(m) for m in config.models}

    def measured(self, answer_tokens: Mapping[str, int]) -> None:
        """Give the router each model's measured answer length (a model missing from
        ``answer_tokens`` has none); decisions made from now on use them."""
        self._candidates = {
            m.id: candidate(m, answer_tokens.get(m.id)) for m in self.models.values()
        }

    def allowed(self, principal: Principal, model: ModelConfig) -> bool:
        if model.lifecycle != "approved":
            return False
        return principal.allowed_models is None or model.id in principal.allowed_models

    def visible(self, principal: Principal) -> list[ModelConfig]:
        if self.policy is not None:
            try:
                return self.policy.permitted(principal, None)
            except PermissionDenied:
                return []
        return [m for m in self.models.values() if self.allowed(principal, m)]

    def named(self, principal: Principal, name: str, needs: Iterable[str]) -> Selection:
        model = self.models.get(name)
        if model is None:
            raise NotFound(
                f"model {shown(name)} does not exist; GET /v1/models lists the models you may use",
                param="model",
                code="model_not_found",
            )
        if self.policy is not None:
            self.policy.permitted(principal, name)  # PermissionDenied names the reason
        elif not self.allowed(principal, model):
            state = "" if model.lifecycle == "approved" else f" (lifecycle: {model.lifecycle})"
            raise PermissionDenied(
                f"model {shown(name)} is not allowed for department "
                f"{principal.department!r}{state}",
                param="model",
                code="model_not_allowed",
            )
        missing = [cap for cap in needs if cap not in model.capabilities]
        if missing:
            raise InvalidRequest(
                f"model {shown(name)} does not support {', '.join(missing)}",
                param="model",
                code="unsupported_capability",
            )
        decision = Decision(
            model_id=name,
            ranking=(name,),
            scores=(),
            reason="model named in the request",
            router="none",
        )
        return Selection(route=None, decision=decision, models=(model,))

    def is_route(self, name: str) -> bool:
        return name in self.routes

    def routed(
        self,
        principal: Principal,
        route: str,
        prompt: str,
        prompt_tokens: int,
        needs: set[str],
        *,
        embedding: Sequence[float] | None = None,
        max_answer_tokens: int | None = None,
    ) -> Selection:
        """The router's choice among the eligible models (``eligible`` then ``decide``)."""
        able = self.eligible(principal, prompt_tokens, needs, max_answer_tokens)
        return self.decide(
            route,
            able,
            prompt,
            prompt_tokens,
            embedding=embedding,
            max_answer_tokens=max_answer_tokens,
        )

    def eligible(
        self,
        principal: Principal,
        prompt_tokens: int,
        needs: set[str],
        max_answer_tokens: int | None = None,
    ) -> list[ModelConfig]:
        """The models a routed request may go to: allowed for the caller, able to do the job
        and with the context for the prompt (and, where some have it, for the answer asked
        for). Raises ``PermissionDenied`` or ``InvalidRequest`` saying why there is none."""
        if self.policy is not None:
            allowed = self.policy.permitted(principal, None)  # PermissionDenied says why
        else:
            allowed = self.visible(principal)
        if not allowed:
            raise PermissionDenied(
                f"no model is allowed for department {principal.department!r}",
                code="no_allowed_model",
            )
        able = [
            m
            for m in allowed
            if needs.issubset(m.capabilities) and m.context_length > prompt_tokens
        ]
        if not able:
            raise InvalidRequest(
                f"none of the {len(allowed)} models allowed for department "
                f"{principal.department!r} can serve this request (needs: "
                f"{', '.join(sorted(needs)) or 'chat'}, about {prompt_tokens} prompt tokens)",
                param="model",
                code="no_capable_model",
            )
        if max_answer_tokens is not None:
            # prefer the models whose context also holds the answer asked for; when none does,
            # the backend's own limit decides (as for a model named in the request)
            roomy = [m for m in able if m.context_length >= prompt_tokens + max_answer_tokens]
            able = roomy or able
        return able

    def decide(
        self,
        route: str,
        models: Sequence[ModelConfig],
        prompt: str,
        prompt_tokens: int,
        *,
        embedding: Sequence[float] | None = None,
        max_answer_tokens: int | None = None,
    ) -> Selection:
        """The router ranks ``models`` (those ``eligible`` returned)."""
        request = RouteRequest(
            prompt=prompt,
            prompt_tokens=prompt_tokens,
            candidates=tuple(self._candidates[m.id] for m in models),
            cost_weight=self.routes[route].cost_weight,
            embedding=embedding,
            max_answer_tokens=max_answer_tokens,
            unfamiliar=self.routes[route].unfamiliar,
        )
        decision = self.router.decide(request)
        ranked = tuple(self.models[name] for name in decision.ranking)
        return Selection(route=route, decision=decision, models=ranked)
