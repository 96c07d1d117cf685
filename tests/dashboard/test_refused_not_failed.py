"""A request the client can fix is refused, not failed: a prompt over the context (which the real
llama.cpp server itself refuses), an embedding input over it with ``truncate: false`` and a
request for a model the key may not use are the model's and the department's *refused* requests,
and neither the backend's failures in Backend health nor a Prometheus upstream error; a backend
that is down still is (walk 3, M4)."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from stellwerk.ledger.record import UsageRecord
from tests.dashboard.client import login
from tests.dashboard.conftest import ADMIN_KEY, DASHBOARD_ENV, seed
from tests.fixtures.gateway import KEYS, Gateway, bearer, free_port, in_process

pytestmark = pytest.mark.llama

LONG_PROMPT = " ".join(f"w{i}" for i in range(500))  # 2,000 tokens of a 1,024 context
LONG_INPUT = "Zeile " * 250  # 1,501 tokens of tiny-embed's 1,024


def _with_dead_backend(raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` with a backend nothing listens on, serving the model ``dead-small``."""
    dead = {"name": "dead", "kind": "openai", "base_url": f"http://127.0.0.1:{free_port()}"}
    model = {**raw["models"][0], "id": "dead-small", "backend": "dead"}
    return {**raw, "backends": [*raw["backends"], dead], "models": [*raw["models"], model]}


def _records(gateway: Gateway, count: int) -> list[UsageRecord]:
    """The usage records, once ``count`` are written (the writer flushes in the background)."""
    for _ in range(600):  # 30 s: generous on a busy machine
        ledger = gateway.ledger()
        try:
            records = ledger.recent_usage()
        finally:
            ledger.close()
        if len(records) >= count:
            return records
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} usage records were written")


def _kpis(html: str) -> dict[str, str]:
    """The page's key figures: label -> figure."""
    found = re.findall(r'<span class="k">([^<]*)</span><span class="l">([^<]*)</span>', html)
    return {label: figure for figure, label in found}


def _health(html: str) -> dict[str, list[str]]:
    """Backend health: backend -> its cells after the name (state, circuit, requests, failed)."""
    table = html.split('id="w-health"', 1)[1].split("</table>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr><td><b>(.*?)</tr>", table, re.S):
        name, rest = row.split("</b>", 1)
        rows[name] = [
            re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", rest)
        ]
    return rows


def test_client_mistakes_are_refused_and_a_dead_backend_failed(
    dashboard_config: dict[str, Any],
) -> None:
    raw = _with_dead_backend(dashboard_config)
    seed(raw)
    research = bearer(KEYS["research"])
    with in_process(raw, DASHBOARD_ENV) as gw:
        over = gw.post(
            "/v1/chat/completions",
            json={"model": "tiny-small", "messages": [{"role": "user", "content": LONG_PROMPT}]},
            headers=research,
            timeout=60,
        )
        assert over.status_code == 400
        assert over.json()["error"]["code"] == "context_length_exceeded"
        assert "backend 'llamacpp'" in over.json()["error"]["message"]  # llama.cpp refused it
        embed = gw.post(
            "/api/embed",
            json={"model": "tiny-embed", "input": LONG_INPUT, "truncate": False},
            headers=research,
            timeout=60,
        )
        assert embed.status_code == 400, embed.text
        served = gw.post(
            "/v1/chat/completions",
            json={
                "model": "tiny-small",
                "messages": [{"role": "user", "content": "hi"}],
                "max_tokens": 2,
            },
            headers=research,
            timeout=60,
        )
        assert served.status_code == 200
        down = gw.post(
            "/v1/chat/completions",
            json={"model": "dead-small", "messages": [{"role": "user", "content": "hi"}]},
            headers=research,
            timeout=60,
        )
        assert down.status_code == 503
        forbidden = gw.post(
            "/v1/chat/completions",
            json={"model": "tiny-large", "messages": [{"role": "user", "content": "hi"}]},
            headers=bearer(KEYS["legal"]),
        )
        assert forbidden.status_code == 404  # not legal's to see: as an unknown one

        records = _records(gw, 5)
        assert sorted(r.status for r in records) == [200, 400, 400, 404, 503]

        metrics = gw.get("/metrics").text
        assert 'stellwerk_upstream_errors_total{backend="dead",kind="unavailable"} 1.0' in metrics
        assert 'stellwerk_upstream_errors_total{backend="llamacpp"' not in metrics

        with login(gw, ADMIN_KEY) as (client, _):
            small = _kpis(client.get("/dashboard/models/tiny-small").text)
            assert (small["Refused"], small["Failed"]) == ("1", "0")
            dead = _kpis(client.get("/dashboard/models/dead-small").text)
            assert (dead["Refused"], dead["Failed"]) == ("0", "1")
            department = client.get("/dashboard/departments/research").text
            assert (_kpis(department)["Refused"], _kpis(department)["Failed"]) == ("2", "1")
            assert "context_length_exceeded" in department  # refusals by reason, after the model

            overview = client.get("/dashboard").text
            health = _health(overview)
            assert health["llamacpp"][-2:] == ["3", "0\xa0%"]  # 2 refused, 1 served: no failure
            assert health["dead"][-2:] == ["1", "100\xa0%"]
            assert "3 refused · 1 failed" in overview

            client.cookies.set("stw_lang", "de")
            german = _kpis(client.get("/dashboard/models/tiny-small").text)
            assert (german["Abge\u00adwiesen"], german["Fehl\u00adgeschlagen"]) == ("1", "0")
