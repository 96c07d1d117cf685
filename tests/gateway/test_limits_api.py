"""The limits API and money on a running gateway (the real llama.cpp test server behind it):
bounded numbers only, changes that merge, an audit that shows what was in force, and amounts
that read back exactly."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.gateway import Gateway, in_process
from tests.fixtures.llama import LlamaBackend
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
        assert changed.json() == {**in_force, "monthly_budget": "300.000000"}
        listed = gw.get("/admin/limits", headers=ADMIN).json()
        assert listed["departments"]["research"] == changed.json()
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
