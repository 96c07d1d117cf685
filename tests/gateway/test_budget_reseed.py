"""A Redis emptied under a running gateway (restarted without persistence, flushed, failed over to
an empty replica) does not make it forget the month's spend: the gateway seeds the month's
counters from the ledger again, by itself within ``governance.refresh_seconds`` and at once when
a request finds them emptied, so a department's budget refuses as before. (Before, the counters
were seeded only at the gateway's start: after an emptying the month counted from zero, and a
department could spend its budget a second time.)"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
import redis

from stellwerk.config import parse_config
from stellwerk.gateway.app import create_app
from stellwerk.ledger.ledger import open_ledger
from tests.fixtures.gateway import ENVIRON, KEYS, raw_config
from tests.fixtures.inprocess import app_in_thread
from tests.fixtures.llama import LlamaBackend
from tests.fixtures.tcp_proxy import tcp_proxy

pytestmark = [pytest.mark.llama, pytest.mark.redis]

RESEARCH = {"authorization": f"Bearer {KEYS['research']}"}
BODY = {"model": "tiny-small", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}


@contextmanager
def gateway(
    llama: LlamaBackend, tmp_path: Path, redis_url: str, prefix: str, refresh_seconds: float
) -> Iterator[tuple[httpx.Client, str]]:
    """One gateway on Redis; research has a budget of a handful of requests."""
    database = f"sqlite:///{tmp_path / 'ledger.db'}"
    raw: dict[str, Any] = raw_config(llama.base_url, database)
    raw["server"]["redis_url"] = redis_url
    raw["server"]["redis_prefix"] = prefix
    raw["governance"] = {**raw.get("governance", {}), "refresh_seconds": refresh_seconds}
    raw["departments"][0]["limits"] = {"monthly_budget": 0.3}
    for model in raw["models"]:  # expensive enough that the budget is a handful of requests
        model["price"] = {"input_per_mtok": 1000.0, "output_per_mtok": 1000.0}
    app = create_app(parse_config(raw), environ=ENVIRON)
    with (
        app_in_thread(app) as transport,
        httpx.Client(transport=transport, base_url="http://gateway", timeout=60) as client,
    ):
        yield client, database


def chat(client: httpx.Client) -> httpx.Response:
    return client.post("/v1/chat/completions", json=BODY, headers=RESEARCH)


def spend_until_refused(client: httpx.Client, database: str) -> Decimal:
    """Research's requests until the budget refuses one; the ledger's spend then."""
    served = 0
    while (answer := chat(client)).status_code == 200:
        served += 1
        assert served < 50, "the budget never refused"
    assert answer.status_code == 429, answer.text
    assert answer.json()["error"]["code"] == "budget_exceeded"
    assert served >= 2
    deadline = time.monotonic() + 20
    while True:  # the ledger's writer commits in batches
        ledger = open_ledger(database)
        try:
            records = [r for r in ledger.recent_usage(limit=1000) if r.status == 200]
        finally:
            ledger.close()
        if len(records) >= served:
            return sum((r.cost for r in records), Decimal(0))
        assert time.monotonic() < deadline, records
        time.sleep(0.05)


def empty(client: redis.Redis, prefix: str) -> int:
    """What an emptied Redis does to the gateway: every key under its prefix is gone."""
    keys = list(client.scan_iter(match=prefix + "*"))
    assert keys
    return int(client.delete(*keys))


def counter(client: redis.Redis, prefix: str) -> int | None:
    month = datetime.now(UTC).strftime("%Y-%m")
    value = client.get(f"{prefix}budget:dept:research:{month}")
    return None if value is None else int(value)


def refused_naming(answer: httpx.Response, spent: Decimal) -> None:
    assert answer.status_code == 429, answer.text
    error = answer.json()["error"]
    assert error["code"] == "budget_exceeded", error
    assert f"({spent:.6f} spent or reserved" in error["message"], error["message"]


def test_an_emptied_redis_is_seeded_again_within_refresh_seconds(
    llama_server: LlamaBackend, tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    """Spend up to the budget, empty the gateway's keys in Redis: with no request in between,
    the gateway's refresh seeds the department's counter from the ledger again, and the budget
    refuses as before, naming the month's spend."""
    store = redis.Redis.from_url(redis_url)
    try:
        with gateway(llama_server, tmp_path, redis_url, redis_prefix, 0.2) as (client, database):
            spent = spend_until_refused(client, database)
            assert counter(store, redis_prefix) == spent * 1_000_000
            empty(store, redis_prefix)
            deadline = time.monotonic() + 20
            while counter(store, redis_prefix) is None:  # no request: the refresh seeds it
                assert time.monotonic() < deadline, "the emptied counters were never seeded"
                time.sleep(0.05)
            assert counter(store, redis_prefix) == spent * 1_000_000
            refused_naming(chat(client), spent)
    finally:
        store.close()


def test_a_request_on_an_emptied_redis_waits_for_the_seeding(
    llama_server: LlamaBackend, tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    """With no refresh for minutes, the first request after the emptying finds the counters
    unseeded: it is reserved after its gateway has seeded them from the ledger (it does not count
    from zero), so the budget refuses it, naming the month's spend; the counter holds that spend
    and nothing else."""
    store = redis.Redis.from_url(redis_url)
    try:
        with gateway(llama_server, tmp_path, redis_url, redis_prefix, 300) as (client, database):
            spent = spend_until_refused(client, database)
            empty(store, redis_prefix)
            refused_naming(chat(client), spent)
            assert counter(store, redis_prefix) == spent * 1_000_000
            for _ in range(3):
                refused_naming(chat(client), spent)
    finally:
        store.close()


def test_a_redis_that_comes_back_emptied_after_an_outage_is_seeded_again(
    llama_server: LlamaBackend, tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    """Redis becomes unreachable (a TCP proxy in front of it stops) and comes back empty, as a
    Redis restarted without persistence does: requests get 503 while it is away, and once it is
    back the budget refuses as before, naming the month's spend (before: the month counted from
    zero again, and research could spend its budget a second time)."""
    target = urlparse(redis_url)
    store = redis.Redis.from_url(redis_url)
    try:
        with tcp_proxy(target.port or 6379, target.hostname or "127.0.0.1") as proxy:
            through = f"redis://127.0.0.1:{proxy.port}{target.path or '/0'}"
            with gateway(llama_server, tmp_path, through, redis_prefix, 0.2) as (client, database):
                spent = spend_until_refused(client, database)
                proxy.stop()
                down = chat(client)
                assert down.status_code == 503, down.text
                assert down.json()["error"]["code"] == "service_unavailable"
                empty(store, redis_prefix)  # it restarts without its data
                proxy.start()
                deadline = time.monotonic() + 20
                while (answer := chat(client)).status_code == 503:
                    assert time.monotonic() < deadline, answer.text
                    time.sleep(0.1)
                refused_naming(answer, spent)
                assert counter(store, redis_prefix) == spent * 1_000_000
    finally:
        store.close()
