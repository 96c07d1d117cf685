"""The prompt's embedding for a router that reads one, asked for before the decision.

When the router's artifact was trained with embeddings (``Router.needs_embedding``), the model
named by ``router.embedding_model`` embeds the prompt (the part the text features read) through
its backend's own ``embed``. This never fails the request: when the embedding model is not
permitted for the caller, its backend's circuit is open, the call fails or takes longer than
``router.embedding_timeout_s``, the embedding is left out, and the router decides on the text
alone and says so in its reason.

The call writes no usage record of its own and does not move the backend's circuit breaker (a
slow embedding must not take the chat models of the same backend out of service); upstream
failures are counted in the ``upstream_errors`` metric.
"""

from __future__ import annotations

import asyncio
import logging

from stellwerk.errors import RequestError, UpstreamError
from stellwerk.gateway.auth import Principal
from stellwerk.gateway.runtime import Runtime
from stellwerk.routing.embedding import embedding_input

log = logging.getLogger("stellwerk.gateway")


async def prompt_embedding(runtime: Runtime, principal: Principal, text: str) -> list[float] | None:
    """The prompt's embedding, or None (not needed, not configured, or not to be had)."""
    settings = runtime.config.router
    if settings.embedding_model is None or not runtime.selector.router.needs_embedding:
        return None
    try:
        model = runtime.selector.named(principal, settings.embedding_model, ["embeddings"]).model
    except RequestError as exc:
        log.info("router embedding skipped: %s", exc)
        return None
    backend = runtime.backends[model.backend]
    if runtime.breakers[backend.name].state == "open":
        return None
    try:
        async with asyncio.timeout(settings.embedding_timeout_s):
            result = await backend.embed(model.upstream, [embedding_input(text)])
    except TimeoutError:
        log.warning(
            "router embedding from %r: no answer in %g s", model.id, settings.embedding_timeout_s
        )
        return None
    except UpstreamError as exc:
        runtime.metrics.upstream_errors.labels(exc.backend, exc.kind).inc()
        log.warning("router embedding from %r failed: %s", model.id, exc)
        return None
    except (RequestError, KeyError, TypeError, ValueError) as exc:
        log.warning("router embedding from %r failed: %s", model.id, exc)
        return None
    return result.vectors[0] if len(result.vectors) == 1 else None
