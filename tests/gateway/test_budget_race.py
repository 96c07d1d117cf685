"""A budget holds whatever races for it: admission reserves on an upper bound of the prompt
(``stellwerk.backends.tokens.prompt_bound``), so that concurrent requests never together spend
more than the budget, and a reservation cannot outlive the gateway that holds it.

* The emoji race (issue 14): 30 parallel requests, each a prompt of 200 emoji (four UTF-8 bytes
  and several tokens each, where the old estimate read a quarter token) and ``max_tokens: 1``,
  against a budget that has room for about two of them: the department's records never add up
  to more than the budget. In one gateway process, and across two replicas sharing PostgreSQL
  and Redis.
* A replica SIGKILLed with streams in flight (Redis counters; the streams go to a server that
  holds them open, so that they are surely in flight, and the budget's probe to the real one):
  after a restart, their reservations are gone (the budget admits a request it refused while
  they were held).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from benchmarks.load import GatewayProcess

from stellwerk.ledger.ledger import open_ledger
from tests.fixtures.gateway import (
    ENVIRON,
    KEYS,
    free_port,
    raw_config,
    running_gateway,
    running_lines,
)
from tests.fixtures.llama import LlamaBackend
from tests.fixtures.loopback import stalling_server
from tests.gateway.test_replicas import replicas

pytestmark = pytest.mark.llama
AUTH = {"authorization": f"Bearer {KEYS['research']}"}
EMOJI = "🚂😀🙂🎉🚆" * 40  # 200 emoji, 800 bytes: the old estimate read 50 tokens
#: 1000 per million tokens: one emoji request reserves 0.896 (its bound, 895 tokens, and one).
PRICE = {"input_per_mtok": 1000.0, "output_per_mtok": 1000.0}
BUDGET = 2.5


def budget_raw(raw: dict[str, Any]) -> dict[str, Any]:
    raw["departments"][0]["limits"] = {"monthly_budget": BUDGET}
    for model in raw["models"]:
        model["price"] = dict(PRICE)
    return raw


async def race(urls: list[str], count: int) -> list[int]:
    """``count`` emoji requests at once, spread over ``urls``; their statuses."""
    body = {"model": "tiny-small", "messages": [{"role": "user", "content": EMOJI}]}
    async with httpx.AsyncClient(timeout=120) as client:

        async def one(i: int) -> int:
            url = urls[i % len(urls)] + "/v1/chat/completions"
            answer = await client.post(url, json={**body, "max_tokens": 1}, headers=AUTH)
            return answer.status_code

        return list(await asyncio.gather(*(one(i) for i in range(count))))


def department_spend(database_url: str, count: int) -> list[Decimal]:
    """The costs of the research department's records, once ``count`` are written."""
    deadline = time.monotonic() + 30
    while True:
        ledger = open_ledger(database_url)
        try:
            costs = [r.cost for r in ledger.recent_usage(limit=1000) if r.department == "research"]
        finally:
            ledger.close()
        if len(costs) >= count or time.monotonic() > deadline:
            return costs
        time.sleep(0.1)


def check_race(statuses: list[int], costs: list[Decimal]) -> None:
    assert set(statuses) == {200, 429}, statuses  # some served, the rest refused by the budget
    assert len(costs) == len(statuses)  # every request has its record
    assert sum(costs) <= BUDGET, (sum(costs), statuses.count(200))  # and never overspent


def test_the_emoji_race_never_overspends_in_one_process(gateway_raw: dict[str, Any]) -> None:
    with running_gateway(budget_raw(gateway_raw)) as gw:
        statuses = asyncio.run(race([gw.url], 30))
        costs = department_spend(gw.database_url, len(statuses))
    check_race(statuses, costs)


def write_config(tmp_path: Path, raw: dict[str, Any]) -> Path:
    path = tmp_path / "stellwerk.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    open_ledger(raw["server"]["database_url"]).close()  # migrated once, before the replicas
    return path


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.slow
def test_the_emoji_race_never_overspends_across_two_replicas(
    llama_server: LlamaBackend,
    tmp_path: Path,
    pg_schema_url: str,
    redis_url: str,
    redis_prefix: str,
) -> None:
    raw = budget_raw(raw_config(llama_server.base_url, pg_schema_url))
    raw["server"].update(redis_url=redis_url, redis_prefix=redis_prefix)
    with replicas(write_config(tmp_path, raw), 2) as urls:
        statuses = asyncio.run(race(urls, 30))
        costs = department_spend(pg_schema_url, len(statuses))
    check_race(statuses, costs)


STREAM = {
    "model": "stalled-large",
    "messages": [{"role": "user", "content": "Tell a very long story."}],
    "max_tokens": 900,  # with the prompt, the model's whole context: a reservation of 1.024
    "stream": True,
}


def _admitted(url: str) -> bool:
    """Whether the budget admits one more request of a stream's size (on the real server)."""
    body = {**STREAM, "model": "tiny-large", "stream": False}
    answer = httpx.post(url + "/v1/chat/completions", json=body, headers=AUTH, timeout=120)
    assert answer.status_code in (200, 429), answer.text
    return answer.status_code == 200


@pytest.mark.redis
@pytest.mark.slow
def test_a_killed_replicas_reservations_are_gone_after_restart(
    llama_server: LlamaBackend, tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    raw = budget_raw(raw_config(llama_server.base_url, f"sqlite:///{tmp_path / 'ledger.db'}"))
    raw["server"].update(redis_url=redis_url, redis_prefix=redis_prefix)
    large = next(m for m in raw["models"] if m["id"] == "tiny-large")
    raw["models"].append({**large, "id": "stalled-large", "backend": "stalled"})
    with stalling_server() as stalled:  # streams that stay in flight until the kill
        raw["backends"].append({"name": "stalled", "kind": "openai", "base_url": stalled.url})
        config = write_config(tmp_path, raw)
        gateway = GatewayProcess(config, free_port(), ENVIRON, tmp_path / "gw.log")
        gateway.start()
        try:
            with (
                httpx.Client(base_url=gateway.url, timeout=120) as client,
                contextlib.suppress(httpx.HTTPError),  # closing the streams of a dead gateway
                contextlib.ExitStack() as streams,
            ):
                running = []  # each stream's lines, kept (running_lines)
                for _ in range(2):  # two streams under way: 2.048 of 2.5 reserved
                    response = streams.enter_context(
                        client.stream("POST", "/v1/chat/completions", json=STREAM, headers=AUTH)
                    )
                    assert response.status_code == 200
                    running.append(running_lines(response))
                assert not _admitted(gateway.url)  # no room for a third
                gateway.kill()  # SIGKILL, the streams in flight
            gateway.start()
            deadline = time.monotonic() + 60
            while not _admitted(gateway.url):
                assert time.monotonic() < deadline, "the killed replica's reservations are held"
                time.sleep(1)
        finally:
            gateway.kill()
