"""Admin API changes that cannot lose data silently: a use case change keeps what its body leaves
out (as a limits change does), malformed JSON is said to be malformed (with its position) in the
admin API's error format, and a key is made with a reason for the audit log."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.gateway import Gateway, in_process
from tests.fixtures.llama import LlamaBackend
from tests.gateway.test_governance import ADMIN, ENV, governed

pytestmark = pytest.mark.llama

CONTRACTS = {
    "name": "contracts",
    "department": "legal",
    "purpose": "contract review",
    "risk_tier": "limited",
    "classification": "confidential",
    "allowed_models": ["tiny-small"],
    "oversight_contact": "dpo@example.org",
}


def _contracts(gw: Gateway) -> dict[str, Any]:
    cases = gw.get("/admin/use-cases", headers=ADMIN).json()["use_cases"]
    found: dict[str, Any] = next(c for c in cases if c["name"] == "contracts")
    # the class its keys run under, beside its own (tests/gateway/test_key_class.py): here its own
    assert found.pop("effective_classification") == found["classification"]
    assert (
        found.pop("warnings") == []
    )  # a model may serve it (tests/gateway/test_use_case_reach.py)
    return found


def _last_audit(gw: Gateway) -> dict[str, Any]:
    entries = gw.get("/admin/audit", headers=ADMIN).json()["entries"]
    newest: dict[str, Any] = entries[0]
    return newest


def test_a_use_case_change_keeps_the_fields_it_leaves_out(
    llama_server: LlamaBackend, tmp_path: Path
) -> None:
    raw = governed(llama_server, tmp_path)
    raw["use_cases"] = [CONTRACTS]
    with in_process(raw, ENV) as gw:
        # the newcomer's edit: only the department (and name, reason, version)
        body = {"name": "contracts", "department": "research", "reason": "reorg", "version": 1}
        answer = gw.put("/admin/use-cases/contracts", json=body, headers=ADMIN)
        assert answer.status_code == 200, answer.text
        assert _contracts(gw) == {**CONTRACTS, "department": "research"}
        audit = _last_audit(gw)
        assert audit["action"] == "use_case.update"
        assert audit["details"]["changes"] == {"department": {"from": "legal", "to": "research"}}
        # an explicit null clears an optional field; the others stay
        body = {"allowed_models": None, "reason": "any approved model"}
        assert gw.put("/admin/use-cases/contracts", json=body, headers=ADMIN).status_code == 200
        assert _contracts(gw) == {**CONTRACTS, "department": "research", "allowed_models": None}
        changes = _last_audit(gw)["details"]["changes"]
        assert changes == {"allowed_models": {"from": ["tiny-small"], "to": None}}


@pytest.mark.parametrize(
    ("body", "says", "param"),
    [
        (
            {"classification": None, "reason": "r"},
            "classification cannot be cleared",
            "classification",
        ),
        ({"risk_tier": None, "reason": "r"}, "risk_tier cannot be cleared", "risk_tier"),
        ({"reason": "r"}, "name at least one of", "body"),
        ({"name": "other", "purpose": "x", "reason": "r"}, "the body names use case", None),
        ({"purpose": "x", "reason": "r", "version": 7}, "changed concurrently", None),
    ],
)
def test_a_use_case_change_that_would_lose_or_clobber_data_is_refused(
    llama_server: LlamaBackend, tmp_path: Path, body: dict[str, Any], says: str, param: str | None
) -> None:
    raw = governed(llama_server, tmp_path)
    raw["use_cases"] = [CONTRACTS]
    with in_process(raw, ENV) as gw:
        before = gw.get("/admin/audit", headers=ADMIN).json()["entries"]
        answer = gw.put("/admin/use-cases/contracts", json=body, headers=ADMIN)
        assert answer.status_code in (400, 409), answer.text
        error = answer.json()["error"]
        assert says in error["message"] and error["param"] == param
        assert _contracts(gw) == CONTRACTS
        assert gw.get("/admin/audit", headers=ADMIN).json()["entries"] == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("put", "/admin/limits/department/research"),
        ("put", "/admin/use-cases/contracts"),
        ("post", "/admin/keys"),
        ("post", "/admin/models/tiny-large/lifecycle"),
    ],
)
def test_malformed_json_to_the_admin_api_is_said_to_be_malformed_with_its_position(
    llama_server: LlamaBackend, tmp_path: Path, method: str, path: str
) -> None:
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        broken = b'{"reason": "x", "monthly_budget": }'
        headers = {**ADMIN, "content-type": "application/json"}
        answer = gw.request(method, path, content=broken, headers=headers)
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert error["message"] == (
            "request body is not valid JSON: Expecting value: line 1 column 35 (char 34)"
        )
        assert error["param"] == "body" and error["type"] == "invalid_request_error"


KEY_BODY = json.dumps({"department": "research", "reason": "new analyst"}).encode()
NOT_JSON = "request body is not valid JSON: "
TOO_DEEP = "request body is nested deeper than 200 levels; no parameter nests so deep"


def _deep(levels: int) -> bytes:
    return b'{"department": "research", "x": ' + b"[" * levels + b"]" * levels + b"}"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\xef\xbb\xbf" + KEY_BODY,
         NOT_JSON + "it starts with a byte order mark (U+FEFF); send UTF-8 without one"),
        (KEY_BODY.decode().encode("utf-16"), NOT_JSON + "it is UTF-16; send UTF-8"),
        (KEY_BODY.decode().encode("utf-32-le"), NOT_JSON + "it is UTF-32; send UTF-8"),
        (gzip.compress(KEY_BODY), NOT_JSON + "it is gzip-compressed, and the gateway reads no"
         " content-encoding; send it uncompressed"),
        (_deep(201), TOO_DEEP),  # Python's parser reads it: refused as the model APIs refuse it
        (_deep(5000), TOO_DEEP),  # past Python's parser: FastAPI said "error parsing the body"
    ],
    ids=["bom", "utf-16", "utf-32-le", "gzip", "deep", "past-python"],
)  # fmt: skip
def test_a_body_no_parser_should_read_is_refused_saying_why(
    llama_server: LlamaBackend, tmp_path: Path, body: bytes, message: str
) -> None:
    """The admin API made a key from a body with a byte order mark, in UTF-16 or UTF-32 (which
    Python's parser reads) and answered "There was an error parsing the body" for one gzip-
    compressed or nested past Python's stack: each is a 400 saying why, as on the data plane."""
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        keys = gw.get("/admin/keys", headers=ADMIN).json()
        headers = {**ADMIN, "content-type": "application/json"}
        answer = gw.post("/admin/keys", content=body, headers=headers)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"] == {
            "message": message,
            "type": "invalid_request_error",
            "param": "body",
            "code": "invalid_request",
        }
        assert gw.get("/admin/keys", headers=ADMIN).json() == keys


def test_a_key_is_made_with_a_reason_for_the_audit_log(
    llama_server: LlamaBackend, tmp_path: Path
) -> None:
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        body = {"department": "research", "reason": "  new analyst  "}
        made = gw.post("/admin/keys", json=body, headers=ADMIN)
        assert made.status_code == 201, made.text
        audit = _last_audit(gw)
        assert audit["action"] == "key.create" and audit["target"] == made.json()["key_id"]
        assert audit["details"]["reason"] == "new analyst"
        blank = gw.post(
            "/admin/keys", json={"department": "research", "reason": " "}, headers=ADMIN
        )
        assert blank.status_code == 400 and blank.json()["error"]["param"] == "reason"
        # without one, as before: a new key changes nothing that exists
        plain = gw.post("/admin/keys", json={"department": "research"}, headers=ADMIN)
        assert plain.status_code == 201 and "reason" not in _last_audit(gw)["details"]
