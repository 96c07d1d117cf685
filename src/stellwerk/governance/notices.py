"""Change notices: how a governance change made on one replica (or by the CLI) reaches the others
at once, not only at their next poll (``governance.refresh_seconds``).

With Redis (``server.redis_url``) a change is announced on the channel ``<prefix>governance``
once it is in the database (one made through the admin API, the dashboard or the CLI, and the
seeding at a replica's or the CLI's start when it added models or use cases of its config that
the database lacked):

    the replica (or CLI) that changed it        every gateway listening (``listen``)
    ------------------------------------        ------------------------------------
    writes the database, reloads its snapshot
    reads the replicas alive (``<prefix>live:*``)
    PUBLISH {"id", "from"}  -> n listeners  ->  reads a new snapshot (``on_notice``), then,
                                                once it has read it,
                                                RPUSH <prefix>governance:ack:<id> <instance>
                                                (its own notice: at once, it has reloaded)
    BLPOP that list until every live replica (and n in all) acknowledged, at most ACK_WAIT_S
    then answers the administrator (``Announcement``: how many did not acknowledge)

So when the admin call (or the CLI command) returns, every replica alive has the change in its
snapshot, or the answer says how many had not: a revoked key is refused on its next request to
any of the others. A replica that does not acknowledge within ``ACK_WAIT_S`` (stuck, its
database slow or unreachable, or its listener not listening) is logged, counted in the answer,
and follows at its poll; one that knows it missed the change (its read failed or is late) refuses
model requests meanwhile (``governance.staleness``); it is awaited because it is alive
(``notice_acks``), not because it received the PUBLISH, so a deaf replica cannot go
unnoticed. The listener (``notice_listener``) is supervised: whatever ends it, it logs that
once, connects again every ``RECONNECT_S``, checks its subscription with a probe, and logs once
when it listens again (notices sent meanwhile are lost; it reloads on listening again, and the
poll covers the gap).
Without Redis there are no notices (``NoNotices``): replicas follow within ``refresh_seconds``.

A notice carries no state, only "read again": the database stays the one source, and a lost or
doubled notice costs one reload.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from stellwerk.governance.notice_acks import (
    ACK_WAIT_S,
    Announcement,
    await_acknowledgements,
    live_replicas,
)
from stellwerk.governance.notice_listener import ACK_TTL_S, NOTICES, PROBE_S, NoticeListener
from stellwerk.governance.redis_pool import RedisHealth

log = logging.getLogger("stellwerk.governance")

__all__ = ["ACK_WAIT_S", "NOTICES", "Announcement", "Notices", "RedisNotices", "build_notices"]

OnNotice = Callable[[bool], Awaitable[bool]]
"""``notice_listener.OnNotice``: read again, for a notice or not; whether now current."""


class Notices:
    """No notices: a single gateway, or replicas without Redis (they follow at their poll)."""

    @property
    def listening(self) -> bool | None:
        """Whether the listener is subscribed now; ``None``: there is none (no Redis)."""
        return None

    @property
    def error(self) -> str | None:
        """Why the listener is not listening (``None`` while it is, or without one)."""
        return None

    @property
    def held(self) -> bool:
        """Whether a notice received waits to be acknowledged (its change was not read yet)."""
        return False

    def acknowledge_held(self) -> None:
        """Acknowledge the notices held, once their change is read (called in a worker
        thread by the gateway's refresh)."""

    def publish(self) -> Announcement:
        """Announce a change made here; how many replicas had to, and did not, acknowledge it."""
        return Announcement()

    async def listen(self, on_notice: OnNotice) -> None:
        """Call ``on_notice`` for every change announced elsewhere, until cancelled."""
        await asyncio.Event().wait()

    def close(self) -> None:
        """Release the connection ``publish`` holds."""


class RedisNotices(Notices):
    """Notices on ``<prefix>governance`` in the Redis at ``url``; ``instance``: this gateway's
    name in Redis (its limit counters' liveness key, ``<prefix>live:<instance>``), under which
    it acknowledges; a CLI gets one of its own. ``logs``: whether a change some replica did not
    acknowledge is logged (a gateway's; the CLI says it itself, on stderr, where the log line
    would have said it a second time)."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        password: str | None = None,
        health: RedisHealth | None = None,
        instance: str | None = None,
        probe_s: float = PROBE_S,
        logs: bool = True,
    ) -> None:
        self._url = url
        self._logs = logs
        self._password = password
        self._prefix = prefix
        self.channel = f"{prefix}governance"
        self._ack_prefix = f"{prefix}governance:ack:"
        self.instance = instance if instance is not None else secrets.token_hex(8)
        self._listener = NoticeListener(
            url,
            channel=self.channel,
            ack_prefix=self._ack_prefix,
            instance=self.instance,
            password=password,
            health=health,
            probe_s=probe_s,
        )
        self._publisher: Any = None  # a blocking client, made on first use (called in threads)

    @property
    def listening(self) -> bool:
        return self._listener.listening

    @property
    def error(self) -> str | None:
        return None if self._listener.listening else self._listener.error or "not listening yet"

    @property
    def held(self) -> bool:
        return self._listener.held

    def acknowledge_held(self) -> None:
        from redis.exceptions import RedisError

        keys = self._listener.take_held()
        try:
            client = self._client()
            for key in keys:
                client.rpush(key, self.instance)
                client.expire(key, ACK_TTL_S)
        except RedisError as exc:  # their announcers stopped waiting: nobody misses them
            log.debug("could not acknowledge %d governance notices read late: %s", len(keys), exc)

    # announcing (in a worker thread: the admin API, the dashboard, the CLI) ---------------------

    def publish(self) -> Announcement:
        from redis.exceptions import RedisError

        notice = secrets.token_hex(8)
        try:
            client = self._client()
            expected = live_replicas(client, self._prefix)
            listeners = int(client.publish(self.channel, self._notice(notice)))
            return await_acknowledgements(
                client,
                self._ack_prefix + notice,
                expected=expected,
                listeners=listeners,
                own=self.instance,
                logs=self._logs,
            )
        except RedisError as exc:
            log.warning(
                "could not announce a governance change on Redis (%s); the other replicas"
                " follow at their poll (governance.refresh_seconds)",
                exc,
            )
            return Announcement()

    def _notice(self, notice: str) -> str:
        return json.dumps({"id": notice, "from": self.instance})

    def _client(self) -> Any:
        if self._publisher is None:
            import redis

            options: dict[str, Any] = {
                "socket_timeout": ACK_WAIT_S + 5,
                "socket_connect_timeout": 2,
            }
            if self._password is not None:
                options["password"] = self._password
            self._publisher = redis.Redis.from_url(self._url, **options)
        return self._publisher

    def close(self) -> None:
        if self._publisher is not None:
            self._publisher.close()
            self._publisher = None

    # listening (the gateway's event loop) -------------------------------------------------------

    async def listen(self, on_notice: OnNotice) -> None:
        await self._listener.run(on_notice)


def build_notices(
    url: str | None,
    *,
    prefix: str,
    password: str | None = None,
    health: RedisHealth | None = None,
    instance: str | None = None,
    logs: bool = True,
) -> Notices:
    """Redis notices when the config names a Redis (``server.redis_url``), else none;
    ``health``: the gateway's, which the listener reports its connection to; ``instance``: the
    gateway's name in Redis (its limit counters' liveness key); ``logs``: ``RedisNotices``'."""
    if not url:
        return Notices()
    return RedisNotices(
        url, prefix=prefix, password=password, health=health, instance=instance, logs=logs
    )
