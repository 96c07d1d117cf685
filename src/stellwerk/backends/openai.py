"""OpenAI-compatible servers: vLLM, llama.cpp (llama-server, llama-cpp-python), LocalAI.

``base_url`` may be the server root or end in ``/v1``. A text completion (``ChatRequest.prompt``)
goes to ``/v1/completions``, everything else to ``/v1/chat/completions``.

Streams always ask for usage (``stream_options.include_usage``); servers that still send none
(llama-cpp-python does not) get their tokens counted here: completion tokens from the streamed
chunks; prompt tokens of a chat, which the server renders through the model's chat template,
from the server itself by the same request unstreamed with ``max_tokens: 1`` (the server has
the prompt in its cache then, so this costs about one token), of a text completion from the
server's tokenize endpoint; failing those, from the tokenize endpoint or an estimate.
``Usage.source`` says which.

A tool call cut at the answer's token limit is told by ``finish_reason: "length"``, as OpenAI
tells it (``stellwerk.backends.finish``; llama-cpp-python says ``tool_calls``): a stream holds
back a ``tool_calls`` finish reason until its usage is known.

A stream ends with its finish reason, then ``[DONE]``. ``[DONE]`` without a finish reason is a
stream the server cut short: llama-cpp-python started with ``interrupt_requests`` on (its
default) ends a running stream that way as soon as another request waits for its lock. That is a
``BackendFailed``, never a normal end, so the client gets the API's error event and the usage
record says ``stream_interrupted``.

The health probe of a ``dialect: llamacpp`` server asks an endpoint that does not take the
server's generation lock (``/health`` of llama.cpp's ``llama-server``, else ``/openapi.json``
of llama-cpp-python): ``/v1/models`` takes it, so it waits behind a running generation and, with
``interrupt_requests`` on, cuts that generation off (docs/backends-llamacpp.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import orjson

from stellwerk.backends import logprobs
from stellwerk.backends.base import Backend
from stellwerk.backends.dialects import JSON_STRING_PATTERNS, Dialect, builtin_dialects, generic
from stellwerk.backends.finish import CALLED, arguments_of, finish_of
from stellwerk.backends.images import refuse_image_urls
from stellwerk.backends.portable_patterns import portable_payload
from stellwerk.backends.tokens import estimate_tokens, prompt_text, tokenized_prompt
from stellwerk.backends.transport import (
    Transport,
    encode,
    parse_json,
    post_json,
    stream_error,
    stream_lines,
)
from stellwerk.backends.types import JSON, ChatChunk, ChatRequest, ChatResult, EmbedResult, Usage
from stellwerk.config.schema import BackendConfig
from stellwerk.errors import BackendAnswered, BackendFailed, StellwerkError

# Tokenize endpoints of OpenAI-compatible servers, tried in order: (path, request key, reply key).
_TOKENIZERS = (
    ("/extras/tokenize/count", "input", "count"),  # llama-cpp-python
    ("/tokenize", "content", "tokens"),  # llama.cpp's llama-server, vLLM ("prompt" also works)
)
# What a server answers on a path it does not have, or does not take this request on (vLLM's
# pydantic refuses a body it does not know): that path is no tokenizer of this server.
_MISSING = frozenset({400, 404, 405, 422})
# Probe paths of a llama.cpp server that take no generation lock, tried in order: llama-server's
# /health, llama-cpp-python's /openapi.json (it has no /health).
_LOCK_FREE_PROBES = ("/health", "/openapi.json")
#: parameters the prompt's count does not need (the tokens' log probabilities cost time)
_NOT_COUNTED = frozenset({"logprobs", "top_logprobs"})


def path_of(request: ChatRequest) -> str:
    return "/completions" if request.prompt is not None else "/chat/completions"


def to_wire(model: str, request: ChatRequest, *, stream: bool, dialect: Dialect = generic) -> JSON:
    """The request body for ``/v1/chat/completions`` (or ``/v1/completions`` for a text
    completion), in the server's ``dialect`` (``stellwerk.backends.dialects``)."""
    if request.prompt is not None:
        payload: JSON = {**request.params, "model": model, "prompt": request.prompt}
        if payload.get("logprobs") is True:  # the legacy form: the alternatives' count
            payload["logprobs"] = payload.pop("top_logprobs", 0)
    else:
        payload = {**request.params, "model": model, "messages": request.messages}
    if "think" not in request.unknown:  # Ollama's, read by no such server (backends.thinking)
        payload.pop("think", None)
    # Servers of open models know max_tokens; several ignore the newer max_completion_tokens.
    limit = payload.pop("max_completion_tokens", None)
    if limit is not None and "max_tokens" not in payload:
        payload["max_tokens"] = limit
    payload["stream"] = stream
    if stream:
        payload["stream_options"] = {"include_usage": True}
    else:
        payload.pop("stream_options", None)
    # the schemas' patterns as every server reads them; JSON-safe where llama.cpp builds the grammar
    return dialect(portable_payload(payload, json_safe=dialect in JSON_STRING_PATTERNS))


def usage_from_wire(usage: Any, source: str = "backend") -> Usage | None:
    if not isinstance(usage, dict):
        return None
    return Usage(
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        source=source,
    )


def _logprobs(choice: JSON, text: Any, top: int | None) -> list[JSON] | None:
    """A choice's token log probabilities, if the request asked for ``top`` alternatives."""
    if top is None:
        return None
    raw = choice.get("logprobs")
    if raw is None:
        return None
    if isinstance(text, str):  # a text completion's legacy form
        return logprobs.from_text(raw, top)
    return logprobs.from_chat(raw, top)


def _reasoning(message: JSON) -> str | None:
    """A message's or delta's reasoning: ``reasoning_content`` (llama.cpp, DeepSeek, vLLM before
    0.10), or ``reasoning`` (vLLM's newer name); None when empty or no text."""
    for key in ("reasoning_content", "reasoning"):
        value = message.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def result_from_wire(backend: str, body: JSON, top: int | None = None) -> ChatResult:
    """The whole answer; with its tokens' log probabilities when the request asked for ``top``
    alternatives (``logprobs.wanted``)."""
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise BackendAnswered(backend, "answer has no choices")
    message = choices[0].get("message") or {}
    usage = usage_from_wire(body.get("usage")) or Usage(0, 0, source="none")
    text = choices[0].get("text")  # a text completion's answer
    content = text if isinstance(text, str) else message.get("content")
    return ChatResult(
        content=content,
        tool_calls=message.get("tool_calls") or None,
        finish_reason=choices[0].get("finish_reason"),
        usage=usage,
        logprobs=logprobs.within(_logprobs(choices[0], text, top), content),
        reasoning=_reasoning(message) if isinstance(message, dict) else None,
    )


def chunk_from_wire(body: JSON, top: int | None = None) -> ChatChunk:
    usage = usage_from_wire(body.get("usage"))
    choices = body.get("choices") or []
    if not choices:
        return ChatChunk(usage=usage)
    choice = choices[0]
    delta = choice.get("delta") or {}
    text = choice.get("text")  # a text completion's piece
    return ChatChunk(
        content=(text if isinstance(text, str) else delta.get("content")) or None,
        tool_calls=delta.get("tool_calls") or None,
        finish_reason=choice.get("finish_reason"),
        usage=usage,
        logprobs=None if top is None else _logprobs(choice, text, top),
        reasoning=_reasoning(delta) if isinstance(delta, dict) else None,
    )


def sse_data(line: str) -> str | None:
    """The payload of an SSE ``data:`` line; None for comments, blank lines and other fields."""
    if not line.startswith("data:"):
        return None
    return line[5:].strip()


class OpenAIBackend(Backend):
    kind = "openai"

    def __init__(
        self, config: BackendConfig, transport: Transport, api_key: str | None = None
    ) -> None:
        super().__init__(config, transport, api_key)
        base = config.base_url
        self.root = base[: -len("/v1")] if base.endswith("/v1") else base
        self.api = self.root + "/v1"
        self._tokenizer: tuple[str, str, str] | bool | None = False  # False: not yet probed
        self._dialect = builtin_dialects()[config.dialect]  # fixed for the backend's life

    def _checked(self, request: ChatRequest) -> ChatRequest:
        """``request``, if its images may be given to this backend (``backends.images``)."""
        refuse_image_urls(
            request.messages,
            remote=self.config.remote_image_urls,
            inline_only=f"backend {self.name!r} takes images inline only: its server would fetch"
            " a URL itself, from inside the network (backends[].remote_image_urls)",
        )
        return request

    async def complete(self, model: str, request: ChatRequest) -> ChatResult:
        self._checked(request)
        body = await post_json(
            self.transport,
            self.name,
            self.api + path_of(request),
            to_wire(model, request, stream=False, dialect=self._dialect),
            headers=self.headers,
            timeout=self.timeout,
        )
        result = result_from_wire(self.name, body, logprobs.wanted(request.params))
        finish = finish_of(
            result.finish_reason,
            arguments_of(result.tool_calls),
            result.usage.completion_tokens,
            request.max_answer_tokens,
        )
        return replace(result, finish_reason=finish)

    async def stream(self, model: str, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        payload = to_wire(model, self._checked(request), stream=True, dialect=self._dialect)
        url = self.api + path_of(request)
        counted = 0
        usage: Usage | None = None
        finished = False
        finish_reason: str | None = None
        arguments: dict[object, str] = {}  # each tool call's arguments so far, by its index
        top = logprobs.wanted(request.params)
        held = logprobs.Held()
        async with stream_lines(
            self.transport, self.name, url, payload, headers=self.headers, timeout=self.timeout
        ) as lines:
            async for line in lines:
                data = sse_data(line)
                if not data:
                    continue
                if data == "[DONE]":
                    finished = True
                    break
                try:
                    body = orjson.loads(data)
                except orjson.JSONDecodeError as exc:
                    raise BackendAnswered(self.name, "streamed an event that is not JSON") from exc
                if isinstance(body, dict) and "error" in body:
                    raise stream_error(self.name, body, payload)
                chunk = chunk_from_wire(body, top)
                if chunk.usage is not None:
                    usage = chunk.usage
                if chunk.content is not None or chunk.tool_calls is not None or chunk.reasoning:
                    counted += 1  # reasoning tokens are answer tokens
                finish_reason = chunk.finish_reason or finish_reason
                _add_arguments(arguments, chunk.tool_calls)
                # a tool call's end waits for the usage: it may have been cut (``finish``)
                told = None if chunk.finish_reason in CALLED else chunk.finish_reason
                tokens = chunk.logprobs
                if top is not None:  # the tokens go with the text they make up
                    tokens = held.with_text(tokens, chunk.content)
                if chunk.content is not None or chunk.tool_calls or told or chunk.reasoning:
                    yield replace(chunk, finish_reason=told, usage=None, logprobs=tokens)
        if not finished:
            if counted == 0:
                # llama-cpp-python answers a prompt over its context with an empty 200 stream
                await self._why_empty(model, request)
            raise BackendAnswered(self.name, "stream ended before [DONE]")
        if finish_reason is None:
            # the server cut the answer short (it is alive): llama-cpp-python's
            # interrupt_requests
            raise BackendAnswered(
                self.name, "stream interrupted: [DONE] without a finish reason (answer cut short)"
            )
        if usage is None:
            usage = await self._counted_usage(model, request, counted)
        if finish_reason in CALLED:
            # the server's count; chunks counted are not tokens (llama-cpp-python sends one
            # more, the call's name), so then the arguments alone tell a cut call
            limit = request.max_answer_tokens if usage.source == "backend" else None
            told = finish_of(finish_reason, arguments.values(), usage.completion_tokens, limit)
            yield ChatChunk(finish_reason=told)
        yield ChatChunk(usage=usage)

    async def _why_empty(self, model: str, request: ChatRequest) -> None:
        """A stream that ended before its first token: ask the same request unstreamed for one
        token, so that the backend says why. llama-cpp-python answers a prompt over its context
        with a 200 stream that ends after the role (its 400 comes only unstreamed): the client of
        a stream gets the same 400 as without streaming, and no other model is tried for it.
        Raises the backend's answer to that (a 400, a 500, a refused connection), or returns
        when it answers."""
        once = replace(request, params={**request.params, "max_tokens": 1})
        await self.complete(model, once)

    async def embed(self, model: str, inputs: list[str], params: JSON | None = None) -> EmbedResult:
        body = await post_json(
            self.transport,
            self.name,
            self.api + "/embeddings",
            {**(params or {}), "model": model, "input": inputs},
            headers=self.headers,
            timeout=self.timeout,
        )
        data = body.get("data")
        if not isinstance(data, list):
            raise BackendAnswered(self.name, "embedding answer has no data")
        ordered = sorted(data, key=lambda item: int(item.get("index", 0)))
        vectors = [list(map(float, item["embedding"])) for item in ordered]
        usage = usage_from_wire(body.get("usage"))
        if usage is None:
            return EmbedResult(vectors, sum(map(estimate_tokens, inputs)), "estimated")
        return EmbedResult(vectors, usage.prompt_tokens)

    async def probe(self) -> None:
        if self.config.dialect == "llamacpp":
            await self._probe_lock_free()
            return
        status, body = await self.transport.get(
            self.name, self.api + "/models", self.headers, self.timeout
        )
        if status >= 400:
            raise BackendFailed(self.name, f"/v1/models answered HTTP {status}")
        parse_json(self.name, body)

    async def _probe_lock_free(self) -> None:
        status = 0
        for path in _LOCK_FREE_PROBES:
            status, _ = await self.transport.get(
                self.name, self.root + path, self.headers, self.timeout
            )
            if status < 400:
                return
            if status != 404:
                break
        raise BackendFailed(self.name, f"health probe answered HTTP {status}")

    async def prompt_tokens(self, model: str, request: ChatRequest) -> int | None:
        text = request.prompt if request.prompt is not None else prompt_text(request.messages)
        return await self._tokenize_count(model, text)

    async def _counted_usage(self, model: str, request: ChatRequest, chunks: int) -> Usage:
        if request.prompt is None:
            templated = await self._prompt_tokens(model, request)
            if templated is not None:
                return Usage(templated, chunks, source="counted:chunks+probe")
        text = prompt_text(request.messages)
        try:
            prompt = await self._tokenize_count(model, text)
        except StellwerkError:
            prompt = None  # the answer is complete: its count is estimated, not failed
        if prompt is None:
            return Usage(estimate_tokens(text), chunks, source="counted:chunks+estimate")
        # the text's tokens; a chat's template (which tokenizing text leaves out) at its allowance
        prompt = tokenized_prompt(request, prompt)
        return Usage(prompt, chunks, source="counted:chunks+tokenize")

    async def _prompt_tokens(self, model: str, request: ChatRequest) -> int | None:
        """The server's own count of a chat's templated prompt: the request once more,
        unstreamed, for one token. None if the server does not tell."""
        params = {k: v for k, v in request.params.items() if k not in _NOT_COUNTED}
        limited = ChatRequest(request.messages, {**params, "max_tokens": 1})
        try:
            body = await post_json(
                self.transport,
                self.name,
                self.api + "/chat/completions",
                to_wire(model, limited, stream=False, dialect=self._dialect),
                headers=self.headers,
                timeout=self.timeout,
            )
        except StellwerkError:
            return None
        usage = usage_from_wire(body.get("usage"))
        return usage.prompt_tokens if usage is not None and usage.prompt_tokens > 0 else None

    async def _tokenize_count(self, model: str, text: str) -> int | None:
        """The tokens of ``text`` as the server's tokenize endpoint counts them. The endpoints of
        ``_TOKENIZERS`` are tried in order until one answers a count, and that one is kept; None
        when no path is one (``_MISSING``, or no count in a 200), which is kept too: the server
        has no tokenizer.
        A tokenizer that cannot be asked (no connection, no answer in time) or fails (another
        status, an answer without a count where it counted before) raises the ``UpstreamError``,
        and is asked again next time: a server that fails once is not taken for one without."""
        candidates = _TOKENIZERS if self._tokenizer is False else (self._tokenizer,)
        for entry in candidates:
            if entry is None or isinstance(entry, bool):
                return None
            path, key, reply = entry
            status, body = await self.transport.post(
                self.name,
                self.root + path,
                encode({key: text, "model": model}),
                {**self.headers, "content-type": "application/json"},
                self.timeout,
            )
            count = _count_of(body, reply) if status == 200 else None
            if count is not None:
                self._tokenizer = entry
                return count
            if self._tokenizer is False and (status == 200 or status in _MISSING):
                continue  # not this path: the next one
            raise BackendAnswered(self.name, f"{path} answered HTTP {status} without a token count")
        self._tokenizer = None
        return None


def _add_arguments(arguments: dict[object, str], calls: list[JSON] | None) -> None:
    """Add the pieces of arguments in a chunk's tool-call deltas to ``arguments``."""
    for call in calls or ():
        function = call.get("function") if isinstance(call, dict) else None
        piece = function.get("arguments") if isinstance(function, dict) else None
        if isinstance(piece, str):
            index = call.get("index", 0)
            arguments[index] = arguments.get(index, "") + piece


def _count_of(body: bytes, reply: str) -> int | None:
    """The token count in a tokenize endpoint's answer (a count, or the list of tokens)."""
    try:
        value = orjson.loads(body).get(reply)
    except (orjson.JSONDecodeError, AttributeError):
        return None
    count = len(value) if isinstance(value, list) else value
    return count if isinstance(count, int) and not isinstance(count, bool) else None
