"""The admin API names a field its schema refuses as the data plane does: ``state: ...`` with
``param: "state"``, not FastAPI's ``body.state: ...`` without a param."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.gateway import in_process, migrated_copy
from tests.fixtures.llama import LlamaBackend
from tests.gateway.test_governance import ADMIN, ENV, governed


@pytest.fixture(autouse=True)
def _ledger(tmp_path: Path, ledger_template: Path) -> None:
    migrated_copy(ledger_template, tmp_path / "ledger.db")


@pytest.mark.parametrize(
    ("method", "path", "body", "param", "starts"),
    [
        (
            "post",
            "/admin/models/tiny-small/lifecycle",
            {"state": "bogus", "reason": "ok"},
            "state",
            "state: 'bogus' is not a lifecycle state; one of proposed,",
        ),
        ("post", "/admin/keys", {"department": 5, "reason": "x"}, "department", "department: "),
        ("post", "/admin/keys", {"reason": "x"}, "department", "department: missing; "),
        (
            "put",
            "/admin/limits/department/research",
            {"monthly_budget": -5, "reason": "r"},
            "monthly_budget",
            "monthly_budget: ",
        ),
        ("post", "/admin/keys", [1], None, "request body must be a JSON object"),
        ("get", "/admin/audit?limit=abc", None, "limit", "limit: 'abc' is not a whole number"),
    ],
)
def test_a_field_the_admin_schema_refuses_is_named_as_its_param(
    llama_server: LlamaBackend,
    tmp_path: Path,
    method: str,
    path: str,
    body: object,
    param: str | None,
    starts: str,
) -> None:
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        answer = gw.request(method, path, json=body, headers=ADMIN)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["param"] == param
    assert error["message"].startswith(starts), error["message"]
    assert "body." not in error["message"] and "query." not in error["message"]


@pytest.mark.parametrize(
    ("budget", "said"),
    [
        ('"9999999999999999999999999999"', "1000000000000"),
        ("1e13", "1000000000000"),
        ('"' + "9" * 5000 + '"', "1000000000000"),
        ("9" * 5000, "an integer of 5000 digits is too long"),
    ],
    ids=["text", "exponent", "5000-digit text", "5000-digit number"],
)
def test_a_budget_above_the_largest_is_refused_naming_the_field_and_the_bound(
    llama_server: LlamaBackend, tmp_path: Path, budget: str, said: str
) -> None:
    """What ``stellwerk limits set --monthly-budget`` now refuses itself (walk 25, 5): the admin
    API names the field and the bound too, also for a number too long for Python's ``int()``."""
    body = '{"monthly_budget": ' + budget + ', "reason": "r"}'
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        answer = gw.request(
            "put",
            "/admin/limits/department/research",
            content=body,
            headers={**ADMIN, "content-type": "application/json"},
        )
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["param"] == "monthly_budget"
    assert error["message"].startswith("monthly_budget: "), error["message"]
    assert said in error["message"], error["message"]
