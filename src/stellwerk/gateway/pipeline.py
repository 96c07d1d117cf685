"""The way of a request, in the order it takes:

    1. authenticate   the key -> principal (department, role, use case, classification)
    2. parse          the body, by the endpoint's ``Exchange`` (the API module's decoder)
    3. request limits messages, max_tokens, a free stream slot of the key
    4. permit         the models the policy lets serve it (and that can: capabilities, context)
    5. admit          its rate limits and budget, reserved (``Budget.reserve``)
    6. route          a route's ranking by the router (a named model is its own ranking)
    7. call           the ranked models, falling back to the next one (``Caller``), plain or
                      streamed
    8. account        its one usage record, metrics, budget settled (``Accounts.record``), and a
                      routed request kept for feedback and shadow grading

``serve`` runs them for every chat-shaped endpoint (``/v1/chat/completions``, ``/v1/responses``,
``/v1/completions``, ``/api/chat``, ``/api/generate``); a request that asks for no answer, only
for its model (Ollama's load and unload, ``Exchange.idle``), stops after 4 and is accounted
(``ready``); ``serve_embeddings`` the ones an
embedding request takes. The API modules only decode a body into an ``Exchange`` and encode what
it returns. The state of the request is one ``Call``, which these stages advance (the caller
adds the models it tried, the stream's end how it ended) and which becomes the usage record.
``accounted`` sees to it that a known key's request leaves one, whatever is raised on its way.
"""

from __future__ import annotations

import re
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import ClassVar, Literal, TypeVar

import anyio
from starlette.requests import Request
from starlette.responses import Response

from stellwerk.backends.tokens import PromptSize
from stellwerk.backends.types import JSON, ChatChunk, ChatRequest, ChatResult, EmbedResult
from stellwerk.config.schema import ModelConfig
from stellwerk.errors import (
    GovernanceStale,
    InvalidRequest,
    RequestError,
    StellwerkError,
    UpstreamError,
    shown,
)
from stellwerk.gateway.auth import Principal
from stellwerk.gateway.budget import chat_bound, embeddings_bound
from stellwerk.gateway.calls import Call, new_request_id
from stellwerk.gateway.cuts import Watch
from stellwerk.gateway.errors import mark_request, status_of
from stellwerk.gateway.governance import classify
from stellwerk.gateway.grading_entry import keep_for_grading
from stellwerk.gateway.hang_up import hang_up
from stellwerk.gateway.limits import check_request
from stellwerk.gateway.pending import Ticket, held
from stellwerk.gateway.route_embedding import prompt_embedding
from stellwerk.gateway.runtime import Runtime
from stellwerk.gateway.selection import Selection, needs_of
from stellwerk.gateway.stream_end import AccountedStream, StreamEnd
from stellwerk.gateway.whole_inputs import Wording
from stellwerk.request_body import read_body

_UNSAFE = re.compile(r"[^\x20-\x7e]")


class Exchange(ABC):
    """One chat-shaped request as its endpoint decoded it, and how to encode the answer."""

    model: str
    stream: bool
    chat: ChatRequest
    #: the client's name for its cap on the answer's length, which errors name (an Ollama
    #: client sets ``options.num_predict``, a Responses client ``max_output_tokens``)
    answer_param: str = "max_tokens"
    #: the body's field that holds the prompt, which a refusal of its length (a context
    #: exceeded) or of its number of messages names: ``prompt``, ``input``
    prompt_param: ClassVar[str] = "messages"
    #: what besides ``prompt_param`` made messages, as a refusal of their number says it
    #: (``/v1/responses``: its ``instructions``)
    counted: str = ""
    media_type: ClassVar[str] = "text/event-stream"  # of a streamed answer
    stream_headers: ClassVar[Mapping[str, str]] = {"cache-control": "no-cache"}
    #: a request that asks for no answer, only for its model (``ready``): what it asks
    idle: Idle | None = None

    @abstractmethod
    def plain(self, call: Call, result: ChatResult) -> bytes:
        """The JSON answer of a request that is not streamed."""

    @abstractmethod
    def events(self, call: Call, chunks: AsyncIterator[ChatChunk]) -> AsyncGenerator[bytes, None]:
        """The events of a streamed answer; ``chunks`` carry no usage (``call.usage`` holds it
        once they ended)."""

    @abstractmethod
    def error_event(self, exc: StellwerkError) -> bytes:
        """The event that ends a stream a backend failed after its first token."""

    def place(self, param: str) -> str:
        """The place in the body of the chat request's part at ``param``: the prompt
        (``messages``) is the field that holds it (``prompt_param``); an API whose body is
        shaped otherwise names every part in its own place (``/v1/responses``)."""
        return self.prompt_param if param == "messages" else param

    @contextmanager
    def own_words(self) -> Iterator[None]:
        """Around the stages that read the chat request: a refusal they raise names its place
        as the body holds it (``place``; ``RequestError.placed``)."""
        try:
            yield
        except RequestError as exc:
            exc.placed(self.place)
            raise


@dataclass(frozen=True, slots=True)
class Idle:
    """What a request asks that wants no answer, only its model: Ollama's ``load`` (a request
    without prompt or messages) or ``unload`` (the same with ``keep_alive`` 0)."""

    kind: Literal["load", "unload"]
    answer: bytes  # the endpoint's answer to it, in the API's shape


Reader = Callable[[bytes, str], Exchange]
"""An endpoint's decoder: the raw body and the request id -> its ``Exchange`` (or a 400)."""


async def serve(request: Request, api: str, endpoint: str, read: Reader) -> Response:
    """Serve one chat-shaped request of ``api`` (``openai``, ``ollama``) at ``endpoint``."""
    runtime: Runtime = request.app.state.runtime
    call = Call(new_request_id(), api, endpoint, "", stream=False)
    async with accounted(runtime, call):  # 8, whatever is raised on the way
        call.principal = authenticate(runtime, call, request)  # 1
        raw = await read_body(request, runtime.config.server.max_body_bytes)  # 2
        exchange = read(raw, call.request_id)
        call.requested_model, call.stream = exchange.model, exchange.stream
        with exchange.own_words():  # a refusal over its chat request names the body's places
            check_limits(runtime, call, exchange)  # 3
            name = runtime.selector.configured_name(exchange.model)  # x:latest is x
            if exchange.idle is not None:
                return await ready(runtime, call, exchange.model, exchange.idle)  # 4, 8 only
            call.selection = await select(runtime, call, name, exchange)  # 4, 5, 6
            if exchange.stream:
                return await stream(runtime, call, exchange, request)  # 7, 8 at its end
            watch = runtime.cuts.watch(call)  # a change that forbids it meanwhile cuts it
            try:  # and so does the client's hanging up
                async with watch.waiting(), hang_up(request, watch, exchange.chat):
                    result = await runtime.caller.complete(call, call.selection, exchange.chat)
            finally:
                runtime.cuts.done(watch)
        call.ended = time.perf_counter()
        payload = exchange.plain(call, result)
        await account(runtime, call)  # 8
        return Response(payload, media_type="application/json", headers=decision_headers(call))


# 1. authenticate -------------------------------------------------------------------------------


def authenticate(runtime: Runtime, call: Call, request: Request) -> Principal:
    """The key's principal (401), with the request's classification (403 if lowered); 503
    while this replica's governance is stale (``governance.staleness``). The key's principal is
    the call's before either is checked: a request refused for its classification, or by a
    stale replica, is still accounted to the department and key that sent it."""
    call.principal = runtime.key_principal(request.headers)
    runtime.governance.staleness.check()
    return classify(call.principal, request.headers)


# 3. request limits -----------------------------------------------------------------------------


def check_limits(runtime: Runtime, call: Call, exchange: Exchange) -> None:
    """Refuse what the server's limits refuse before anything that costs (a reservation, the
    router's embedding call, a backend): too many messages or tokens asked (named as the client
    named them, ``exchange``'s ``prompt_param`` and ``answer_param``), or a stream the key has
    no free slot for."""
    assert call.principal is not None
    limits = runtime.config.server.limits
    check_request(
        exchange.chat, limits, exchange.answer_param, exchange.prompt_param, exchange.counted
    )
    if call.stream:
        runtime.streams.check(call.principal.key_id)


# 4. permit, 5. admit, 6. route -----------------------------------------------------------------


async def select(runtime: Runtime, call: Call, name: str, exchange: Exchange) -> Selection:
    """The models that may serve the request (4), its budget reserved over every one of them
    (5), then, for a route, the router's ranking of them (6)."""
    assert call.principal is not None
    principal, selector, chat = call.principal, runtime.selector, exchange.chat
    needs, prompt = needs_of(chat), PromptSize.of(chat)
    if not selector.is_route(name):
        selection = selector.named(principal, exchange.model, needs)  # echoed as asked
        await admit(runtime, call, selection.models, exchange, prompt)
        return selection
    eligible = selector.eligible(principal, prompt.tokens, needs, chat.max_answer_tokens)
    await admit(runtime, call, eligible, exchange, prompt)
    return await route(runtime, call, name, eligible, chat, prompt, needs)


async def admit(
    runtime: Runtime,
    call: Call,
    models: Sequence[ModelConfig],
    exchange: Exchange,
    prompt: PromptSize,
) -> None:
    """Reserve the most the request can cost on any of ``models``, or raise ``RateLimited``
    (which, for a request with no cap on its answer, names the parameter that would lower its
    bound); the reservation is the call's, settled by its record."""
    assert call.principal is not None
    cap = exchange.chat.max_answer_tokens
    tokens, cost = chat_bound(models, prompt, cap)
    lower_with = exchange.answer_param if cap is None else None
    call.reservation = await runtime.budget.reserve(
        call.principal, tokens, cost, lower_with=lower_with
    )


async def route(
    runtime: Runtime,
    call: Call,
    name: str,
    eligible: Sequence[ModelConfig],
    chat: ChatRequest,
    prompt: PromptSize,
    needs: set[str],
) -> Selection:
    """The router's ranking of ``eligible`` for route ``name`` (with the prompt's embedding
    where it reads one); a routed request is marked for later feedback and shadow grading."""
    assert call.principal is not None
    principal, selector = call.principal, runtime.selector
    call.reference = runtime.accounts.references(principal)  # in force when it was made
    embedding = await prompt_embedding(runtime, principal, prompt.text)
    selection = selector.decide(
        name,
        eligible,
        prompt.text,
        prompt.tokens,
        embedding=embedding,
        max_answer_tokens=chat.max_answer_tokens,
        keep_evidence=runtime.pending.on or runtime.shadow.on,  # for a later grade, no text
    )
    call.evidence = held(selector.router, selection.decision, prompt.text, runtime.record_noise)
    if call.evidence is not None:  # its feedback waits for its end (``account``)
        await runtime.pending.started(call.request_id, principal.key_id)
    picked = call.evidence is not None and call.evidence.evidence.readable and not call.stream
    if picked and runtime.shadow.wants(principal, name, selection.decision, needs):
        call.shadow = Ticket(chat, prompt.text, selection.models)
    return selection


async def ready(runtime: Runtime, call: Call, name: str, idle: Idle) -> Response:
    """A request for no answer, only for its model (``Idle``): permitted as a request for an
    answer would be (a model unknown or not the caller's to see is a 404, a refused one a 403, a
    load of one that cannot chat a 400; a route, when the caller may use some chat model), then
    answered without a reservation or a backend: the gateway loads and unloads nothing (the
    model servers behind it hold their models). Recorded with no model and no tokens, so that
    the answer times a model is measured on hold none of these."""
    assert call.principal is not None
    principal, selector = call.principal, runtime.selector
    if selector.is_route(selector.configured_name(name)):  # as asked: x:latest is x
        selector.eligible(principal, 0, {"chat"})
    else:
        call.selection = selector.named(principal, name, {"chat"} if idle.kind == "load" else set())
    call.ended = time.perf_counter()
    await account(runtime, call)
    return Response(idle.answer, media_type="application/json", headers=decision_headers(call))


# 7. call (streamed; the plain call is ``runtime.caller.complete`` in ``serve``) -----------------


async def stream(runtime: Runtime, call: Call, exchange: Exchange, request: Request) -> Response:
    """The streamed answer, within the key's concurrent-stream limit (the slot is freed when
    the stream ends); the stream writes the usage record when it ends, however it ends. A
    governance change that forbids it while it runs cuts it (``stellwerk.gateway.cuts``), and
    a client that hangs up before its first chunk ends the wait for it (``hang_up``)."""
    assert call.principal is not None and call.selection is not None
    key = call.principal.key_id
    runtime.streams.acquire(key)
    watch = runtime.cuts.watch(call)  # until the stream ends (``StreamEnd.close``)
    try:
        async with watch.waiting(), hang_up(request, watch, exchange.chat):
            first, rest = await runtime.caller.open_stream(call, call.selection, exchange.chat)
    except BaseException:
        runtime.cuts.done(watch)
        runtime.streams.release(key)
        raise
    chunks = _releasing(rest, runtime, key)
    end = StreamEnd(runtime, call, exchange.chat, chunks, account, watch)
    return AccountedStream(
        end,
        exchange.events(call, _answer(call, end.chunks(first))),
        exchange.error_event,
        media_type=exchange.media_type,
        headers={**decision_headers(call), **exchange.stream_headers},
    )


async def _releasing(
    chunks: AsyncIterator[ChatChunk], runtime: Runtime, key: str
) -> AsyncGenerator[ChatChunk, None]:
    try:
        async for chunk in chunks:
            yield chunk
    finally:
        runtime.streams.release(key)
        # close the backend's stream now, not when the collector finds it: a cut stream's
        # account asks the same server for its tokenizer next
        await chunks.aclose()  # type: ignore[attr-defined]


async def _answer(call: Call, chunks: AsyncIterator[ChatChunk]) -> AsyncIterator[ChatChunk]:
    """The answer's pieces (their usage is put on ``call`` by the stream's ``StreamEnd``), and
    its end time once it ended."""
    async for chunk in chunks:
        if chunk.content is not None or chunk.tool_calls or chunk.finish_reason or chunk.reasoning:
            yield chunk
    call.ended = time.perf_counter()


# 8. account ------------------------------------------------------------------------------------


async def account(runtime: Runtime, call: Call) -> None:
    """Write the call's one usage record (with its metrics and its budget settled); a routed
    request that was answered is kept for feedback and, if picked, shadow grading."""
    routed = call.evidence is not None
    entry = keep_for_grading(runtime, call) if await runtime.accounts.record(call) else None
    if routed:
        await runtime.pending.ended(call.request_id, entry)


@asynccontextmanager
async def accounted(runtime: Runtime, call: Call) -> AsyncIterator[None]:
    """Around a request's stages: whatever is raised on its way, the request leaves exactly one
    usage record. A ``StellwerkError`` is accounted by ``fail``; a cancellation (the client hung
    up before the answer) is a 499; anything else (a bug) the 500 the client gets. A request
    that ended before an answer used nothing that can be counted: its reservation is released; the
    500 of a bug carries its record's request id, as a refusal does (``errors.mark_request``).
    Stages that end normally have accounted the call, or handed it to a streamed response
    (``stellwerk.gateway.stream_end``) that will."""
    try:
        yield
    except StellwerkError as exc:
        with anyio.CancelScope(shield=True):
            await fail(runtime, call, exc)
        exc.request_id = call.request_id if call.principal else None  # its record's, if any
        raise
    except BaseException as exc:
        cancelled = isinstance(exc, (anyio.get_cancelled_exc_class(), GeneratorExit))
        call.status, call.error_kind = (
            (499, "client_disconnected") if cancelled else (500, "internal")
        )
        with anyio.CancelScope(shield=True):
            await account(runtime, call)
        if not cancelled:
            mark_request(exc, call.request_id)  # the 500 names its usage record
        raise


async def fail(runtime: Runtime, call: Call, exc: StellwerkError) -> None:
    """Account a request that ends in an error; its usage record is still written."""
    call.status = status_of(exc)
    if isinstance(exc, UpstreamError):
        call.error_kind = f"backend_{exc.kind}"
    elif isinstance(exc, RequestError):
        call.error_kind = exc.error_kind
    elif isinstance(exc, GovernanceStale):
        call.error_kind = exc.code
    else:
        call.error_kind = "internal"
    await account(runtime, call)


# embeddings: 1, 2, 4, 5, 7, 8 (no route: routes choose chat models) ---------------------------


@dataclass(frozen=True, slots=True)
class Embedding:
    """An embedding request as its endpoint decoded it."""

    model: str
    input: str | list[str]
    params: JSON | None = None  # the client's other parameters, for the backend
    #: the inputs may not be cut: one the model would cut is refused in these words
    #: (``whole_inputs``); None: the backend may cut it
    whole: Wording | None = None
    field: str = "input"  # where the request holds its inputs, for the errors that name one
    #: the vectors' size the client asked for (``dimensions``), checked on the answer
    dimensions: int | None = None


E = TypeVar("E", bound=Embedding)


async def serve_embeddings(
    request: Request, api: str, read: Callable[[bytes], E]
) -> tuple[Call, E, EmbedResult]:
    """Embed the inputs of one request; the caller encodes the vectors. An embedding request
    must name its model (routes choose chat models)."""
    runtime: Runtime = request.app.state.runtime
    call = Call(new_request_id(), api, "embeddings", "", stream=False)
    async with accounted(runtime, call):
        call.principal = authenticate(runtime, call, request)
        asked = read(await read_body(request, runtime.config.server.max_body_bytes))
        call.requested_model = asked.model
        inputs = [asked.input] if isinstance(asked.input, str) else list(asked.input)
        refuse_empty(inputs, asked.field)
        name = runtime.selector.configured_name(asked.model)
        if runtime.selector.is_route(name):
            raise InvalidRequest(
                "routes choose chat models; name an embedding model", param="model"
            )
        call.selection = runtime.selector.named(call.principal, asked.model, ["embeddings"])
        tokens, cost = embeddings_bound(call.selection.model, inputs)
        call.reservation = await runtime.budget.reserve(call.principal, tokens, cost)
        watch = Watch(call)  # not a governance cut's: only the client's hanging up ends it
        async with watch.waiting(), hang_up(request, watch, tokens):
            result = await runtime.caller.embed(
                call, call.selection, inputs, asked.params, whole=asked.whole, field=asked.field
            )
        call.ended = time.perf_counter()
        refuse_other_size(call.selection.model.id, result, asked.dimensions)
        await account(runtime, call)
    return call, asked, result


def refuse_empty(inputs: list[str], field: str) -> None:
    """Refuse an empty text of a list: there is nothing to embed (Ollama answers one by
    loading the model, and the gateway loads no models). The body's validation has refused an
    empty string or list (``embedding_schema``)."""
    for index, text in enumerate(inputs):
        if not text:
            where = field if len(inputs) == 1 else f"{field}.{index}"
            raise InvalidRequest(
                f"{where}: the text to embed is empty; send a non-empty string", param=where
            )


def refuse_other_size(model: str, result: EmbedResult, dimensions: int | None) -> None:
    """Refuse an answer whose vectors are not of the size the client asked for: the
    ``dimensions`` of the request go to the backend, and a backend that cannot shorten the
    model's vectors (llama.cpp's servers, Ollama's for most models) answers them whole. A
    client that stores them as the size it asked for must not get another one silently (vLLM
    and OpenAI refuse such a request as well)."""
    if dimensions is None:
        return
    sizes = sorted({len(vector) for vector in result.vectors})
    if sizes and sizes != [dimensions]:
        size = ", ".join(map(str, sizes))
        raise InvalidRequest(
            f"dimensions: {dimensions} asked for, but {shown(model)} answers vectors of {size}"
            " dimensions (its backend cannot shorten them); leave out dimensions, or ask for"
            f" {size}",
            param="dimensions",
        )


# what every answer carries ----------------------------------------------------------------------


def decision_headers(call: Call) -> dict[str, str]:
    """Which model answered, why, and the models tried before it."""
    headers = {"x-stellwerk-request-id": call.request_id}
    if call.model is not None:
        headers["x-stellwerk-model"] = call.model.id
    if call.selection is not None:
        decision = call.selection.decision
        route = f"route={call.selection.route}; " if call.selection.route else ""
        text = f"{route}router={decision.router}; {decision.reason}"
        headers["x-stellwerk-decision"] = _UNSAFE.sub("?", text)[:512]
    if call.fallback_from:
        headers["x-stellwerk-fallback-from"] = ",".join(call.fallback_from)
    return headers
