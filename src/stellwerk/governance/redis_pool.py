"""The asyncio Redis client of a gateway's shared state (the limit counters, the requests waiting
for feedback): a blocking connection pool, so that under a burst a request waits (up to 5 s) for
a free connection instead of failing with "Too many connections"; and ``RedisHealth``, what the
gateway's last uses of its Redis found.

``RedisHealth`` is one per gateway, shared by its Redis clients (the limit counters, the
governance notices' listener, the feedback entries), each reporting under its own part name
(``COUNTERS``, ...) whether Redis answered or failed. An outage is an expected state, not a bug:
it is logged as one WARNING line when the first part fails and one INFO line when the last one
answers again, Redis's own error in the first (a traceback only at DEBUG). ``/readyz`` reads
the counters' part: while they fail, every model request is refused with 503
(``CountersUnavailable``), so the replica is not ready."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

log = logging.getLogger("stellwerk.redis")

T = TypeVar("T")

#: The part of the limit counters: while it fails, model requests get 503 (``/readyz`` 503).
COUNTERS = "limit counters"


#: Seconds a pooled connection may sit unused before redis-py checks it with a PING first.
HEALTH_CHECK_S = 10


def pooled_client(url: str, password: str | None, max_connections: int) -> Any:
    """A ``redis.asyncio.Redis`` on a pool of at most ``max_connections`` (the password given
    apart from the URL, as the config's ``server.redis_password_env`` gives it).

    A pooled connection can be dead while it waits in the pool (Redis restarted, a proxy or
    firewall dropped it): redis-py PINGs one unused for ``HEALTH_CHECK_S`` before using it, and a
    command that fails on a broken connection is sent once more on a new one (redis-py's
    ``Retry``, on ``ConnectionError`` and ``TimeoutError``), so a stale connection costs a
    reconnect, never a client's 503. The command may have run before its connection broke, so
    every command sent on this pool must be safe to run twice: plain ``SET``/``GET``/``DEL``,
    and the counters' and feedback entries' scripts, which are (``redis_counters``,
    ``stellwerk.gateway.pending_redis``)."""
    from redis.asyncio import BlockingConnectionPool, Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    options: dict[str, Any] = {
        "max_connections": max_connections,
        "timeout": 5,
        "health_check_interval": HEALTH_CHECK_S,
        "retry": Retry(NoBackoff(), 1),
    }
    if password is not None:
        options["password"] = password
    return Redis(connection_pool=BlockingConnectionPool.from_url(url, **options))


class RedisHealth:
    """Which parts of the gateway fail on Redis now, and since when (see the module docstring).
    Called on the gateway's event loop."""

    def __init__(self) -> None:
        self._failing: dict[str, str] = {}  # part -> the failure, without Redis's own message
        self._since: float | None = None

    def failed(self, part: str, exc: BaseException) -> BaseException:
        """``part`` failed on Redis with ``exc`` (returned, to chain it): logged whole for
        operators when it is the outage's first failure; the client of a request is told only
        that Redis failed, for Redis's own error names its internal address.

        A failure met by a task that is being cancelled is reported like any other: a request
        whose client hung up is still accounted (under a shield, in its cancelled task), and
        its settlement must be kept when Redis fails. The loops, for which a cancel is a stop,
        see it as one through ``in_loop`` before their failures reach this."""
        if not self._failing:
            self._since = time.monotonic()
            log.warning(
                "Redis failed (%s: %s); retrying. While the limit counters cannot reach it,"
                " model requests get 503 and /readyz says not ready",
                part,
                exc,
            )
        log.debug("%s: Redis failed", part, exc_info=exc)
        self._failing[part] = f"Redis failed ({type(exc).__name__})"
        return exc

    def answered(self, part: str) -> None:
        """``part`` used Redis successfully."""
        if self._failing.pop(part, None) is None or self._failing:
            return
        lasted = time.monotonic() - (self._since or time.monotonic())
        self._since = None
        log.info("Redis answers again (%s), after %.0f s", part, lasted)

    def error(self, part: str = COUNTERS) -> str | None:
        """Why ``part`` cannot use Redis now (no address: the log has Redis's own error), or
        ``None`` while it can (or has not tried yet)."""
        return self._failing.get(part)


def cancelling() -> bool:
    """Whether the task running now is being cancelled (``False`` outside the event loop): a
    cancel redis-py took in (its client answers one with an error of its own, or with nothing,
    as ``PubSub.get_message`` may) left the task running with its cancellation pending."""
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running loop: a worker thread
        return False
    return task is not None and task.cancelling() > 0


async def in_loop(call: Awaitable[T]) -> T:
    """One Redis call of a loop that outlives Redis's outages (the counters' liveness and
    seeding, the notices' listener): its answer, or the cancellation when the task is being
    cancelled, whatever redis-py made of the cancel (an error of its own as it closes the
    connection under the call, no message, or even the answer). Without this, the loop would
    take the error for an outage, or the answer for one more round, and go on with its
    cancellation lost (a gateway's stop waited for it)."""
    return await _unless_cancelled(call, cancelling)


async def in_request(call: Awaitable[T]) -> T:
    """One Redis call of a request's own task (the feedback entries): its answer or its error,
    but a cancel that reaches the task during the call (its client hung up) is the cancellation,
    whatever redis-py made of it (an error of its own as it closes the connection under the
    call, or the answer): it is no outage to report, and the request ends instead of going on.
    A task cancelled before the call (a hung-up client's request accounted under a shield) meets
    Redis's failures as failures, to be reported (``RedisHealth.failed``)."""
    task = asyncio.current_task()
    before = task.cancelling() if task is not None else 0
    return await _unless_cancelled(call, lambda: task is not None and task.cancelling() > before)


async def _unless_cancelled(call: Awaitable[T], cancelled: Callable[[], bool]) -> T:
    """``call``'s answer or error, unless ``cancelled()`` says a cancel reached the task during
    it: then the cancellation, whatever redis-py made of the cancel."""
    try:
        done = await call
    except Exception as exc:
        if cancelled():
            raise asyncio.CancelledError from exc
        raise
    if cancelled():
        raise asyncio.CancelledError
    return done


async def rest(seconds: float) -> None:
    """A Redis loop's pause: ``asyncio.sleep``, unless the task is being cancelled (``cancelling``):
    then the cancellation, which a loop that outlives Redis's outages would otherwise never see
    again (a gateway's stop waited for it)."""
    if cancelling():
        raise asyncio.CancelledError
    await asyncio.sleep(seconds)
