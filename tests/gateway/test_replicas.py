"""Two gateway processes (``stellwerk serve``) sharing one ledger and one Redis: the department's
rate limit and monthly budget hold across both, for plain and streaming requests alike, as they
would behind a load balancer; a governance change made on one holds on the other by the time the
admin call returns (its notice on Redis, acknowledged)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import yaml

from stellwerk.config import parse_config
from stellwerk.gateway.app import create_app
from stellwerk.ledger.ledger import open_ledger
from tests.fixtures.gateway import ENVIRON, KEYS, free_port, raw_config, running_lines
from tests.fixtures.held_stream import HeldStreams, held_streams
from tests.fixtures.inprocess import app_in_thread
from tests.fixtures.llama import LlamaBackend
from tests.fixtures.loopback import stalling_server

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

pytestmark = [pytest.mark.llama, pytest.mark.redis, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
RESEARCH = {"authorization": f"Bearer {KEYS['research']}"}


@contextmanager
def replicas(
    config_path: Path, count: int, environ: dict[str, str] | None = None
) -> Iterator[list[str]]:
    env = {
        **os.environ,
        **ENVIRON,
        **(environ or {}),
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
        try:
            yield urls
        except Exception as exc:  # a replica that stopped answering says why, with its exit
            codes = ", ".join(
                f"{url}: {proc.poll()}" for proc, url in zip(procs, urls, strict=True)
            )
            exc.add_note(f"replicas' exit codes (None: running): {codes}")
            exc.add_note("their log:\n" + log_path.read_text(errors="replace")[-6000:])
            raise
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
    llama: LlamaBackend,
    tmp_path: Path,
    redis_url: str | None,
    prefix: str,
    limits: dict[str, Any],
) -> tuple[Path, str]:
    """The replicas' config: Redis counters unless ``redis_url`` is None (each replica counts in
    its own process then)."""
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    raw = raw_config(llama.base_url, database)
    if redis_url is not None:
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


ADMIN_KEY = "sk-stw-test-admin-7d41c0e9a25b8f36"
ADMIN = {"authorization": f"Bearer {ADMIN_KEY}"}


def chat(url: str, model: str = "tiny-small") -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    return httpx.post(url + "/v1/chat/completions", json=body, headers=RESEARCH, timeout=60)


def ledger_spend(database: str, count: int, status: int = 200, wait_s: float = 20) -> Decimal:
    """Research's spend in the shared ledger once it holds ``count`` records of ``status`` (200:
    answered; 499: streams the client cut); each replica's writer commits in batches."""
    deadline = time.monotonic() + wait_s
    while True:
        ledger = open_ledger(database)
        try:
            records = [r for r in ledger.recent_usage(limit=1000) if r.department == "research"]
        finally:
            ledger.close()
        if len([r for r in records if r.status == status]) >= count:
            return sum((r.cost for r in records), Decimal(0))
        assert time.monotonic() < deadline, records
        time.sleep(0.05)


def refused_after_reload(url: str) -> httpx.Response:
    """The replica's answer once it has read the new budget (within its refresh_seconds): asked
    with tiny-medium, which costs nothing, so that the answers before do not change the spend."""
    deadline = time.monotonic() + 30
    while (answer := chat(url, "tiny-medium")).status_code == 200:
        assert time.monotonic() < deadline, "the replica never read the budget"
        time.sleep(0.2)
    return answer


def admin_config(
    llama: LlamaBackend, tmp_path: Path, redis_url: str, prefix: str
) -> tuple[Path, str]:
    """``write_config`` on Redis with an admin key and tiny-medium free of charge."""
    path, database = write_config(llama, tmp_path, redis_url, prefix, {})
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    admin = {"id": "admin-1", "key_env": "STW_TEST_KEY_ADMIN", "role": "admin"}
    raw["departments"].append({"name": "governance", "keys": [admin]})
    free = next(m for m in raw["models"] if m["id"] == "tiny-medium")
    free["price"] = {"input_per_mtok": 0.0, "output_per_mtok": 0.0}
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path, database


def test_a_budget_set_on_one_replica_counts_the_months_spend_on_both(
    llama_server: LlamaBackend, tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    """Spend on both replicas, then a budget below the spend through one replica's admin API:
    that replica refuses the next request, the other one after its reload, both naming the
    month's spend (the shared counter has counted every request, with no budget in force).
    Raised above the spend, both serve again."""
    path, database = admin_config(llama_server, tmp_path, redis_url, redis_prefix)
    with replicas(path, 2, {"STW_TEST_KEY_ADMIN": ADMIN_KEY}) as (first, second):
        for url in (first, second, first, second, first, second):
            assert chat(url).status_code == 200
        spent = ledger_spend(database, 6)
        budget = (spent * 3 / 4).quantize(Decimal("0.000001"))  # above one request's bound
        change = {"monthly_budget": str(budget), "reason": "cap"}
        put = httpx.put(
            first + "/admin/limits/department/research", json=change, headers=ADMIN, timeout=30
        )
        assert put.status_code == 200, put.text
        attempts: tuple[Callable[[], httpx.Response], ...] = (
            lambda: chat(first),
            lambda: refused_after_reload(second),
        )
        for refused in attempts:
            answer = refused()
            assert answer.status_code == 429, answer.text
            error = answer.json()["error"]
            assert error["code"] == "budget_exceeded"
            assert f"monthly budget of {budget:.6f} reached ({spent:.6f} spent" in error["message"]
        assert chat(second).status_code == 429

        change = {"monthly_budget": "1000", "reason": "more"}
        put = httpx.put(
            second + "/admin/limits/department/research", json=change, headers=ADMIN, timeout=30
        )
        assert put.status_code == 200, put.text
        assert chat(second).status_code == 200
        deadline = time.monotonic() + 30
        while (answer := chat(first)).status_code == 429:
            assert time.monotonic() < deadline, answer.text
            time.sleep(0.2)
        assert answer.status_code == 200, answer.text


def spent_or_reserved(answer: httpx.Response) -> tuple[Decimal, Decimal]:
    """The spend and the request's bound a ``budget_exceeded`` refusal names."""
    assert answer.status_code == 429, answer.text
    error = answer.json()["error"]
    assert error["code"] == "budget_exceeded", error
    message = error["message"]
    spent = message.split("reached (")[1].split(" spent or reserved")[0]
    bound = message.split("may cost up to ")[1].split(")")[0]
    return Decimal(spent), Decimal(bound)


STREAM = {
    "model": "stalled-small",
    "messages": [{"role": "user", "content": "Tell a very long story."}],
    "max_tokens": 900,  # with the prompt, about the model's context: a reservation near 1.0
    "stream": True,
}


def test_a_budget_set_with_streams_in_flight_counts_them_on_both_replicas_and_after_restarts(
    llama_server: LlamaBackend, tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    """walk4 N1 with Redis: requests answered and a stream running on each replica, all
    admitted with no budget in force; a budget set through one replica above the spend but below
    the spend and the streams' reservations refuses the next request on both, naming both. Once
    the streams have ended (charged for what they got) and both replicas were restarted, the
    shared counter is still the ledger's spend, and a budget below it refuses on both naming
    it."""
    import redis

    path, database = admin_config(llama_server, tmp_path, redis_url, redis_prefix)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    month = time.strftime("%Y-%m", time.gmtime())
    counter = f"{redis_prefix}budget:dept:research:{month}"
    environ = {"STW_TEST_KEY_ADMIN": ADMIN_KEY}
    with stalling_server() as stalled:
        raw["backends"].append({"name": "stalled", "kind": "openai", "base_url": stalled.url})
        small = next(m for m in raw["models"] if m["id"] == "tiny-small")
        raw["models"].append({**small, "id": "stalled-small", "backend": "stalled"})
        path.write_text(yaml.safe_dump(raw), encoding="utf-8")
        with replicas(path, 2, environ) as urls, contextlib.ExitStack() as streams:
            running = []  # each stream's lines, kept (running_lines)
            for url in urls:
                assert chat(url).status_code == 200
                client = streams.enter_context(httpx.Client(base_url=url, timeout=60))
                stream = streams.enter_context(
                    client.stream("POST", "/v1/chat/completions", json=STREAM, headers=RESEARCH)
                )
                assert stream.status_code == 200
                running.append(running_lines(stream))
            change = {"monthly_budget": "1.5", "reason": "cap"}  # below two streams' bound
            put = httpx.put(
                urls[0] + "/admin/limits/department/research",
                json=change,
                headers=ADMIN,
                timeout=30,
            )
            assert put.status_code == 200, put.text
            whole = {**STREAM, "model": "tiny-small", "stream": False}  # the streams' twin
            refused = httpx.post(
                urls[0] + "/v1/chat/completions", json=whole, headers=RESEARCH, timeout=60
            )
            counted, bound = spent_or_reserved(refused)
            answered = ledger_spend(database, 2)  # the streams are not in the ledger yet
            assert counted == answered + 2 * bound  # each stream holds that request's bound
            assert spent_or_reserved(refused_after_reload(urls[1]))[0] == counted
            streams.close()  # the client hangs up: each stream is charged for what it got
            spent = ledger_spend(database, 2, status=499, wait_s=30)
        with replicas(path, 2, environ) as urls:
            store = redis.Redis.from_url(redis_url)
            try:  # the replicas started on it and left it alone: it holds every request
                assert int(store.get(counter) or 0) == int(spent * 1_000_000)
            finally:
                store.close()
            lower = {"monthly_budget": str((spent / 2).quantize(Decimal("0.000001")))}
            put = httpx.put(
                urls[1] + "/admin/limits/department/research",
                json={**lower, "reason": "lower"},
                headers=ADMIN,
                timeout=30,
            )
            assert put.status_code == 200, put.text
            assert spent_or_reserved(chat(urls[1]))[0] == spent
            assert spent_or_reserved(refused_after_reload(urls[0]))[0] == spent


@pytest.fixture
def held(llama_server: LlamaBackend) -> Iterator[HeldStreams]:
    """The llama.cpp server behind a proxy holding each stream after its first 13 events: the
    stream is surely still running when the change is made (the tiny model could end it first
    on a busy machine)."""
    with held_streams(llama_server.base_url, passed=13) as proxy:
        yield proxy


def test_a_change_on_one_replica_holds_on_the_other_when_the_admin_call_returns(
    llama_server: LlamaBackend,
    held: HeldStreams,
    tmp_path: Path,
    pg_schema_url: str,
    redis_url: str,
    redis_prefix: str,
) -> None:
    """walk6 MEDIUM-2 on PostgreSQL and Redis: every change is made on the first replica and
    the next request goes to the second at once, with no retry: a new key serves, a withdrawn
    consent refuses the model and cuts the stream running on it there (its error event names
    the reason), a revoked key is refused, a budget below the spend refuses."""
    import openai

    backend = replace(llama_server, base_url=held.url)
    path, _ = admin_config(backend, tmp_path, redis_url, redis_prefix)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["server"]["database_url"] = pg_schema_url
    large = next(m for m in raw["models"] if m["id"] == "tiny-large")
    large["data_owner"] = "research"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    open_ledger(pg_schema_url).close()  # migrated once, before the replicas start

    def admin(url: str, path: str, body: dict[str, Any], method: str = "POST") -> Any:
        answer = httpx.request(method, url + path, json=body, headers=ADMIN, timeout=30)
        assert answer.status_code in (200, 201), answer.text
        return answer.json()

    with replicas(path, 2, {"STW_TEST_KEY_ADMIN": ADMIN_KEY}) as (first, second):
        made = admin(first, "/admin/keys", {"department": "research", "reason": "x"})
        key = {"authorization": f"Bearer {made['key']}"}
        body = {"model": "tiny-small", "messages": [{"role": "user", "content": "hi"}]}
        small = {**body, "max_tokens": 4}
        assert (
            httpx.post(second + "/v1/chat/completions", json=small, headers=key).status_code == 200
        )

        client = openai.OpenAI(base_url=second + "/v1", api_key=KEYS["research"], max_retries=0)
        story: list[ChatCompletionMessageParam] = [
            {"role": "user", "content": "Tell a very long story about a signal box."}
        ]
        stream = client.chat.completions.create(
            model="tiny-large",
            messages=story,
            max_tokens=600,
            stream=True,
        )
        with pytest.raises(openai.APIError) as cut:
            for pieces, _ in enumerate(stream):
                if pieces == 3:
                    try:
                        admin(
                            first,
                            "/admin/models/tiny-large/consent",
                            {"consent": False, "reason": "x"},
                        )
                    finally:
                        held.release()
        assert "withdrew consent" in cut.value.message, cut.value.message
        refused = httpx.post(
            second + "/v1/chat/completions", json={**small, "model": "tiny-large"}, headers=RESEARCH
        )
        assert refused.status_code == 404, refused.text  # withdrawn: no longer research's to see

        admin(first, f"/admin/keys/{made['key_id']}/revoke", {"reason": "leaked"})
        revoked = httpx.post(second + "/v1/chat/completions", json=small, headers=key)
        assert revoked.status_code == 401, revoked.text

        admin(
            first,
            "/admin/limits/department/research",
            {"monthly_budget": "0", "reason": "x"},
            "PUT",
        )
        over = httpx.post(second + "/api/chat", json={**small, "stream": False}, headers=RESEARCH)
        assert over.status_code == 429, over.text


def test_what_a_replicas_start_seeds_reaches_the_running_replicas_at_once(
    llama_server: LlamaBackend,
    tmp_path: Path,
    pg_schema_url: str,
    redis_url: str,
    redis_prefix: str,
) -> None:
    """On PostgreSQL and Redis, a replica running (the first, in process here, so its governance
    can be read) and another started with a config that adds a use case and a model: the use
    case its start seeds is in the first replica's snapshot (what its policy reads for every key
    bound to it) by the time the second answers, with no poll between (``refresh_seconds`` is
    300): the seeding was announced and acknowledged like any change."""
    path, _ = admin_config(llama_server, tmp_path, redis_url, redis_prefix)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["server"]["database_url"] = pg_schema_url
    raw["governance"] = {**raw.get("governance", {}), "refresh_seconds": 300}
    open_ledger(pg_schema_url).close()  # migrated once, before the replicas start
    environ = {**ENVIRON, "STW_TEST_KEY_ADMIN": ADMIN_KEY}
    app = create_app(parse_config(raw), environ=environ)
    with app_in_thread(app):
        governance = app.state.runtime.governance
        assert "triage" not in governance.snapshot.use_cases
        newer = {**raw, "use_cases": [*raw.get("use_cases", []), TRIAGE]}
        small = next(m for m in raw["models"] if m["id"] == "tiny-small")
        newer["models"] = [*raw["models"], {**small, "id": "tiny-triage"}]
        second = tmp_path / "newer.yaml"
        second.write_text(yaml.safe_dump(newer), encoding="utf-8")
        with replicas(second, 1, {"STW_TEST_KEY_ADMIN": ADMIN_KEY}) as [url]:
            assert chat(url, "tiny-triage").status_code == 200  # it seeded the model
            assert governance.snapshot.use_cases["triage"].department == "research"


TRIAGE = {"name": "triage", "department": "research", "purpose": "sort the tickets"}
