"""The limiter over both counter implementations: in-process and the real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest
from tests.policy.conftest import FakeClock

from stellwerk.config.schema import UsageLimits
from stellwerk.errors import CountersUnavailable, RateLimited
from stellwerk.governance.counters import InProcessCounters
from stellwerk.governance.redis_counters import RedisCounters
from stellwerk.policy.counters import Charge, Counters, Refused
from stellwerk.policy.limits import Limiter, Scope, scopes_for


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def make_counters(request: pytest.FixtureRequest, clock: FakeClock) -> Callable[[], Counters]:
    if request.param == "memory":
        shared = InProcessCounters(clock)
        return lambda: shared
    url = request.getfixturevalue("redis_url")
    prefix = request.getfixturevalue("redis_prefix")
    return lambda: RedisCounters(url, prefix=prefix)


def run(make: Callable[[], Counters], body: Callable[[Counters], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        counters = make()
        try:
            return await body(counters)
        finally:
            await counters.close()

    return asyncio.run(main())


def dept(**limits: Any) -> tuple[Scope, ...]:
    return scopes_for("legal", UsageLimits(**limits), "key-1", None)


def test_requests_per_minute_then_429_naming_the_limit_and_reset(
    make_counters: Callable[[], Counters], clock: FakeClock
) -> None:
    async def body(counters: Counters) -> None:
        limiter = Limiter(counters, clock)
        scopes = dept(requests_per_minute=3)
        for _ in range(3):
            await limiter.admit(scopes, max_tokens=10, max_cost=0.0)
        with pytest.raises(RateLimited) as info:
            await limiter.admit(scopes, max_tokens=10, max_cost=0.0)
        message = info.value.message
        assert "department 'legal': limit of 3 requests per minute reached" in message
        assert "resets at 2026-11-25 10:01:00 UTC (in 30 s)" in message
        assert info.value.retry_after_s == pytest.approx(30.0)
        assert info.value.status_code == 429
        clock.now += 30  # the next minute
        await limiter.admit(scopes, max_tokens=10, max_cost=0.0)

    run(make_counters, body)


def test_tokens_per_minute_reserve_then_settle(
    make_counters: Callable[[], Counters], clock: FakeClock
) -> None:
    async def body(counters: Counters) -> None:
        limiter = Limiter(counters, clock)
        scopes = dept(tokens_per_minute=1000)
        first = await limiter.admit(scopes, max_tokens=600, max_cost=0.0)
        # 600 reserved: a second request of up to 600 tokens does not fit ...
        with pytest.raises(RateLimited, match=r"up to 600 tokens, more than the 400 tokens left"):
            await limiter.admit(scopes, max_tokens=600, max_cost=0.0)
        # ... until the first settles with what it really used
        await limiter.settle(first, tokens=150, cost=0.0)
        await limiter.admit(scopes, max_tokens=600, max_cost=0.0)

    run(make_counters, body)


def test_monthly_budget_refuses_what_would_overspend_and_resets_next_month(
    make_counters: Callable[[], Counters], clock: FakeClock
) -> None:
    async def body(counters: Counters) -> None:
        limiter = Limiter(counters, clock)
        scopes = dept(monthly_budget=10.0)
        reservation = await limiter.admit(scopes, max_tokens=0, max_cost=8.0)
        await limiter.settle(reservation, tokens=100, cost=7.5)
        assert await limiter.spent(scopes[0]) == pytest.approx(7.5)
        with pytest.raises(RateLimited) as info:
            await limiter.admit(scopes, max_tokens=0, max_cost=3.0)
        assert info.value.message.startswith(
            "department 'legal': this request may cost up to 3.000000, more than the 2.500000"
            " left of the monthly budget of 10.000000 (7.500000 spent or reserved); resets at"
            " 2026-12-01 00:00:00 UTC"
        )
        assert info.value.code == "budget_exceeded"
        await limiter.admit(scopes, max_tokens=0, max_cost=2.5)  # fits exactly
        with pytest.raises(RateLimited) as spent:
            await limiter.admit(scopes, max_tokens=0, max_cost=0.1)
        assert spent.value.message.startswith(
            "department 'legal': monthly budget of 10.000000 reached (10.000000 spent or"
            " reserved, this request may cost up to 0.100000); resets at"
        )
        clock.now += 6 * 24 * 3600  # December
        await limiter.admit(scopes, max_tokens=0, max_cost=9.0)

    run(make_counters, body)


def test_a_bound_left_to_the_context_names_the_parameter_that_lowers_it(
    make_counters: Callable[[], Counters], clock: FakeClock
) -> None:
    """A request refused for its own bound, not for what was spent, is told what bounds it
    and what would lower it: the parameter the client left out (named as its API names it)."""

    async def body(counters: Counters) -> None:
        limiter = Limiter(counters, clock)
        scopes = dept(monthly_budget=1.0, tokens_per_minute=100)
        for parameter in ("max_tokens", "options.num_predict"):
            with pytest.raises(RateLimited) as info:
                await limiter.admit(scopes, max_tokens=50, max_cost=2.0, lower_with=parameter)
            assert info.value.message.startswith(
                "department 'legal': this request may cost up to 2.000000 (its answer is bounded"
                f" only by the model's context; set {parameter} to lower it), more than the"
                " 1.000000 left of the monthly budget of 1.000000 (0.000000 spent or reserved);"
            )
            assert info.value.retry_after_s
        with pytest.raises(RateLimited) as tokens:
            await limiter.admit(scopes, max_tokens=150, max_cost=0.0, lower_with="max_tokens")
        assert tokens.value.message.startswith(
            "department 'legal': this request may use up to 150 tokens (its answer is bounded"
            " only by the model's context; set max_tokens to lower it), more than the 100 tokens"
            " left of the limit of 100 tokens per minute (0 used or reserved);"
        )

    run(make_counters, body)


@pytest.mark.parametrize(
    ("limits", "first", "second", "said"),
    [
        (
            {"tokens_per_minute": 600},
            {"max_tokens": 400, "max_cost": 0.0},
            {"max_tokens": 300, "max_cost": 0.0},
            "this request may use up to 300 tokens, more than the 200 tokens left of the limit"
            " of 600 tokens per minute (400 used or reserved);",
        ),
        (
            {"monthly_budget": 1.0},
            {"max_tokens": 0, "max_cost": 0.6},
            {"max_tokens": 0, "max_cost": 0.5},
            "this request may cost up to 0.500000, more than the 0.400000 left of the monthly"
            " budget of 1.000000 (0.600000 spent or reserved);",
        ),
    ],
    ids=["tokens", "budget"],
)
def test_a_refusal_names_the_figures_it_was_decided_on(
    make_counters: Callable[[], Counters],
    clock: FakeClock,
    limits: dict[str, Any],
    first: dict[str, Any],
    second: dict[str, Any],
    said: str,
) -> None:
    """Walk 22 (F5): under concurrency a refusal read what was used after it was decided, when
    other requests had settled meanwhile, and said "may use up to 117 tokens, more than the 130
    tokens left". Here a request settles between the refusal and its message."""

    async def body(counters: Counters) -> None:
        limiter = Limiter(counters, clock)
        scopes = dept(**limits)
        running = await limiter.admit(scopes, **first)
        decide = counters.reserve

        async def settled_meanwhile(charges: Sequence[Charge], ident: str = "") -> Refused | None:
            refused = await decide(charges, ident)
            if refused is not None:  # the running request ends before the message is made
                await limiter.settle(running, tokens=10, cost=0.1)
            return refused

        counters.reserve = settled_meanwhile  # type: ignore[method-assign]
        with pytest.raises(RateLimited) as info:
            await limiter.admit(scopes, **second)
        assert info.value.message.startswith(f"department 'legal': {said}")

    run(make_counters, body)


def test_a_refused_request_reserves_nothing_in_any_scope(
    make_counters: Callable[[], Counters], clock: FakeClock
) -> None:
    async def body(counters: Counters) -> None:
        limiter = Limiter(counters, clock)
        scopes = scopes_for(
            "legal", UsageLimits(monthly_budget=100.0), "key-1", UsageLimits(monthly_budget=1.0)
        )
        with pytest.raises(RateLimited, match=r"^key 'key-1': .* left of the monthly budget of 1"):
            await limiter.admit(scopes, max_tokens=0, max_cost=2.0)
        assert await limiter.spent(scopes[0]) == 0.0
        await limiter.admit(scopes, max_tokens=0, max_cost=1.0)
        assert await limiter.spent(scopes[0]) == pytest.approx(1.0)

    run(make_counters, body)


def test_release_returns_tokens_and_cost(
    make_counters: Callable[[], Counters], clock: FakeClock
) -> None:
    async def body(counters: Counters) -> None:
        limiter = Limiter(counters, clock)
        scopes = dept(monthly_budget=1.0, requests_per_minute=5)
        reservation = await limiter.admit(scopes, max_tokens=50, max_cost=1.0)
        await limiter.release(reservation)
        assert await limiter.spent(scopes[0]) == 0.0
        await limiter.admit(scopes, max_tokens=50, max_cost=1.0)

    run(make_counters, body)


def test_seeding_from_the_ledger_counts_earlier_spend(
    make_counters: Callable[[], Counters], clock: FakeClock
) -> None:
    async def body(counters: Counters) -> None:
        limiter = Limiter(counters, clock)
        scopes = dept(monthly_budget=10.0)
        assert await limiter.seed_spent(scopes[0], 9.5)
        assert not await limiter.seed_spent(scopes[0], 0.0)  # it exists: it has counted since
        with pytest.raises(RateLimited):
            await limiter.admit(scopes, max_tokens=0, max_cost=1.0)

    run(make_counters, body)


def test_limits_set_later_count_what_was_done_without_them(
    make_counters: Callable[[], Counters], clock: FakeClock
) -> None:
    """Requests admitted while no limit is in force, settled and still running, are counted in
    their department's and key's counters; limits set in the middle of the minute and month
    then count them: the reservations in flight included, for the key as for the department."""

    async def body(counters: Counters) -> None:
        limiter = Limiter(counters, clock)
        open_scopes = scopes_for("legal", UsageLimits(), "key-1", None)
        done = await limiter.admit(open_scopes, max_tokens=100, max_cost=3.0)
        await limiter.settle(done, tokens=80, cost=2.0)
        running = await limiter.admit(open_scopes, max_tokens=100, max_cost=4.0)
        assert [await limiter.spent(s) for s in open_scopes] == [6.0, 6.0]  # 2.0 + 4.0 held

        budget = scopes_for("legal", UsageLimits(monthly_budget=6.5), "key-1", None)
        with pytest.raises(RateLimited, match=r"^department 'legal': .*\(6\.000000 spent or res"):
            await limiter.admit(budget, max_tokens=0, max_cost=1.0)
        key_budget = scopes_for("legal", UsageLimits(), "key-1", UsageLimits(monthly_budget=6.5))
        with pytest.raises(RateLimited, match=r"^key 'key-1': .*\(6\.000000 spent or res"):
            await limiter.admit(key_budget, max_tokens=0, max_cost=1.0)
        rpm = scopes_for("legal", UsageLimits(requests_per_minute=2), "key-1", None)
        with pytest.raises(RateLimited, match="limit of 2 requests per minute reached"):
            await limiter.admit(rpm, max_tokens=0, max_cost=0.0)
        tpm = scopes_for("legal", UsageLimits(), "key-1", UsageLimits(tokens_per_minute=200))
        with pytest.raises(RateLimited, match=r"^key 'key-1': .*\(180 used or reserved"):
            await limiter.admit(tpm, max_tokens=21, max_cost=0.0)

        await limiter.settle(running, tokens=50, cost=1.0)  # settles into the same counters
        await limiter.admit(budget, max_tokens=0, max_cost=3.5)  # 3.0 + 3.5 fits exactly
        clock.now += 60  # the next minute: the minute's counters start again
        await limiter.admit(rpm, max_tokens=0, max_cost=0.0)

    run(make_counters, body)


def test_concurrent_streaming_requests_cannot_overspend(
    make_counters: Callable[[], Counters], clock: FakeClock
) -> None:
    """Fifty requests start together, each reserving 1.0 of a budget of 10.0; their streams run
    until every request has been admitted or refused, then settle at 0.9: exactly ten start,
    and the spend stays within the budget."""

    async def body(counters: Counters) -> None:
        limiter = Limiter(counters, clock)
        scopes = dept(monthly_budget=10.0)
        decided = 0
        all_decided = asyncio.Event()

        async def one() -> bool:
            nonlocal decided
            try:
                reservation = await limiter.admit(scopes, max_tokens=0, max_cost=1.0)
            except RateLimited:
                return False
            finally:
                decided += 1
                if decided == 50:
                    all_decided.set()
            await all_decided.wait()  # the stream runs while the others try to get in
            await limiter.settle(reservation, tokens=10, cost=0.9)
            return True

        admitted = sum(await asyncio.gather(*(one() for _ in range(50))))
        assert admitted == 10
        assert await limiter.spent(scopes[0]) == pytest.approx(9.0)

    run(make_counters, body)


@pytest.mark.redis
def test_held_reservations_count_only_while_their_gateway_lives(
    redis_url: str, redis_prefix: str, clock: FakeClock
) -> None:
    """Replica A holds a reservation; replica B sees it while A lives, and no longer once A's
    liveness key is gone (what its expiry does after a SIGKILL). What A settled stays."""
    import redis

    async def main() -> tuple[float, float, float, float]:
        a = RedisCounters(redis_url, prefix=redis_prefix)
        b = RedisCounters(redis_url, prefix=redis_prefix)
        try:
            limiter_a, limiter_b = Limiter(a, clock), Limiter(b, clock)
            scope = dept(monthly_budget=10)
            settled = await limiter_a.admit(scope, max_tokens=0, max_cost=2.0)
            await limiter_a.settle(settled, tokens=0, cost=0.5)
            await limiter_a.admit(scope, max_tokens=0, max_cost=3.0)  # in flight
            seen_alive = await limiter_b.spent(scope[0])
            with pytest.raises(RateLimited):
                await limiter_b.admit(scope, max_tokens=0, max_cost=7.0)
            client = redis.Redis.from_url(redis_url)
            client.delete(*client.keys(redis_prefix + "live:*"))  # A is dead, B alive again:
            client.close()
            await limiter_b.admit(scope, max_tokens=0, max_cost=0.0)  # B's sign of life
            seen_dead = await limiter_b.spent(scope[0])
            held_b = await limiter_b.admit(scope, max_tokens=0, max_cost=9.0)  # fits now
            after = await limiter_b.spent(scope[0])
            await limiter_b.release(held_b)
            return seen_alive, seen_dead, after, await limiter_b.spent(scope[0])
        finally:
            await a.close()
            await b.close()

    seen_alive, seen_dead, after, released = asyncio.run(main())
    assert seen_alive == pytest.approx(3.5)  # 0.5 settled + 3.0 held by A
    assert seen_dead == pytest.approx(0.5)  # A's hold died with it; its settlement stays
    assert after == pytest.approx(9.5)
    assert released == pytest.approx(0.5)


@pytest.mark.redis
def test_unseeded_redis_counters_count_nothing_until_their_seeder_seeded_them(
    redis_url: str, redis_prefix: str, clock: FakeClock
) -> None:
    """Counters with a seeder (a gateway's) reserve nothing while ``<prefix>seeded`` is missing
    (an emptied Redis): a request asks the seeder first, and gets ``CountersUnavailable`` (503)
    if it did not seed, with no counter touched; once seeded, it is reserved on the seeded
    spend. A counter that exists (counted before the marker, e.g. by a gateway of the version
    before) is kept by the seeding, not added to."""
    import redis

    client = redis.Redis.from_url(redis_url)

    def stored() -> dict[str, bytes | None]:
        return {k.decode(): client.dump(k) for k in client.scan_iter(match=redis_prefix + "*")}

    async def main() -> tuple[int, float]:
        counters = RedisCounters(redis_url, prefix=redis_prefix)
        limiter = Limiter(counters, clock)
        scopes = dept(monthly_budget=10.0)
        calls = 0

        async def failing() -> None:
            nonlocal calls
            calls += 1

        async def seeding() -> None:
            assert await limiter.seed_spent(scopes[0], 9.5)  # the department, from the ledger
            assert not await limiter.seed_spent(scopes[1], 7.0)  # the key's counter exists
            await counters.mark_seeded()

        try:
            held = await limiter.admit(scopes[1:], max_tokens=0, max_cost=1.0)  # before a marker
            await limiter.settle(held, tokens=0, cost=0.25)
            counters.seed_with(failing)
            assert not await counters.seeded()
            before = stored()
            with pytest.raises(CountersUnavailable, match="read again from the ledger"):
                await limiter.admit(scopes, max_tokens=0, max_cost=0.1)
            assert stored() == before  # nothing counted, nothing held, no liveness renewed
            counters.seed_with(seeding)
            with pytest.raises(RateLimited, match=r"9\.500000 spent or reserved"):
                await limiter.admit(scopes, max_tokens=0, max_cost=0.6)  # 9.5 + 0.6 > 10
            assert await counters.seeded()
            return calls, await limiter.spent(scopes[1])
        finally:
            await counters.close()

    try:
        calls, key_spent = asyncio.run(main())
    finally:
        client.close()
    assert calls == 1
    assert key_spent == pytest.approx(0.25)  # kept as counted, not the ledger's 7.0, not added


def test_a_redis_that_may_evict_keys_is_warned_about(
    redis_url: str, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An evicted month counter would count the month from zero while its seeding's marker
    stays: a Redis whose maxmemory-policy evicts is named in a warning at the start (walk14);
    Redis's default, noeviction, is not."""
    import redis

    admin = redis.Redis.from_url(redis_url)
    before = admin.config_get("maxmemory-policy")["maxmemory-policy"]
    assert before is not None

    async def checked() -> str | None:
        counters = RedisCounters(redis_url, prefix=redis_prefix)
        try:
            return await counters.warn_if_evicting()
        finally:
            await counters.close()

    try:
        admin.config_set("maxmemory-policy", "noeviction")
        assert asyncio.run(checked()) is None
        admin.config_set("maxmemory-policy", "allkeys-lru")
        with caplog.at_level("WARNING", logger="stellwerk.limits"):
            assert asyncio.run(checked()) == "allkeys-lru"
    finally:
        admin.config_set("maxmemory-policy", before)
        admin.close()
    assert "maxmemory-policy allkeys-lru" in caplog.text and "noeviction" in caplog.text
