"""Two gateway processes (``stellwerk serve``) sharing one ledger and one Redis: the department's
rate limit and monthly budget hold across both, for plain and streaming requests alike, as they
would behind a load balancer."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from stellwerk.ledger.ledger import open_ledger
from tests.fixtures.gateway import ENVIRON, KEYS, free_port, raw_config
from tests.fixtures.llama import LlamaBackend

pytestmark = [pytest.mark.llama, pytest.mark.redis, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
RESEARCH = {"authorization": f"Bearer {KEYS['research']}"}


@contextmanager
def replicas(config_path: Path, count: int) -> Iterator[list[str]]:
    env = {
        **os.environ,
        **ENVIRON,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    }
    procs: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    log_path = config_path.with_suffix(".log")
    log = log_path.open("wb")
    try:
        for _ in range(count):
            port = free_port()
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "stellwerk",
                        "serve",
                        "--config",
                        str(config_path),
                        "--port",
                        str(port),
                        "--log-level",
                        "warning",
                    ],
                    env=env,
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        for proc, url in zip(procs, urls, strict=True):
            while True:
                assert proc.poll() is None, log_path.read_text(errors="replace")
                try:
                    if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "a replica did not start"
                time.sleep(0.1)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(30)
        log.close()


def write_config(
    llama: LlamaBackend, tmp_path: Path, redis_url: str, prefix: str, limits: dict[str, Any]
) -> tuple[Path, str]:
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    raw = raw_config(llama.base_url, database)
    raw["server"]["redis_url"] = redis_url
    raw["server"]["redis_prefix"] = prefix
    raw["departments"][0]["limits"] = limits
    for model in raw["models"]:  # expensive enough that a budget is a handful of requests
        model["price"] = {"input_per_mtok": 1000.0, "output_per_mtok": 1000.0}
    path = tmp_path / "stellwerk.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    # migrate once before the replicas start: on SQLite, two processes migrating one new file
    # at the same moment collide (PostgreSQL serialises them with an advisory lock)
    open_ledger(database).close()
    return path, database


async def burst(urls: list[str], per_replica: int) -> list[tuple[int, int]]:
    """``per_replica`` concurrent chat requests to every replica, every other one streaming;
    (replica, status) each. A stream is read to its end."""
    body = {"model": "tiny-small", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    async with httpx.AsyncClient(timeout=60) as client:

        async def one(i: int, url: str, stream: bool) -> tuple[int, int]:
            payload = {**body, "stream": stream}
            async with client.stream(
                "POST", url + "/v1/chat/completions", json=payload, headers=RESEARCH
            ) as answer:
                await answer.aread()
                return i, answer.status_code

        jobs = [one(i, url, n % 2 == 1) for i, url in enumerate(urls) for n in range(per_replica)]
        return list(await asyncio.gather(*jobs))


def test_budget_holds_across_two_replicas(
    llama_server: LlamaBackend, tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    budget = 0.5
    path, database = write_config(
        llama_server, tmp_path, redis_url, redis_prefix, {"monthly_budget": budget}
    )
    with replicas(path, 2) as urls:
        results = asyncio.run(burst(urls, 12))
    served = [i for i, status in results if status == 200]
    refused = [i for i, status in results if status == 429]
    assert len(served) + len(refused) == len(results), results
    assert served and refused, results
    ledger = open_ledger(database)
    try:
        records = [r for r in ledger.recent_usage(limit=1000) if r.department == "research"]
    finally:
        ledger.close()
    assert len([r for r in records if r.status == 200]) == len(served)
    spent = sum(r.cost for r in records)
    largest = max(r.cost for r in records)
    # never more than one request's cost over the budget, though 24 requests raced for it
    assert spent <= Decimal(str(budget)) + largest, (spent, budget, largest)


def test_rate_limit_holds_across_two_replicas(
    llama_server: LlamaBackend, tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    path, _ = write_config(
        llama_server, tmp_path, redis_url, redis_prefix, {"requests_per_minute": 5}
    )
    with replicas(path, 2) as urls:
        second = time.time() % 60
        if second > 45:  # keep the burst inside one minute window
            time.sleep(61 - second)
        results = asyncio.run(burst(urls, 4))
    statuses = sorted(status for _, status in results)
    # 8 requests, 4 to each replica, one shared limit of 5 per minute: not 5 per replica
    assert statuses == [200] * 5 + [429] * 3, results
