"""Ollama's API as Ollama clients send and expect it, translated to and from Stellwerk's shapes.

Follows what Open WebUI, Langflow's Ollama component and the ``ollama`` Python library use:
``stream`` defaults to true, sampling options sit under ``options``, images are base64 strings,
tool-call arguments are JSON objects, the final streamed line carries the counts and durations.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from stellwerk.backends.types import ChatChunk, ChatRequest, ChatResult, Usage
from stellwerk.errors import InvalidRequest
from stellwerk.gateway.embedding_schema import EmbeddingInput, EmbeddingText
from stellwerk.gateway.ollama_fields import KeepAlive, OutputFormat, Think
from stellwerk.gateway.openai_schema import (
    ModelName,
    Tool,
    alternatives_need_logprobs,
    refuse_suffix,
    refuse_unshaped_tools,
)

# Ollama option -> OpenAI parameter.
_PARAMS = {
    "num_predict": "max_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
    "seed": "seed",
    "stop": "stop",
    "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
}


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True, allow_inf_nan=False)


class OllamaFunctionCall(_Open):
    name: str = Field(min_length=1)
    arguments: dict[str, Any] = Field(default_factory=dict)
    index: int | None = None


class OllamaToolCall(_Open):
    function: OllamaFunctionCall
    id: str | None = None


class OllamaMessage(_Open):
    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    thinking: str | None = None
    images: list[str] | None = None
    tool_calls: list[OllamaToolCall] | None = None
    tool_name: str | None = None


class OllamaOptions(_Open):
    """Every option of Ollama's API (its Modelfile parameters and runner settings), typed as
    Ollama types them: a wrong type is a 400 as Ollama itself gives. Those with an OpenAI
    counterpart are passed on (``_PARAMS``); the others are checked and not passed on.
    ``num_predict`` takes the lengths Ollama defines: a count of tokens, -1 (no limit) or -2
    (until the context is full), both of which go on as no ``max_tokens`` (the backend stops at
    the end of the context either way); 0 and below -2 Ollama defines no meaning for."""

    num_predict: int | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    seed: int | None = Field(default=None, ge=-(2**63), lt=2**63)
    stop: str | list[str] | None = None
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    num_keep: int | None = None
    top_k: int | None = None
    min_p: float | None = None
    typical_p: float | None = None
    tfs_z: float | None = None
    repeat_last_n: int | None = None
    repeat_penalty: float | None = None
    penalize_newline: bool | None = None
    mirostat: int | None = None
    mirostat_tau: float | None = None
    mirostat_eta: float | None = None
    num_ctx: int | None = None
    num_batch: int | None = None
    num_gpu: int | None = None
    main_gpu: int | None = None
    num_thread: int | None = None
    numa: bool | None = None
    low_vram: bool | None = None
    f16_kv: bool | None = None
    vocab_only: bool | None = None
    use_mmap: bool | None = None
    use_mlock: bool | None = None
    logits_all: bool | None = None
    embedding_only: bool | None = None

    @field_validator("num_predict")
    @classmethod
    def _defined_length(cls, value: int | None) -> int | None:
        if value is not None and (value == 0 or value < -2):
            raise ValueError(
                f"{value} is not a length Ollama defines: give a number of tokens (1 or more),"
                " -1 for no limit or -2 to fill the context"
            )
        return value


class _Logprobs(_Open):
    """``logprobs`` and ``top_logprobs`` (0 to 20) of ``/api/chat`` and ``/api/generate``.
    ``top_logprobs`` without ``logprobs: true`` is refused, by chat's rule
    (``alternatives_need_logprobs``): Ollama would leave the alternatives out silently; but a 0
    is Ollama's default, sent by clients that send every field, and asks for nothing."""

    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)

    @model_validator(mode="after")
    def _top_logprobs_need_logprobs(self) -> _Logprobs:
        alternatives_need_logprobs(self.logprobs, self.top_logprobs, zero_is_default=True)
        return self

    def asked(self, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` with the log probabilities asked for, in OpenAI's chat parameters."""
        if self.logprobs:
            params.update(logprobs=True, top_logprobs=self.top_logprobs or 0)
        return params


class OllamaChatRequest(_Logprobs):
    """``/api/chat``; without messages, Ollama's load (or, with ``keep_alive`` 0, unload) of the
    model (``idle_kind``)."""

    model: ModelName
    messages: list[OllamaMessage] = Field(default_factory=list)
    stream: bool = True
    format: OutputFormat | None = None
    options: OllamaOptions | None = None
    tools: list[Tool] | None = None
    keep_alive: KeepAlive | None = None
    think: Think | None = None

    @model_validator(mode="after")
    def _tools_shaped(self) -> OllamaChatRequest:
        refuse_unshaped_tools(self.tools)
        return self


class OllamaGenerateRequest(_Logprobs):
    """``/api/generate``: one prompt (and an optional system prompt) instead of messages;
    without one (or an empty one), Ollama's load or unload of the model (``idle_kind``)."""

    model: ModelName
    prompt: str = ""
    suffix: str | None = None
    system: str | None = None
    template: str | None = None
    context: list[int] | None = None
    raw: bool | None = None
    images: list[str] | None = None
    stream: bool = True
    format: OutputFormat | None = None
    options: OllamaOptions | None = None
    keep_alive: KeepAlive | None = None
    think: Think | None = None


class OllamaEmbedRequest(_Open):
    model: ModelName
    input: EmbeddingInput
    truncate: bool | None = None
    dimensions: int | None = Field(default=None, ge=1)
    options: OllamaOptions | None = None
    keep_alive: KeepAlive | None = None


class OllamaEmbeddingsRequest(_Open):
    """``/api/embeddings``, Ollama's older embeddings endpoint: one ``prompt``, one vector.
    Ollama documents no ``truncate`` for it; it is read as ``/api/embed`` reads it, so that a
    client that asks for its prompt not to be cut is not answered with a cut embedding."""

    model: ModelName
    prompt: EmbeddingText
    truncate: bool | None = None
    options: OllamaOptions | None = None
    keep_alive: KeepAlive | None = None


class ShowRequest(_Open):
    """The model to describe; ``name`` is the older spelling of ``model``."""

    model: ModelName | None = None
    name: ModelName | None = None
    verbose: bool | None = None


def _content(text: str, images: list[str] | None, where: str) -> str | list[dict[str, Any]]:
    """A message's content in OpenAI's shape: the text, or text and image parts (``where``:
    the images' place in the body, for the error of one that is not base64)."""
    if not images:
        return text
    for i, image in enumerate(images):
        _check_base64(image, f"{where}.{i}")
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    parts += [
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{image}"}}
        for image in images
    ]
    return parts


def _check_base64(image: str, where: str) -> None:
    """Refuse an image that is not base64 (Ollama's encoding of images) by its place, before
    a model is chosen for it: else the request reads as one no model can serve."""
    try:
        base64.b64decode(image.replace("\r", "").replace("\n", ""), validate=True)
    except ValueError as exc:
        raise InvalidRequest(
            f"{where}: the image is not valid base64 (Ollama's API takes images as base64"
            " strings of the file's bytes)",
            param=where,
        ) from exc


def _message(message: OllamaMessage, answer: int = 0, index: int = 0) -> dict[str, Any]:
    """One message in OpenAI's shape; a tool message answers the ``answer``-th call of the
    assistant message before it (Ollama has no call ids; the calls get ``call_<i>``)."""
    out: dict[str, Any] = {
        "role": message.role,
        "content": _content(message.content, message.images, f"messages.{index}.images"),
    }
    if message.tool_calls:
        out["tool_calls"] = [
            {
                "id": f"call_{i}",
                "type": "function",
                "function": {
                    "name": call.function.name,
                    "arguments": _arguments(call.function.arguments),
                },
            }
            for i, call in enumerate(message.tool_calls)
        ]
    if message.thinking and message.role == "assistant":  # an earlier answer's, sent back
        out["reasoning_content"] = message.thinking
    if message.role == "tool":
        out["tool_call_id"] = f"call_{answer}"
        if message.tool_name:
            out["name"] = message.tool_name
    return out


def _arguments(arguments: dict[str, Any]) -> str:
    """A tool call's arguments as OpenAI's JSON string; JSON's numbers past 64 bits do not fit."""
    try:
        return orjson.dumps(arguments).decode()
    except TypeError as exc:
        raise InvalidRequest(
            f"a tool call's arguments cannot be passed on: {exc}", param="messages"
        ) from exc


def _messages(messages: list[OllamaMessage]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    answer = 0
    for index, message in enumerate(messages):
        out.append(_message(message, answer, index))
        answer = answer + 1 if message.role == "tool" else 0
    return out


def generate_request(body: OllamaGenerateRequest) -> ChatRequest:
    """The prompt as a user message after the system prompt, if any; built directly, as going
    through ``OllamaChatRequest`` costs three to four times as much and checks nothing new.
    With ``raw``, the prompt as it is, a text completion without the chat template (for models
    with the ``completion`` capability, as ``/v1/completions``). A ``template`` of the request
    cannot be applied (the model server applies the model's own): it is refused, except with
    ``raw``, which ignores it as Ollama does. ``suffix`` and ``context`` would be dropped, so
    they are refused (``_unsupported``); an empty one is absent, as Ollama reads it."""
    if body.suffix or body.context:
        _unsupported(body)
    if body.raw:
        return _raw_request(body)
    if body.template:
        raise InvalidRequest(
            "template: a prompt template of the request is not supported (the model's own chat"
            " template is applied); to send a prompt templated by yourself, send it with"
            ' "raw": true',
            param="template",
        )
    messages: list[dict[str, Any]] = []
    if body.system:
        messages.append({"role": "system", "content": body.system})
    messages.append({"role": "user", "content": _content(body.prompt, body.images, "images")})
    params = body.asked(_params(body.options, None, body.format, body.think))
    return ChatRequest(messages=messages, params=params)


def _unsupported(body: OllamaGenerateRequest) -> None:
    """Refuse what the answer could not honour and would silently leave out: a ``suffix``
    (fill-in-the-middle needs the model's infill template, which no backend is asked for) and
    a ``context`` (token ids of the conversation so far, from one Ollama server's tokenizer)."""
    refuse_suffix(body.suffix, "fill-in-the-middle")
    raise InvalidRequest(
        "context: the conversation state of /api/generate (token ids, deprecated by Ollama) is"
        " not supported; send the conversation as messages to /api/chat",
        param="context",
    )


def _raw_request(body: OllamaGenerateRequest) -> ChatRequest:
    """``raw: true``: the prompt goes to the model as it is; what only a template could place
    (a system prompt, images) is refused rather than dropped."""
    for name, value in (("system", body.system), ("images", body.images)):
        if value:
            raise InvalidRequest(
                f'{name}: a "raw": true prompt goes to the model as it is, without a template'
                f" to place the {name} in; put it into the prompt or leave out raw",
                param=name,
            )
    params = body.asked(_params(body.options, None, body.format, body.think))
    # no num_predict (or -1, -2) is Ollama's "no limit"; a text completion's server stops at
    # its own default without a max_tokens (16 for OpenAI's and llama-cpp-python's), so the
    # cap is sent as null: no limit, up to the context (an Ollama backend is sent none)
    params.setdefault("max_tokens", None)
    return ChatRequest(
        messages=[{"role": "user", "content": body.prompt}], params=params, prompt=body.prompt
    )


def chat_request(body: OllamaChatRequest) -> ChatRequest:
    return ChatRequest(
        messages=_messages(body.messages),
        params=body.asked(_params(body.options, body.tools, body.format, body.think)),
    )


#: a tool's fields, the ones passed on of an Ollama request's tools
_TOOL: dict[str, Any] = {
    "type": True,
    "function": {"name": True, "description": True, "parameters": True, "strict": True},
}


def _params(
    options: OllamaOptions | None,
    tools: list[Tool] | None,
    output: str | dict[str, Any] | None,
    think: Think | None = None,
) -> dict[str, Any]:
    """The OpenAI parameters for Ollama's options, tools and output format; ``think`` as it
    came (``stellwerk.backends.thinking`` says which backend reads it)."""
    params: dict[str, Any] = {} if think is None else {"think": think}
    for key, value in (options.model_dump(exclude_none=True) if options else {}).items():
        target = _PARAMS.get(key)
        if target == "max_tokens" and value < 0:
            continue  # Ollama's -1 (no limit) and -2 (fill the context): no max_tokens
        if target is not None and value is not None:
            params[target] = value
    if tools:  # their fields, no other key (Ollama reads none: nor is one passed on)
        params["tools"] = [tool.model_dump(exclude_none=True, include=_TOOL) for tool in tools]
    if output == "json":
        params["response_format"] = {"type": "json_object"}
    elif isinstance(output, dict):
        params["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "response", "schema": output},
        }
    return params


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _tool_calls(calls: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """The calls as Ollama sends them: arguments an object, ``{"_raw": ...}`` when the model's
    are no JSON object (Ollama's clients take nothing else: the ``ollama`` library fails)."""
    if not calls:
        return None
    out = []
    for call in calls:
        function = call.get("function") or {}
        arguments = function.get("arguments") or "{}"
        try:
            parsed = orjson.loads(arguments) if isinstance(arguments, str) else arguments
        except orjson.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, dict):
            parsed = {"_raw": arguments}
        out.append({"function": {"name": function.get("name", ""), "arguments": parsed}})
    return out


def _final_fields(usage: Usage | None, total_ns: int, done_reason: str) -> dict[str, Any]:
    usage = usage or Usage(0, 0, "none")
    return {
        "done": True,
        "done_reason": done_reason,
        "total_duration": total_ns,
        "load_duration": 0,
        "prompt_eval_count": usage.prompt_tokens,
        "prompt_eval_duration": 0,
        "eval_count": usage.completion_tokens,
        "eval_duration": total_ns,
    }


def answer_fields(
    content: str | None, tool_calls: Any, generate: bool, thinking: str | None = None
) -> dict[str, Any]:
    """``/api/chat`` answers with a message, ``/api/generate`` with the response text; the
    backend's reasoning (``reasoning_content``) is Ollama's ``thinking`` of either."""
    if generate:
        return {"response": content or ""} | ({"thinking": thinking} if thinking else {})
    message: dict[str, Any] = {"role": "assistant", "content": content or ""}
    if thinking:
        message["thinking"] = thinking
    calls = _tool_calls(tool_calls)
    if calls:
        message["tool_calls"] = calls
    return {"message": message}


def _logprobs(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tokens' log probabilities as Ollama sends them: ``bytes`` and ``top_logprobs`` left
    out when empty (Go's ``omitempty``)."""
    out = []
    for entry in entries:
        item = {"token": entry["token"], "logprob": entry["logprob"]}
        if entry["bytes"]:
            item["bytes"] = entry["bytes"]
        if entry["top_logprobs"]:
            item["top_logprobs"] = entry["top_logprobs"]
        out.append(item)
    return out


def chat_response(model: str, result: ChatResult, total_ns: int, *, generate: bool) -> bytes:
    done_reason = "length" if result.finish_reason == "length" else "stop"
    body = {
        "model": model,
        "created_at": now_iso(),
        **answer_fields(result.content, result.tool_calls, generate, result.reasoning),
        **_final_fields(result.usage, total_ns, done_reason),
    }
    if result.logprobs is not None:
        body["logprobs"] = _logprobs(result.logprobs)
    return orjson.dumps(body)


def chat_line(model: str, chunk: ChatChunk, *, generate: bool) -> bytes:
    body = {
        "model": model,
        "created_at": now_iso(),
        **answer_fields(chunk.content, chunk.tool_calls, generate, chunk.reasoning),
        "done": False,
    }
    if chunk.logprobs is not None:
        body["logprobs"] = _logprobs(chunk.logprobs)
    return orjson.dumps(body) + b"\n"


def final_line(
    model: str, usage: Usage | None, total_ns: int, done_reason: str, *, generate: bool
) -> bytes:
    body = {
        "model": model,
        "created_at": now_iso(),
        **answer_fields("", None, generate),
        **_final_fields(usage, total_ns, done_reason),
    }
    return orjson.dumps(body) + b"\n"


def error_line(message: str) -> bytes:
    return orjson.dumps({"error": message}) + b"\n"
