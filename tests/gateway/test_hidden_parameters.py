"""Text PostgreSQL cannot store, sent by a client, is a 400 naming where it is, never a 500, on
SQLite and PostgreSQL alike: a NUL (``%00``, ``"\\u0000"``) in a path or query parameter of the
admin API or the dashboard (a character no name or filter holds: ``stellwerk.request_params``)
or in a string of an admin body. On PostgreSQL each of these was a 500 (``psycopg.DataError:
PostgreSQL text fields cannot contain NUL (0x00) bytes``), on SQLite a 404 or an empty list
(walk 12). The data plane stores what it keeps of such a request safely (``ledger.rows``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dashboard.client import csrf_of, login
from tests.fixtures.gateway import in_process
from tests.fixtures.llama import LlamaBackend
from tests.gateway.test_governance import ADMIN, ADMIN_KEY, ENV, RESEARCH, governed, read_usage

pytestmark = pytest.mark.llama

NUL = "the control character U+0000; write it on one line of plain text"
BODY_NUL = "\\u0000"  # in JSON text

# (method, path, JSON body or None, the parameter the 400 names, how its message starts)
ADMIN_CASES = [
    ("get", "/admin/audit?target=%00", None, "target", "the query parameter target"),
    ("get", "/admin/audit?target=model:%00", None, "target", "the query parameter target"),
    ("get", "/admin/audit?actor=%00", None, "actor", "the query parameter actor"),
    ("get", "/admin/audit?action=%00", None, "action", "the query parameter action"),
    ("get", "/admin/audit?target_kind=%00", None, "target_kind", "the query parameter target_kind"),
    ("get", "/admin/keys?department=a%00", None, "department", "the query parameter department"),
    ("get", "/admin/models/a%00", None, "model_id", "model_id in the path"),
    ("post", "/admin/keys/a%00/revoke", '{"reason": "x"}', "key_id", "key_id in the path"),
    (
        "put",
        "/admin/limits/key/a%00",
        '{"tokens_per_minute": 5, "reason": "x"}',
        "scope",
        "scope in the path",
    ),
    ("put", "/admin/use-cases/a%00", '{"purpose": "x", "reason": "x"}', "name", "name in the path"),
    (
        "post",
        "/admin/keys",
        f'{{"department": "legal", "use_case": "a{BODY_NUL}", "reason": "x"}}',
        "use_case",
        "use_case:",
    ),
    (
        "post",
        "/admin/use-cases",
        f'{{"name": "bot", "department": "legal", "allowed_models": ["tiny-small", "a{BODY_NUL}"],'
        ' "reason": "r"}',
        "allowed_models.1",
        "allowed_models.1:",
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "param", "start"), ADMIN_CASES)
def test_a_nul_in_an_admin_parameter_is_a_400_naming_it(
    llama_server: LlamaBackend,
    tmp_path: Path,
    any_db_url: str,
    method: str,
    path: str,
    body: str | None,
    param: str,
    start: str,
) -> None:
    with in_process(governed(llama_server, tmp_path, any_db_url), ENV) as gw:
        before = gw.get("/admin/audit", headers=ADMIN).json()["entries"]
        headers = {**ADMIN, "content-type": "application/json"}
        sent = None if body is None else body.encode()
        answer = gw.request(method, path, content=sent, headers=headers)
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert error["param"] == param
        assert error["message"] == f"{start} contains {NUL}"
        assert gw.get("/admin/audit", headers=ADMIN).json()["entries"] == before


def test_any_character_no_name_holds_is_refused_in_a_parameter(
    llama_server: LlamaBackend, tmp_path: Path
) -> None:
    """The rule of an audit reason, not only NUL: an override (U+202E) or a zero-width space
    in a filter or a key id cannot match anything, and is named rather than looked up."""
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        override = gw.get("/admin/audit?actor=cli:%E2%80%AEadmin", headers=ADMIN)
        zero_width = gw.post("/admin/keys/a%E2%80%8Bb/revoke", json={"reason": "x"}, headers=ADMIN)
    assert override.status_code == 400
    assert override.json()["error"]["message"].startswith(
        "the query parameter actor contains the control character U+202E (RIGHT-TO-LEFT OVERRIDE)"
    )
    assert zero_width.status_code == 400
    assert zero_width.json()["error"]["param"] == "key_id"
    assert "the zero-width character U+200B" in zero_width.json()["error"]["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/dashboard/keys/a%00/revoke"),
        ("post", "/dashboard/departments/a%00/budget"),
        ("get", "/dashboard/departments/a%00"),
        ("get", "/dashboard/models/a%00"),
    ],
)
def test_a_nul_in_a_dashboard_address_is_a_400_page(
    llama_server: LlamaBackend, tmp_path: Path, any_db_url: str, method: str, path: str
) -> None:
    with (
        in_process(governed(llama_server, tmp_path, any_db_url), ENV) as gw,
        login(gw, ADMIN_KEY) as (client, _),
    ):
        token = csrf_of(client.get("/dashboard/departments/legal").text)
        form = {"csrf": token, "reason": "x", "monthly_budget": "5"}
        answer = client.request(method, path, data=form if method == "post" else None)
    assert answer.status_code == 400, answer.text
    assert "The address holds a character that no model, department or key has" in answer.text


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}),
        ("/v1/embeddings", {"input": "hi"}),
        ("/api/chat", {"messages": [{"role": "user", "content": "hi"}], "stream": False}),
        ("/api/embed", {"input": "hi"}),
    ],
)
def test_a_nul_in_a_model_name_is_a_404_whose_record_is_stored(
    llama_server: LlamaBackend, tmp_path: Path, any_db_url: str, path: str, body: dict[str, object]
) -> None:
    """The data plane keeps the name a request asked for in its usage record: with a NUL, which
    PostgreSQL's text cannot hold, it is stored with U+FFFD in its place (the ledger's rows),
    and the batch holding it is written."""
    with in_process(governed(llama_server, tmp_path, any_db_url), ENV) as gw:
        answer = gw.post(path, json={**body, "model": "a\x00b"}, headers=RESEARCH)
        assert answer.status_code == 404, answer.text
    records = read_usage(gw)
    assert [(r.requested_model, r.status) for r in records] == [("a\ufffdb", 404)]
