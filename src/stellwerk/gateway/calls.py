"""Step 4 of a request: call the chosen model, fall back to the next candidate if its backend
fails before the first token or cannot take the request in its dialect, and keep the accounting
of the call for its usage record. A failure counts against its backend's circuit as its class
says (``UpstreamError.blames_backend``); a prompt a backend says is over its model's context
goes on only to a candidate with a larger context. A plain answer and a stream go through the
same loop (``_first_answer``); they differ only in what one attempt is."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from stellwerk.backends.base import Backend
from stellwerk.backends.breaker import CircuitBreaker
from stellwerk.backends.thinking import template_switched
from stellwerk.backends.types import JSON, ChatChunk, ChatRequest, ChatResult, EmbedResult, Usage
from stellwerk.config.schema import ModelConfig
from stellwerk.errors import (
    BackendAnswered,
    BackendTimeout,
    CircuitOpen,
    ContextExceeded,
    StellwerkError,
    Untranslatable,
    UpstreamError,
)
from stellwerk.gateway.auth import Principal
from stellwerk.gateway.metrics import Metrics
from stellwerk.gateway.pending import Held, Ticket
from stellwerk.gateway.selection import Selection
from stellwerk.gateway.unknown_params import refuse_unpassable
from stellwerk.gateway.whole_inputs import PROBE_S, EmbedLimits, WholeInputs, Wording
from stellwerk.policy.limits import Reservation

T = TypeVar("T")


def new_request_id() -> str:
    return secrets.token_hex(12)


@dataclass(slots=True)
class Call:
    """What happened to one request; becomes its usage record."""

    request_id: str
    api: str
    endpoint: str
    requested_model: str
    stream: bool
    principal: Principal | None = None
    selection: Selection | None = None
    model: ModelConfig | None = None
    fallback_from: list[str] = field(default_factory=list)
    usage: Usage | None = None
    started: float = field(default_factory=time.perf_counter)
    first_token: float | None = None
    ended: float | None = None
    status: int = 200
    error_kind: str | None = None
    reservation: Reservation | None = None
    recorded: bool = False  # its one usage record is written (``Accounts.record``)
    evidence: Held | None = None  # a routed prompt's text-free reading, held (``pending``)
    shadow: Ticket | None = None  # picked for shadow grading (``shadow``): kept until graded
    reference: ModelConfig | None = None  # a routed call's, in force when it was routed

    def mark_first_token(self) -> None:
        if self.first_token is None:
            self.first_token = time.perf_counter()


class Caller:
    """Runs a selection against the backends, in ranking order, until one answers. A backend
    whose circuit breaker is open is skipped without being asked, and so is one whose dialect
    cannot carry the request, or that may not be sent a parameter of it (``Untranslatable``)."""

    def __init__(
        self,
        backends: dict[str, Backend],
        breakers: dict[str, CircuitBreaker],
        metrics: Metrics,
        confirm: Callable[[str], None] | None = None,
    ) -> None:
        self.backends = backends
        self.breakers = breakers
        self.metrics = metrics
        self.confirm = confirm  # asks for a health probe of a backend that answered an error
        self.embed_limits = EmbedLimits()  # what each backend embeds of an input, as learned

    def _failed(self, call: Call, model: ModelConfig, exc: UpstreamError) -> None:
        self.metrics.upstream_errors.labels(exc.backend, exc.kind).inc()
        self._blame(exc)
        call.fallback_from.append(model.id)

    def _blame(self, exc: UpstreamError) -> None:
        """What a failure does to its backend's circuit: one that shows the backend down or
        stuck counts; one it answered counts only if a health probe now fails as well."""
        if isinstance(exc, CircuitOpen):
            return
        if exc.blames_backend:
            self.breakers[exc.backend].failure()
        elif self.confirm is not None:
            self.confirm(exc.backend)

    def _circuit_refusal(self, backend: Backend) -> UpstreamError | None:
        if self.breakers[backend.name].allow():
            return None
        return CircuitOpen(backend.name, "skipped: circuit open after repeated failures")

    def _untranslatable(self, call: Call, model: ModelConfig, backend: Backend) -> None:
        # the backend was allowed but never asked: its breaker learns nothing, and a trial
        # request it let through is free again
        self.breakers[backend.name].not_sent()
        call.fallback_from.append(model.id)

    async def complete(self, call: Call, selection: Selection, request: ChatRequest) -> ChatResult:
        """The answer of the first candidate that gives one within its backend's time limit."""

        async def attempt(backend: Backend, model: ModelConfig) -> ChatResult:
            try:
                async with asyncio.timeout(backend.config.timeouts.total):
                    return await backend.complete(model.upstream, capped(backend, model, request))
            except TimeoutError as exc:
                raise BackendTimeout(backend.name, "total time limit reached") from exc

        result, _ = await self._first_answer(call, selection, attempt)
        call.usage = result.usage
        if call.shadow is not None:  # the answer a shadow grader compares (memory only)
            call.shadow.answer = result.content
        return result

    async def open_stream(
        self, call: Call, selection: Selection, request: ChatRequest
    ) -> tuple[ChatChunk, AsyncIterator[ChatChunk]]:
        """Start streaming from the first candidate whose backend sends a first chunk."""

        async def attempt(
            backend: Backend, model: ModelConfig
        ) -> tuple[ChatChunk, AsyncIterator[ChatChunk]]:
            chunks = backend.stream(model.upstream, capped(backend, model, request))
            try:
                return await anext(chunks), chunks
            except StopAsyncIteration:
                failed: StellwerkError = BackendAnswered(
                    backend.name, "stream ended without an answer"
                )
            except StellwerkError as exc:
                failed = exc
            await chunks.aclose()  # type: ignore[attr-defined]
            raise failed

        (first, chunks), backend = await self._first_answer(call, selection, attempt)
        call.mark_first_token()
        return first, self._deadline(backend, chunks)

    async def _first_answer(
        self,
        call: Call,
        selection: Selection,
        attempt: Callable[[Backend, ModelConfig], Awaitable[T]],
    ) -> tuple[T, Backend]:
        """The fallback loop: ``attempt`` each candidate in ranking order until one answers.
        ``call.model`` is the candidate being tried; the ones that failed go to
        ``call.fallback_from``."""
        failures: list[tuple[ModelConfig, StellwerkError]] = []
        for model in selection.models:
            if not _may_hold(model, failures):
                continue
            backend = self.backends[model.backend]
            call.model = model
            refused = self._circuit_refusal(backend)
            if refused is not None:
                failures.append((model, refused))
                self._failed(call, model, refused)
                continue
            try:
                answer = await attempt(backend, model)
            except UpstreamError as exc:
                failures.append((model, exc))
                self._failed(call, model, exc)
                continue
            except Untranslatable as exc:
                failures.append((model, exc))
                self._untranslatable(call, model, backend)
                continue
            except ContextExceeded as exc:
                failures.append((model, exc))
                self.breakers[backend.name].success()  # it answered, and rightly
                continue
            self.breakers[backend.name].success()
            return answer, backend
        raise _given_up(call, failures)

    async def embed(
        self,
        call: Call,
        selection: Selection,
        inputs: list[str],
        params: JSON | None = None,
        *,
        whole: Wording | None = None,
        field: str = "input",
    ) -> EmbedResult:
        """One embedding model's vectors: no fallback (another model's vectors are not the
        ones asked for). With ``whole`` (a refusal's words) an input is refused, not cut
        (``whole_inputs``): over the model's context before the call, or cut by the backend at
        a smaller limit of its own after it; the backend is asked not to cut either
        (``Backend.uncut``, what the client sent going first). The backend's tokenizer, which
        those checks ask, is part of the call: within its total time limit, and its failures
        are the backend's (a 502 or 504)."""
        model = call.model = selection.model
        backend = self.backends[model.backend]
        refused = self._circuit_refusal(backend)
        if refused is not None:
            self.metrics.upstream_errors.labels(refused.backend, refused.kind).inc()
            raise refused
        checked = None
        if whole is not None:
            probe_s = min(backend.config.timeouts.total / 2, PROBE_S)
            checked = WholeInputs(
                backend, model, inputs, whole, field, self.embed_limits, probe_s=probe_s
            )
            params = {**backend.uncut(), **(params or {})} or None
        try:
            async with asyncio.timeout(backend.config.timeouts.total):
                if checked is not None:
                    await checked.refuse_over_context()
                result = await backend.embed(model.upstream, inputs, params)
                self.breakers[backend.name].success()
                call.usage = Usage(result.prompt_tokens, 0, result.usage_source)
                if checked is not None:  # the backend answered, and it may have cut an input
                    await checked.refuse_cut(result)
        except TimeoutError as exc:
            self.breakers[backend.name].failure()
            raise BackendTimeout(backend.name, "total time limit reached") from exc
        except UpstreamError as exc:
            self.metrics.upstream_errors.labels(exc.backend, exc.kind).inc()
            self._blame(exc)
            raise
        return result

    async def _deadline(
        self, backend: Backend, chunks: AsyncIterator[ChatChunk]
    ) -> AsyncIterator[ChatChunk]:
        """Pass the chunks on while the backend's total time limit holds."""
        try:
            async with asyncio.timeout(backend.config.timeouts.total):
                async for chunk in chunks:
                    yield chunk
        except TimeoutError as exc:
            self.breakers[backend.name].failure()
            raise BackendTimeout(backend.name, "total time limit reached") from exc
        except UpstreamError as exc:
            self._blame(exc)
            raise
        finally:
            await chunks.aclose()  # type: ignore[attr-defined]


def _may_hold(model: ModelConfig, failures: list[tuple[ModelConfig, StellwerkError]]) -> bool:
    """Is ``model`` worth asking after ``failures``? Not when a backend said the prompt is over
    the context of a model whose context is as large: it cannot hold it either."""
    return all(
        model.context_length > tried.context_length
        for tried, exc in failures
        if isinstance(exc, ContextExceeded)
    )


def _given_up(call: Call, failures: list[tuple[ModelConfig, StellwerkError]]) -> StellwerkError:
    """The error of a request that no candidate answered: the last backend failure or, when no
    candidate's backend could take the request in its dialect, the first ``Untranslatable`` (the
    400 naming the parameter). ``call.model`` becomes the model it came from; every other
    candidate tried stays in ``fallback_from``."""
    assert failures
    upstream = [i for i, (_, exc) in enumerate(failures) if isinstance(exc, UpstreamError)]
    reported = upstream[-1] if upstream else 0
    call.model = failures[reported][0]
    call.fallback_from = [m.id for i, (m, _) in enumerate(failures) if i != reported]
    return failures[reported][1]


def capped(backend: Backend, model: ModelConfig, request: ChatRequest) -> ChatRequest:
    """``request`` as ``backend`` gets it for ``model``: with the model's context as its cap
    when it has none and the server would otherwise generate past the context
    (``Backend.runs_past_context``), so that it never costs more than it reserved; or
    ``Untranslatable`` when it carries a parameter the gateway does not know that the backend
    is not allowed (``unknown_params``), or thinking asked for by Ollama's ``think`` of a
    backend that reads none and a model whose config names no switch of its thinking
    (``backends.thinking``): the candidate is skipped. With a switch, the thinking asked for
    or declined is sent as the chat template's (``thinking.template_switched``)."""
    refuse_unpassable(request, model.id, backend.config.pass_params)
    if not backend.reads_think:
        request = template_switched(request, model.id, model.thinking_switch, backend.name)
    if not backend.runs_past_context or request.max_answer_tokens is not None:
        return request
    return replace(request, params={**request.params, "max_tokens": model.context_length})
