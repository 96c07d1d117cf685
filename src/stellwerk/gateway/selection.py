"""Steps 2 and 3 of a request: keep the models that may serve it, then let the router choose.

A model named in the request is used if the caller may use it; a route name (``auto``,
``auto-economy`` ...) asks the router to choose among every model the caller may use and that can
do the job (capabilities, context length). Which models the caller may use is the policy's one
answer (``stellwerk.policy.filter.PolicyFilter`` over the governance snapshot: ``permit``), asked
here and nowhere else.

A routed request is selected in two steps, with the admission (limits and budgets) between them:
``eligible`` (the models it may go to, whose prices the budget reservation reads) and ``decide``
(the router's ranking, which may need the prompt's embedding: an extra call that a request
refused by its limits must not cost).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, cast

from stellwerk.backends.thinking import asks_to_think
from stellwerk.backends.types import ChatRequest
from stellwerk.config.schema import Classification, ModelConfig, StellwerkConfig
from stellwerk.errors import (
    ContextExceeded,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    context_words,
    shown,
)
from stellwerk.gateway.auth import Principal
from stellwerk.policy.filter import PolicyFilter
from stellwerk.policy.state import ModelState
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


#: capabilities of a model that answers chat-shaped requests (chat, text completion)
CHAT_SHAPED = {"chat", "completion"}


class Permit(Protocol):
    """The policy: the models that may serve ``principal`` (the one named, or ``None`` for any,
    for a request needing ``kind``: ``chat``, ``completion``), in the config's order; raises
    ``PermissionDenied`` (or ``NotFound``) saying why none may."""

    def __call__(
        self, principal: Principal, requested: str | None, kind: str | None = None
    ) -> list[ModelConfig]: ...


def config_permit(config: StellwerkConfig) -> Permit:
    """The policy over the config's own facts (no ledger: the ``stellwerk route`` dry run without
    a database, tests); the gateway asks the governance snapshot (``governance.permit``)."""
    policy = PolicyFilter.from_config(config)
    states = [ModelState.from_config(m) for m in config.models]

    def permitted(
        principal: Principal, requested: str | None, kind: str | None = None
    ) -> list[ModelConfig]:
        level = cast(Classification, principal.classification)
        return [m.config for m in policy.allowed(principal, level, states, requested, kind)]

    return permitted


#: the ``response_format`` types that ask for a JSON answer
_JSON_FORMATS = frozenset({"json_object", "json_schema"})


def needs_of(request: ChatRequest) -> set[str]:
    """Capabilities a model must have to serve this request."""
    response_format = request.params.get("response_format")
    needs = {"thinking"} if asks_to_think(request) else set()
    if isinstance(response_format, dict) and response_format.get("type") in _JSON_FORMATS:
        needs.add("json")  # Ollama's ``format`` arrives as JSON too
    if request.prompt is not None:  # a text completion: no chat template, no tools
        return needs | {"completion"}
    needs.add("chat")
    if request.params.get("tools") or request.params.get("functions"):
        needs.add("tools")  # ``functions``: the older form of the same definitions
    for message in request.messages:
        content = message.get("content")
        if isinstance(content, list) and any(
            isinstance(p, dict) and p.get("type") == "image_url" for p in content
        ):
            needs.add("vision")
    return needs


class Selector:
    def __init__(
        self, config: StellwerkConfig, router: Router, permit: Permit | None = None
    ) -> None:
        self.models = {m.id: m for m in config.models}
        self.routes = dict(config.routes)
        self.router = router
        self.permit = permit or config_permit(config)
        self._candidates = {m.id: candidate(m) for m in config.models}

    def measured(self, answer_tokens: Mapping[str, int]) -> None:
        """Give the router each model's measured answer length (a model missing from
        ``answer_tokens`` has none); decisions made from now on use them."""
        self._candidates = {
            m.id: candidate(m, answer_tokens.get(m.id)) for m in self.models.values()
        }

    def visible(self, principal: Principal) -> list[ModelConfig]:
        """The models ``principal`` may use (none when the policy refuses every one)."""
        try:
            return self.permit(principal, None)
        except PermissionDenied:
            return []

    def named(self, principal: Principal, asked: str, needs: Iterable[str]) -> Selection:
        """The model ``asked`` names (``configured_name``: ``x:latest`` is ``x``), if the caller
        may use it and it can do ``needs``. Its 404 echoes ``asked`` as the client sent it: a
        name echoed otherwise for a model that exists than for one that does not would tell
        which of the two a model the caller may not see is. (A model the caller sees is named
        by its configured id.)"""
        name = self.configured_name(asked)
        model = self.models.get(name)
        if model is None:
            raise _unknown(asked)
        try:
            self.permit(principal, name)  # PermissionDenied names the reason
        except NotFound as exc:  # one the caller may not see is answered as an unknown one
            raise _unknown(asked, exc) from None
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

    def configured_name(self, name: str) -> str:
        """The model or route ``name`` stands for: itself when one is configured by that name;
        else, for a name with Ollama's default tag (``x:latest``: Ollama treats ``x`` and
        ``x:latest`` as one model, and its clients may add the tag), the model or route ``x``."""
        if name in self.models or name in self.routes:
            return name
        stem = name.removesuffix(":latest")
        if stem != name and (stem in self.models or stem in self.routes):
            return stem
        return name

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
        for). Raises ``PermissionDenied``, ``InvalidRequest`` (no model can do the job) or
        ``ContextExceeded`` (some can, but the prompt is over the context of each) saying why
        there is none."""
        kind = "completion" if "completion" in needs else "chat"  # a router serves no other
        allowed = self.permit(principal, None, kind)  # PermissionDenied says why
        if not allowed:
            raise PermissionDenied(
                f"no model is allowed for department {principal.department!r}",
                code="no_allowed_model",
            )
        capable = [m for m in allowed if needs.issubset(m.capabilities)]
        if not capable:
            raise _none_capable(principal, allowed, needs)
        able = [m for m in capable if m.context_length > prompt_tokens]
        if not able:
            raise _too_long(principal, capable, prompt_tokens, needs)
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
        keep_evidence: bool = False,
    ) -> Selection:
        """The router ranks ``models`` (those ``eligible`` returned); with ``keep_evidence``
        its decision hands out its reading of the prompt (``Decision.evidence``)."""
        request = RouteRequest(
            prompt=prompt,
            prompt_tokens=prompt_tokens,
            candidates=tuple(self._candidates[m.id] for m in models),
            cost_weight=self.routes[route].cost_weight,
            embedding=embedding,
            max_answer_tokens=max_answer_tokens,
            unfamiliar=self.routes[route].unfamiliar,
            keep_evidence=keep_evidence,
        )
        decision = self.router.decide(request)
        ranked = tuple(self.models[name] for name in decision.ranking)
        return Selection(route=route, decision=decision, models=ranked)


def _unknown(name: str, unseen: NotFound | None = None) -> NotFound:
    """A model that does not exist, or that the caller may not see (the policy's ``unseen``,
    whose reason is for operators' log): the same 404 on every model endpoint, and the same
    usage record (``model_not_found``: what the client was told, which a head key's dashboard
    page shows), so that asking tells no more than ``GET /v1/models`` and ``GET /api/tags``,
    which list neither."""
    return NotFound(
        f"model {shown(name)} does not exist; the models you may use are listed by"
        " GET /v1/models (OpenAI API) and GET /api/tags (Ollama API)",
        param="model",
        code="model_not_found",
        detail=None if unseen is None else unseen.detail,
    )


def _none_capable(
    principal: Principal, allowed: Sequence[ModelConfig], needs: set[str]
) -> InvalidRequest:
    """No model the caller may use can do what the request needs. Only the models that answer
    chat-shaped requests are counted (an embedding model is none of them)."""
    served = sum(1 for m in allowed if CHAT_SHAPED & set(m.capabilities))
    what = ", ".join(sorted(needs)) or "chat"
    whose = _whose(principal)
    if served == 0:
        text = f"no model allowed for {whose} serves chat (only embeddings)"
    else:
        text = (
            f"none of the {served} chat model{'' if served == 1 else 's'} allowed for"
            f" {whose} can serve this request (needs: {what})"
        )
    # recorded with what it needed, which the dashboard names (dashboard.refusal_labels)
    recorded = "no_capable_model:" + ",".join(sorted(needs or {"chat"}))
    return InvalidRequest(text, param="model", code="no_capable_model", recorded=recorded)


def _too_long(
    principal: Principal, capable: Sequence[ModelConfig], prompt_tokens: int, needs: set[str]
) -> ContextExceeded:
    """Models could serve the request, but its prompt is over the context of each: the
    ``context_length_exceeded`` a named model's backend would answer, in the words client
    libraries know (``ContextExceeded``), naming the largest context. The prompt's size is the
    router's estimate (``stellwerk.backends.tokens``: about four characters a token), not a
    count: counting takes the model's tokenizer, which the way to a model does not ask."""
    largest = max(capable, key=lambda m: m.context_length)
    count = len(capable)
    alike = sum(1 for m in capable if m.context_length == largest.context_length)
    whose = _whose(principal)
    if count == 1:
        which = f"{largest.id}, the one model allowed for {whose} that can serve this"
    elif alike == count:
        which = f"each of the {count} models allowed for {whose} that can serve this"
    else:
        which = (
            f"{largest.id}, the largest of the {count} models allowed for {whose} that can"
            " serve this"
        )
    return ContextExceeded(
        f"{context_words(largest.context_length)} ({which}"
        f" request); the prompt is too long: about {prompt_tokens} tokens, estimated at"
        " four characters a token (the model's own count may differ)",
        prompt_tokens=prompt_tokens,
        context=largest.context_length,
    )  # its param is the prompt's field in the request's body (``pipeline.Exchange``)


def _whose(principal: Principal) -> str:
    """Whose allow-list a refusal speaks of: the key's use case when it is bound to one (its
    list narrows the department's), else the department."""
    department = f"department {principal.department!r}"
    if principal.use_case is None:
        return department
    return f"use case {principal.use_case!r} of {department}"
