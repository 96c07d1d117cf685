"""The asyncio Redis client of a gateway's shared state (the limit counters, the requests waiting
for feedback): a blocking connection pool, so that under a burst a request waits (up to 5 s) for
a free connection instead of failing with "Too many connections"."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("stellwerk.redis")


def pooled_client(url: str, password: str | None, max_connections: int) -> Any:
    """A ``redis.asyncio.Redis`` on a pool of at most ``max_connections`` (the password given
    apart from the URL, as the config's ``server.redis_password_env`` gives it)."""
    from redis.asyncio import BlockingConnectionPool, Redis

    options: dict[str, Any] = {"max_connections": max_connections, "timeout": 5}
    if password is not None:
        options["password"] = password
    return Redis(connection_pool=BlockingConnectionPool.from_url(url, **options))


def logged(what: str, exc: Exception) -> Exception:
    """``exc``, logged whole for operators under ``what`` (the shared state that failed): the
    client is told only that Redis failed, for Redis's own error names its internal address."""
    log.warning("%s: Redis failed: %s", what, exc)
    return exc
