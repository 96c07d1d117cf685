"""The JSON answers of the gateway, for the OpenAPI schema only.

The handlers render their answers themselves (``orjson``, see ``openai_wire`` / ``ollama_wire``)
and return a ``Response``, which FastAPI sends as it is: these models document the shape
(``response_model=``) and never touch the request path. The fuzz test checks every answer
against them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from stellwerk.config.schema import Capability


class TokenUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AssistantMessageOut(BaseModel):
    role: Literal["assistant"]
    content: str | None
    tool_calls: list[dict[str, Any]] | None = None


class TopLogprob(BaseModel):
    token: str
    logprob: float
    bytes: list[int] | None


class TokenLogprob(TopLogprob):
    top_logprobs: list[TopLogprob]


class ChoiceLogprobs(BaseModel):
    """The answer's tokens with their log probabilities (``logprobs: true``), each with the
    ``top_logprobs`` most likely alternatives."""

    content: list[TokenLogprob] | None
    refusal: None = None


class CompletionChoice(BaseModel):
    index: int
    message: AssistantMessageOut
    finish_reason: str
    logprobs: ChoiceLogprobs | None
    """None unless the request asked for ``logprobs``."""


class ChatCompletion(BaseModel):
    """A chat completion; streamed (``"stream": true``) it is a series of SSE events instead."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: TokenUsage


class Embedding(BaseModel):
    object: Literal["embedding"]
    index: int
    embedding: list[float] | str  # str: base64 of little-endian float32


class EmbeddingUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingList(BaseModel):
    object: Literal["list"]
    model: str
    data: list[Embedding]
    usage: EmbeddingUsage


class ModelEntry(BaseModel):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str
    capabilities: list[Capability] = Field(
        description="not OpenAI's: what the model can do, as its config lists it; a route's,"
        " what the models it may choose for the key can"
    )


class ModelList(BaseModel):
    object: Literal["list"]
    data: list[ModelEntry]


class OllamaMessageOut(BaseModel):
    role: Literal["assistant"]
    content: str
    tool_calls: list[dict[str, Any]] | None = None


class OllamaChatResponse(BaseModel):
    """The answer with ``"stream": false``; streamed, it is NDJSON lines of this shape."""

    model: str
    created_at: str
    message: OllamaMessageOut
    done: bool
    done_reason: str | None = None
    total_duration: int | None = None
    prompt_eval_count: int | None = None
    eval_count: int | None = None


class OllamaGenerateResponse(BaseModel):
    """The answer with ``"stream": false``; streamed, it is NDJSON lines of this shape."""

    model: str
    created_at: str
    response: str
    done: bool
    done_reason: str | None = None
    total_duration: int | None = None
    prompt_eval_count: int | None = None
    eval_count: int | None = None


class OllamaEmbedResponse(BaseModel):
    model: str
    embeddings: list[list[float]]
    total_duration: int
    load_duration: int
    prompt_eval_count: int


class OllamaEmbeddingResponse(BaseModel):
    embedding: list[float]


class OllamaModelDetails(BaseModel):
    format: str
    family: str
    families: list[str]
    parameter_size: str
    quantization_level: str


class OllamaModel(BaseModel):
    name: str
    model: str
    modified_at: str
    size: int
    digest: str
    details: OllamaModelDetails
    expires_at: str | None = None  # /api/ps only
    size_vram: int | None = None  # /api/ps only
    context_length: int | None = None  # /api/ps only


class OllamaModelList(BaseModel):
    models: list[OllamaModel]


class OllamaShowResponse(BaseModel):
    details: OllamaModelDetails
    model_info: dict[str, Any]
    capabilities: list[Literal["completion", "tools", "vision", "embedding", "thinking"]]
    modified_at: str


class OllamaVersion(BaseModel):
    version: str


class Health(BaseModel):
    status: Literal["ok"]


class BackendReadiness(BaseModel):
    ready: bool
    error: str | None
    circuit: str | None = None  # the breaker's state: closed, open, half_open


class RedisReadiness(BaseModel):
    """Whether the limit counters reach Redis (model requests are refused with 503 while not)."""

    ready: bool
    error: str | None


class LedgerReadiness(BaseModel):
    """The ledger writer: failing writes leave it ready (records held, written later) until it
    holds ``capacity`` records and requests wait for room."""

    ready: bool
    error: str | None
    held: int
    capacity: int
    consecutive_failures: int
    failing_since: datetime | None


class NoticesReadiness(BaseModel):
    """Whether this replica listens for governance notices (Redis); told, not counted in the
    status: while it does not, it follows changes at its poll and the replica that makes a
    change waits for it and says it did not acknowledge."""

    listening: bool
    error: str | None


class GovernanceReadiness(BaseModel):
    """Whether this replica has read every governance change announced to it: not ready while
    it knows it missed one (model requests get 503 ``governance_stale`` meanwhile)."""

    ready: bool
    error: str | None
    stale_since: datetime | None


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    # only for a metrics or admin key (or with server.ops_require_key: false)
    backends: dict[str, BackendReadiness] | None = None
    redis: RedisReadiness | None = None  # with server.redis_url only
    ledger: LedgerReadiness | None = None
    governance_notices: NoticesReadiness | None = None  # with server.redis_url only
    governance: GovernanceReadiness | None = None  # with server.redis_url only


class ResponseUsage(BaseModel):
    input_tokens: int
    input_tokens_details: dict[str, int]
    output_tokens: int
    output_tokens_details: dict[str, int]
    total_tokens: int


class ResponseObject(BaseModel):
    """A model response of the Responses API; streamed it is a series of SSE events
    (``response.created`` ... ``response.completed``) instead."""

    id: str
    object: Literal["response"]
    created_at: int
    status: Literal["completed", "incomplete"]
    error: None
    incomplete_details: dict[str, str] | None
    instructions: str | None
    max_output_tokens: int | None
    model: str
    output: list[dict[str, Any]]
    parallel_tool_calls: bool
    previous_response_id: None
    store: Literal[False]
    temperature: float | None
    text: dict[str, Any]
    tool_choice: str | dict[str, Any]
    tools: list[dict[str, Any]]
    top_p: float | None
    truncation: str
    usage: ResponseUsage
    metadata: dict[str, str]
    user: str | None


class TextChoice(BaseModel):
    index: int
    text: str
    finish_reason: str
    logprobs: dict[str, Any] | None


class TextCompletion(BaseModel):
    """A legacy text completion; streamed it is a series of SSE events instead."""

    id: str
    object: Literal["text_completion"]
    created: int
    model: str
    choices: list[TextChoice]
    usage: TokenUsage


class FeedbackAnswer(BaseModel):
    """A grade taken (``POST /v1/feedback``)."""

    object: Literal["feedback"]
    request_id: str
    model: str
    score: float
    task: str | None
