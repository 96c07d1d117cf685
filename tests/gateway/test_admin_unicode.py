"""The admin API refuses text that cannot be stored or read back as it shows (a lone surrogate,
NaN, a reason with hidden characters) in its own error format, naming the field; and an audit
entry stored with a lone surrogate before that (as an older version did on SQLite) is shown
escaped by the admin API and the dashboard, not a 500."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dashboard.client import login
from tests.fixtures.gateway import in_process, migrated_copy
from tests.fixtures.llama import LlamaBackend
from tests.gateway.test_governance import ADMIN, ADMIN_KEY, ENV, governed
from tests.ledger.older import store_surrogate_entry


@pytest.fixture(autouse=True)
def _ledger(tmp_path: Path, ledger_template: Path) -> None:
    migrated_copy(ledger_template, tmp_path / "ledger.db")


BAD = "\\ud800"  # as JSON text: a lone surrogate, which no UTF-8 carries

# every admin endpoint that takes a body, with a lone surrogate in one of its fields
SURROGATES = [
    ("post", "/admin/keys", f'{{"department": "legal", "reason": "{BAD}"}}', "reason"),
    ("post", "/admin/keys", f'{{"department": "le{BAD}gal", "reason": "r"}}', "department"),
    (
        "put",
        "/admin/limits/department/research",
        f'{{"monthly_budget": 5, "reason": "{BAD}"}}',
        "reason",
    ),
    (
        "post",
        "/admin/models/tiny-large/lifecycle",
        f'{{"state": "in_review", "reason": "x{BAD}"}}',
        "reason",
    ),
    (
        "post",
        "/admin/models/tiny-small/consent",
        f'{{"consent": false, "reason": "{BAD}"}}',
        "reason",
    ),
    (
        "post",
        "/admin/use-cases",
        f'{{"name": "bot", "department": "legal", "allowed_models": ["tiny-small", "{BAD}"],'
        ' "reason": "r"}',
        "allowed_models.1",
    ),
    (
        "put",
        "/admin/use-cases/contracts",
        f'{{"purpose": "more {BAD}", "reason": "r"}}',
        "purpose",
    ),
    ("post", "/admin/keys/research-1/revoke", f'{{"reason": "{BAD}"}}', "reason"),
]


@pytest.mark.parametrize(("method", "path", "body", "param"), SURROGATES)
def test_a_lone_surrogate_in_an_admin_body_is_a_400_naming_the_field(
    llama_server: LlamaBackend, tmp_path: Path, method: str, path: str, body: str, param: str
) -> None:
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        before = gw.get("/admin/audit", headers=ADMIN).json()["entries"]
        headers = {**ADMIN, "content-type": "application/json"}
        answer = gw.request(method, path, content=body.encode(), headers=headers)
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert (error["code"], error["param"]) == ("invalid_unicode", param)
        assert error["message"].startswith(f"{param}: not valid Unicode: a lone surrogate")
        after = gw.get("/admin/audit", headers=ADMIN)
        assert after.status_code == 200 and after.json()["entries"] == before


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ('{"monthly_budget": NaN, "reason": "r"}', "monthly_budget"),
        ('{"monthly_budget": 5, "reason": "r", "x": [Infinity]}', "x.0"),
    ],
)
def test_nan_in_an_admin_body_is_a_400_naming_the_field(
    llama_server: LlamaBackend, tmp_path: Path, body: str, param: str
) -> None:
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        headers = {**ADMIN, "content-type": "application/json"}
        answer = gw.put("/admin/limits/department/research", content=body, headers=headers)
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert error["param"] == param and "is not a finite number" in error["message"]


@pytest.mark.parametrize(
    ("reason", "text"),
    [
        ("a\u2028b", "the reason contains the separator U+2028 (LINE SEPARATOR)"),
        ("a\u2029b", "the reason contains the separator U+2029 (PARAGRAPH SEPARATOR)"),
        ("a\u061cb", "the reason contains the direction mark U+061C (ARABIC LETTER MARK)"),
        ("a\u200fb", "the reason contains the direction mark U+200F (RIGHT-TO-LEFT MARK)"),
        ("a\u200bb", "the reason contains the zero-width character U+200B (ZERO WIDTH SPACE)"),
        ("a\u200db", "the reason contains the zero-width character U+200D (ZERO WIDTH JOINER)"),
        ("a\u2060b", "the reason contains the zero-width character U+2060 (WORD JOINER)"),
        ("\ufeffab", "the reason contains the zero-width character U+FEFF"),
        ("\u3000 \u00a0", "give a reason: it goes into the audit log"),
    ],
)
def test_a_reason_with_hidden_characters_is_refused_by_name(
    llama_server: LlamaBackend, tmp_path: Path, reason: str, text: str
) -> None:
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        answer = gw.post(
            "/admin/keys", json={"department": "legal", "reason": reason}, headers=ADMIN
        )
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert error["param"] == "reason" and text in error["message"]
        keys = gw.get("/admin/keys", headers=ADMIN).json()["keys"]
        assert keys == []


@pytest.mark.parametrize("language", ["en", "de"])
def test_an_older_entry_with_a_lone_surrogate_is_shown_escaped(
    llama_server: LlamaBackend, tmp_path: Path, language: str
) -> None:
    raw = governed(llama_server, tmp_path)
    store_surrogate_entry(raw["server"]["database_url"])
    with in_process(raw, ENV) as gw:
        answer = gw.get("/admin/audit?action=key.create", headers=ADMIN)
        assert answer.status_code == 200, answer.text
        (entry,) = answer.json()["entries"]
        assert entry["details"]["reason"] == "before \\ud800 after"
        with login(gw, ADMIN_KEY) as (client, _):
            client.cookies.set("stw_lang", language, path="/dashboard")
            page = client.get("/dashboard")
            assert page.status_code == 200, page.text
            assert "before \\ud800 after" in page.text
