"""An outage of what the replicas share, made by stopping a TCP proxy in front of the real server
(Redis, PostgreSQL; the servers themselves are shared by other tests and left alone): the replica
says so where an operator looks (``/readyz``, ``/metrics``, one log line each way), answers what
it cannot serve with a 503 naming the part that failed (never the server's address), and is back
by itself when the proxy is."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy.engine import make_url

from stellwerk.gateway.router_versions import RouterVersions
from stellwerk.ledger.ledger import open_ledger
from stellwerk.routing.loader import load_learned
from tests.dashboard.client import login
from tests.dashboard.conftest import ADMIN_KEY, DASHBOARD_ENV, dashboard_raw
from tests.fixtures.gateway import KEYS, Gateway, in_process, migrated_copy, raw_config
from tests.fixtures.llama import LlamaBackend
from tests.fixtures.metrics import metric
from tests.fixtures.tcp_proxy import tcp_proxy
from tests.fixtures.waiting import until, until_async

pytestmark = pytest.mark.llama

RESEARCH = {"authorization": f"Bearer {KEYS['research']}"}
ADMIN = {"authorization": f"Bearer {ADMIN_KEY}"}
CHAT = {"model": "tiny-small", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
ROUTED = {**CHAT, "model": "auto", "messages": [{"role": "user", "content": "Explain the proof."}]}


def _hides(text: str, port: int) -> None:
    """``text`` (an answer) names no server address."""
    assert "127.0.0.1" not in text and str(port) not in text, text


def test_a_replica_cut_off_from_redis_is_not_ready_until_redis_is_back(
    llama_server: LlamaBackend,
    tmp_path: Path,
    ledger_template: Path,
    redis_url: str,
    redis_prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Redis unreachable: every model request is a 503, so /readyz is 503 with a ``redis`` part
    saying so (no address), ``stellwerk_redis_up`` 0, and the log has one WARNING for it, no
    traceback (it had a warning a second and a traceback every 5 s); Redis back: ready and
    serving again by itself, with one INFO line."""
    caplog.set_level(logging.INFO)
    target = urlsplit(redis_url)
    raw = raw_config(llama_server.base_url, migrated_copy(ledger_template, tmp_path / "l.db"))
    with tcp_proxy(target.port or 6379, target.hostname or "127.0.0.1") as proxy:
        raw["server"]["redis_url"] = f"redis://127.0.0.1:{proxy.port}{target.path or '/0'}"
        raw["server"]["redis_prefix"] = redis_prefix
        with in_process(raw) as gw:
            assert gw.get("/readyz").json()["redis"] == {"ready": True, "error": None}
            assert gw.post("/v1/chat/completions", json=CHAT, headers=RESEARCH).status_code == 200
            proxy.stop()
            until("/readyz is 503", lambda: gw.get("/readyz").status_code == 503)
            answers = [
                gw.post("/v1/chat/completions", json=CHAT, headers=RESEARCH) for _ in range(3)
            ]
            time.sleep(2)  # the outage goes on: the listener and the renewal try again
            down = gw.get("/readyz")
            redis_up = metric(gw, "stellwerk_redis_up")
            notices_up = metric(gw, "stellwerk_governance_notices_up")
            proxy.start()
            until("/readyz is 200 again", lambda: gw.get("/readyz").status_code == 200)
            back = gw.post("/v1/chat/completions", json=CHAT, headers=RESEARCH)
            until("Redis back is logged", lambda: _said(caplog, logging.INFO, "answers again"))
    assert [a.status_code for a in answers] == [503] * 3
    assert down.json()["status"] == "not_ready"
    assert down.json()["backends"]["llamacpp"]["ready"] is True  # only Redis is down
    assert down.json()["redis"]["ready"] is False
    assert "Redis failed" in down.json()["redis"]["error"]
    _hides(down.text, proxy.port)
    assert redis_up == 0
    assert down.json()["governance_notices"]["listening"] is False  # told, not counted
    assert notices_up == 0
    assert back.status_code == 200, back.text
    redis_lines = [r for r in caplog.records if r.name == "stellwerk.redis"]
    assert [r.levelno for r in redis_lines] == [logging.WARNING, logging.INFO], [
        r.getMessage() for r in redis_lines
    ]
    assert not [r for r in caplog.records if r.exc_info and r.levelno >= logging.INFO]
    others = [r for r in caplog.records if r.name != "stellwerk.redis" and "Redis" in r.msg]
    assert not [r.getMessage() for r in others if r.levelno >= logging.WARNING]


def _said(caplog: pytest.LogCaptureFixture, level: int, words: str) -> bool:
    return any(r.levelno == level and words in r.getMessage() for r in caplog.records)


def _pg_through(proxy_port: int, url: str) -> str:
    return make_url(url).set(host="127.0.0.1", port=proxy_port).render_as_string(False)


@pytest.mark.postgres
def test_a_ledger_outage_shows_in_readyz_and_metrics_and_the_admin_side_gets_a_503(
    llama_server: LlamaBackend, pg_schema_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL unreachable: model requests are answered and their records held (the replica
    stays ready; /readyz's ``ledger`` part says the writes fail, /metrics has the held records
    and the failures); the admin API answers a 503 naming the ledger in its own format
    (``service_unavailable``, ``Retry-After``), the dashboard its 503 page, never the database's
    address, each logged in one line; back, the records are written."""
    caplog.set_level(logging.INFO)
    target = make_url(pg_schema_url)
    with tcp_proxy(target.port or 5432, target.host or "127.0.0.1") as proxy:
        raw = dashboard_raw(llama_server.base_url, _pg_through(proxy.port, pg_schema_url))
        del raw["router"]  # the shipped learned router: its routed answers take feedback
        with in_process(raw, DASHBOARD_ENV) as gw, login(gw, ADMIN_KEY) as (browser, entered):
            assert entered.status_code == 303
            fine = gw.get("/readyz").json()["ledger"]
            routed = gw.post("/v1/chat/completions", json=ROUTED, headers=RESEARCH)
            grade = {"request_id": routed.headers["x-stellwerk-request-id"], "score": 0.5}
            proxy.stop()
            chat = gw.post("/v1/chat/completions", json=CHAT, headers=RESEARCH)
            until("a failed write", lambda: _ledger(gw)["consecutive_failures"] >= 1)
            time.sleep(3)  # the outage goes on: the governance refresh (1 s) tries again
            ready = gw.get("/readyz")
            figures = {
                name: metric(gw, f"stellwerk_ledger_{name}")
                for name in ("held", "capacity", "consecutive_failures", "failing_since_seconds")
            }
            admin = {p: gw.get(p, headers=ADMIN) for p in _ADMIN_READS}
            admin["/v1/feedback"] = gw.post("/v1/feedback", json=grade, headers=RESEARCH)
            admin_lines = _lines(caplog)
            page = browser.get("/dashboard")
            with login(gw, ADMIN_KEY) as (_, refused_login):
                pass
            proxy.start()
            until("the held records written", lambda: _ledger(gw)["held"] == 0)
            until("the refresh back", lambda: _said(caplog, logging.INFO, "refresh: the ledger"))
            after = gw.get("/readyz").json()["ledger"]
            audit = gw.get("/admin/audit", headers=ADMIN)
            graded = gw.post("/v1/feedback", json=grade, headers=RESEARCH)  # sent again
    assert fine == {
        "ready": True,
        "error": None,
        "held": 0,
        "capacity": 50_000,
        "consecutive_failures": 0,
        "failing_since": None,
    }
    assert chat.status_code == 200, chat.text
    assert ready.status_code == 200  # requests are answered: the replica serves
    ledger = ready.json()["ledger"]
    assert ledger["ready"] is True and ledger["held"] >= 1 and ledger["failing_since"]
    assert "OperationalError" in ledger["error"]
    _hides(ready.text, proxy.port)
    assert figures["held"] >= 1 and figures["consecutive_failures"] >= 1
    assert figures["capacity"] == 50_000 and figures["failing_since_seconds"] > 0
    for path, answer in admin.items():
        assert answer.status_code == 503, (path, answer.text)
        assert answer.headers["retry-after"] == "5"
        error = answer.json()["error"]
        assert error["code"] == "service_unavailable" and error["type"] == "server_error"
        assert error["message"].startswith("ledger: the database cannot be reached"), error
        _hides(answer.text, proxy.port)
    assert len(admin_lines) == len(admin), admin_lines  # one line each, no traceback
    assert all(str(proxy.port) in line for line in admin_lines)  # the log has the address
    for answer in (page, refused_login):
        assert answer.status_code == 503, answer.text[:300]
        assert "cannot reach its database" in answer.text
        assert answer.headers["retry-after"] == "5"
        _hides(answer.text, proxy.port)
    assert after["error"] is None and after["consecutive_failures"] == 0
    # the governance refresh (every second) logs the outage once each way, no traceback
    refresh = [r for r in caplog.records if r.getMessage().startswith("governance refresh")]
    assert [r.levelno for r in refresh] == [logging.WARNING, logging.INFO], refresh
    assert audit.status_code == 200
    assert graded.status_code == 200, graded.text
    ledger_db = open_ledger(pg_schema_url)
    try:
        ids = {r.request_id for r in ledger_db.recent_usage(limit=100)}
    finally:
        ledger_db.close()
    assert chat.headers["x-stellwerk-request-id"] in ids


_ADMIN_READS = (
    "/admin/audit",
    f"/admin/usage?month={datetime.now(UTC):%Y-%m}",
    "/admin/limits",
    "/admin/keys",
)


def _ledger(gw: Gateway) -> dict[str, Any]:
    ledger: dict[str, Any] = gw.get("/readyz").json()["ledger"]
    return ledger


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The lines that say a request was answered 503 for the ledger's database (after checking
    that nothing logged a traceback for the outage)."""
    traced = [r.getMessage() for r in caplog.records if r.exc_info and r.levelno >= logging.INFO]
    assert not traced, "a traceback for an expected outage"
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.INFO and "answered 503" in r.getMessage()
    ]


VERSIONS = "router versions: the ledger's"  # what the loop's outage lines start with


@pytest.mark.postgres
def test_the_router_versions_loop_outlives_a_ledger_outage(
    pg_schema_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The gateway follows a learned router's promoted versions in the ledger at every refresh;
    a database error ended that loop for good (it caught only Stellwerk's errors), so a replica
    routed with a stale version after any outage until restarted. Now it keeps going, and logs
    the outage once each way."""
    caplog.set_level(logging.INFO)
    target = make_url(pg_schema_url)
    with tcp_proxy(target.port or 5432, target.host or "127.0.0.1") as proxy:
        ledger = open_ledger(_pg_through(proxy.port, pg_schema_url))
        versions = RouterVersions(load_learned(), ledger)

        async def scenario() -> bool:
            loop = asyncio.create_task(versions.run(0.05))
            proxy.stop()
            await until_async(
                "the loop read the ledger",
                lambda: loop.done() or _said(caplog, logging.WARNING, VERSIONS),
                step_s=0.05,
            )
            await asyncio.sleep(0.3)  # a few more rounds against the dead port
            proxy.start()
            await until_async(
                "the loop read the ledger again",
                lambda: loop.done() or _said(caplog, logging.INFO, VERSIONS),
                step_s=0.05,
            )
            alive = not loop.done()
            loop.cancel()
            await asyncio.gather(loop, return_exceptions=True)
            return alive

        try:
            alive = asyncio.run(scenario())
        finally:
            ledger.close()
    assert alive, "the loop ended on the database's error"
    lines = [r for r in caplog.records if r.getMessage().startswith("router versions")]
    assert [r.levelno for r in lines] == [logging.WARNING, logging.INFO]
