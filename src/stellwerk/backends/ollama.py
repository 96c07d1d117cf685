"""Ollama's native API (``/api/chat``, ``/api/embed``; a text completion goes to
``/api/generate`` with ``raw: true``, so no template is applied): translation kept in pure
functions.

Ollama sends no headers until the model is loaded and generating; the backend's ``first_token``
timeout must cover a cold load (the default is 300 s). Its final streamed line carries the token
counts (``prompt_eval_count``, ``eval_count``), so streamed usage is the server's own. A final
line without ``done_reason`` is a stream the server cut short: an error, not a normal end.

Ollama streams each tool call whole (its arguments an object), in a line of its own or with
others; the calls are numbered across the whole stream (``index`` and ``id``), as OpenAI numbers
them, so that a client joining a stream's pieces by index reads each call as one, and the
answer's finish reason is ``tool_calls`` when any line held one (the final line holds none), and
``length`` when the answer was cut at its token limit (``done_reason: "length"``), calls or not.

Log probabilities (``logprobs``, ``top_logprobs``) go to Ollama as they are, and its
``logprobs`` list (beside the message, in every streamed line) comes back in the shape of
``stellwerk.backends.logprobs``.

A thinking model's reasoning comes apart from its answer, as ``message.thinking`` (``/api/chat``)
or ``thinking`` (``/api/generate``), streamed in pieces before the content: it is the answer's
``reasoning``, and its tokens are in ``eval_count`` with the content's. The client's ``think`` (or
its ``reasoning_effort``) is sent as ``think`` (``stellwerk.backends.thinking``), and Ollama's 400
for a model that cannot think is the client's, naming what it sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from stellwerk.backends import logprobs, thinking
from stellwerk.backends.base import Backend
from stellwerk.backends.images import refuse_image_urls
from stellwerk.backends.portable_patterns import portable_payload
from stellwerk.backends.transport import (
    parse_json,
    post_json,
    stream_error,
    stream_lines,
)
from stellwerk.backends.types import JSON, ChatChunk, ChatRequest, ChatResult, EmbedResult, Usage
from stellwerk.errors import BackendAnswered, BackendFailed, InvalidRequest

# OpenAI sampling parameter -> Ollama option.
_OPTIONS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "seed": "seed",
    "stop": "stop",
    "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
}


def message_to_wire(message: JSON) -> JSON:
    out: JSON = {"role": message.get("role", "user")}
    content = message.get("content")
    if isinstance(content, list):
        texts, images = [], []
        for part in content:
            if not isinstance(part, dict):
                continue
            if part.get("type") == "text":
                texts.append(str(part.get("text", "")))
            elif part.get("type") == "image_url":
                url = (part.get("image_url") or {}).get("url", "")
                images.append(url.split(",", 1)[1] if url.startswith("data:") else url)
        out["content"] = "\n".join(texts)
        if images:
            out["images"] = images
    else:
        out["content"] = content or ""
    if message.get("tool_calls"):
        out["tool_calls"] = [_tool_call_to_wire(call) for call in message["tool_calls"]]
    if message.get("name") and out["role"] == "tool":
        out["tool_name"] = message["name"]
    if isinstance(message.get("reasoning_content"), str):  # an earlier answer's, sent back
        out["thinking"] = message["reasoning_content"]
    return out


def _tool_call_to_wire(call: JSON) -> JSON:
    function = call.get("function") or {}
    arguments = function.get("arguments")
    if isinstance(arguments, str):
        try:
            arguments = orjson.loads(arguments) if arguments else {}
        except orjson.JSONDecodeError:
            arguments = {"_raw": arguments}
    return {"function": {"name": function.get("name", ""), "arguments": arguments or {}}}


def path_of(request: ChatRequest) -> str:
    return "/api/generate" if request.prompt is not None else "/api/chat"


def to_wire(model: str, request: ChatRequest, *, stream: bool) -> JSON:
    # the schemas' patterns as llama.cpp's grammar builder (Ollama's) is to read them
    params = portable_payload(request.params, json_safe=True)
    payload: JSON = {"model": model, "stream": stream}
    if request.prompt is not None:
        payload.update(prompt=request.prompt, raw=True)
    else:
        payload["messages"] = [message_to_wire(m) for m in request.messages]
    options = {
        _OPTIONS[key]: value
        for key, value in params.items()
        if key in _OPTIONS and value is not None
    }
    # the one cap the gateway checked and reserved (max_tokens, else max_completion_tokens);
    # each mapped as sent, the later of the two won, past the limit and the reservation
    cap = request.max_answer_tokens
    if cap is not None:  # none: no cap (Ollama's default)
        options["num_predict"] = cap
    if options:
        payload["options"] = options
    if params.get("tools"):
        payload["tools"] = params["tools"]
    think = thinking.ollama_think(params)
    if think is not None:
        payload["think"] = think
    top = logprobs.wanted(params)
    if top is not None:
        payload.update(logprobs=True, top_logprobs=top)
    response_format = params.get("response_format")
    if isinstance(response_format, dict):
        if response_format.get("type") == "json_object":
            payload["format"] = "json"
        elif response_format.get("type") == "json_schema":
            schema = (response_format.get("json_schema") or {}).get("schema")
            payload["format"] = schema if isinstance(schema, dict) else "json"
    return payload


def tool_calls_from_wire(calls: Any, first: int = 0) -> list[JSON] | None:
    """Ollama's tool calls in OpenAI's shape, numbered from ``first`` (the calls a stream sent
    before them)."""
    if not isinstance(calls, list) or not calls:
        return None
    out = []
    for index, call in enumerate(calls, start=first):
        function = call.get("function") or {} if isinstance(call, dict) else {}
        arguments = function.get("arguments", {})
        out.append(
            {
                "index": index,
                "id": f"call_{index}",
                "type": "function",
                "function": {
                    "name": function.get("name", ""),
                    "arguments": arguments
                    if isinstance(arguments, str)
                    else orjson.dumps(arguments).decode(),
                },
            }
        )
    return out


def _finish_reason(body: JSON, called: bool) -> str | None:
    """The finish reason of a final line (None before it); ``called``: the answer holds calls."""
    if not body.get("done"):
        return None
    if body.get("done_reason") == "length":
        return "length"  # cut at its limit, calls or not, as OpenAI tells it
    return "tool_calls" if called else "stop"


def _usage(body: JSON) -> Usage:
    return Usage(int(body.get("prompt_eval_count") or 0), int(body.get("eval_count") or 0))


def _reasoning(message: JSON) -> str | None:
    """A message's thinking (a piece of it, streamed); None when empty or no text."""
    value = message.get("thinking")
    return value if isinstance(value, str) and value else None


def _message(body: JSON) -> Any:
    """The message of an answer or a streamed line: ``/api/chat``'s, or ``/api/generate``'s
    ``response`` and ``thinking`` in its shape."""
    if isinstance(body.get("response"), str):  # a text completion's
        return {"content": body["response"], "thinking": body.get("thinking")}
    return body.get("message")


def result_from_wire(backend: str, body: JSON, top: int | None = None) -> ChatResult:
    """The whole answer; with its tokens' log probabilities when the request asked for ``top``
    alternatives (``logprobs.wanted``)."""
    message = _message(body)
    if not isinstance(message, dict):
        raise BackendAnswered(backend, "answer has no message")
    tool_calls = tool_calls_from_wire(message.get("tool_calls"))
    return ChatResult(
        content=message.get("content"),
        tool_calls=tool_calls,
        finish_reason=_finish_reason({**body, "done": True}, bool(tool_calls)),
        usage=_usage(body),
        logprobs=None if top is None else logprobs.from_ollama(body.get("logprobs"), top),
        reasoning=_reasoning(message),
    )


def _line(backend: str, line: str, payload: JSON) -> JSON | None:
    """A streamed line's JSON; None for a blank line. A line with an error, or a final line
    without ``done_reason`` (the server cut the answer short: it is alive), raises."""
    if not line.strip():
        return None
    body = parse_json(backend, line.encode())
    if "error" in body:
        raise stream_error(backend, body, payload)
    if body.get("done") and not body.get("done_reason"):
        raise BackendAnswered(backend, "stream interrupted: done without a done_reason")
    return body


def chunk_from_wire(body: JSON, calls: int, top: int | None, held: logprobs.Held) -> ChatChunk:
    """One streamed line as a chunk; ``calls``: the tool calls the stream sent before it,
    ``top``: the alternatives asked for, whose tokens ``held`` keeps with their text."""
    message = _message(body) or {}
    tool_calls = tool_calls_from_wire(message.get("tool_calls"), calls)
    content = message.get("content") or None
    reasoning = _reasoning(message)
    tokens = None
    if top is not None and not (reasoning and content is None):  # a thinking line's are no
        # answer's tokens; the others go with the text they make up
        tokens = held.with_text(logprobs.from_ollama(body.get("logprobs"), top), content)
    finish = _finish_reason(body, calls + len(tool_calls or ()) > 0)
    return ChatChunk(content, tool_calls, finish, logprobs=tokens, reasoning=reasoning)


def _says_something(chunk: ChatChunk) -> bool:
    """Is there anything in ``chunk`` to pass on (a line of logprobs alone is held)?"""
    return bool(
        chunk.content is not None or chunk.tool_calls or chunk.reasoning or chunk.finish_reason
    )


def _inline(request: ChatRequest) -> None:
    """Refuse an image given by URL: Ollama's API takes images inline (base64) only."""
    refuse_image_urls(
        request.messages, remote=False, inline_only="Ollama's API takes images inline only"
    )


class OllamaBackend(Backend):
    kind = "ollama"
    runs_past_context = True  # num_predict -1 (its default) shifts the context and goes on
    reads_think = True

    def _cannot_think(
        self, model: str, payload: JSON, request: ChatRequest, exc: InvalidRequest
    ) -> None:
        """Raise the client's refusal when Ollama's 400 ``exc`` refused ``think``."""
        refused = thinking.refused_thinking(self.name, model, payload, request.params, exc)
        if refused is not None:
            raise refused from exc

    async def complete(self, model: str, request: ChatRequest) -> ChatResult:
        _inline(request)
        payload = to_wire(model, request, stream=False)
        try:
            body = await post_json(
                self.transport,
                self.name,
                self.url(path_of(request)),
                payload,
                headers=self.headers,
                timeout=self.timeout,
            )
        except InvalidRequest as exc:
            self._cannot_think(model, payload, request, exc)
            raise
        return result_from_wire(self.name, body, logprobs.wanted(request.params))

    async def stream(self, model: str, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        _inline(request)
        payload = to_wire(model, request, stream=True)
        usage: Usage | None = None
        calls = 0  # the tool calls streamed so far
        top = logprobs.wanted(request.params)
        held = logprobs.Held()
        try:
            async with stream_lines(
                self.transport,
                self.name,
                self.url(path_of(request)),
                payload,
                headers=self.headers,
                timeout=self.timeout,
            ) as lines:
                async for line in lines:
                    body = _line(self.name, line, payload)
                    if body is None:
                        continue
                    chunk = chunk_from_wire(body, calls, top, held)
                    calls += len(chunk.tool_calls or ())
                    if _says_something(chunk):
                        yield chunk
                    if body.get("done"):
                        usage = _usage(body)
                        break
        except InvalidRequest as exc:  # refused before it streamed (nothing in it raises one)
            self._cannot_think(model, payload, request, exc)
            raise
        if usage is None:
            raise BackendAnswered(self.name, "stream ended before its final line")
        yield ChatChunk(usage=usage)

    def uncut(self) -> JSON:
        """Ollama cuts an embedding input at the context unless told ``truncate: false``."""
        return {"truncate": False}

    async def embed(self, model: str, inputs: list[str], params: JSON | None = None) -> EmbedResult:
        body = await post_json(
            self.transport,
            self.name,
            self.url("/api/embed"),
            {**(params or {}), "model": model, "input": inputs},
            headers=self.headers,
            timeout=self.timeout,
        )
        vectors = body.get("embeddings")
        if not isinstance(vectors, list):
            raise BackendAnswered(self.name, "embedding answer has no embeddings")
        return EmbedResult(
            [list(map(float, v)) for v in vectors], int(body.get("prompt_eval_count") or 0)
        )

    async def probe(self) -> None:
        status, _ = await self.transport.get(
            self.name, self.url("/api/version"), self.headers, self.timeout
        )
        if status >= 400:
            raise BackendFailed(self.name, f"/api/version answered HTTP {status}")
