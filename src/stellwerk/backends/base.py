"""The backend seam: ``complete``, ``stream``, ``embed`` and ``probe`` over one injected transport.

Built-in backends are listed by ``stellwerk.backends.registry``, the way a third party's would be.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable

from stellwerk.backends.transport import Timeouts, Transport
from stellwerk.backends.types import JSON, ChatChunk, ChatRequest, ChatResult, EmbedResult
from stellwerk.config.schema import BackendConfig


class Backend(ABC):
    """One model server. Instances share the app's pooled ``Transport``."""

    kind: str = "abstract"
    #: Without a cap on the answer the server may generate past the model's context (Ollama
    #: shifts the context and goes on, up to ten times it), past what the gateway reserved (an
    #: answer at most the context): such a request is sent the context as its cap.
    runs_past_context: bool = False
    #: The server reads the client's ``think`` (Ollama's); another is refused thinking asked
    #: for that way (``stellwerk.backends.thinking``).
    reads_think: bool = False

    def __init__(
        self, config: BackendConfig, transport: Transport, api_key: str | None = None
    ) -> None:
        self.config = config
        self.name = config.name
        self.transport = transport
        self.headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self.timeout = Timeouts(connect=config.timeouts.connect, read=config.timeouts.first_token)

    def url(self, path: str) -> str:
        return self.config.base_url + path

    @abstractmethod
    async def complete(self, model: str, request: ChatRequest) -> ChatResult:
        """One whole answer; for a ``request.prompt`` a text completion of it, without the
        chat template."""

    @abstractmethod
    def stream(self, model: str, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        """The answer chunk by chunk, passed on as it arrives; the last chunk carries usage."""

    @abstractmethod
    async def embed(self, model: str, inputs: list[str], params: JSON | None = None) -> EmbedResult:
        """One vector per input; ``params`` are the client's other parameters (``dimensions``,
        ``input_type``, ``user`` ...), passed on as they came."""

    def uncut(self) -> JSON:
        """The parameters that ask the server to refuse, not cut, an embedding input longer
        than it embeds, added to a request whose inputs may not be cut
        (``gateway.whole_inputs``). None by default: OpenAI's API and the servers that follow
        it refuse one unasked, and where the server has a tokenizer the gateway counts."""
        return {}

    async def prompt_tokens(self, model: str, request: ChatRequest) -> int | None:
        """The prompt's tokens as the server's own tokenizer counts them (for a stream that
        ended before the server reported its usage, for an embedding input that may not be
        cut); None where the server has no tokenizer, an ``UpstreamError`` where it has one
        that cannot be asked or fails."""
        return None

    @abstractmethod
    async def probe(self) -> None:
        """Raise an ``UpstreamError`` if the server does not answer a cheap request."""


BackendFactory = Callable[[BackendConfig, Transport, "str | None"], Backend]
