"""Governance enforced on live requests: a real gateway (uvicorn) in front of the real llama.cpp
test server, driven over HTTP like a client would, with the admin API changing the rules."""

from __future__ import annotations

import copy
import math
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from stellwerk.ledger.ledger import open_ledger
from stellwerk.ledger.record import UsageRecord
from stellwerk.ledger.window import Window
from tests.fixtures.gateway import ENVIRON, KEYS, Gateway, in_process, migrated_copy, raw_config
from tests.fixtures.llama import LlamaBackend
from tests.ledger.factory import make_record

pytestmark = pytest.mark.llama

ADMIN_KEY = "sk-stw-test-admin-0c8e1f5a2b7d4e93"
OWNER_KEY = "sk-stw-test-owner-6a3d9c0e4f1b8a27"
ENV = {**ENVIRON, "STW_TEST_KEY_ADMIN": ADMIN_KEY, "STW_TEST_KEY_OWNER": OWNER_KEY}


@pytest.fixture(autouse=True)
def _ledger(tmp_path: Path, ledger_template: Path) -> None:
    """The SQLite ledger of ``governed`` starts migrated (a copy of the session's template)."""
    migrated_copy(ledger_template, tmp_path / "ledger.db")


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


RESEARCH = bearer(KEYS["research"])
LEGAL = bearer(KEYS["legal"])
ADMIN = bearer(ADMIN_KEY)
OWNER = bearer(OWNER_KEY)


def chat(model: str = "tiny-small") -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}


def governed(
    llama: LlamaBackend, tmp_path: Path, database_url: str | None = None, **changes: Any
) -> dict[str, Any]:
    raw = raw_config(llama.base_url, database_url or f"sqlite:///{tmp_path / 'ledger.db'}")
    raw["models"][1]["hosting"] = "eu_cloud"  # tiny-medium runs in an EU cloud
    raw["models"][2]["lifecycle"] = "proposed"  # tiny-large is not approved yet
    raw["models"][0]["data_owner"] = "legal"  # tiny-small is legal's contributed expert
    raw["departments"].append(
        {
            "name": "governance",
            "keys": [
                {"id": "admin-1", "key_env": "STW_TEST_KEY_ADMIN", "role": "admin"},
            ],
        }
    )
    raw["departments"][1]["keys"].append(
        {"id": "legal-owner", "key_env": "STW_TEST_KEY_OWNER", "role": "owner"}
    )
    raw["use_cases"] = [{"name": "contracts", "department": "legal", "purpose": "contract review"}]
    for key, value in changes.items():
        raw[key] = value
    return raw


def read_usage(gw: Gateway, window: Window | None = None) -> list[UsageRecord]:
    ledger = gw.ledger()
    try:
        return ledger.recent_usage(limit=1000, window=window or Window())
    finally:
        ledger.close()


def post(gw: Gateway, url: str, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    return gw.post(url, json=body, headers=headers, timeout=60)


def test_approve_a_model_and_use_it(
    llama_server: LlamaBackend, tmp_path: Path, any_db_url: str
) -> None:
    with in_process(governed(llama_server, tmp_path, any_db_url), ENV) as gw:
        v1 = "/v1"
        refused = post(gw, v1 + "/chat/completions", chat("tiny-large"), RESEARCH)
        assert refused.status_code == 404  # a proposed model is none a user may see yet
        assert "'tiny-large' does not exist" in refused.json()["error"]["message"]
        for state in ("in_review", "approved"):
            answer = post(
                gw,
                "/admin/models/tiny-large/lifecycle",
                {"state": state, "reason": "board decision 7"},
                ADMIN,
            )
            assert answer.status_code == 200, answer.text
        assert answer.json()["lifecycle"] == "approved"
        served = post(gw, v1 + "/chat/completions", chat("tiny-large"), RESEARCH)
        assert served.status_code == 200, served.text
        assert served.headers["x-stellwerk-model"] == "tiny-large"
        # an illegal move is a 409 naming it, and changes nothing
        illegal = post(
            gw,
            "/admin/models/tiny-large/lifecycle",
            {"state": "proposed", "reason": "undo"},
            ADMIN,
        )
        assert illegal.status_code == 409
        assert "approved -> proposed" in illegal.json()["error"]["message"]
        detail = gw.get("/admin/models/tiny-large", headers=ADMIN).json()
        assert [h["to"] for h in detail["history"]] == ["in_review", "approved"]
        assert all(h["actor"] == "admin-1" for h in detail["history"])


def test_admin_routes_refuse_user_and_owner_keys(
    llama_server: LlamaBackend, tmp_path: Path
) -> None:
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        for headers in (RESEARCH, OWNER):
            answer = gw.get("/admin/models", headers=headers)
            assert answer.status_code == 403
            assert "needs an admin key" in answer.json()["error"]["message"]
        assert gw.get("/admin/models").status_code == 401
        schema = gw.get("/openapi.json").json()
        assert "/admin/models/{model_id}/lifecycle" in schema["paths"]


def test_classification_keeps_confidential_data_on_prem(
    llama_server: LlamaBackend, tmp_path: Path
) -> None:
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        v1 = "/v1"
        ok = post(gw, v1 + "/chat/completions", chat("tiny-medium"), RESEARCH)
        assert ok.status_code == 200  # internal data may go to the EU cloud
        confidential = {**RESEARCH, "x-stellwerk-classification": "confidential"}
        refused = post(gw, v1 + "/chat/completions", chat("tiny-medium"), confidential)
        assert refused.status_code == 403
        message = refused.json()["error"]["message"]
        assert "classification confidential may go only to on_prem" in message
        assert "hosted eu_cloud" in message
        # routed: the router never sees the cloud model
        routed = post(gw, v1 + "/chat/completions", chat("auto"), confidential)
        assert routed.status_code == 200
        assert routed.headers["x-stellwerk-model"] == "tiny-small"
        lowered = post(
            gw,
            v1 + "/chat/completions",
            chat(),
            {**RESEARCH, "x-stellwerk-classification": "public"},
        )
        assert lowered.status_code == 403
        assert "never lower it" in lowered.json()["error"]["message"]
        ollama_lowered = post(
            gw,
            "/api/chat",
            {"model": "tiny-small", "messages": [{"role": "user", "content": "hi"}]},
            {**RESEARCH, "x-stellwerk-classification": "public"},
        )
        assert ollama_lowered.status_code == 403
        assert "never lower it" in ollama_lowered.json()["error"]
    records = read_usage(gw)
    assert {r.classification for r in records if r.status == 200} == {"internal", "confidential"}
    # the refusals for a lowered classification are the research key's, on both APIs: a
    # department's page lists who tried to mark its data as public
    refusals = [r for r in records if r.status == 403 and r.error_kind == "classification_lowered"]
    assert sorted(r.api for r in refusals) == ["ollama", "openai"]
    assert {(r.department, r.key_id) for r in refusals} == {("research", "research-1")}


def test_owner_withdraws_consent_and_it_takes_effect_on_the_next_request(
    llama_server: LlamaBackend, tmp_path: Path, any_db_url: str
) -> None:
    with in_process(governed(llama_server, tmp_path, any_db_url), ENV) as gw:
        v1 = "/v1"
        assert post(gw, v1 + "/chat/completions", chat(), RESEARCH).status_code == 200
        not_owner = post(
            gw,
            "/admin/models/tiny-small/consent",
            {"consent": False, "reason": "x"},
            RESEARCH,
        )
        assert not_owner.status_code == 403
        withdrawn = post(
            gw,
            "/admin/models/tiny-small/consent",
            {"consent": False, "reason": "data contract ended"},
            OWNER,
        )
        assert withdrawn.status_code == 200, withdrawn.text
        refused = post(gw, v1 + "/chat/completions", chat(), RESEARCH)
        assert refused.status_code == 404  # GET /v1/models leaves it out now: as an unknown one
        assert "'tiny-small' does not exist" in refused.json()["error"]["message"]
        regranted = post(
            gw,
            "/admin/models/tiny-small/consent",
            {"consent": True, "reason": "renewed"},
            OWNER,
        )
        assert regranted.status_code == 200
        assert post(gw, v1 + "/chat/completions", chat(), RESEARCH).status_code == 200
        audit = gw.get("/admin/audit?action=model.consent", headers=ADMIN).json()
        assert [(e["actor"], e["details"]["to"]) for e in audit["entries"]] == [
            ("legal-owner", "granted"),
            ("legal-owner", "withdrawn"),
        ]


def test_the_consent_endpoint_tells_a_key_that_may_not_use_it_nothing_of_the_catalog(
    llama_server: LlamaBackend, tmp_path: Path
) -> None:
    """walk15 LOW-1: a user key told an unknown id (404) from a model (403), and the 403 named
    the model's data owner: the whole catalog, hidden models and owners, one request an id.
    Now a key that may not manage consent gets one 403 for every id, naming no owner; an
    owner key of another department the same (it knows only its own department's models)."""
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        made = post(gw, "/admin/keys", {"department": "research", "role": "owner"}, ADMIN)
        other_owner = bearer(made.json()["key"])
        ids = ["tiny-small", "tiny-large", "tiny-retired", "tiny-embed", "nope"]
        body = {"consent": False, "reason": "x"}
        for key_id, headers in [
            ("research-1", RESEARCH),
            ("legal-1", LEGAL),
            (made.json()["key_id"], other_owner),
        ]:
            for model in ids:
                if headers is other_owner and model == "tiny-small":
                    continue  # legal's model: the research owner is refused below as well
                answer = post(gw, f"/admin/models/{model}/consent", body, headers)
                assert answer.status_code == 403, (key_id, model, answer.text)
                assert answer.json()["error"]["message"] == (
                    f"key {key_id!r} may not manage consent: that needs an admin key or an"
                    " owner key of the model's data owner"
                ), model
        refused = post(gw, "/admin/models/tiny-small/consent", body, other_owner)
        assert refused.status_code == 403 and "legal" not in refused.text
        # legal's owner key: its own model; tiny-retired serves its weights (told where their
        # consent is managed); every other id the same 403
        for model in ids[1:]:
            answer = post(gw, f"/admin/models/{model}/consent", body, OWNER)
            if model == "tiny-retired":
                assert answer.status_code == 400, answer.text
                assert "serves the weights of model 'tiny-small'" in answer.text
                continue
            assert answer.status_code == 403, (model, answer.text)
            assert "legal-owner' may not manage consent:" in answer.json()["error"]["message"]
        assert post(gw, "/admin/models/tiny-small/consent", body, OWNER).status_code == 200
        # an admin key is told what is there
        assert post(gw, "/admin/models/nope/consent", body, ADMIN).status_code == 404
        assert post(gw, "/admin/models/tiny-large/consent", body, ADMIN).status_code == 400


def test_key_bound_to_a_use_case_then_revoked(
    llama_server: LlamaBackend, tmp_path: Path, any_db_url: str
) -> None:
    with in_process(governed(llama_server, tmp_path, any_db_url), ENV) as gw:
        made = post(gw, "/admin/keys", {"department": "legal", "use_case": "contracts"}, ADMIN)
        assert made.status_code == 201, made.text
        key, key_id = made.json()["key"], made.json()["key_id"]
        assert key.startswith("sk-stw-")
        served = post(gw, "/v1/chat/completions", chat(), bearer(key))
        assert served.status_code == 200, served.text
        listed = gw.get("/admin/keys", headers=ADMIN).json()["keys"]
        assert [k["key_id"] for k in listed if k["source"] == "database"] == [key_id]
        assert key not in gw.get("/admin/keys", headers=ADMIN).text
        revoked = post(gw, f"/admin/keys/{key_id}/revoke", {"reason": "leaver"}, ADMIN)
        assert revoked.status_code == 200
        again = post(gw, "/v1/chat/completions", chat(), bearer(key))
        assert again.status_code == 401
        audit = gw.get("/admin/audit", headers=ADMIN).text
        assert key.removeprefix("sk-stw-") not in audit
        # the served request counts for the use case; the refused one, of a key the gateway no
        # longer knows, leaves no record (it is counted: tests/gateway/test_keyless.py)
        by_use_case = report(gw, "use-case", ADMIN, requests=1)
        assert [(r["group"], r["requests"]) for r in by_use_case["rows"]] == [("contracts", 1)]
    assert [(r.key_id, r.status) for r in read_usage(gw)] == [(key_id, 200)]


NOTES_KEY = "sk-stw-test-notes-3e7a0b9c1d5f2a64"
NOTES = bearer(NOTES_KEY)


def test_a_config_keys_use_case_changed_through_the_admin_api_counts_from_the_next_request(
    llama_server: LlamaBackend, tmp_path: Path
) -> None:
    raw = governed(llama_server, tmp_path)
    raw["use_cases"].append({"name": "notes", "department": "research", "purpose": "minutes"})
    raw["departments"][0]["keys"].append(
        {"id": "research-notes", "key_env": "STW_TEST_KEY_NOTES", "use_case": "notes"}
    )
    env = {**ENV, "STW_TEST_KEY_NOTES": NOTES_KEY}
    notes = {"name": "notes", "department": "research", "purpose": "minutes"}

    def change(gw: Gateway, **facts: Any) -> None:
        body = {**notes, **facts, "reason": "the minutes now hold client data"}
        answer = gw.put("/admin/use-cases/notes", json=body, headers=ADMIN)
        assert answer.status_code == 200, answer.text

    with in_process(raw, env) as gw:
        url = "/v1/chat/completions"
        assert post(gw, url, chat("tiny-medium"), NOTES).status_code == 200  # internal: EU cloud ok
        change(gw, allowed_models=["tiny-medium"])
        narrowed = post(gw, url, chat("tiny-small"), NOTES)
        assert narrowed.status_code == 404  # off the use case's list: as an unknown one
        assert "'tiny-small' does not exist" in narrowed.json()["error"]["message"]
        change(gw, classification="confidential", allowed_models=None)  # null: any model again
        refused = post(gw, url, chat("tiny-medium"), NOTES)
        assert refused.status_code == 403
        message = refused.json()["error"]["message"]
        assert "classification confidential may go only to on_prem" in message
        assert "tiny-medium: hosted eu_cloud, where confidential data may not go" in message
        routed = post(gw, url, chat("auto"), NOTES)
        assert routed.status_code == 200, routed.text
        assert routed.headers["x-stellwerk-model"] == "tiny-small"
        # a config key of the same department without the use case is not affected
        assert post(gw, url, chat("tiny-medium"), RESEARCH).status_code == 200
    # the database holds the use case from now on: a restart does not bring the config's back
    with in_process(raw, env) as gw:
        again = post(gw, "/v1/chat/completions", chat("tiny-medium"), NOTES)
        assert again.status_code == 403
        assert "hosted eu_cloud" in again.json()["error"]["message"]
    served = [r for r in read_usage(gw) if r.key_id == "research-notes" and r.status == 200]
    assert sorted(r.classification or "" for r in served) == ["confidential", "internal"]


@pytest.mark.parametrize("kind", ["config", "database"])
def test_a_use_case_with_keys_bound_does_not_move_to_another_department(
    llama_server: LlamaBackend, tmp_path: Path, kind: str
) -> None:
    raw = governed(llama_server, tmp_path)
    raw["use_cases"].append({"name": "notes", "department": "research", "purpose": "minutes"})
    if kind == "config":
        raw["departments"][0]["keys"].append(
            {"id": "research-notes", "key_env": "STW_TEST_KEY_NOTES", "use_case": "notes"}
        )
    env = {**ENV, "STW_TEST_KEY_NOTES": NOTES_KEY}

    def move(gw: Gateway, name: str, department: str) -> httpx.Response:
        body = {"name": name, "department": department, "reason": "reorganisation"}
        return gw.put(f"/admin/use-cases/{name}", json=body, headers=ADMIN)

    with in_process(raw, env) as gw:
        key, key_id = NOTES_KEY, "research-notes"
        if kind == "database":
            made = post(gw, "/admin/keys", {"department": "research", "use_case": "notes"}, ADMIN)
            assert made.status_code == 201, made.text
            key, key_id = made.json()["key"], made.json()["key_id"]
        before = gw.get("/admin/audit", headers=ADMIN).json()["entries"]
        cases = gw.get("/admin/use-cases", headers=ADMIN).json()

        refused = move(gw, "notes", "legal")
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["param"] == "department"
        assert key_id in error["message"]
        assert "create a new use case" in error["message"]
        assert gw.get("/admin/audit", headers=ADMIN).json()["entries"] == before
        assert gw.get("/admin/use-cases", headers=ADMIN).json() == cases
        # the key still works under research's own use case (legal may use only tiny-small)
        served = post(gw, "/v1/chat/completions", chat("tiny-medium"), bearer(key))
        assert served.status_code == 200, served.text

        # a use case no key is bound to moves
        assert move(gw, "contracts", "research").status_code == 200
        if kind == "database":  # and so does one whose keys are revoked
            revoked = post(gw, f"/admin/keys/{key_id}/revoke", {"reason": "moved"}, ADMIN)
            assert revoked.status_code == 200, revoked.text
            assert move(gw, "notes", "legal").status_code == 200, "revoked keys do not count"
        listed = gw.get("/admin/use-cases", headers=ADMIN).json()["use_cases"]
        departments = {u["name"]: u["department"] for u in listed}
        assert departments == {
            "contracts": "research",
            "notes": "legal" if kind == "database" else "research",
        }


def report(gw: Gateway, by: str, headers: dict[str, str], *, requests: int) -> dict[str, Any]:
    """The usage report once ``requests`` records are in (the ledger writer commits in batches,
    off the request path)."""
    deadline = time.monotonic() + 20
    while True:
        answer = gw.get("/admin/usage", params={"month": served_month(), "by": by}, headers=headers)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        if body["total"]["requests"] >= requests or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def served_month() -> str:
    return datetime.now(UTC).strftime("%Y-%m")


def test_rate_limit_is_a_429_naming_the_limit(llama_server: LlamaBackend, tmp_path: Path) -> None:
    raw = governed(llama_server, tmp_path)
    raw["departments"][0]["limits"] = {"requests_per_minute": 2}
    with in_process(raw, ENV) as gw:
        second = time.time() % 60
        if second > 50:  # keep the three requests inside one minute window
            time.sleep(61 - second)
        answers = [post(gw, "/v1/chat/completions", chat(), RESEARCH) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        message = answers[2].json()["error"]["message"]
        assert "department 'research': limit of 2 requests per minute reached" in message
        assert "resets at" in message
        assert int(answers[2].headers["retry-after"]) >= 1
        # another department is not affected
        assert post(gw, "/v1/chat/completions", chat(), LEGAL).status_code == 200


def test_budget_set_through_the_admin_api_is_enforced(
    llama_server: LlamaBackend, tmp_path: Path
) -> None:
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        malformed = gw.put(
            "/admin/limits/department/research",
            json={"monthly_budget": -1, "reason": "x"},
            headers=ADMIN,
        )
        assert malformed.status_code == 400
        assert "monthly_budget" in malformed.json()["error"]["message"]
        unknown = gw.put(
            "/admin/limits/department/sales",
            json={"monthly_budget": 1, "reason": "x"},
            headers=ADMIN,
        )
        assert unknown.status_code == 404
        assert "unknown department 'sales'" in unknown.json()["error"]["message"]
        zero = gw.put(
            "/admin/limits/department/research",
            json={"monthly_budget": 0, "reason": "frozen"},
            headers=ADMIN,
        )
        assert zero.status_code == 200
        refused = post(gw, "/v1/chat/completions", chat(), RESEARCH)
        assert refused.status_code == 429
        message = refused.json()["error"]["message"]
        assert "department 'research': monthly budget of 0.000000 reached" in message
        assert post(gw, "/v1/chat/completions", chat(), LEGAL).status_code == 200


def test_usage_report_totals_equal_the_records_and_departments_see_only_their_own(
    llama_server: LlamaBackend, tmp_path: Path, any_db_url: str
) -> None:
    with in_process(governed(llama_server, tmp_path, any_db_url), ENV) as gw:
        for headers, model in ((RESEARCH, "tiny-medium"), (RESEARCH, "auto"), (LEGAL, "auto")):
            assert post(gw, "/v1/chat/completions", chat(model), headers).status_code == 200
        # refused for what it asked (a 4xx): counted as refused, apart from failures (5xx)
        assert post(gw, "/v1/chat/completions", chat("no-such-model"), LEGAL).status_code == 404
        month = served_month()
        everything = report(gw, "model", ADMIN, requests=4)
        own = gw.get(
            "/admin/usage", params={"month": month, "by": "department"}, headers=LEGAL
        ).json()
    records = read_usage(gw, Window.month(month))
    total = everything["total"]
    assert total["requests"] == len(records)
    assert Decimal(total["cost"]) == sum(r.cost for r in records)  # exact, a decimal string
    assert total["prompt_tokens"] == sum(r.prompt_tokens for r in records)
    assert (total["refused"], total["failed"]) == (1, 0)
    # each routed request against the largest model its key may use: research's, legal's
    assert everything["baseline_models"] == ["tiny-medium", "tiny-small"]
    # today's references, taken when the report was made (a closed month re-run uses new ones)
    taken = datetime.strptime(everything["baseline_models_as_of"], "%Y-%m-%dT%H:%M:%SZ")
    assert taken.replace(tzinfo=UTC) >= max(r.time for r in records).replace(microsecond=0)
    assert [r["group"] for r in own["rows"]] == ["legal"]
    assert Decimal(own["total"]["savings"]) == 0  # legal may use tiny-small only
    assert own["total"]["requests"] == sum(1 for r in records if r.department == "legal")


def test_a_served_request_keeps_its_reference_when_the_catalog_changes(
    llama_server: LlamaBackend, tmp_path: Path, any_db_url: str
) -> None:
    """A routed request is recorded with its reference (research's largest model, tiny-medium)
    and what that would have cost; after the catalog changes (tiny-large approved, research's
    largest model now), the month's report of it reads the same, and only a request made
    afterwards is compared with tiny-large."""
    with in_process(governed(llama_server, tmp_path, any_db_url), ENV) as gw:
        assert post(gw, "/v1/chat/completions", chat("auto"), RESEARCH).status_code == 200
        before = report(gw, "department", ADMIN, requests=1)
        (first,) = read_usage(gw)
        for state in ("in_review", "approved"):
            changed = post(
                gw, "/admin/models/tiny-large/lifecycle", {"state": state, "reason": "b7"}, ADMIN
            )
            assert changed.status_code == 200, changed.text
        after = report(gw, "department", ADMIN, requests=1)
        assert post(gw, "/v1/chat/completions", chat("auto"), RESEARCH).status_code == 200
        both = report(gw, "department", ADMIN, requests=2)
        records = {r.request_id: r for r in read_usage(gw)}
    medium_price = Decimal("0.4"), Decimal("1.2")
    assert first.reference_model == "tiny-medium"
    expected = first.prompt_tokens * medium_price[0] + first.completion_tokens * medium_price[1]
    assert first.reference_cost_micro == math.ceil(expected)
    tokens = first.prompt_tokens + first.completion_tokens
    assert first.reference_energy_wh == pytest.approx(tokens / 1000 * 0.8)  # tiny-medium's Wh
    for body in (before, after):
        del body["baseline_models_as_of"]
    assert after == before
    assert before["baseline_models"] == ["tiny-medium"]
    assert first.reference_cost_micro is not None
    assert Decimal(before["total"]["baseline_cost"]) == Decimal(first.reference_cost_micro) / 10**6
    assert before["total"]["compared_today"] == 0
    (second,) = [r for r in records.values() if r.request_id != first.request_id]
    assert second.reference_model == "tiny-large"
    tokens = second.prompt_tokens + second.completion_tokens
    assert second.reference_energy_wh == pytest.approx(tokens / 1000 * 7.0)
    assert both["baseline_models"] == ["tiny-large", "tiny-medium"]
    total = Decimal(first.reference_cost_micro + (second.reference_cost_micro or 0)) / 10**6
    assert Decimal(both["total"]["baseline_cost"]) == total


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("2026-13", "'2026-13'"),
        ("%ff%fe", "'\ufffd\ufffd'"),
        ("2026-1", "'2026-1'"),
        # blanks and other scripts' digits were read as 2026-12 (walk 19, B1)
        ("%202026-12", "' 2026-12'"),
        ("2026-12%20", "'2026-12 '"),
        ("%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%96-12", "'\uff12\uff10\uff12\uff16-12'"),
        ("%D9%A2%D9%A0%D9%A2%D9%A6-%D9%A1%D9%A2", "'\u0662\u0660\u0662\u0666-\u0661\u0662'"),
    ],
)
def test_a_usage_report_for_a_month_that_is_none_names_month(
    llama_server: LlamaBackend, tmp_path: Path, query: str, shown: str
) -> None:
    """Whatever the month's text (an impossible month, bytes that are not UTF-8, the wrong
    form), the refusal says the same and names ``month``, not a validator's pattern."""
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        answer = gw.get(f"/admin/usage?month={query}&by=department", headers=ADMIN)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["param"] == "month"
    assert error["message"] == (
        f"month {shown} is not a month of the form YYYY-MM, such as 2026-12 (the digits 0 to 9,"
        " no spaces)"
    )


@pytest.mark.parametrize("month", ["9999-12", "0000-12"])
def test_a_usage_report_for_a_month_out_of_range_says_so(
    llama_server: LlamaBackend, tmp_path: Path, month: str
) -> None:
    """A month of the right form that no window can hold is told as out of range, with the
    range (it was told as not of the form YYYY-MM)."""
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        answer = gw.get(f"/admin/usage?month={month}&by=department", headers=ADMIN)
        last = gw.get("/admin/usage?month=9999-11&by=department", headers=ADMIN)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == {
        "message": f"month '{month}' is out of the supported range, 0001-01 to 9999-11",
        "type": "invalid_request_error",
        "param": "month",
        "code": "month_out_of_range",
    }
    assert last.status_code == 200, last.text


def test_config_without_governance_keeps_serving(
    llama_server: LlamaBackend, tmp_path: Path
) -> None:
    raw = copy.deepcopy(raw_config(llama_server.base_url, f"sqlite:///{tmp_path / 'l.db'}"))
    with in_process(raw) as gw:
        assert post(gw, "/v1/chat/completions", chat(), RESEARCH).status_code == 200


def test_ollama_api_is_governed_too(llama_server: LlamaBackend, tmp_path: Path) -> None:
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        body = {
            "model": "tiny-medium",
            "messages": [{"role": "user", "content": "hi"}],
            "stream": False,
            "options": {"num_predict": 4},
        }
        assert post(gw, "/api/chat", body, RESEARCH).status_code == 200
        secret = {**RESEARCH, "x-stellwerk-classification": "secret"}
        refused = post(gw, "/api/chat", body, secret)
        assert refused.status_code == 403
        assert "secret data may not go" in refused.json()["error"]
        tags = gw.get("/api/tags", headers=secret).json()
        assert "tiny-medium:latest" not in [m["name"] for m in tags["models"]]
        assert "tiny-small:latest" in [m["name"] for m in tags["models"]]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/embed", {"model": "tiny-embed", "input": "hi"}),
        ("/api/embeddings", {"model": "tiny-embed", "prompt": "hi"}),
    ],
)
def test_ollama_embeddings_are_governed_and_counted_as_embed(
    llama_server: LlamaBackend, tmp_path: Path, path: str, body: dict[str, str]
) -> None:
    """The older ``/api/embeddings`` takes the way of ``/api/embed``: the policy, the budget,
    one usage record per request; the same records for the same requests."""
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        assert post(gw, path, body, RESEARCH).status_code == 200
        forbidden = post(gw, path, body, LEGAL)  # legal may use tiny-small only
        assert forbidden.status_code == 404  # and does not see tiny-embed
        assert "'tiny-embed' does not exist" in forbidden.json()["error"]
        frozen = {"monthly_budget": 0, "reason": "frozen"}
        assert gw.put("/admin/limits/department/research", json=frozen, headers=ADMIN).is_success
        over = post(gw, path, body, RESEARCH)
        assert over.status_code == 429
        assert "monthly budget of 0.000000 reached" in over.json()["error"]
    records = sorted(read_usage(gw), key=lambda r: r.time)
    assert [(r.status, r.api, r.endpoint, r.department, r.model) for r in records] == [
        (200, "ollama", "embeddings", "research", "tiny-embed"),
        (404, "ollama", "embeddings", "legal", None),
        (429, "ollama", "embeddings", "research", None),
    ]
    assert records[0].prompt_tokens > 0 and records[0].cost > 0


def test_usage_report_energy_has_no_float_noise(llama_server: LlamaBackend, tmp_path: Path) -> None:
    """Energy is summed in floating point; the report's JSON rounds the sum (0.1 + 0.2 Wh is
    0.3, not 0.30000000000000004)."""
    raw = governed(llama_server, tmp_path)
    ledger = open_ledger(raw["server"]["database_url"])
    now = datetime.now(UTC)
    try:
        ledger.insert_usage(
            [
                replace(make_record(i), department="research", time=now, energy_wh=energy)
                for i, energy in ((1, 0.1), (2, 0.2))
            ]
        )
    finally:
        ledger.close()
    with in_process(raw, ENV) as gw:
        body = report(gw, "department", ADMIN, requests=2)
    assert [(r["group"], r["energy_wh"]) for r in body["rows"]] == [("research", 0.3)]
    assert body["total"]["energy_wh"] == 0.3


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "text"),
    [
        (
            "post",
            "/admin/models/ghost/lifecycle",
            {"state": "approved", "reason": "r"},
            404,
            "unknown model 'ghost'",
        ),
        (
            "post",
            "/admin/models/tiny-large/lifecycle",
            {"state": "live", "reason": "r"},
            400,
            "state",
        ),
        (
            "post",
            "/admin/models/tiny-large/lifecycle",
            {"state": "in_review", "reason": "r", "version": 7},
            409,
            "changed concurrently",
        ),
        (
            "post",
            "/admin/use-cases",
            {"name": "scoring", "department": "legal", "risk_tier": "prohibited", "reason": "r"},
            400,
            "prohibited",
        ),
        (
            "post",
            "/admin/use-cases",
            {"name": "x", "department": "sales", "reason": "r"},
            404,
            "unknown department 'sales'",
        ),
        ("post", "/admin/keys", {"department": "sales"}, 404, "unknown department 'sales'"),
        (
            "post",
            "/admin/keys",
            {"department": "research", "use_case": "contracts"},
            400,
            "belongs to department 'legal'",
        ),
        ("post", "/admin/keys/key-nope/revoke", {"reason": "r"}, 404, "unknown key"),
        (
            "put",
            "/admin/limits/department/research",
            {"requests_per_minute": 0, "reason": "r"},
            400,
            "requests_per_minute",
        ),
        (
            "post",
            "/admin/models/tiny-large/lifecycle",
            {"state": "in_review", "reason": " \n "},
            400,
            "give a reason: it goes into the audit log",
        ),
        (
            "post",
            "/admin/use-cases",
            {"name": "hr-bot", "department": "legal", "reason": "   "},
            400,
            "give a reason: it goes into the audit log",
        ),
        (
            "put",
            "/admin/use-cases/contracts",
            {"name": "contracts", "department": "legal", "purpose": "more", "reason": "x" * 1001},
            400,
            "the reason is longer than 1000 characters",
        ),
        (
            "put",
            "/admin/limits/department/research",
            {"monthly_budget": 5, "reason": ""},
            400,
            "give a reason: it goes into the audit log",
        ),
        (
            "put",
            "/admin/limits/department/research",
            {"monthly_budget": 5, "reason": "x" * 1001},
            400,
            "the reason is longer than 1000 characters",
        ),
        (  # a right-to-left override would print "approved by the board" reversed in part
            "post",
            "/admin/models/tiny-large/lifecycle",
            {"state": "in_review", "reason": "review \u202edraob eht yb devorppa"},
            400,
            "control character U+202E (RIGHT-TO-LEFT OVERRIDE)",
        ),
        (  # a line break would forge a second line in `stellwerk audit`
            "put",
            "/admin/limits/department/research",
            {"monthly_budget": 5, "reason": "ok\n2026-12-06 admin approved everything"},
            400,
            "control character U+000A",
        ),
    ],
)
def test_bad_admin_input_is_a_4xx_and_changes_nothing(
    llama_server: LlamaBackend,
    tmp_path: Path,
    method: str,
    path: str,
    body: dict[str, Any],
    status: int,
    text: str,
) -> None:
    with in_process(governed(llama_server, tmp_path), ENV) as gw:
        before = gw.get("/admin/audit", headers=ADMIN).json()["entries"]
        answer = gw.request(method, path, json=body, headers=ADMIN)
        assert answer.status_code == status, answer.text
        assert text in answer.json()["error"]["message"]
        after = gw.get("/admin/audit", headers=ADMIN).json()["entries"]
        assert after == before
        models = gw.get("/admin/models", headers=ADMIN).json()["models"]
        assert all(m["version"] == 1 for m in models)


def test_retention_runs_by_itself_at_start(llama_server: LlamaBackend, tmp_path: Path) -> None:
    raw = governed(llama_server, tmp_path)
    raw["governance"] = {"retention_days": {"minimal": 30}}
    ledger = open_ledger(raw["server"]["database_url"])
    now = datetime.now(UTC)
    try:
        ledger.insert_usage(
            [
                replace(make_record(1), key_id="research-1", time=now - timedelta(days=40)),
                replace(make_record(2), key_id="research-1", time=now - timedelta(days=5)),
            ]
        )
    finally:
        ledger.close()
    with in_process(raw, ENV) as gw:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            entries = gw.get("/admin/audit?action=usage.expire", headers=ADMIN).json()["entries"]
            if entries:
                break
            time.sleep(0.05)
        assert entries and entries[0]["details"]["deleted"]["minimal"] == 1
    assert [r.request_id for r in read_usage(gw)] == ["req-00000002"]


def test_counters_down_is_a_503_not_unmetered_service(
    llama_server: LlamaBackend, tmp_path: Path
) -> None:
    raw = governed(llama_server, tmp_path)
    raw["server"]["redis_url"] = "redis://127.0.0.1:9/0"  # nothing listens there
    raw["departments"][0]["limits"] = {"monthly_budget": 10}
    with in_process(raw, ENV) as gw:
        answer = post(gw, "/v1/chat/completions", chat(), RESEARCH)
        assert answer.status_code == 503
        error = answer.json()["error"]
        assert "Redis failed" in error["message"] and error["code"] == "service_unavailable"
        # the client is not told the internal address (walk 11); it is told when to come back
        assert "127.0.0.1" not in error["message"] and ":9" not in error["message"]
        assert answer.headers["retry-after"] == "5"
