"""What the OpenAI and Ollama chat endpoints share: selection, headers, accounting of failures."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager

import anyio

from stellwerk.backends.tokens import PromptSize
from stellwerk.backends.types import JSON, ChatChunk, ChatRequest, EmbedResult
from stellwerk.errors import InvalidRequest, RequestError, StellwerkError, UpstreamError
from stellwerk.gateway.calls import Call
from stellwerk.gateway.errors import status_of
from stellwerk.gateway.limits import check_request
from stellwerk.gateway.pending import Ticket, evidence
from stellwerk.gateway.route_embedding import prompt_embedding
from stellwerk.gateway.runtime import Runtime
from stellwerk.gateway.selection import Selection

_UNSAFE = re.compile(r"[^\x20-\x7e]")


def new_request_id() -> str:
    return secrets.token_hex(12)


def needs_of(request: ChatRequest) -> set[str]:
    """Capabilities a model must have to serve this request."""
    if request.prompt is not None:
        return {"completion"}  # a text completion: no chat template, no tools
    needs = {"chat"}
    if request.params.get("tools"):
        needs.add("tools")
    for message in request.messages:
        content = message.get("content")
        if isinstance(content, list) and any(
            isinstance(p, dict) and p.get("type") == "image_url" for p in content
        ):
            needs.add("vision")
    return needs


async def select(runtime: Runtime, call: Call, name: str, request: ChatRequest) -> Selection:
    """The models that may serve a chat request, its admission over them (limits and budgets,
    reserved on ``call``), then, for a route, the router's decision. A request its limits refuse
    is refused before anything that costs: the router's embedding call, a backend."""
    assert call.principal is not None
    principal, selector, caller = call.principal, runtime.selector, runtime.caller
    check_request(request, runtime.config.server.limits)
    if call.stream:  # a stream the key has no slot for costs nothing: no admission, no embedding
        runtime.streams.check(principal.key_id)
    needs = needs_of(request)
    if not selector.is_route(name):
        selection = selector.named(principal, name, needs)
        await caller.admit_chat(call, selection.models, request)
        return selection
    prompt = PromptSize.of(request)
    asked = request.max_answer_tokens
    eligible = selector.eligible(principal, prompt.tokens, needs, asked)
    await caller.admit_chat(call, eligible, request, prompt)
    try:
        embedding = await prompt_embedding(runtime, principal, prompt.text)
        selection = selector.decide(
            name, eligible, prompt.text, prompt.tokens, embedding=embedding, max_answer_tokens=asked
        )
        if runtime.pending.window_s > 0 or runtime.shadow.on:  # for a later grade, no text
            call.evidence = evidence(selector.router, prompt.text, embedding)
        picked = call.evidence is not None and not call.stream
        if picked and runtime.shadow.wants(principal, name, selection.decision, needs):
            call.shadow = Ticket(request, prompt.text, selection.models)
        return selection
    except BaseException as exc:
        await caller.release_on_abort(call, exc)
        raise


async def open_stream(
    runtime: Runtime, call: Call, request: ChatRequest
) -> tuple[ChatChunk, AsyncGenerator[ChatChunk, None]]:
    """Start a stream within the key's concurrent-stream limit; the slot is freed when the
    returned generator ends or is closed."""
    assert call.principal is not None and call.selection is not None
    key = call.principal.key_id
    runtime.streams.acquire(key)
    try:
        first, rest = await runtime.caller.open_stream(call, call.selection, request)
    except BaseException:
        runtime.streams.release(key)
        raise
    return first, _releasing(rest, runtime, key)


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


async def embed(
    runtime: Runtime,
    call: Call,
    model: str,
    given: str | list[str],
    params: JSON | None = None,
) -> EmbedResult:
    """Select and call an embedding model for either API (``params``: the client's other
    parameters, for the backend); the usage record is written either way. Routes choose chat
    models, so an embedding request must name its model."""
    try:
        inputs = [given] if isinstance(given, str) else list(given)
        if not inputs or not all(inputs):
            raise InvalidRequest(
                "input must be a non-empty string or list of strings", param="input"
            )
        if runtime.selector.is_route(model):
            raise InvalidRequest(
                "routes choose chat models; name an embedding model", param="model"
            )
        assert call.principal is not None
        call.selection = runtime.selector.named(call.principal, model, ["embeddings"])
        await runtime.caller.admit_embeddings(call, call.selection.model, inputs)
        result = await runtime.caller.embed(call, call.selection, inputs, params)
    except StellwerkError as exc:
        await fail(runtime, call, exc)
        raise
    call.ended = time.perf_counter()
    await runtime.record(call)
    return result


def decision_headers(call: Call) -> dict[str, str]:
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


@asynccontextmanager
async def one_record(runtime: Runtime, call: Call) -> AsyncIterator[None]:
    """Around a request's handler: whatever is raised on its way, the request leaves exactly one
    usage record (``Runtime.record`` writes one per call). A ``StellwerkError`` is accounted by
    ``fail``; a cancellation (the client hung up before the answer) is a 499; anything else (a
    bug) the 500 the client gets. A handler that ends normally has recorded its call, or handed
    it to a streamed response (``stellwerk.gateway.stream_end``) that will."""
    try:
        yield
    except StellwerkError as exc:
        with anyio.CancelScope(shield=True):
            await fail(runtime, call, exc)
        raise
    except BaseException as exc:
        cancelled = isinstance(exc, (anyio.get_cancelled_exc_class(), GeneratorExit))
        call.status, call.error_kind = (
            (499, "client_disconnected") if cancelled else (500, "internal")
        )
        with anyio.CancelScope(shield=True):
            await runtime.record(call)
        raise


async def fail(runtime: Runtime, call: Call, exc: StellwerkError) -> None:
    """Account a request that ends in an error; its usage record is still written."""
    call.status = status_of(exc)
    if isinstance(exc, UpstreamError):
        call.error_kind = f"backend_{exc.kind}"
    elif isinstance(exc, RequestError):
        call.error_kind = exc.code
    else:
        call.error_kind = "internal"
    await runtime.record(call)
