"""Governance notices on the real Redis (own key prefix), a replica's listener reached through a
TCP proxy that a test cuts: walk22 F2, a replica that stopped hearing notices after Redis
outages while the replica making changes returned at once, as if nobody had to hear them."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from urllib.parse import urlsplit

import pytest
from tests.fixtures.tcp_proxy import tcp_proxy
from tests.fixtures.waiting import until

from stellwerk.governance.notices import RedisNotices

pytestmark = pytest.mark.redis


class Replica:
    """A replica's listener on an event loop of its own; ``reloads``: the notices it read."""

    def __init__(self, notices: RedisNotices) -> None:
        self.notices = notices
        self.reloads = 0

    async def _reload(self, announced: bool) -> bool:
        self.reloads += 1
        return True  # read: acknowledged


@contextmanager
def listening(notices: RedisNotices) -> Iterator[Replica]:
    replica = Replica(notices)
    loop = asyncio.new_event_loop()
    task = loop.create_task(notices.listen(replica._reload))

    def run() -> None:
        with suppress(asyncio.CancelledError):  # how it ends
            loop.run_until_complete(task)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield replica
    finally:
        loop.call_soon_threadsafe(task.cancel)
        thread.join(30)
        loop.close()


def _said(caplog: pytest.LogCaptureFixture, level: int, words: str) -> int:
    return sum(r.levelno == level and words in r.getMessage() for r in caplog.records)


def test_a_replica_that_stops_hearing_notices_is_awaited_said_and_listens_again(
    redis_url: str, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Replica b's connection is cut and its new ones carry nothing (a half-open connection:
    its SUBSCRIBE never reaches Redis). Before: b took itself as listening and stayed deaf for
    good, silently; a change made elsewhere returned at once (PUBLISH reached nobody, so nobody
    was awaited) with no "did not acknowledge" line. Now: b is alive (its liveness key), so the
    change waits for it and says 1 of 1 did not acknowledge; b logs that it is not listening,
    connects again, and once connections carry again logs that it listens again and reads the
    next change."""
    import redis

    caplog.set_level(logging.INFO)
    target = urlsplit(redis_url)
    direct = redis.Redis.from_url(redis_url)
    channel = f"{redis_prefix}governance"
    with tcp_proxy(target.port or 6379, target.hostname or "127.0.0.1") as proxy:
        proxied = f"redis://127.0.0.1:{proxy.port}{target.path or '/0'}"
        b = RedisNotices(proxied, prefix=redis_prefix, instance="b", probe_s=1.0)
        direct.set(f"{redis_prefix}live:b", 1, ex=300)  # b runs: its counters keep this
        announcer = RedisNotices(redis_url, prefix=redis_prefix)  # another replica, the CLI
        with listening(b) as replica:
            until("b subscribed (it reads once what changed meanwhile)", lambda: replica.reloads)
            read = replica.reloads
            announcer.publish()
            assert replica.reloads == read + 1  # acknowledged: read when publish returned
            assert not _said(caplog, logging.WARNING, "did not acknowledge")

            proxy.swallow()
            until("Redis dropped b", lambda: direct.pubsub_numsub(channel)[0][1] == 0)
            told = announcer.publish()
            assert _said(caplog, logging.WARNING, "1 of 1 replicas did not acknowledge"), [
                r.getMessage() for r in caplog.records
            ]
            assert told.not_acknowledged == 1
            until(
                "b says it is not listening",
                lambda: _said(caplog, logging.WARNING, "governance notices: not listening"),
            )
            assert b.listening is False

            proxy.release()  # new connections carry again; b's silent one stays open
            until(
                "b listens again",
                lambda: _said(caplog, logging.INFO, "governance notices: listening again"),
            )
            assert b.listening is True
            read = replica.reloads
            assert announcer.publish().not_acknowledged == 0
            assert replica.reloads == read + 1
        announcer.close()
    assert _said(caplog, logging.WARNING, "governance notices: not listening") == 1  # once
    assert _said(caplog, logging.INFO, "governance notices: listening again") == 1
    direct.close()
