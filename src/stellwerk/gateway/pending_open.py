"""Which store keeps the requests waiting for feedback: Redis when the gateway has one (shared by
its replicas), else the gateway process's memory (``pending_store.PendingStore``)."""

from __future__ import annotations

from stellwerk.config.schema import StellwerkConfig
from stellwerk.gateway.pending_memory import InProcessPending
from stellwerk.gateway.pending_redis import RedisPending
from stellwerk.gateway.pending_store import PendingStore
from stellwerk.governance.redis_pool import RedisHealth


def build_pending(
    config: StellwerkConfig, password: str | None = None, health: RedisHealth | None = None
) -> PendingStore:
    """Entries in Redis when ``server.redis_url`` is set (shared by replicas), else in process;
    ``health``: the gateway's, which they report their uses of Redis to."""
    router, server = config.router, config.server
    if not server.redis_url or router.feedback_window_s <= 0 or router.feedback_max_pending <= 0:
        return InProcessPending(router.feedback_window_s, router.feedback_max_pending)
    return RedisPending(
        server.redis_url,
        router.feedback_window_s,
        router.feedback_max_pending,
        prefix=server.redis_prefix,
        password=password,
        health=health,
    )
