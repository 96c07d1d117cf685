"""The listening side of ``governance.notices``: a gateway's subscription to ``<prefix>governance``,
kept alive whatever ends it.

``run`` is a supervisor: each round opens a connection of its own (redis-py's own reconnecting
is switched off: a reconnect that re-subscribes behind the caller's back is how a listener can
end up connected and deaf), subscribes to the notices' channel and to a probe channel of its
own, and takes itself as listening only once Redis *confirmed* both subscriptions. Then it reads
messages; after ``probe_s`` without any it publishes on its probe channel and must read that
back within another ``probe_s``. Anything that ends a round (Redis failing, a connection that
carries nothing any more, an unconfirmed subscription, a bug) is logged and the next round
starts ``RECONNECT_S`` later, for ever, until cancelled:

    listening --(any failure)--> "governance notices: not listening (...)" WARNING, once
    not listening --(subscription confirmed)--> "governance notices: listening again" INFO, once

``listening`` (``stellwerk_governance_notices_up``, ``/readyz``'s ``governance_notices``) says
which state it is in. While it is not listening the replica follows changes at its poll
(``governance.refresh_seconds``), and announcers wait for it (``notice_acks``) and say so.

A notice is acknowledged only once the replica has read the change (``on_notice`` says whether
its snapshot is current): one it could not read is held (``held``, at most ``HELD_MOST``) and
acknowledged with the next notice read, or by the gateway's refresh once a read succeeded
(``take_held``), so the announcer counts the replica in ``not_acknowledged`` meanwhile.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from stellwerk.errors import NotListening
from stellwerk.governance.redis_pool import RedisHealth, in_loop, rest

log = logging.getLogger("stellwerk.governance")

#: The part the listener reports to the gateway's ``RedisHealth`` under.
NOTICES = "governance notices"
#: How long an acknowledgement list lives in Redis (it is read at once; this only cleans up).
ACK_TTL_S = 60
#: The wait before connecting to Redis again after the listener lost it.
RECONNECT_S = 1.0
#: Quiet seconds after which the listener checks that its subscription still carries messages.
PROBE_S = 5.0
#: The most notices held unacknowledged (the oldest are dropped: their announcers stopped
#: waiting long ago).
HELD_MOST = 100

OnNotice = Callable[[bool], Awaitable[bool]]
"""Read the snapshot again: for a notice (``True``), or for what may have changed while the
listener did not listen (``False``); whether the snapshot is current now."""


class NoticeListener:
    """Listens on ``channel`` for one gateway (``instance``: the name it acknowledges under)."""

    def __init__(
        self,
        url: str,
        *,
        channel: str,
        ack_prefix: str,
        instance: str,
        password: str | None = None,
        health: RedisHealth | None = None,
        probe_s: float = PROBE_S,
    ) -> None:
        self._url = url
        self._password = password
        self.channel = channel
        self._probe_channel = f"{channel}:probe:{instance}"
        self._ack_prefix = ack_prefix
        self.instance = instance
        self._health = health if health is not None else RedisHealth()
        self._probe_s = probe_s
        self.listening = False
        #: why it is not listening now (``None`` while it is, or before its first try)
        self.error: str | None = None
        self._said_lost = False
        self._held: deque[str] = deque(maxlen=HELD_MOST)  # acknowledgement lists not yet
        self._holding = threading.Lock()  # taken by the gateway's refresh, in a worker thread

    @property
    def held(self) -> bool:
        """Whether a notice waits to be acknowledged (its change was not read yet)."""
        return bool(self._held)

    def take_held(self) -> list[str]:
        """The acknowledgement lists of the notices held, taken (to acknowledge now)."""
        with self._holding:
            taken = list(self._held)
            self._held.clear()
            return taken

    async def run(self, on_notice: OnNotice) -> None:
        """Listen, and listen again after whatever ended it, until cancelled."""
        try:
            while True:
                try:  # a cancel ends it, whatever redis-py made of it (``in_loop``)
                    await in_loop(self._listen_once(on_notice))
                except Exception as exc:  # any failure: logged, then listened again
                    self._lost(exc)
                await rest(RECONNECT_S)
        finally:
            self.listening = False

    def _lost(self, exc: Exception) -> None:
        from redis.exceptions import RedisError

        self.listening = False
        expected = isinstance(exc, (RedisError, OSError, NotListening))
        # /readyz shows this: never Redis's own message, which names its address (the log has it)
        if isinstance(exc, NotListening):
            self.error = str(exc)
        else:
            self.error = f"{'Redis failed' if expected else 'failed'} ({type(exc).__name__})"
        if expected:
            self._health.failed(NOTICES, exc)
        if not self._said_lost:
            self._said_lost = True
            log.warning(
                "governance notices: not listening (%s: %s); connecting again every %.0fs,"
                " changes made elsewhere are followed at the poll (governance.refresh_seconds)"
                " meanwhile",
                type(exc).__name__,
                exc,
                RECONNECT_S,
                exc_info=None if expected else exc,
            )

    def _listening(self) -> None:
        self.listening = True
        self.error = None
        self._health.answered(NOTICES)
        if self._said_lost:
            self._said_lost = False
            log.info("governance notices: listening again")

    def _client(self) -> Any:
        from redis.asyncio import Redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        options: dict[str, Any] = {"password": self._password} if self._password else {}
        timeout = max(self._probe_s, 2.0)
        return Redis.from_url(
            self._url,
            retry=Retry(NoBackoff(), 0),  # this loop reconnects, and re-subscribes, itself
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            **options,
        )

    async def _listen_once(self, on_notice: OnNotice) -> None:
        client = self._client()
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(self.channel, self._probe_channel)
                await self._confirmed(pubsub)
                self._listening()
                if await on_notice(False):  # what changed while nobody listened
                    await self._acknowledge(client, self.take_held())
                await self._receive(client, pubsub, on_notice)
        finally:
            await client.aclose()

    async def _confirmed(self, pubsub: Any) -> None:
        """Wait for Redis's confirmation of both subscriptions."""
        wanted = {self.channel, self._probe_channel}
        while wanted:
            message = await in_loop(pubsub.get_message(timeout=self._probe_s))
            if message is None:
                raise NotListening(
                    f"Redis did not confirm the subscription within {self._probe_s}s"
                )
            if message.get("type") == "subscribe":
                wanted.discard(_text(message.get("channel")))

    async def _receive(self, client: Any, pubsub: Any, on_notice: OnNotice) -> None:
        probing = False
        while True:
            message = await in_loop(pubsub.get_message(timeout=self._probe_s))
            if message is None:
                if probing:
                    raise NotListening(f"its own probe did not come back within {self._probe_s}s")
                await client.publish(self._probe_channel, "probe")
                probing = True
                continue
            probing = False  # the connection carries messages
            if message.get("type") == "message" and _text(message["channel"]) == self.channel:
                await self._answer(client, message["data"], on_notice)

    async def _answer(self, client: Any, data: bytes, on_notice: OnNotice) -> None:
        try:
            notice = json.loads(data)
            key, sender = self._ack_prefix + str(notice["id"]), notice.get("from")
        except (ValueError, TypeError, KeyError):
            log.warning("ignored a malformed governance notice on %s", self.channel)
            return
        # the sender reloaded before it announced; another replica's change is acknowledged
        # only once read (a replica that acknowledged a change it lacks served a revoked key)
        if sender == self.instance or await on_notice(True):
            await self._acknowledge(client, [*self.take_held(), key])
        else:
            with self._holding:
                self._held.append(key)

    async def _acknowledge(self, client: Any, keys: list[str]) -> None:
        for key in keys:
            await client.rpush(key, self.instance)
            await client.expire(key, ACK_TTL_S)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
