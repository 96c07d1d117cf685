"""The limits API and money on a running gateway (the real llama.cpp test server behind it):
bounded numbers only, changes that merge, an audit that shows what was in force, and amounts
that read back exactly."""

from __future__ import annotations

import contextlib
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.gateway import Gateway, in_process, running_gateway, running_lines
from tests.fixtures.llama import LlamaBackend
from tests.fixtures.loopback import stalling_server
from tests.gateway.test_governance import (
    ADMIN,
    ENV,
    RESEARCH,
    chat,
    governed,
    post,
    read_usage,
    report,
    served_month,
)

pytestmark = pytest.mark.llama

LIMITS = "/admin/limits/department/research"
JSON = {"content-type": "application/json"}


def put_limits(gw: Gateway, body: dict[str, Any]) -> httpx.Response:
    return gw.put(LIMITS, json=body, headers=ADMIN, timeout=30)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"monthly_budget": 1e303}, "monthly_budget"),
        ({"monthly_budget": -1}, "monthly_budget"),
        ({"monthly_budget": "Infinity"}, "monthly_budget"),
        ({"monthly_budget": "0.0000001"}, "monthly_budget"),
        ({"requests_per_minute": 99999999999999999999999}, "requests_per_minute"),
        ({"tokens_per_minute": 2**63}, "tokens_per_minute"),
        ({"tokens_per_minute": 0}, "tokens_per_minute"),
        ({"requests_per_minute": 1.5}, "requests_per_minute"),
    ],
)
def test_unbounded_limits_are_a_400_naming_the_field_and_requests_keep_working(
    llama_server: LlamaBackend, tmp_path: Path, body: dict[str, Any], field: str
) -> None:
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        refused = put_limits(gw, {**body, "reason": "try"})
        assert refused.status_code == 400, refused.text
        assert field in refused.json()["error"]["message"]
        assert post(gw, "/v1/chat/completions", chat(), RESEARCH).status_code == 200
        limits = gw.get("/admin/limits", headers=ADMIN).json()
        assert limits["departments"]["research"]["monthly_budget"] is None


def test_a_budget_change_keeps_the_configured_rate_limit_and_the_audit_shows_both(
    llama_server: LlamaBackend, tmp_path: Path, any_db_url: str
) -> None:
    raw = governed(llama_server, tmp_path, any_db_url)
    raw["departments"][0]["limits"] = {"requests_per_minute": 120}
    with in_process(raw, ENV) as gw:
        changed = put_limits(gw, {"monthly_budget": 300, "reason": "Q1 pilot"})
        assert changed.status_code == 200, changed.text
        in_force = {"requests_per_minute": 120, "tokens_per_minute": None}
        # not_acknowledged: no replica failed to read it (without Redis none is awaited)
        assert changed.json() == {
            **in_force,
            "monthly_budget": "300.000000",
            "spent": "0.000000",
            "remaining": "300.000000",
            "not_acknowledged": 0,
        }
        listed = gw.get("/admin/limits", headers=ADMIN).json()
        assert {**listed["departments"]["research"], "not_acknowledged": 0} == changed.json()
        cleared = put_limits(gw, {"requests_per_minute": None, "reason": "no rate limit"})
        assert cleared.json()["requests_per_minute"] is None
        assert cleared.json()["monthly_budget"] == "300.000000"
        nothing = put_limits(gw, {"reason": "empty"})
        assert nothing.status_code == 400
        audit = gw.get("/admin/audit?action=limits.set", headers=ADMIN).json()
    second, first = (e["details"] for e in audit["entries"])
    assert first["from"] == {**in_force, "monthly_budget": None}
    assert first["to"] == {**in_force, "monthly_budget": "300.000000"}
    assert first["reason"] == "Q1 pilot"
    assert second["from"] == first["to"]
    assert second["to"] == {
        "requests_per_minute": None,
        "tokens_per_minute": None,
        "monthly_budget": "300.000000",
    }


def test_amounts_read_back_exactly(
    llama_server: LlamaBackend, tmp_path: Path, any_db_url: str
) -> None:
    """Costs of a few millionths: the report's strings are the exact sums of the records, a
    small budget reads as itself in the refusal."""
    raw = governed(llama_server, tmp_path, any_db_url)
    for m in raw["models"]:
        m["price"] = {"input_per_mtok": 10, "output_per_mtok": 70}
    with in_process(raw, ENV) as gw:
        for _ in range(3):
            assert post(gw, "/v1/chat/completions", chat(), RESEARCH).status_code == 200
        usage = report(gw, "department", ADMIN, requests=3)
        assert put_limits(gw, {"monthly_budget": "0.0005", "reason": "tiny"}).status_code == 200
        refused = post(gw, "/v1/chat/completions", chat(), RESEARCH)
    records = read_usage(gw)
    served = [r for r in records if r.status == 200]
    assert len(served) == 3 and all(0 < r.cost < Decimal("0.001") for r in served)
    total = usage["total"]["cost"]
    assert isinstance(total, str) and len(total.split(".")[1]) == 6
    assert Decimal(total) == sum(r.cost for r in served)
    assert usage["month"] == served_month()
    assert refused.status_code == 429
    assert "monthly budget of 0.000500 reached" in refused.json()["error"]["message"]


def priced(llama: LlamaBackend, tmp_path: Path, database_url: str | None = None) -> dict[str, Any]:
    raw = governed(llama, tmp_path, database_url)
    for model in raw["models"]:  # a few requests cost a few hundredths
        model["price"] = {"input_per_mtok": 1000, "output_per_mtok": 1000}
    return raw


def research_spend(gw: Gateway, *, served: int) -> Decimal:
    """Research's spend in the ledger once its ``served`` answered requests are in (the ledger
    writer commits in batches, off the request path)."""
    deadline = time.monotonic() + 20
    while True:
        records = [r for r in read_usage(gw) if r.department == "research"]
        if len([r for r in records if r.status == 200]) >= served:
            return sum((r.cost for r in records), Decimal(0))
        assert time.monotonic() < deadline, records
        time.sleep(0.05)


@pytest.mark.parametrize("kind", ["department", "key"])
def test_a_budget_set_on_a_running_gateway_counts_the_months_spend(
    llama_server: LlamaBackend, tmp_path: Path, any_db_url: str, kind: str
) -> None:
    """Spend first, then a budget below the spend: the next request is refused, naming the
    month's real spend (not the spend since the budget was set); raised above it, requests are
    served again; cleared and set again, it counts what was spent while there was none."""
    with in_process(priced(llama_server, tmp_path, any_db_url), ENV) as gw:
        headers, scope = RESEARCH, "research"
        if kind == "key":
            made = post(gw, "/admin/keys", {"department": "research", "reason": "pilot"}, ADMIN)
            assert made.status_code == 201, made.text
            headers = {"authorization": f"Bearer {made.json()['key']}"}
            scope = made.json()["key_id"]
        url = f"/admin/limits/{kind}/{scope}"
        for _ in range(6):
            assert post(gw, "/v1/chat/completions", chat(), headers).status_code == 200
        spent = research_spend(gw, served=6)
        # below the spend, above what one request may cost (about 0.1): counted from zero, the
        # next request would be served
        budget = (spent * 3 / 4).quantize(Decimal("0.000001"))
        set_low = gw.put(url, json={"monthly_budget": str(budget), "reason": "cap"}, headers=ADMIN)
        assert set_low.status_code == 200, set_low.text
        refused = post(gw, "/v1/chat/completions", chat(), headers)
        assert refused.status_code == 429, refused.text
        error = refused.json()["error"]
        assert error["code"] == "budget_exceeded"
        assert f"{kind} '{scope}': monthly budget of {budget:.6f} reached" in error["message"]
        assert f"({spent:.6f} spent or reserved" in error["message"]
        assert budget > Decimal(error["message"].split("may cost up to ")[1].split(")")[0])

        raised = gw.put(url, json={"monthly_budget": "1000", "reason": "more"}, headers=ADMIN)
        assert raised.status_code == 200, raised.text
        assert post(gw, "/v1/chat/completions", chat(), headers).status_code == 200

        cleared = gw.put(url, json={"monthly_budget": None, "reason": "open"}, headers=ADMIN)
        assert cleared.status_code == 200, cleared.text
        assert post(gw, "/v1/chat/completions", chat(), headers).status_code == 200
        spent = research_spend(gw, served=8)
        again = gw.put(url, json={"monthly_budget": str(budget), "reason": "cap"}, headers=ADMIN)
        assert again.status_code == 200, again.text
        refused = post(gw, "/v1/chat/completions", chat(), headers)
        assert refused.status_code == 429, refused.text
        assert f"({spent:.6f} spent or reserved" in refused.json()["error"]["message"]


STREAM = {
    "model": "stalled-small",
    "messages": [{"role": "user", "content": "Tell a very long story."}],
    "max_tokens": 900,  # with the prompt, about the model's context: a reservation near 1.0
    "stream": True,
}

TWIN = {**STREAM, "model": "tiny-small", "stream": False}  # the streams' bound, answered


def with_stalled_model(raw: dict[str, Any], url: str) -> dict[str, Any]:
    """``raw`` with ``stalled-small``: tiny-small's twin on a backend whose streams stay open."""
    raw["backends"].append({"name": "stalled", "kind": "openai", "base_url": url})
    small = next(m for m in raw["models"] if m["id"] == "tiny-small")
    raw["models"].append({**small, "id": "stalled-small", "backend": "stalled"})
    return raw


def spent_or_reserved(message: str) -> tuple[Decimal, Decimal]:
    """The spend and the request's bound a ``budget_exceeded`` message names."""
    spent = message.split("reached (")[1].split(" spent or reserved")[0]
    bound = message.split("may cost up to ")[1].split(")")[0]
    return Decimal(spent), Decimal(bound)


def test_a_budget_set_with_requests_in_flight_counts_them(
    llama_server: LlamaBackend, tmp_path: Path
) -> None:
    """walk4 N1: requests answered a moment before (not yet in the ledger) and streams still
    running when a budget is set, all admitted while there was none, are counted: the next
    request is refused naming the spend and the streams' reservations, though the budget is
    above the ledger's spend at that moment."""
    with stalling_server() as stalled:
        raw = with_stalled_model(priced(llama_server, tmp_path), stalled.url)
        with (
            running_gateway(raw, ENV) as gw,
            httpx.Client(base_url=gw.url, timeout=60, headers=RESEARCH) as client,
            contextlib.ExitStack() as streams,
        ):
            for _ in range(2):
                assert client.post("/v1/chat/completions", json=chat()).status_code == 200
            running = []  # each stream's lines, kept (running_lines)
            for _ in range(2):
                stream = streams.enter_context(
                    client.stream("POST", "/v1/chat/completions", json=STREAM)
                )
                assert stream.status_code == 200
                running.append(running_lines(stream))
            change = {"monthly_budget": "1.5", "reason": "cap"}  # below two streams' bound
            assert gw.put(LIMITS, json=change, headers=ADMIN).status_code == 200
            refused = client.post("/v1/chat/completions", json=TWIN)
            assert refused.status_code == 429, refused.text
            assert refused.json()["error"]["code"] == "budget_exceeded"
            counted, bound = spent_or_reserved(refused.json()["error"]["message"])
            answered = research_spend(gw, served=2)  # the streams are not in the ledger yet
            assert counted == answered + 2 * bound  # each stream holds that request's bound
            assert client.post("/v1/chat/completions", json=chat()).status_code == 429


def test_a_rate_limit_set_mid_minute_counts_the_minutes_earlier_requests(
    llama_server: LlamaBackend, tmp_path: Path
) -> None:
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        second = time.time() % 60
        if second > 40:  # the requests and the limit inside one minute
            time.sleep(61 - second)
        for _ in range(3):
            assert post(gw, "/v1/chat/completions", chat(), RESEARCH).status_code == 200
        assert put_limits(gw, {"requests_per_minute": 3, "reason": "cap"}).status_code == 200
        refused = post(gw, "/v1/chat/completions", chat(), RESEARCH)
        assert refused.status_code == 429, refused.text
        message = refused.json()["error"]["message"]
        assert "department 'research': limit of 3 requests per minute reached" in message


def test_a_budget_sent_as_a_json_number_is_that_amount_to_the_micro_unit(
    llama_server: LlamaBackend, tmp_path: Path
) -> None:
    """A JSON number is read from its text, not through a float: the amount stored is the one
    sent, and one past the maximum by a micro-unit is refused as the same string is."""
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        for sent, stored in [
            ("123456789012.345678", "123456789012.345678"),
            ("99999999999.999999", "99999999999.999999"),
            ("1e3", "1000.000000"),
            ("0.1e1", "1.000000"),
        ]:
            body = f'{{"monthly_budget": {sent}, "reason": "exact"}}'
            changed = gw.put(LIMITS, content=body, headers={**ADMIN, **JSON}, timeout=30)
            assert changed.status_code == 200, changed.text
            assert changed.json()["monthly_budget"] == stored
        over = '{"monthly_budget": 1000000000000.000001, "reason": "over"}'
        refused = gw.put(LIMITS, content=over, headers={**ADMIN, **JSON}, timeout=30)
        assert refused.status_code == 400, refused.text
        assert "monthly_budget" in refused.json()["error"]["message"]
        limits = gw.get("/admin/limits", headers=ADMIN).json()
        assert limits["departments"]["research"]["monthly_budget"] == "1.000000"
