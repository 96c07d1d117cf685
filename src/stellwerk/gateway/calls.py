"""Step 4 of a request: call the chosen model, fall back to the next candidate if its backend
fails before the first token or cannot take the request in its dialect, and keep the accounting
of the call for its usage record. A failure counts against its backend's circuit as its class
says (``UpstreamError.blames_backend``); a prompt a backend says is over its model's context
goes on only to a candidate with a larger context. The admission methods reserve a request's
limits and budget; ``stellwerk.gateway.chat.select`` calls them before the router's decision."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import anyio

from stellwerk.backends.base import Backend
from stellwerk.backends.breaker import CircuitBreaker
from stellwerk.backends.tokens import PromptSize
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
from stellwerk.gateway.pending import Evidence, Ticket
from stellwerk.gateway.selection import Selection
from stellwerk.policy.limits import Reservation


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
    recorded: bool = False  # its one usage record is written (``Runtime.record``)
    evidence: Evidence | None = None  # a routed prompt's text-free reading (``pending``)
    shadow: Ticket | None = None  # picked for shadow grading (``shadow``): kept until graded

    def mark_first_token(self) -> None:
        if self.first_token is None:
            self.first_token = time.perf_counter()


class Admitter(Protocol):
    """Limits and budgets: reserve a request's maximal use before a backend is called, or raise
    ``RateLimited``."""

    async def admit_chat(
        self,
        principal: Principal,
        models: Sequence[ModelConfig],
        prompt: PromptSize,
        max_answer_tokens: int | None,
    ) -> Reservation: ...

    async def admit_embeddings(
        self, principal: Principal, model: ModelConfig, inputs: Sequence[str]
    ) -> Reservation: ...

    async def release(self, reservation: Reservation) -> None: ...


class Caller:
    """Runs a selection against the backends, in ranking order, until one answers. A backend
    whose circuit breaker is open is skipped without being asked, and so is one whose dialect
    cannot carry the request (``Untranslatable``)."""

    def __init__(
        self,
        backends: dict[str, Backend],
        breakers: dict[str, CircuitBreaker],
        metrics: Metrics,
        admission: Admitter | None = None,
        confirm: Callable[[str], None] | None = None,
    ) -> None:
        self.backends = backends
        self.breakers = breakers
        self.metrics = metrics
        self.admission = admission
        self.confirm = confirm  # asks for a health probe of a backend that answered an error

    async def admit_chat(
        self,
        call: Call,
        models: Sequence[ModelConfig],
        request: ChatRequest,
        prompt: PromptSize | None = None,
    ) -> None:
        """Reserve a chat request's maximal use over ``models`` (every model it may go to), or
        raise ``RateLimited``; ``prompt`` is the request's size where it was measured already.
        The reservation is the call's: its record settles it."""
        if self.admission is not None and call.principal is not None:
            call.reservation = await self.admission.admit_chat(
                call.principal,
                models,
                prompt or PromptSize.of(request),
                request.max_answer_tokens,
            )

    async def admit_embeddings(self, call: Call, model: ModelConfig, inputs: Sequence[str]) -> None:
        """Reserve an embedding request's maximal use, or raise ``RateLimited``."""
        if self.admission is not None and call.principal is not None:
            call.reservation = await self.admission.admit_embeddings(call.principal, model, inputs)

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

    async def release_on_abort(self, call: Call, exc: BaseException) -> None:
        """A request ended by something else than a ``StellwerkError`` (cancelled, a bug) before
        an answer used nothing that can be counted: its reservation is given back here, and its
        record (``stellwerk.gateway.chat.one_record``) settles nothing more."""
        if isinstance(exc, StellwerkError) or call.reservation is None:
            return
        if self.admission is not None:
            reservation, call.reservation = call.reservation, None
            with anyio.CancelScope(shield=True):
                await self.admission.release(reservation)

    async def complete(self, call: Call, selection: Selection, request: ChatRequest) -> ChatResult:
        try:
            return await self._complete(call, selection, request)
        except BaseException as exc:
            await self.release_on_abort(call, exc)
            raise

    async def _complete(self, call: Call, selection: Selection, request: ChatRequest) -> ChatResult:
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
                async with asyncio.timeout(backend.config.timeouts.total):
                    result = await backend.complete(model.upstream, request)
            except TimeoutError as exc:
                timeout = BackendTimeout(backend.name, "total time limit reached")
                timeout.__cause__ = exc
                failures.append((model, timeout))
                self._failed(call, model, timeout)
                continue
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
            call.usage = result.usage
            if call.shadow is not None:  # the answer a shadow grader compares (memory only)
                call.shadow.answer = result.content
            return result
        raise _given_up(call, failures)

    async def embed(
        self, call: Call, selection: Selection, inputs: list[str], params: JSON | None = None
    ) -> EmbedResult:
        try:
            return await self._embed(call, selection, inputs, params)
        except BaseException as exc:
            await self.release_on_abort(call, exc)
            raise

    async def _embed(
        self, call: Call, selection: Selection, inputs: list[str], params: JSON | None
    ) -> EmbedResult:
        model = call.model = selection.model
        backend = self.backends[model.backend]
        refused = self._circuit_refusal(backend)
        if refused is not None:
            self.metrics.upstream_errors.labels(refused.backend, refused.kind).inc()
            raise refused
        try:
            async with asyncio.timeout(backend.config.timeouts.total):
                result = await backend.embed(model.upstream, inputs, params)
        except TimeoutError as exc:
            self.breakers[backend.name].failure()
            raise BackendTimeout(backend.name, "total time limit reached") from exc
        except UpstreamError as exc:
            self.metrics.upstream_errors.labels(exc.backend, exc.kind).inc()
            self._blame(exc)
            raise
        self.breakers[backend.name].success()
        call.usage = Usage(result.prompt_tokens, 0, result.usage_source)
        return result

    async def open_stream(
        self, call: Call, selection: Selection, request: ChatRequest
    ) -> tuple[ChatChunk, AsyncIterator[ChatChunk]]:
        """Start streaming from the first model whose backend sends a first chunk."""
        try:
            return await self._open_stream(call, selection, request)
        except BaseException as exc:
            await self.release_on_abort(call, exc)
            raise

    async def _open_stream(
        self, call: Call, selection: Selection, request: ChatRequest
    ) -> tuple[ChatChunk, AsyncIterator[ChatChunk]]:
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
            chunks = backend.stream(model.upstream, request)
            last: UpstreamError
            try:
                first = await anext(chunks)
            except StopAsyncIteration:
                last = BackendAnswered(backend.name, "stream ended without an answer")
            except UpstreamError as exc:
                last = exc
            except Untranslatable as exc:
                failures.append((model, exc))
                self._untranslatable(call, model, backend)
                continue
            except ContextExceeded as exc:
                failures.append((model, exc))
                self.breakers[backend.name].success()  # it answered, and rightly
                continue
            else:
                self.breakers[backend.name].success()
                call.mark_first_token()
                return first, self._deadline(backend, chunks)
            await chunks.aclose()  # type: ignore[attr-defined]
            failures.append((model, last))
            self._failed(call, model, last)
        raise _given_up(call, failures)

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
