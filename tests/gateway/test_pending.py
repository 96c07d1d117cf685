"""What the gateway keeps for feedback, in process and in Redis alike: an entry only for the key
that asked, within the window, bounded fairly (one key's traffic pushes out its own entries, not
another key's), a request pushed out known as such, a stream's end told from its run."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest

from stellwerk.gateway.pending import Pending
from stellwerk.gateway.pending_memory import InProcessPending
from stellwerk.gateway.pending_store import PendingStore, State
from stellwerk.routing.graded_record import Evidence

EVIDENCE = Evidence("v1", (0.1, -2.5e-17, 1 / 3), {"m": 0.5}, (3.0,))

Make = Callable[[float, int], PendingStore]
Body = Callable[[PendingStore], Awaitable[None]]


def _entry(request_id: str, key_id: str = "k1") -> Pending:
    return Pending(request_id, key_id, "d", "auto", "m", EVIDENCE)


async def _keep(store: PendingStore, request_id: str, key_id: str = "k1") -> None:
    await store.started(request_id, key_id)
    await store.ended(request_id, _entry(request_id, key_id))


async def _state(store: PendingStore, request_id: str, key_id: str = "k1") -> State:
    return (await store.lookup(request_id, key_id)).state


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def make(request: pytest.FixtureRequest) -> Make:
    def build(window_s: float, max_entries: int) -> PendingStore:
        if request.param == "memory":
            return InProcessPending(window_s, max_entries)
        from stellwerk.gateway.pending_redis import RedisPending

        url = request.getfixturevalue("redis_url")
        prefix = request.getfixturevalue("redis_prefix")
        return RedisPending(url, window_s, max_entries, prefix=prefix)

    return build


def run(make: Make, body: Body, window_s: float = 60, max_entries: int = 20) -> None:
    """``body`` on a new store (its Redis connections belong to this event loop)."""

    async def main() -> None:
        store = make(window_s, max_entries)
        try:
            await body(store)
        finally:
            await store.close()

    asyncio.run(main())


def test_an_entry_is_given_only_to_its_key_whole(make: Make) -> None:
    async def body(store: PendingStore) -> None:
        await _keep(store, "r1")
        assert await _state(store, "r1", "k2") is State.UNKNOWN
        found = await store.lookup("r1", "k1")
        assert found.state is State.READY and found.entry == _entry("r1")  # floats exact

    run(make, body)


def test_a_running_request_is_told_from_a_finishing_one(make: Make) -> None:
    async def body(store: PendingStore) -> None:
        await store.started("r1", "k1")
        assert await _state(store, "r1") is State.RUNNING
        assert await _state(store, "r1", "k2") is State.UNKNOWN
        await store.finishing("r1", "k1")
        assert await _state(store, "r1") is State.FINISHING
        await store.ended("r1", None)  # not answered (its client hung up): nothing to grade
        assert await _state(store, "r1") is State.UNKNOWN

    run(make, body)


def test_find_waits_for_a_finishing_request_to_be_kept(make: Make) -> None:
    async def body(store: PendingStore) -> None:
        await store.started("r1", "k1")
        await store.finishing("r1", "k1")

        async def end_soon() -> None:
            await asyncio.sleep(0.2)
            await store.ended("r1", _entry("r1"))

        ending = asyncio.create_task(end_soon())
        found = await store.find("r1", "k1")
        await ending
        assert found.state is State.READY
        await store.started("r2", "k1")  # running, not finishing: told at once, not waited for
        assert (await store.find("r2", "k1", wait_s=600)).state is State.RUNNING

    run(make, body)


def test_one_keys_traffic_pushes_out_only_its_own_entries(make: Make) -> None:
    """The walk-through's case: one request of one key, then more than the bound (20) of
    another's: the first key's entry stays; the other's oldest are pushed out and said to be."""

    async def body(store: PendingStore) -> None:
        await _keep(store, "legal-1", "legal")
        for i in range(25):
            await _keep(store, f"sales-{i}", "sales")
        assert await _state(store, "legal-1", "legal") is State.READY
        states = [await _state(store, f"sales-{i}", "sales") for i in range(25)]
        assert states == [State.EVICTED] * 6 + [State.READY] * 19
        # another key is not told that sales' request was pushed out
        assert await _state(store, "sales-0", "legal") is State.UNKNOWN

    run(make, body)


def test_past_the_bound_the_key_holding_the_most_gives_way(make: Make) -> None:
    async def body(store: PendingStore) -> None:
        for i in range(12):
            await _keep(store, f"a-{i}", "a")
        for i in range(8):
            await _keep(store, f"b-{i}", "b")
        for i in range(4):  # over the bound (20) by 4: a holds the most each time
            await _keep(store, f"c-{i}", "c")
        held = {
            key: [await _state(store, f"{key}-{i}", key) for i in range(12)].count(State.READY)
            for key in "abc"
        }
        assert held == {"a": 8, "b": 8, "c": 4}

    run(make, body)


def test_an_entry_is_gone_after_the_window(make: Make) -> None:
    async def body(store: PendingStore) -> None:
        await _keep(store, "r1")
        await asyncio.sleep(0.5)
        assert await _state(store, "r1") is State.UNKNOWN

    run(make, body, window_s=0.3)


def test_a_window_of_zero_keeps_nothing() -> None:
    async def body(store: PendingStore) -> None:
        await _keep(store, "r1")
        assert await _state(store, "r1") is State.UNKNOWN

    run(lambda window_s, max_entries: InProcessPending(window_s, max_entries), body, window_s=0)


def test_a_redis_that_fails_fails_no_request_only_the_feedback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nothing listens at the discard port: keeping a request is given up (the request it was
    for is answered all the same), the outage logged once as a warning and each request at
    debug level; a feedback's look-up is a 503 to send again."""
    from stellwerk.errors import SharedStateUnavailable
    from stellwerk.gateway.pending_redis import RedisPending

    async def body(store: PendingStore) -> None:
        await _keep(store, "r1")
        with pytest.raises(SharedStateUnavailable, match="feedback entries: Redis failed") as e:
            await store.lookup("r1", "k1")
        assert e.value.status_code == 503

    caplog.set_level(logging.DEBUG)
    run(lambda w, m: RedisPending("redis://127.0.0.1:9/0", w, m), body)
    assert "could not keep request r1 for feedback in Redis" in caplog.text
    assert "could not mark request r1 running in Redis" in caplog.text
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warned) == 1 and warned[0].startswith("Redis failed (feedback entries"), warned
