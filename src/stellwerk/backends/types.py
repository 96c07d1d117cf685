"""Stellwerk's internal request and response shapes, independent of any wire protocol.

Messages, tools and tool calls keep the OpenAI chat shape (the lingua franca of the clients);
each backend translates them to and from its own wire format in pure functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one request; ``source`` says how they were obtained."""

    prompt_tokens: int
    completion_tokens: int
    source: str = "backend"

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """A chat request after parsing: OpenAI-shaped messages and the parameters to pass on.

    ``params`` holds only parameters the client set (temperature, top_p, max_tokens, stop, seed,
    presence_penalty, frequency_penalty, tools, tool_choice, response_format ...).
    """

    messages: list[JSON]
    params: JSON = field(default_factory=dict)
    #: A legacy text completion (``/v1/completions``): the prompt goes to the model as it is,
    #: with no chat template; ``messages`` then holds it as one user message, for the limits,
    #: the size estimates and the router.
    prompt: str | None = None
    #: The names in ``params`` of parameters the gateway does not know, which the client sent:
    #: passed on only to a backend that allows each (``backends[].pass_params``), another
    #: backend is skipped (``stellwerk.gateway.unknown_params``).
    unknown: frozenset[str] = frozenset()

    @property
    def max_answer_tokens(self) -> int | None:
        """The client's cap on the answer length: ``max_tokens`` (Ollama's ``num_predict``
        arrives as it), else ``max_completion_tokens``; None when it set neither."""
        asked = self.params.get("max_tokens") or self.params.get("max_completion_tokens")
        if isinstance(asked, int) and not isinstance(asked, bool) and asked > 0:
            return asked
        return None


@dataclass(frozen=True, slots=True)
class ChatResult:
    content: str | None
    tool_calls: list[JSON] | None
    finish_reason: str | None
    usage: Usage
    #: the answer's tokens with their log probabilities, when the client asked for them
    #: (``stellwerk.backends.logprobs``); None when it did not, or the server sent none
    logprobs: list[JSON] | None = None
    #: the model's reasoning before its answer, as the server sent it apart from the content
    #: (``reasoning_content``: llama.cpp's ``--reasoning-format``, vLLM's reasoning parsers)
    reasoning: str | None = None


@dataclass(frozen=True, slots=True)
class ChatChunk:
    """One streamed piece: a content delta, tool-call deltas, the finish reason, or the usage;
    a content delta carries its tokens' log probabilities when the client asked for them."""

    content: str | None = None
    tool_calls: list[JSON] | None = None
    finish_reason: str | None = None
    usage: Usage | None = None
    logprobs: list[JSON] | None = None
    reasoning: str | None = None  # a piece of the reasoning (``ChatResult.reasoning``)


@dataclass(frozen=True, slots=True)
class EmbedResult:
    vectors: list[list[float]]
    prompt_tokens: int
    usage_source: str = "backend"
