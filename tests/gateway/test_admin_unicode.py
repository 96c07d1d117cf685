"""The admin API refuses text that cannot be stored or read back as it shows (a lone surrogate,
NaN, a reason with hidden characters) in its own error format, naming the field; and an audit
entry stored with a lone surrogate before that (as an older version did on SQLite) is shown
escaped by the admin API and the dashboard, not a 500."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update

from stellwerk.ledger.governance_tables import gov_use_cases
from stellwerk.ledger.ledger import open_ledger
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
        ("a\u00adb", "the reason contains the invisible character U+00AD (SOFT HYPHEN)"),
        (
            "a\u034fb",
            "the reason contains the invisible character U+034F (COMBINING GRAPHEME JOINER)",
        ),
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
        assert [k for k in keys if k["source"] == "database"] == []


# the free text of a use case goes into the audit entry's details and onto the dashboard: an
# override there forged a second "classification: internal" (recheck N2)
HIDDEN = [
    ("Kundenservice \u202elanretni :essalkztuhcS", "the control character U+202E"),
    ("a\u2028b", "the separator U+2028 (LINE SEPARATOR)"),
    ("a\u2029b", "the separator U+2029 (PARAGRAPH SEPARATOR)"),
    ("a\u061cb", "the direction mark U+061C (ARABIC LETTER MARK)"),
    ("a\u200bb", "the zero-width character U+200B (ZERO WIDTH SPACE)"),
    ("\ufeffab", "the zero-width character U+FEFF (ZERO WIDTH NO-BREAK SPACE)"),
    ("a\u00adb", "the invisible character U+00AD (SOFT HYPHEN)"),
    ("a\u034fb", "the invisible character U+034F (COMBINING GRAPHEME JOINER)"),
    ("a\nb", "the control character U+000A"),
]


USE_CASE_WRITES = [
    ("post", "/admin/use-cases", "purpose"),
    ("post", "/admin/use-cases", "oversight_contact"),
    ("put", "/admin/use-cases/contracts", "purpose"),
    ("put", "/admin/use-cases/contracts", "oversight_contact"),
]


@pytest.mark.parametrize(
    ("method", "path", "field", "text", "kind"),
    [(*USE_CASE_WRITES[0], text, kind) for text, kind in HIDDEN]
    + [(*write, *HIDDEN[0]) for write in USE_CASE_WRITES[1:]],
)
def test_use_case_text_with_hidden_characters_is_a_400_naming_the_field(
    llama_server: LlamaBackend,
    tmp_path: Path,
    method: str,
    path: str,
    field: str,
    text: str,
    kind: str,
) -> None:
    body = {"name": "support-bot", "department": "legal"} if method == "post" else {}
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        before = gw.get("/admin/audit", headers=ADMIN).json()["entries"]
        cases = gw.get("/admin/use-cases", headers=ADMIN).json()
        answer = gw.request(
            method, path, json={**body, field: text, "reason": "neu"}, headers=ADMIN
        )
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert (error["param"], error["type"]) == (field, "invalid_request_error")
        assert error["message"].startswith(f"{field}: contains {kind}")
        assert error["message"].endswith("; write it on one line of plain text")
        assert gw.get("/admin/audit", headers=ADMIN).json()["entries"] == before
        assert gw.get("/admin/use-cases", headers=ADMIN).json() == cases


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


def test_a_use_case_stored_with_hidden_characters_before_is_listed_and_can_be_fixed(
    llama_server: LlamaBackend, tmp_path: Path
) -> None:
    """A purpose written before the rule (as an older version took it) is still read, not a
    500; a change that leaves it is refused by name, and one that replaces it is taken."""
    raw = governed(llama_server, tmp_path)
    with in_process(raw, ENV) as gw:
        ledger = open_ledger(raw["server"]["database_url"])
        try:
            with ledger.engine.begin() as connection:
                connection.execute(
                    update(gov_use_cases)
                    .where(gov_use_cases.c.name == "contracts")
                    .values(purpose="p\u202eq")
                )
        finally:
            ledger.close()
        listed = gw.get("/admin/use-cases", headers=ADMIN)
        assert listed.status_code == 200, listed.text
        (case,) = [u for u in listed.json()["use_cases"] if u["name"] == "contracts"]
        assert case["purpose"] == "p\u202eq"
        kept = gw.put(
            "/admin/use-cases/contracts",
            json={"oversight_contact": "legal-lead", "reason": "contact"},
            headers=ADMIN,
        )
        assert kept.status_code == 400 and kept.json()["error"]["param"] == "purpose"
        fixed = gw.put(
            "/admin/use-cases/contracts",
            json={"purpose": "contract review", "reason": "cleaned"},
            headers=ADMIN,
        )
        assert fixed.status_code == 200, fixed.text
        assert fixed.json()["purpose"] == "contract review"
