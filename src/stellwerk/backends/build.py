"""The backends of a config on one pooled transport: what the gateway builds at start-up and
what ``stellwerk calibrate`` and ``stellwerk route --backend`` build for a run of their own."""

from __future__ import annotations

from collections.abc import Mapping

from stellwerk.backends.aiohttp_transport import AiohttpTransport
from stellwerk.backends.base import Backend
from stellwerk.backends.registry import builtin_backends
from stellwerk.backends.transport import Transport
from stellwerk.config.schema import StellwerkConfig


def build_backends(
    config: StellwerkConfig, client: Transport, secrets: Mapping[str, str]
) -> dict[str, Backend]:
    """One backend per configured one, by its ``kind``; ``secrets``: API keys by env var name."""
    registry = builtin_backends()
    return {
        b.name: registry[b.kind](b, client, secrets.get(b.api_key_env or ""))
        for b in config.backends
    }


def build_client() -> Transport:
    """The one pooled transport shared by every backend: aiohttp's, which needs a fraction of
    httpx's CPU per request (see ``backends/aiohttp_transport.py``).

    Idle connections are dropped after 4 s, before the backend's server does: uvicorn (vLLM,
    llama-cpp-python) closes them after 5 s, and a request sent on a connection the server is
    closing at that moment fails with a ReadError (1 in 17,000 requests in benchmarks/load.py).
    """
    return AiohttpTransport(max_connections=512, keepalive_s=4)
