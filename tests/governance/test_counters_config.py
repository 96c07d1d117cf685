from __future__ import annotations

import asyncio

import pytest
from tests.governance.factories import config

from stellwerk.errors import ConfigError, CountersUnavailable
from stellwerk.governance.counters import InProcessCounters, build_counters, redis_password
from stellwerk.policy.counters import Charge


def test_no_redis_url_means_in_process_counters() -> None:
    assert isinstance(build_counters(config()), InProcessCounters)


def test_the_redis_password_comes_from_the_environment() -> None:
    cfg = config(server={"redis_url": "redis://127.0.0.1:6379/0", "redis_password_env": "RPW"})
    assert redis_password(cfg, {"RPW": "s3cret"}) == "s3cret"
    with pytest.raises(ConfigError, match="RPW"):
        redis_password(cfg, {})
    assert redis_password(config(), {}) is None


def test_the_password_reaches_the_redis_connections() -> None:
    cfg = config(server={"redis_url": "redis://127.0.0.1:6379/0"})
    counters = build_counters(cfg, "s3cret")
    assert counters._redis.connection_pool.connection_kwargs["password"] == "s3cret"  # type: ignore[attr-defined]
    asyncio.run(counters.close())


def test_an_unreachable_redis_is_a_503_not_a_crash() -> None:
    cfg = config(server={"redis_url": "redis://127.0.0.1:9/0"})  # nothing listens on port 9
    counters = build_counters(cfg)

    async def reserve() -> None:
        try:
            await counters.reserve([Charge("x", 1, 10, 60)])
        finally:
            await counters.close()

    with pytest.raises(CountersUnavailable, match="Redis failed") as info:
        asyncio.run(reserve())
    assert info.value.status_code == 503
