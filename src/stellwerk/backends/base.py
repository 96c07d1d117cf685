"""The backend seam: ``complete``, ``stream``, ``embed`` and ``probe`` over one injected client.

Built-in backends register through ``builtin_backends()``, the same way a third party would.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping

import httpx

from stellwerk.backends.types import JSON, ChatChunk, ChatRequest, ChatResult, EmbedResult
from stellwerk.config.schema import BackendConfig


class Backend(ABC):
    """One model server. Instances share the app's pooled ``httpx.AsyncClient``."""

    kind: str = "abstract"

    def __init__(
        self, config: BackendConfig, client: httpx.AsyncClient, api_key: str | None = None
    ) -> None:
        self.config = config
        self.name = config.name
        self.client = client
        self.headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self.timeout = httpx.Timeout(
            connect=config.timeouts.connect,
            read=config.timeouts.first_token,
            write=config.timeouts.connect,
            pool=config.timeouts.connect,
        )

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

    async def prompt_tokens(self, model: str, request: ChatRequest) -> int | None:
        """The prompt's tokens as the server's own tokenizer counts them, for a stream that
        ended before the server reported its usage; None where the server has no tokenizer."""
        return None

    @abstractmethod
    async def probe(self) -> None:
        """Raise an ``UpstreamError`` if the server does not answer a cheap request."""


BackendFactory = Callable[[BackendConfig, httpx.AsyncClient, "str | None"], Backend]


def builtin_backends() -> Mapping[str, BackendFactory]:
    """The registry of wire protocols by config ``kind``."""
    from stellwerk.backends.ollama import OllamaBackend
    from stellwerk.backends.openai import OpenAIBackend

    return {"openai": OpenAIBackend, "ollama": OllamaBackend}
