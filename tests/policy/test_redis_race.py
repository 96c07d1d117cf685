"""Two processes, one Redis, one budget: together they never spend more than the budget."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from stellwerk.config.schema import UsageLimits
from stellwerk.governance.redis_counters import RedisCounters
from stellwerk.money import MICRO
from stellwerk.policy.limits import Limiter, scopes_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.redis
def test_two_processes_share_one_budget(redis_url: str, redis_prefix: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    now = 1795600830.0
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.policy.race_worker",
                redis_url,
                redis_prefix,
                str(now),
                "200",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        for _ in range(2)
    ]
    control = redis.Redis.from_url(redis_url)
    try:
        for _ in workers:  # both are connected and waiting: start them together
            control.blpop([redis_prefix + "ready"], timeout=30)
        control.rpush(redis_prefix + "go", 1, 1)
        for _ in workers:  # each holds one admission: now let them race for the rest
            control.blpop([redis_prefix + "holding"], timeout=30)
        control.rpush(redis_prefix + "both", 1, 1)
    finally:
        control.close()
    admitted = []
    for worker in workers:
        out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
        admitted.append(int(out.strip()))
    # 400 attempts of 1.0 against a budget of 150.0: exactly 150 get through, shared by both
    assert sum(admitted) == 150
    assert all(n > 0 for n in admitted), admitted

    async def spent() -> float:
        counters = RedisCounters(redis_url, prefix=redis_prefix)
        try:
            limiter = Limiter(counters, clock=lambda: now)
            scope = scopes_for("legal", UsageLimits(), "key-1", None)[0]
            return await limiter.spent(scope)
        finally:
            await counters.close()

    assert asyncio.run(spent()) * MICRO == pytest.approx(150 * MICRO)
