"""Redis away, or its connections closed, while requests run: nothing is lost and no client sees
a 503 for a connection Redis closed long ago.

- A stream that ends while Redis is away (a TCP proxy in front of the real Redis stopped) is
  settled once Redis answers again: the month's counters then hold the ledger's cost and nothing
  stays held (before: an ERROR traceback, the reservation held for the replica's life, and after
  a restart its cost missing from the counter: the budget overspent; walk22 F1).
- A request's reservation runs in Redis, but its answer is lost with the connection and Redis is
  gone for the retry: the client gets a 503, and the reservation's hold is released once Redis
  answers again (before: it stayed held for the replica's life, counted against the budget).
- Redis closes the gateway's pooled connections (``CLIENT KILL``, as at a restart or a dropped
  idle connection): the next requests are served, and the replica stays ready (before: the
  first request on a dead connection got 503 and ``/readyz`` flipped; walk22 F3).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import redis

from tests.fixtures.gateway import KEYS, raw_config, running_gateway
from tests.fixtures.held_stream import held_streams
from tests.fixtures.llama import LlamaBackend
from tests.fixtures.tcp_proxy import TcpProxy, tcp_proxy
from tests.fixtures.waiting import until

pytestmark = [pytest.mark.llama, pytest.mark.redis]

RESEARCH = {"authorization": f"Bearer {KEYS['research']}"}
STREAM = {
    "model": "tiny-small",
    "messages": [{"role": "user", "content": "Tell a long story about a signal box."}],
    "max_tokens": 64,
    "stream": True,
}
CHAT = {"model": "tiny-small", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}


def _through(proxy: TcpProxy, redis_url: str) -> str:
    return f"redis://127.0.0.1:{proxy.port}{urlsplit(redis_url).path or '/0'}"


def _config(backend_url: str, tmp_path: Path, redis_url: str, prefix: str) -> dict[str, Any]:
    raw = raw_config(backend_url, f"sqlite:///{tmp_path / 'ledger.db'}")
    raw["server"]["redis_url"] = redis_url
    raw["server"]["redis_prefix"] = prefix
    for model in raw["models"]:  # a cost that shows in micro-units
        model["price"] = {"input_per_mtok": 100.0, "output_per_mtok": 100.0}
    return raw


def _month_counters(store: redis.Redis, prefix: str) -> dict[str, tuple[int, dict[Any, Any]]]:
    """Research's and its key's month counters: (value, held amounts by replica)."""
    month = datetime.now(UTC).strftime("%Y-%m")
    found = {}
    for scope in ("dept:research", "key:research-1"):
        key = f"{prefix}budget:{scope}:{month}"
        found[scope] = (int(store.get(key) or 0), store.hgetall(key + ":held"))
    return found


def test_a_stream_that_ends_while_redis_is_away_is_settled_once_redis_answers(
    llama_server: LlamaBackend,
    tmp_path: Path,
    redis_url: str,
    redis_prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="stellwerk.limits")
    target = urlsplit(redis_url)
    store = redis.Redis.from_url(redis_url)
    try:
        with (
            held_streams(llama_server.base_url) as server,
            tcp_proxy(target.port or 6379, target.hostname or "127.0.0.1") as proxy,
        ):
            raw = _config(server.url, tmp_path, _through(proxy, redis_url), redis_prefix)
            with (
                running_gateway(raw) as gw,
                httpx.Client(base_url=gw.url, timeout=60, headers=RESEARCH) as client,
            ):
                with client.stream("POST", "/v1/chat/completions", json=STREAM) as response:
                    assert response.status_code == 200
                    server.wait_held()  # the stream runs, its reservation held in Redis
                    proxy.stop()  # Redis goes away
                    server.release()  # the stream ends while it is away
                    answer = response.read().decode()
                (record,) = gw.records()  # its record is written: it was settled (or tried)
                proxy.start()  # Redis is back
                until(
                    "the counters hold the stream's cost and nothing held",
                    lambda: (
                        _month_counters(store, redis_prefix)
                        == {s: (record.cost_micro, {}) for s in ("dept:research", "key:research-1")}
                    ),
                )
    finally:
        store.close()
    assert "data: [DONE]" in answer and record.status == 200 and record.cost_micro > 0
    assert not [r.getMessage() for r in caplog.records if r.exc_info and r.levelno >= logging.INFO]
    kept = [r.getMessage() for r in caplog.records if r.name == "stellwerk.limits"]
    assert [m for m in kept if "settlements were kept" in m] == [
        "Redis failed as 1 requests ended: their settlements were kept by this replica and are"
        " applied now, so their budget reservations are replaced by their costs"
    ], kept


def test_pooled_connections_redis_closed_are_replaced_without_a_503(
    llama_server: LlamaBackend, tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    target = urlsplit(redis_url)
    store = redis.Redis.from_url(redis_url)
    try:
        with tcp_proxy(target.port or 6379, target.hostname or "127.0.0.1") as proxy:
            raw = _config(llama_server.base_url, tmp_path, _through(proxy, redis_url), redis_prefix)
            with running_gateway(raw) as gw:
                first = gw.post("/v1/chat/completions", json=CHAT, headers=RESEARCH)
                killed = 0
                for address in proxy.upstream_addresses():  # this gateway's connections only
                    killed += store.client_kill_filter(addr=address)
                answers = [
                    gw.post("/v1/chat/completions", json=CHAT, headers=RESEARCH) for _ in range(3)
                ]
                ready = gw.get("/readyz")
    finally:
        store.close()
    assert first.status_code == 200, first.text
    assert killed >= 1
    assert [a.status_code for a in answers] == [200] * 3, [a.text for a in answers]
    assert ready.status_code == 200, ready.text


def test_a_reservation_whose_answer_was_lost_holds_nothing_once_redis_answers(
    llama_server: LlamaBackend, tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    target = urlsplit(redis_url)
    store = redis.Redis.from_url(redis_url)
    try:
        with tcp_proxy(target.port or 6379, target.hostname or "127.0.0.1") as proxy:
            raw = _config(llama_server.base_url, tmp_path, _through(proxy, redis_url), redis_prefix)
            with running_gateway(raw) as gw:
                first = gw.post("/v1/chat/completions", json=CHAT, headers=RESEARCH)
                proxy.lose_answer(to=b"EVALSHA")  # a request's first script: its reservation
                lost = gw.post("/v1/chat/completions", json=CHAT, headers=RESEARCH)
                held = _month_counters(store, redis_prefix)
                proxy.start()  # Redis answers again
                until(
                    "nothing held",
                    lambda: not any(h for _, h in _month_counters(store, redis_prefix).values()),
                )
                records = {r.status: r for r in gw.records(2)}
                after = _month_counters(store, redis_prefix)
    finally:
        store.close()
    assert first.status_code == 200, first.text
    assert lost.status_code == 503, lost.text
    assert all(h for _, h in held.values()), held  # the reservation had run in Redis
    cost = records[200].cost_micro  # the answered request's; the refused one's is 0
    assert after == {s: (cost, {}) for s in ("dept:research", "key:research-1")}
