"""``POST /v1/completions``: OpenAI's legacy text completion, for models with the
``completion`` capability. The prompt goes to the model as it is, without the chat template
(``/v1/completions`` of an OpenAI-compatible server, ``/api/generate`` with ``raw: true`` of
Ollama), the way of a chat request otherwise (:mod:`stellwerk.gateway.pipeline`).

One prompt per request (a string, or a list holding one); token-id prompts are refused.
Known parameters (the sampling parameters chat takes, ``stellwerk.gateway.sampling``) are
type-checked strictly, and one it does not know is refused unless an operator allows it, as for
chat (``stellwerk.gateway.unknown_params``).
``suffix`` (the text after the completion: insertion, fill-in-the-middle) is refused by name,
as ``/api/generate`` refuses it: the model servers do not honour it at ``/v1/completions``
(llama.cpp's ``llama-server`` answers "Unsupported param: suffix", as a server error, and fills
in the middle at its own ``/infill`` only; llama-cpp-python's server wraps the prompt in token
id 0 where a model's infill tokens belong), so the answer would fail, or be made from a garbled
prompt. An empty one is absent, as OpenAI reads it.

``logprobs: N`` (0 to 5) asks for the answer's tokens with their log probabilities and the N
most likely alternatives of each: it goes to the backend as the chat parameters
(``logprobs: true``, ``top_logprobs: N``; ``stellwerk.backends.logprobs``) and comes back in
OpenAI's legacy form (``tokens``, ``token_logprobs``, ``top_logprobs`` one ``{token: logprob}``
per token, ``text_offset`` counted from the prompt's end, or its start with ``echo``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator
from functools import partial
from typing import Annotated, Any

import orjson
from pydantic import BeforeValidator, Field, Tag, model_validator
from starlette.requests import Request
from starlette.responses import Response

from stellwerk.backends.types import ChatChunk, ChatRequest, ChatResult
from stellwerk.errors import InvalidRequest, StellwerkError
from stellwerk.gateway import openai_wire as wire
from stellwerk.gateway.body import parse
from stellwerk.gateway.calls import Call
from stellwerk.gateway.deps import runtime_of
from stellwerk.gateway.nested_params import Keyed, nested_unknown
from stellwerk.gateway.openai_schema import StreamOptions, only_when_streamed, refuse_suffix
from stellwerk.gateway.pipeline import Exchange, serve
from stellwerk.gateway.responses_schema import TEXT_OR_LIST
from stellwerk.gateway.sampling import SamplingParams
from stellwerk.gateway.token_ids import refused, token_ids
from stellwerk.gateway.unknown_params import Allowed, nothing, refuse_unknown, unknown_of


def _text(value: Any) -> Any:
    """A prompt of token ids is told so plainly, as ``/v1/embeddings`` tells an input of them."""
    if token_ids(value):
        raise ValueError(refused("prompt", "a string (one prompt per request)"))
    return value


class CompletionRequest(SamplingParams, Keyed):
    model: str = Field(min_length=1)
    prompt: Annotated[
        Annotated[
            Annotated[str, Tag("text")] | Annotated[list[str], Field(min_length=1), Tag("list")],
            TEXT_OR_LIST,
        ],
        BeforeValidator(_text),
    ]
    stream: bool = False
    stream_options: StreamOptions | None = None
    best_of: int | None = Field(default=None, ge=1, le=1)
    echo: bool | None = None
    suffix: str | None = None
    logprobs: int | None = Field(default=None, ge=0, le=5)

    @model_validator(mode="after")
    def _stream_options_need_stream(self) -> CompletionRequest:
        only_when_streamed(self.stream, self.stream_options)
        return self


_NOT_PASSED = {
    "model",
    "prompt",
    "stream",
    "stream_options",
    "user",
    "n",
    "best_of",
    "suffix",
    "logprobs",
}


def completion_request(
    body: CompletionRequest, allowed: frozenset[str] = frozenset()
) -> ChatRequest:
    """The request of ``body`` as a chat request holding its prompt; a parameter it does not
    know (inside ``stream_options`` too: ``nested_params``) is refused unless ``allowed``
    (``unknown_params``)."""
    places = nested_unknown(body)
    unknown = refuse_unknown(unknown_of(body.model_extra) | places, allowed, places)
    refuse_suffix(body.suffix, "inserting a completion before a suffix (fill-in-the-middle)")
    prompt = body.prompt
    if isinstance(prompt, list):
        if len(prompt) != 1:
            raise InvalidRequest(
                f"prompt: one prompt per request, not {len(prompt)}", param="prompt"
            )
        prompt = prompt[0]
    if not prompt:
        raise InvalidRequest("prompt must not be empty", param="prompt")
    params = body.model_dump(exclude_none=True, exclude=_NOT_PASSED)
    if body.logprobs is not None:
        params.update(logprobs=True, top_logprobs=body.logprobs)
    return ChatRequest(
        messages=[{"role": "user", "content": prompt}],
        params=params,
        prompt=prompt,
        unknown=unknown,
    )


def _legacy(entries: list[dict[str, Any]] | None, offset: int) -> dict[str, Any] | None:
    """The tokens' log probabilities in the legacy form, the first token at ``offset``."""
    if entries is None:
        return None
    offsets = []
    for entry in entries:
        offsets.append(offset)
        offset += len(entry["token"])
    return {
        "tokens": [entry["token"] for entry in entries],
        "token_logprobs": [entry["logprob"] for entry in entries],
        "top_logprobs": [
            {other["token"]: other["logprob"] for other in entry["top_logprobs"]}
            for entry in entries
        ],
        "text_offset": offsets,
    }


def _choice(
    text: str, finish_reason: str | None, logprobs: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {"index": 0, "text": text, "finish_reason": finish_reason, "logprobs": logprobs}


class CompletionExchange(Exchange):
    prompt_param = "prompt"

    def __init__(self, raw: bytes, request_id: str, allowed: Allowed = nothing) -> None:
        self.body = parse(CompletionRequest, raw)
        self.model, self.stream = self.body.model, self.body.stream
        self.chat = completion_request(self.body, allowed(self.model))
        self.id = f"cmpl-{request_id}"
        self.created = int(time.time())
        # where the answer's first token is in the text: after the prompt, unless echoed
        self.offset = 0 if self.body.echo else len(self.chat.prompt or "")

    def _object(self, call: Call, **fields: Any) -> dict[str, Any]:
        assert call.model is not None
        return {
            "id": self.id,
            "object": "text_completion",
            "created": self.created,
            "model": call.model.id,
            **fields,
        }

    def plain(self, call: Call, result: ChatResult) -> bytes:
        logprobs = _legacy(result.logprobs, self.offset)
        choice = _choice(result.content or "", result.finish_reason or "stop", logprobs)
        return orjson.dumps(
            self._object(call, choices=[choice], usage=wire.usage_json(result.usage))
        )

    async def events(
        self, call: Call, chunks: AsyncIterator[ChatChunk]
    ) -> AsyncGenerator[bytes, None]:
        async for chunk in chunks:
            logprobs = _legacy(chunk.logprobs, self.offset)
            self.offset += len(chunk.content or "")
            choice = _choice(chunk.content or "", chunk.finish_reason, logprobs)
            body = self._object(call, choices=[choice])
            yield b"data: " + orjson.dumps(body) + b"\n\n"
        options = self.body.stream_options
        if options is not None and options.include_usage and call.usage is not None:
            body = self._object(call, choices=[], usage=wire.usage_json(call.usage))
            yield b"data: " + orjson.dumps(body) + b"\n\n"
        yield wire.DONE

    def error_event(self, exc: StellwerkError) -> bytes:
        return wire.error_event(exc)


async def completions(request: Request) -> Response:
    """Legacy text completion of one ``prompt``, for models with the ``completion``
    capability (a route chooses among those); ``stream`` for SSE."""
    read = partial(CompletionExchange, allowed=runtime_of(request).allowed)
    return await serve(request, "openai", "completions", read)
