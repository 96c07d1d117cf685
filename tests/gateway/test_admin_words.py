"""Every admin endpoint refuses a body (and a query parameter) its schema refuses in the
project's words: naming the field, what was sent and what is allowed (``state: 'approvd' is
not a lifecycle state; one of proposed, ...``, ``reason: missing; say why (1 to 1000
characters)``, ``colour: not a field of this request; fields: state, reason, version``),
never pydantic's (``Input should be ...``, ``Field required``, ``Extra inputs are not
permitted``), which reached the client before. Every problem of a body is told in the admin
API's envelope, ``param`` the first one's field, with the same 400, and nothing changes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ValidationError

from stellwerk.config import parse_config
from stellwerk.gateway import create_app
from stellwerk.gateway.admin_route import AdminRoute
from stellwerk.gateway.admin_words import reworded
from tests.fixtures.gateway import IN_PROCESS_URL, Gateway, migrated_copy
from tests.fixtures.inprocess import app_in_thread
from tests.fixtures.llama import LlamaBackend
from tests.gateway.test_governance import ADMIN, ENV, governed

pytestmark = pytest.mark.llama

LIFECYCLE = "/admin/models/tiny-large/lifecycle"
CONSENT = "/admin/models/tiny-small/consent"
KEYS = "/admin/keys"
REVOKE = "/admin/keys/no-such-key/revoke"
USE_CASES = "/admin/use-cases"
USE_CASE = "/admin/use-cases/contracts"
LIMITS = "/admin/limits/department/research"

STATES = "one of proposed, in_review, approved, deprecated, retired"
ROLES = "one of user, owner, admin, viewer, head, metrics"
CLASSES = "one of public, internal, confidential, secret"
TIERS = "one of minimal, limited, high"
REASON = "say why (1 to 1000 characters)"
VERSION = "send the version you read as a JSON integer, or leave it out"
CASE_FIELDS = (
    "name, department, purpose, risk_tier, classification, allowed_models, oversight_contact,"
    " reason, version"
)
PYDANTICS = re.compile(
    r"Input should|Field required|Extra inputs|Value error|valid (integer|string|boolean|list)"
)
"""pydantic's own words, none of which an answer of the admin API holds."""


@pytest.fixture(scope="module")
def admin(
    llama_server: LlamaBackend,
    tmp_path_factory: pytest.TempPathFactory,
    ledger_template: Path,
) -> Iterator[tuple[Gateway, list[AdminRoute]]]:
    """One governed gateway in process for the module (a refused body changes nothing), and
    the routes of its app."""
    folder = tmp_path_factory.mktemp("admin-words")
    migrated_copy(ledger_template, folder / "ledger.db")
    config = parse_config(governed(llama_server, folder))
    app = create_app(config, environ=ENV)
    found = (context.original_route for context in iter_route_contexts(app.routes))
    routes = [route for route in found if isinstance(route, AdminRoute)]
    with app_in_thread(app) as transport:
        yield Gateway(IN_PROCESS_URL, config, config.server.database_url, transport), routes


def newest_audit(gw: Gateway) -> Any:
    entries = gw.get("/admin/audit?limit=1", headers=ADMIN).json()["entries"]
    return entries[0]["id"] if entries else None


@pytest.mark.parametrize(
    ("method", "path", "body", "param", "message"),
    [
        # POST /admin/models/{id}/lifecycle
        ("post", LIFECYCLE, {"state": "approvd", "reason": "r"}, "state",
         f"state: 'approvd' is not a lifecycle state; {STATES}"),
        ("post", LIFECYCLE, {"state": "in_review", "reason": "r", "version": "1"}, "version",
         f"version: a string is not a whole number; {VERSION}"),
        ("post", LIFECYCLE, {"state": "in_review", "reason": "r", "version": 1.0}, "version",
         f"version: 1.0 is not written as an integer (no '.' or 'e'); {VERSION}"),
        ("post", LIFECYCLE, {"state": "in_review", "reason": 5}, "reason",
         f"reason: 5 is not a string; {REASON}"),
        ("post", LIFECYCLE, {"state": "in_review"}, "reason", f"reason: missing; {REASON}"),
        ("post", LIFECYCLE, {"state": "in_review", "reason": "r", "colour": "red"}, "colour",
         "colour: not a field of this request; fields: state, reason, version"),
        ("post", LIFECYCLE, {"state": {"to": "approved"}, "reason": "r"}, "state",
         f"state: an object is not a lifecycle state; {STATES}"),
        ("post", LIFECYCLE, {}, "state",
         f"state: missing; {STATES}; reason: missing; {REASON}"),
        # POST /admin/models/{id}/consent
        ("post", CONSENT, {"consent": "yes", "reason": "r"}, "consent",
         "consent: 'yes' is not true or false"),
        ("post", CONSENT, {"consent": 0, "reason": "r"}, "consent",
         "consent: 0 is not true or false"),
        ("post", CONSENT, {"reason": "r"}, "consent",
         "consent: missing; true (granted) or false (withdrawn)"),
        ("post", CONSENT, {"consent": False, "reason": "r", "version": 1.5}, "version",
         f"version: 1.5 is not a whole number; {VERSION}"),
        ("post", CONSENT, {"consent": False, "reason": None}, "reason",
         f"reason: null is not a string; {REASON}"),
        ("post", CONSENT, {"consent": False, "reason": "r", "owner": "legal"}, "owner",
         "owner: not a field of this request; fields: consent, reason, version"),
        ("post", CONSENT, {"consent": "no", "reason": 5, "colour": 1, "size": 2}, "consent",
         "consent: 'no' is not true or false; reason: 5 is not a string; " + REASON
         + "; colour: not a field of this request; fields: consent, reason, version;"
         " size: not a field of this request"),
        # POST /admin/keys
        ("post", KEYS, {"department": 5}, "department",
         "department: 5 is not a string; name a department"),
        ("post", KEYS, {"role": "user"}, "department", "department: missing; name a department"),
        ("post", KEYS, {"department": "research", "role": "boss"}, "role",
         f"role: 'boss' is not a role; {ROLES}"),
        ("post", KEYS, {"department": "research", "role": "b" * 300}, "role",
         f"role: '{'b' * 80}'... (300 characters) is not a role; {ROLES}"),
        ("post", KEYS, {"department": "research", "role": "sk-stw-0123456789abcdef"}, "role",
         f"role: a value is not a role; {ROLES}"),
        ("post", KEYS, {"department": "research", "classification": "top"}, "classification",
         f"classification: 'top' is not a classification; {CLASSES}"),
        ("post", KEYS, {"department": "research", "use_case": ["contracts"]}, "use_case",
         "use_case: a list is not a string; name a use case, or leave it out"),
        ("post", KEYS, {"department": "research", "api_key": "sk-stw-0123456789"}, "api_key",
         "api_key: not a field of this request; fields: department, role, use_case,"
         " classification, reason"),
        # POST /admin/keys/{key_id}/revoke
        ("post", REVOKE, {}, "reason", f"reason: missing; {REASON}"),
        ("post", REVOKE, {"reason": ["stolen"]}, "reason",
         f"reason: a list is not a string; {REASON}"),
        ("post", REVOKE, {"reason": "r", "why": "x"}, "why",
         "why: not a field of this request; fields: reason"),
        # POST /admin/use-cases
        ("post", USE_CASES,
         {"name": "triage", "department": "research", "allowed_models": "tiny-small",
          "reason": "r"}, "allowed_models",
         "allowed_models: a list of model ids, got a string"),
        ("post", USE_CASES,
         {"name": "triage", "department": "research", "allowed_models": ["tiny-small", 5],
          "reason": "r"}, "allowed_models.1",
         "allowed_models.1: 5 is not a string; name a model by its id"),
        ("post", USE_CASES,
         {"name": "triage", "department": "research", "risk_tier": "extreme", "reason": "r"},
         "risk_tier", f"risk_tier: 'extreme' is not a risk tier; {TIERS}"),
        ("post", USE_CASES,
         {"name": "triage", "department": "research", "classification": "top secret",
          "reason": "r"}, "classification",
         f"classification: 'top secret' is not a classification; {CLASSES}"),
        ("post", USE_CASES,
         {"name": "triage", "department": "research", "reason": "r", "version": True},
         "version", f"version: true is not a whole number; {VERSION}"),
        ("post", USE_CASES,
         {"name": "triage", "department": "research", "purpose": 5, "reason": "r"}, "purpose",
         "purpose: 5 is not a string; say what the use case is for"),
        ("post", USE_CASES, {"name": "triage", "reason": "r"}, "department",
         "department: missing; name a department"),
        ("post", USE_CASES,
         {"name": "triage", "department": "research", "reason": "r", "owner": "x"}, "owner",
         f"owner: not a field of this request; fields: {CASE_FIELDS}"),
        # PUT /admin/use-cases/{name}
        ("put", USE_CASE, {"allowed_models": {"a": 1}, "reason": "r"}, "allowed_models",
         "allowed_models: a list of model ids, got an object"),
        ("put", USE_CASE, {"allowed_models": [None], "reason": "r"}, "allowed_models.0",
         "allowed_models.0: null is not a string; name a model by its id"),
        ("put", USE_CASE, {"risk_tier": "bogus", "reason": "r"}, "risk_tier",
         f"risk_tier: 'bogus' is not a risk tier; {TIERS}"),
        ("put", USE_CASE, {"purpose": "p", "reason": "r", "version": "2"}, "version",
         f"version: a string is not a whole number; {VERSION}"),
        ("put", USE_CASE, {"oversight_contact": 5, "reason": "r"}, "oversight_contact",
         "oversight_contact: 5 is not a string; name who oversees it, or null"),
        ("put", USE_CASE, {"purpose": "p"}, "reason", f"reason: missing; {REASON}"),
        ("put", USE_CASE, {"purpose": "p", "reason": "r", "colour": 1}, "colour",
         f"colour: not a field of this request; fields: {CASE_FIELDS}"),
        # PUT /admin/limits/{kind}/{scope} (its numbers: test_limit_words)
        ("put", LIMITS, {"requests_per_minute": 5}, "reason", f"reason: missing; {REASON}"),
        ("put", LIMITS, {"requests_per_minute": 5, "reason": 5}, "reason",
         f"reason: 5 is not a string; {REASON}"),
        ("put", LIMITS, {"requests_per_minute": 5, "reason": "r", "burst": 3}, "burst",
         "burst: not a field of this request; fields: requests_per_minute, tokens_per_minute,"
         " monthly_budget, reason"),
        # a query parameter
        ("get", "/admin/usage", None, "month",
         "month: missing; give the month as ?month=YYYY-MM"),
    ],
)  # fmt: skip
def test_a_refused_field_is_told_in_the_projects_words(
    admin: tuple[Gateway, list[AdminRoute]],
    method: str,
    path: str,
    body: dict[str, Any] | None,
    param: str,
    message: str,
) -> None:
    gw, _ = admin
    before = newest_audit(gw)
    answer = gw.request(method, path, json=body, headers=ADMIN)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert (error["message"], error["param"]) == (message, param)
    assert (error["type"], error["code"]) == ("invalid_request_error", "invalid_request")
    assert newest_audit(gw) == before  # nothing changed


def test_a_key_named_twice_is_told_with_the_other_problems_in_the_projects_words(
    admin: tuple[Gateway, list[AdminRoute]],
) -> None:
    """The body's problems told after a problem of its JSON text are in the same words."""
    gw, _ = admin
    body = b'{"department": "research", "department": "legal", "role": "boss", "x": 1}'
    answer = gw.post(KEYS, content=body, headers={**ADMIN, "content-type": "application/json"})
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert (error["param"], error["code"]) == ("department", "duplicate_key")
    assert error["message"] == (
        "request body has the key 'department' twice in one object; send it once;"
        f" role: 'boss' is not a role; {ROLES}; x: not a field of this request; fields:"
        " department, role, use_case, classification, reason"
    )


PLACES = {
    "model_id": "tiny-small",
    "key_id": "no-such-key",
    "name": "contracts",
    "kind": "department",
    "scope": "research",
}
WRONG: list[object] = [5, 1.5, True, None, "x", [1], {"a": 1}]


def test_no_admin_body_is_answered_in_pydantics_words(
    admin: tuple[Gateway, list[AdminRoute]],
) -> None:
    """Every admin route with a body, found in the app's routes: a field it does not take, and
    each of its fields of each JSON type, is answered without pydantic's words."""
    gw, routes = admin
    walked = set()
    for route in routes:
        if route.body_model is None:
            continue
        path = route.path.format(**PLACES)
        for method in route.methods or ():
            walked.add((method, route.path))
            bodies = [{"colour": "red"}] + [
                {field: value, "colour": "red"}
                for field in route.body_model.model_fields
                for value in WRONG
            ]
            for body in bodies:
                answer = gw.request(method, path, json=body, headers=ADMIN)
                assert answer.status_code == 400, (method, path, body, answer.text)
                said = PYDANTICS.search(answer.text)
                assert said is None, (method, path, body, answer.text)
    assert walked == {
        ("POST", "/admin/models/{model_id}/lifecycle"),
        ("POST", "/admin/models/{model_id}/consent"),
        ("POST", "/admin/keys"),
        ("POST", "/admin/keys/{key_id}/revoke"),
        ("POST", "/admin/use-cases"),
        ("PUT", "/admin/use-cases/{name}"),
        ("PUT", "/admin/limits/{kind}/{scope}"),
    }


class _Token(BaseModel):
    api_token: int
    level: Literal["user", "owner"]


def test_a_secret_looking_value_is_never_echoed() -> None:
    """A value whose field's name says it may be a secret, or a string that looks like an API
    key, is told as ``a value``, never echoed."""
    with pytest.raises(ValidationError) as caught:
        _Token.model_validate({"api_token": 1.5, "level": "sk-stw-abcdef"})
    errors = [{**e, "loc": ("body", *e["loc"])} for e in caught.value.errors(include_url=False)]
    assert [e["msg"] for e in reworded(errors, _Token)] == [
        "a value is not a whole number; send a JSON integer",
        "a value is not an allowed value; one of 'user' or 'owner'",
    ]
