"""Change notices: how a governance change made on one replica (or by the CLI) reaches the others
at once, not only at their next poll (``governance.refresh_seconds``).

With Redis (``server.redis_url``) a change is announced on the channel ``<prefix>governance``
once it is in the database (one made through the admin API, the dashboard or the CLI, and the
seeding at a replica's or the CLI's start when it added models or use cases of its config that
the database lacked):

    the replica (or CLI) that changed it        every gateway listening (``listen``)
    ------------------------------------        ------------------------------------
    writes the database, reloads its snapshot
    PUBLISH {"id", "from"}  -> n listeners  ->  reads a new snapshot (``on_notice``), then
                                                RPUSH <prefix>governance:ack:<id> (its own
                                                notice: at once, it has reloaded already)
    BLPOP that list n times, at most ACK_WAIT_S
    then answers the administrator

So when the admin call (or the CLI command) returns, every replica that was listening has the
change in its snapshot: a revoked key is refused on its next request to any of them. A replica
that does not acknowledge within ``ACK_WAIT_S`` (stuck, its database slow) is logged and the
change is answered anyway; it follows at its poll. A listener that loses Redis logs it, connects
again and reloads once it is back (notices sent meanwhile are lost; the poll covers the gap);
the gateway's ``RedisHealth`` logs the outage once, not every attempt.
Without Redis there are no notices (``NoNotices``): replicas follow within ``refresh_seconds``.

A notice carries no state, only "read again": the database stays the one source, and a lost or
doubled notice costs one reload.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from stellwerk.governance.redis_pool import RedisHealth

log = logging.getLogger("stellwerk.governance")

#: The part the listener reports to the gateway's ``RedisHealth`` under.
NOTICES = "governance notices"

#: The longest a change waits for the other replicas to acknowledge its notice.
ACK_WAIT_S = 2.0
#: How long an acknowledgement list lives in Redis (it is read at once; this only cleans up).
ACK_TTL_S = 60
#: The wait before connecting to Redis again after the listener lost it.
RECONNECT_S = 1.0

OnNotice = Callable[[], Awaitable[None]]


class Notices:
    """No notices: a single gateway, or replicas without Redis (they follow at their poll)."""

    def publish(self) -> int:
        """Announce a change made here; the number of replicas that acknowledged it."""
        return 0

    async def listen(self, on_notice: OnNotice) -> None:
        """Call ``on_notice`` for every change announced elsewhere, until cancelled."""
        await asyncio.Event().wait()

    def close(self) -> None:
        """Release the connection ``publish`` holds."""


class RedisNotices(Notices):
    """Notices on ``<prefix>governance`` in the Redis at ``url``."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        password: str | None = None,
        health: RedisHealth | None = None,
    ) -> None:
        self._url = url
        self._health = health if health is not None else RedisHealth()
        self._password = password
        self.channel = f"{prefix}governance"
        self._ack_prefix = f"{prefix}governance:ack:"
        self.instance = secrets.token_hex(8)
        self._publisher: Any = None  # a blocking client, made on first use (called in threads)

    # announcing (in a worker thread: the admin API, the dashboard, the CLI) ---------------------

    def publish(self) -> int:
        from redis.exceptions import RedisError

        notice = secrets.token_hex(8)
        try:
            client = self._client()
            listeners = int(client.publish(self.channel, self._notice(notice)))
            return self._acknowledged(client, notice, listeners)
        except RedisError as exc:
            log.warning(
                "could not announce a governance change on Redis (%s); the other replicas"
                " follow at their poll (governance.refresh_seconds)",
                exc,
            )
            return 0

    def _notice(self, notice: str) -> str:
        return json.dumps({"id": notice, "from": self.instance})

    def _acknowledged(self, client: Any, notice: str, listeners: int) -> int:
        key = self._ack_prefix + notice
        deadline = time.monotonic() + ACK_WAIT_S
        acknowledged = 0
        while acknowledged < listeners:
            left = deadline - time.monotonic()
            if left <= 0 or client.blpop([key], timeout=max(left, 0.01)) is None:
                log.warning(
                    "%d of %d replicas did not acknowledge a governance change within %ss;"
                    " they follow at their poll (governance.refresh_seconds)",
                    listeners - acknowledged,
                    listeners,
                    ACK_WAIT_S,
                )
                break
            acknowledged += 1
        client.delete(key)
        return acknowledged

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
        from redis.exceptions import RedisError

        while True:
            try:
                await self._listen_once(on_notice)
            except RedisError as exc:  # connecting again in RECONNECT_S, polling meanwhile
                self._health.failed(NOTICES, exc)
            await asyncio.sleep(RECONNECT_S)

    async def _listen_once(self, on_notice: OnNotice) -> None:
        from redis.asyncio import Redis

        options: dict[str, Any] = {"password": self._password} if self._password else {}
        client = Redis.from_url(self._url, **options)
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(self.channel)
                self._health.answered(NOTICES)
                await on_notice()  # what changed while nobody listened
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        await self._answer(client, message["data"], on_notice)
        finally:
            await client.aclose()

    async def _answer(self, client: Any, data: bytes, on_notice: OnNotice) -> None:
        try:
            notice = json.loads(data)
            key, sender = self._ack_prefix + str(notice["id"]), notice.get("from")
        except (ValueError, TypeError, KeyError):
            log.warning("ignored a malformed governance notice on %s", self.channel)
            return
        if sender != self.instance:  # the sender reloaded before it announced
            await on_notice()
        await client.rpush(key, self.instance)
        await client.expire(key, ACK_TTL_S)


def build_notices(
    url: str | None,
    *,
    prefix: str,
    password: str | None = None,
    health: RedisHealth | None = None,
) -> Notices:
    """Redis notices when the config names a Redis (``server.redis_url``), else none;
    ``health``: the gateway's, which the listener reports its connection to."""
    if not url:
        return Notices()
    return RedisNotices(url, prefix=prefix, password=password, health=health)
