"""A replica that cannot read a governance change announced to it (walk28 F0): two replicas on
one PostgreSQL and one Redis, the second's ledger through a TCP proxy the test stops. Before, the
cut replica acknowledged the revocation it could not read (``not_acknowledged: 0``), served the
revoked key and spent past a lowered budget for the whole outage, and said it was ready. Now it
does not acknowledge, refuses the model APIs with 503 ``governance_stale`` (each API's own
format, through the real ``openai`` and ``ollama`` libraries), is not ready, and reads the change
once its database is back."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from typing import Any

import ollama
import openai
import pytest
from sqlalchemy.engine import make_url

from tests.dashboard.conftest import ADMIN_KEY, DASHBOARD_ENV, dashboard_raw
from tests.fixtures.gateway import KEYS, Gateway, in_process
from tests.fixtures.llama import LlamaBackend
from tests.fixtures.metrics import metric
from tests.fixtures.tcp_proxy import TcpProxy, tcp_proxy
from tests.fixtures.waiting import until

pytestmark = [pytest.mark.llama, pytest.mark.redis, pytest.mark.postgres]

ADMIN = {"authorization": f"Bearer {ADMIN_KEY}"}
MESSAGES = [{"role": "user", "content": "hi"}]
STALE = "governance: a change announced by another replica is not read"
BACK = "governance: the announced change is read"


@contextmanager
def two_replicas(
    llama: LlamaBackend, pg_url: str, redis_url: str, prefix: str
) -> Iterator[tuple[Gateway, Gateway, TcpProxy]]:
    """``first`` on the database directly, ``cut`` through a proxy the test stops."""
    target = make_url(pg_url)
    through = make_url(pg_url)
    with ExitStack() as stack:
        proxy = stack.enter_context(tcp_proxy(target.port or 5432, target.host or "127.0.0.1"))
        through = through.set(host="127.0.0.1", port=proxy.port)
        gateways = []
        for url in (pg_url, through.render_as_string(False)):
            raw = dashboard_raw(llama.base_url, url)
            raw["server"]["redis_url"] = redis_url
            raw["server"]["redis_prefix"] = prefix
            gateways.append(stack.enter_context(in_process(raw, DASHBOARD_ENV)))
        stack.callback(_restored, proxy)  # a test that failed with it stopped: shut down whole
        for gw in gateways:
            until("it listens", partial(_listening, gw))
        yield gateways[0], gateways[1], proxy


def _restored(proxy: TcpProxy) -> None:
    try:
        socket.create_connection(("127.0.0.1", proxy.port), timeout=1).close()
    except OSError:
        proxy.start()


def _listening(gw: Gateway) -> bool:
    return bool(_ready(gw)["governance_notices"]["listening"])


def _ready(gw: Gateway) -> dict[str, Any]:
    found: dict[str, Any] = gw.get("/readyz", headers=ADMIN).json()
    return found


def _refusals(gw: Gateway, key: str) -> tuple[openai.APIStatusError, ollama.ResponseError]:
    """The same chat asked through the real openai and ollama libraries, both refused."""
    with pytest.raises(openai.APIStatusError) as by_openai:
        gw.openai(key, max_retries=0).chat.completions.create(
            model="tiny-small", messages=[{"role": "user", "content": "hi"}], max_tokens=2
        )
    with pytest.raises(ollama.ResponseError) as by_ollama:
        gw.ollama(key).chat(model="tiny-small", messages=MESSAGES, options={"num_predict": 2})
    return by_openai.value, by_ollama.value


def _said(caplog: pytest.LogCaptureFixture, words: str) -> list[int]:
    return [r.levelno for r in caplog.records if r.getMessage().startswith(words)]


def _is_stale_refusal(by_openai: openai.APIStatusError, by_ollama: ollama.ResponseError) -> None:
    assert by_openai.status_code == 503, by_openai
    assert by_openai.response.headers["retry-after"] == "5"
    body = by_openai.response.json()["error"]
    assert (body["code"], body["type"]) == ("governance_stale", "server_error"), body
    assert "could not read a governance change" in body["message"], body
    assert "tries again" in body["message"], body
    assert by_ollama.status_code == 503, by_ollama
    assert "could not read a governance change" in by_ollama.error, by_ollama.error


def test_a_replica_that_cannot_read_a_revocation_refuses_until_it_has(
    llama_server: LlamaBackend,
    pg_schema_url: str,
    redis_url: str,
    redis_prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The key revoked on the first replica while the second cannot reach the database: the
    revocation says one replica did not acknowledge; the cut replica refuses the key on both
    APIs with 503 ``governance_stale``, is not ready (``governance`` part), ``/healthz`` ok,
    ``stellwerk_governance_stale`` 1; with its database back it refuses the revoked key (401)
    and is ready. Without a change, the cut replica kept serving (docs/reliability.md)."""
    caplog.set_level(logging.INFO)
    with two_replicas(llama_server, pg_schema_url, redis_url, redis_prefix) as (first, cut, proxy):
        made = first.post(
            "/admin/keys", json={"department": "research", "reason": "x"}, headers=ADMIN
        )
        assert made.status_code == 201, made.text
        key, key_id = made.json()["key"], made.json()["key_id"]
        assert [m.id for m in cut.openai(key).models.list()]  # the cut replica knows it

        proxy.stop()
        served = cut.openai(key, max_retries=0).chat.completions.create(
            model="tiny-small", messages=[{"role": "user", "content": "hi"}], max_tokens=2
        )
        assert served.choices, served  # no change announced: it serves on its snapshot
        assert cut.get("/readyz").status_code == 200

        revoked = first.post(
            f"/admin/keys/{key_id}/revoke", json={"reason": "stolen"}, headers=ADMIN
        )
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["not_acknowledged"] >= 1, revoked.json()
        until("the cut replica is not ready", lambda: cut.get("/readyz").status_code == 503)
        by_openai, by_ollama = _refusals(cut, key)
        listed = cut.get("/v1/models", headers={"authorization": f"Bearer {key}"})
        other = _refusals(cut, KEYS["research"])  # every key: it cannot know what changed
        ready = _ready(cut)
        stale_metric = metric(cut, "stellwerk_governance_stale", ADMIN)
        healthy = cut.get("/healthz")
        on_first = first.post(
            "/v1/chat/completions",
            json={"model": "tiny-small", "messages": MESSAGES, "max_tokens": 2},
            headers={"authorization": f"Bearer {key}"},
        )

        proxy.start()
        until("the cut replica is ready again", lambda: cut.get("/readyz").status_code == 200)
        with pytest.raises(openai.AuthenticationError):
            cut.openai(key, max_retries=0).models.list()
        with pytest.raises(ollama.ResponseError) as after:
            cut.ollama(key).chat(model="tiny-small", messages=MESSAGES)
        back = cut.openai(KEYS["research"], max_retries=0).chat.completions.create(
            model="tiny-small", messages=[{"role": "user", "content": "hi"}], max_tokens=2
        )
        back_metric = metric(cut, "stellwerk_governance_stale", ADMIN)
    _is_stale_refusal(by_openai, by_ollama)
    _is_stale_refusal(*other)
    assert listed.status_code == 503 and listed.json()["error"]["code"] == "governance_stale"
    assert ready["status"] == "not_ready"
    governance = ready["governance"]
    assert governance["ready"] is False and governance["stale_since"], governance
    assert "announced by another replica is not read" in governance["error"], governance
    assert str(proxy.port) not in str(ready) and "127.0.0.1" not in str(ready)
    assert stale_metric == 1 and back_metric == 0
    assert healthy.status_code == 200
    assert on_first.status_code == 401, on_first.text
    assert after.value.status_code == 401
    assert back.choices
    assert _said(caplog, STALE) == [logging.WARNING]  # once, whatever the requests
    assert _said(caplog, BACK) == [logging.INFO]


def test_a_replica_that_cannot_read_a_lowered_budget_does_not_spend_past_it(
    llama_server: LlamaBackend,
    pg_schema_url: str,
    redis_url: str,
    redis_prefix: str,
) -> None:
    """The budget set to 0 on the first replica while the second cannot reach the database:
    not acknowledged, the cut replica refuses (503) instead of spending; back, it says 429."""
    chat = {"model": "tiny-small", "messages": MESSAGES, "max_tokens": 2}
    research = {"authorization": f"Bearer {KEYS['research']}"}
    with two_replicas(llama_server, pg_schema_url, redis_url, redis_prefix) as (first, cut, proxy):
        assert cut.post("/v1/chat/completions", json=chat, headers=research).status_code == 200
        proxy.stop()
        frozen = first.put(
            "/admin/limits/department/research",
            json={"monthly_budget": "0", "reason": "freeze spending"},
            headers=ADMIN,
        )
        assert frozen.status_code == 200, frozen.text
        until("the cut replica is not ready", lambda: cut.get("/readyz").status_code == 503)
        spent = cut.post("/v1/chat/completions", json=chat, headers=research)
        on_ollama = cut.post("/api/chat", json={**chat, "stream": False}, headers=research)
        proxy.start()
        until("the cut replica is ready again", lambda: cut.get("/readyz").status_code == 200)
        after = cut.post("/v1/chat/completions", json=chat, headers=research)
    assert frozen.json()["not_acknowledged"] >= 1, frozen.json()
    assert spent.status_code == 503, spent.text
    assert spent.json()["error"]["code"] == "governance_stale"
    assert on_ollama.status_code == 503, on_ollama.text
    assert "could not read a governance change" in on_ollama.json()["error"]
    assert after.status_code == 429, after.text
