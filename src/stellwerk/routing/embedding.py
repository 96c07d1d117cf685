"""Prompt embeddings for training and judging a router, from a local embedding model.

``stellwerk router train | eval --embed-url URL --embed-model NAME [--embed-api openai|ollama]``
asks that model's server for one embedding per prompt, in batches, through the backends' own
wire code (``/v1/embeddings`` of an OpenAI-compatible server, ``/api/embed`` of Ollama). No
other address is ever called. The text embedded is the part of the prompt the text features read
(``features.clip_text``), in training as in the gateway, so both see the same input.

Every failure (endpoint down, refused request, wrong count or dimension, NaN) is an
``EmbeddingError`` naming the endpoint and the problem.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from stellwerk.errors import EmbeddingError, RequestError, UpstreamError
from stellwerk.routing.features import clip_text

F32 = npt.NDArray[np.float32]
APIS = ("openai", "ollama")
BATCH = 32


@dataclass(frozen=True, slots=True)
class EmbeddingEndpoint:
    url: str
    """``http://HOST:PORT/v1`` (openai) or ``http://HOST:PORT`` (ollama)."""
    model: str
    api: str = "openai"

    def describe(self) -> str:
        return f"embedding endpoint {self.url} ({self.api}, model {self.model!r})"


def embedding_input(text: str) -> str:
    """What is embedded of a prompt: its head and tail, as the text features read it."""
    return clip_text(text) or " "


def check_vectors(
    vectors: Sequence[Sequence[float]], count: int, where: str, dimensions: int | None = None
) -> F32:
    """The vectors as one (count, dimensions) array, or an ``EmbeddingError`` saying what is
    wrong with them."""
    if len(vectors) != count:
        raise EmbeddingError(f"{where}: answered {len(vectors)} embeddings for {count} prompts")
    want = dimensions if dimensions is not None else (len(vectors[0]) if vectors else 0)
    for i, vector in enumerate(vectors):
        if len(vector) != want or want == 0:
            raise EmbeddingError(
                f"{where}: embedding {i} has {len(vector)} dimensions, expected {want}"
            )
    out = np.asarray(vectors, dtype=np.float64)
    bad = ~np.isfinite(out).all(axis=1)
    if bad.any():
        raise EmbeddingError(
            f"{where}: embedding {int(np.flatnonzero(bad)[0])} holds NaN or infinite values"
        )
    return out.astype(np.float32)


def fetch_embeddings(
    endpoint: EmbeddingEndpoint,
    texts: Sequence[str],
    *,
    batch: int = BATCH,
    progress: Callable[[str, int, int], None] | None = None,
) -> F32:
    """One embedding per text, shape (len(texts), dimensions)."""
    import anyio

    return anyio.run(_fetch, endpoint, texts, batch, progress)


async def _fetch(
    endpoint: EmbeddingEndpoint,
    texts: Sequence[str],
    batch: int,
    progress: Callable[[str, int, int], None] | None,
) -> F32:
    import httpx
    from pydantic import ValidationError

    from stellwerk.backends.httpx_transport import HttpxTransport
    from stellwerk.backends.registry import builtin_backends
    from stellwerk.config.schema import BackendConfig

    where = endpoint.describe()
    if endpoint.api not in APIS:
        raise EmbeddingError(f"{where}: the API must be one of {', '.join(APIS)}")
    try:
        config = BackendConfig(name="embedding", kind=endpoint.api, base_url=endpoint.url)
    except ValidationError as exc:
        raise EmbeddingError(f"{where}: {endpoint.url!r} is not an http(s) URL") from exc
    vectors: list[list[float]] = []
    transport = HttpxTransport(httpx.AsyncClient())
    try:
        backend = builtin_backends()[endpoint.api](config, transport, None)
        for start in range(0, len(texts), batch):
            inputs = [embedding_input(t) for t in texts[start : start + batch]]
            try:
                result = await backend.embed(endpoint.model, inputs)
            except (UpstreamError, RequestError) as exc:
                raise EmbeddingError(f"{where}: {_detail(exc)}") from exc
            except (KeyError, TypeError, ValueError) as exc:
                raise EmbeddingError(f"{where}: the answer holds no embeddings") from exc
            if len(result.vectors) != len(inputs):
                check_vectors(result.vectors, len(inputs), where)
            vectors.extend(result.vectors)
            if progress is not None:
                progress("embeddings", len(vectors), len(texts))
    finally:
        await transport.aclose()
    return check_vectors(vectors, len(texts), where)


def _detail(exc: UpstreamError | RequestError) -> str:
    text = str(exc).removeprefix("backend 'embedding': ")
    if "cannot connect" in text:
        return f"{text}; is the server running at that address?"
    return text
