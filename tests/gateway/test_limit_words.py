"""``PUT /admin/limits/{kind}/{scope}`` refuses a limit out of its bounds, of another type or not
finite in the project's words, naming the field and the bound as ``stellwerk limits set`` does
(``0 is less than 1, the least it may be``), in the admin API's error format; pydantic's own
(``Input should be greater than 0``, ``Input should be less than or equal to ...``, ``Input
should be a valid integer``, ``Input should be 'department' or 'key'``) reached the client. No
refused change changes a limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.gateway import in_process, migrated_copy
from tests.fixtures.llama import LlamaBackend
from tests.gateway.test_governance import ADMIN, ENV, governed

pytestmark = pytest.mark.llama

LIMITS = "/admin/limits/department/research"
RATE = "send a JSON integer from 1 to 1000000000, or null for unlimited"
NOT_JSON = "is not a finite number (NaN and Infinity are not JSON; a backend cannot read them)"


@pytest.fixture(autouse=True)
def _ledger(tmp_path: Path, ledger_template: Path) -> None:
    migrated_copy(ledger_template, tmp_path / "ledger.db")


@pytest.mark.parametrize(
    ("limits", "param", "message"),
    [
        ('"requests_per_minute": 0', "requests_per_minute",
         "requests_per_minute: 0 is less than 1, the least it may be; or null for unlimited"),
        ('"tokens_per_minute": -5', "tokens_per_minute",
         "tokens_per_minute: -5 is less than 1, the least it may be; or null for unlimited"),
        ('"requests_per_minute": 1000000001', "requests_per_minute",
         "requests_per_minute: 1000000001 is more than 1000000000, the most it may be;"
         " or null for unlimited"),
        ('"requests_per_minute": 1.5', "requests_per_minute",
         f"requests_per_minute: 1.5 is not a whole number; {RATE}"),
        ('"tokens_per_minute": 1e3', "tokens_per_minute",
         f"tokens_per_minute: 1E+3 is not written as an integer (no '.' or 'e'); {RATE}"),
        ('"requests_per_minute": "60"', "requests_per_minute",
         f"requests_per_minute: a string is not a whole number; {RATE}"),
        ('"requests_per_minute": true', "requests_per_minute",
         f"requests_per_minute: true is not a whole number; {RATE}"),
        ('"tokens_per_minute": [5]', "tokens_per_minute",
         f"tokens_per_minute: a list is not a whole number; {RATE}"),
        ('"requests_per_minute": NaN', "requests_per_minute",
         f"requests_per_minute: NaN {NOT_JSON}"),  # once, not again in other words
        ('"monthly_budget": -1', "monthly_budget",
         "monthly_budget: -1 is less than 0, the least it may be; or null for unlimited"),
        ('"monthly_budget": 1000000000000.000001', "monthly_budget",
         "monthly_budget: 1000000000000.000001 is more than 1000000000000, the most it may be;"
         " or null for unlimited"),
        ('"monthly_budget": 1e303', "monthly_budget",
         "monthly_budget: 1E+303 is more than 1000000000000, the most it may be;"
         " or null for unlimited"),
        ('"monthly_budget": "' + "9" * 300 + '"', "monthly_budget",
         "monthly_budget: 999999999999... (300 characters) is more than 1000000000000, the most"
         " it may be; or null for unlimited"),
        ('"monthly_budget": Infinity', "monthly_budget", f"monthly_budget: Infinity {NOT_JSON}"),
        ('"requests_per_minute": 0, "monthly_budget": -2', "requests_per_minute",
         "requests_per_minute: 0 is less than 1, the least it may be; or null for unlimited;"
         " monthly_budget: -2 is less than 0, the least it may be; or null for unlimited"),
    ],
)  # fmt: skip
def test_a_limit_refused_is_named_with_its_bound_in_the_projects_words(
    llama_server: LlamaBackend, tmp_path: Path, limits: str, param: str, message: str
) -> None:
    body = "{" + limits + ', "reason": "new limits"}'
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        answer = gw.put(LIMITS, content=body, headers={**ADMIN, "content-type": "application/json"})
        after = gw.get("/admin/limits", headers=ADMIN).json()["departments"]["research"]
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert (error["message"], error["param"]) == (message, param)
    assert error["type"] == "invalid_request_error"
    assert "Input should" not in answer.text
    assert (after["requests_per_minute"], after["monthly_budget"]) == (None, None)


def test_an_unknown_kind_of_limits_is_named_with_the_kinds(
    llama_server: LlamaBackend, tmp_path: Path
) -> None:
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        answer = gw.put(
            "/admin/limits/team/research",
            json={"requests_per_minute": 60, "reason": "new limits"},
            headers=ADMIN,
        )
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["param"] == "kind"
    assert error["message"] == (
        "kind: 'team' is no kind of limits; PUT /admin/limits/department/NAME or"
        " /admin/limits/key/KEY_ID"
    )
