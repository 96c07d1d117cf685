"""A reservation whose outcome the replica does not know may have run in Redis: its answer lost
with the connection and the one retry failed (the client got a 503), or its request cancelled
while its answer was on the way. Its hold stayed in Redis for the replica's life, counted
against the department's budget; now it is undone under its own name once Redis answers, and
undoing one Redis never ran changes nothing. A settlement sent by a request that was cancelled
(the gateway settles a hung-up client's request under a shield) while Redis failed is kept like
any other: it was dropped, its hold left behind. Failures are made by a TCP proxy in front of
the real Redis (tests/fixtures/tcp_proxy.py)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
import redis
from tests.fixtures.tcp_proxy import TcpProxy, tcp_proxy
from tests.fixtures.waiting import until_async

from stellwerk.config.schema import UsageLimits
from stellwerk.errors import CountersUnavailable
from stellwerk.governance.pending_settlements import PendingSettlements, Settlement
from stellwerk.governance.redis_counters import BATCH, RESERVE, RedisCounters
from stellwerk.policy.limits import Limiter, department_scope

pytestmark = pytest.mark.redis

SCOPE = department_scope("research", UsageLimits(monthly_budget=10))
#: the reservation's script as it is named on the wire (its SHA1: redis-py sends EVALSHA)
RESERVE_SCRIPT = hashlib.sha1(RESERVE.encode()).hexdigest().encode()


@asynccontextmanager
async def _through(
    proxy: TcpProxy, redis_url: str, prefix: str
) -> AsyncIterator[tuple[Limiter, RedisCounters]]:
    """A limiter on Redis counters that reach Redis through ``proxy``; one request of research
    answered first (0.5 spent, its reservation of 2.0 settled)."""
    target = urlsplit(redis_url)
    counters = RedisCounters(f"redis://127.0.0.1:{proxy.port}{target.path or '/0'}", prefix=prefix)
    limiter = Limiter(counters)
    try:
        answered = await limiter.admit([SCOPE], max_tokens=10, max_cost=2.0)
        await limiter.settle(answered, tokens=8, cost=0.5)
        yield limiter, counters
    finally:
        await counters.close()


@pytest.fixture
def proxy(redis_url: str) -> Iterator[TcpProxy]:
    target = urlsplit(redis_url)
    with tcp_proxy(target.port or 6379, target.hostname or "127.0.0.1") as running:
        yield running


@pytest.fixture
def held(redis_url: str, redis_prefix: str) -> Iterator[Callable[[], int]]:
    """Research's month budget held in Redis now (by every replica), in micro-units."""
    store = redis.Redis.from_url(redis_url)
    key = f"{redis_prefix}budget:dept:research:{datetime.now(UTC).strftime('%Y-%m')}:held"
    yield lambda: sum(int(amount) for amount in store.hvals(key))
    store.close()


def test_a_reservation_whose_answer_was_lost_is_undone_once_redis_answers(
    proxy: TcpProxy, redis_url: str, redis_prefix: str, held: Callable[[], int]
) -> None:
    async def main() -> tuple[int, float]:
        async with _through(proxy, redis_url, redis_prefix) as (limiter, counters):
            proxy.lose_answer()  # Redis runs the reservation; its answer and Redis are lost
            with pytest.raises(CountersUnavailable):  # the client's 503
                await limiter.admit([SCOPE], max_tokens=10, max_cost=2.0)
            lost = held()
            proxy.start()  # Redis answers again
            await counters.apply_pending()  # what the liveness loop does then
            return lost, await limiter.spent(SCOPE)

    lost, spent = asyncio.run(main())
    assert lost == 2_000_000  # the reservation had run in Redis
    assert (spent, held()) == (0.5, 0)  # the answered request's cost, nothing held


def test_a_reservation_cancelled_while_its_answer_was_on_the_way_is_undone(
    proxy: TcpProxy, redis_url: str, redis_prefix: str, held: Callable[[], int]
) -> None:
    async def main() -> tuple[int, float]:
        async with _through(proxy, redis_url, redis_prefix) as (limiter, counters):
            proxy.hold_answers()
            request = asyncio.create_task(limiter.admit([SCOPE], max_tokens=10, max_cost=2.0))
            await until_async("the reservation ran in Redis", lambda: held() > 0)
            request.cancel()  # the client hung up
            with suppress(asyncio.CancelledError):
                await request
            lost = held()
            proxy.pass_answers()
            await counters.apply_pending()
            return lost, await limiter.spent(SCOPE)

    lost, spent = asyncio.run(main())
    assert lost == 2_000_000
    assert (spent, held()) == (0.5, 0)


def test_a_reservation_that_reaches_redis_after_its_undo_holds_nothing(
    proxy: TcpProxy, redis_url: str, redis_prefix: str, held: Callable[[], int]
) -> None:
    """The reservation is held back on the network; its client hangs up, and its undo reaches
    Redis first, on another connection; then the reservation lands. It held the budget for as
    long as the replica lived: now it reserves nothing, and the counter is the ledger's spend."""

    async def main() -> tuple[int, float]:
        async with _through(proxy, redis_url, redis_prefix) as (limiter, counters):
            proxy.hold_request(RESERVE_SCRIPT)
            request = asyncio.create_task(limiter.admit([SCOPE], max_tokens=10, max_cost=2.0))
            await until_async("the reservation is on its way", proxy.request_held.is_set)
            request.cancel()  # the client hung up
            with suppress(asyncio.CancelledError):
                await request
            waiting = await counters.apply_pending()  # the undo, before the reservation
            proxy.pass_request()
            await until_async("Redis ran the reservation", proxy.request_answered.is_set)
            return waiting, await limiter.spent(SCOPE)

    waiting, spent = asyncio.run(main())
    assert waiting == 0
    assert (spent, held()) == (0.5, 0)  # the answered request's cost, nothing held


def test_the_undone_reservations_of_a_long_outage_are_applied_in_batches(
    proxy: TcpProxy, redis_url: str, redis_prefix: str, held: Callable[[], int]
) -> None:
    """Redis fails for a while: every request's reservation is undone once it answers (two of
    them had run in Redis, one kept first and one past two batches). They were sent one round
    trip each (10,000 took about 3 s); now in batches, and all of them are applied."""
    refused = 2 * BATCH + 100

    async def lost(limiter: Limiter) -> None:
        proxy.lose_answer(RESERVE_SCRIPT)  # Redis runs it; its answer and Redis are lost
        with pytest.raises(CountersUnavailable):
            await limiter.admit([SCOPE], max_tokens=10, max_cost=2.0)

    async def main() -> tuple[int, int, int, float]:
        async with _through(proxy, redis_url, redis_prefix) as (limiter, counters):
            await lost(limiter)
            for _ in range(refused):  # never reach Redis: undone all the same
                with pytest.raises(CountersUnavailable):
                    await limiter.admit([SCOPE], max_tokens=10, max_cost=2.0)
            proxy.start()
            await lost(limiter)
            lost_held = held()
            proxy.start()  # Redis answers again
            before = proxy.requests_read
            waiting = await counters.apply_pending()
            return lost_held, waiting, proxy.requests_read - before, await limiter.spent(SCOPE)

    lost_held, waiting, reads, spent = asyncio.run(main())
    assert lost_held == 4_000_000  # the two reservations that ran
    assert (waiting, spent, held()) == (0, 0.5, 0)  # all applied: nothing held any more
    assert reads < (refused + 2) / 10, reads  # round trips: one a batch, not one an undo


def test_a_cancelled_requests_settlement_is_kept_while_redis_fails(
    proxy: TcpProxy, redis_url: str, redis_prefix: str, held: Callable[[], int]
) -> None:
    """A client hangs up during an outage: the gateway settles its request (under a shield, in
    its cancelled task); the settlement is kept and applied when Redis answers."""

    async def main() -> float:
        async with _through(proxy, redis_url, redis_prefix) as (limiter, counters):
            reservation = await limiter.admit([SCOPE], max_tokens=10, max_cost=2.0)
            started = asyncio.Event()

            async def request() -> None:
                try:
                    started.set()
                    await asyncio.Event().wait()  # the answer, streaming
                except asyncio.CancelledError:  # accounted, as the gateway does, then ended
                    await limiter.settle(reservation, tokens=8, cost=0.25)
                    raise

            task = asyncio.create_task(request())
            await started.wait()
            proxy.stop()
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
            proxy.start()
            await counters.apply_pending()
            return await limiter.spent(SCOPE)

    assert (asyncio.run(main()), held()) == (0.75, 0)


def test_undone_reservations_never_take_the_place_of_settlements(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A long outage: every request's reservation fails (most never sent) and is kept to be
    undone; they are bounded apart, so the settlements of requests that ended still fit."""
    pending = PendingSettlements(bound=2, undo_bound=2)
    for n in range(5):
        pending.keep(Settlement(("k",), ("p", "i", f"undo-{n}", 1, 0), undo=True))
    for n in range(2):
        pending.keep(Settlement(("k",), ("p", "i", f"settle-{n}", 1, 1)))
    kept = []
    while batch := pending.first(3):
        kept += [settlement.args[2] for settlement in batch]
        for _ in batch:
            pending.done(applied=True)
    assert kept == ["undo-0", "undo-1", "settle-0", "settle-1"]
    assert "3 undone reservations were dropped" in caplog.text
    assert "settlements were dropped" not in caplog.text
