"""The head role on the admin API (the real app in process, its ledger on SQLite and on
PostgreSQL): a department head or the department's controller reads its own department's usage
report, keys and limits, and nothing of another department: another department's keys are the
same 403 whether that department exists or not, the catalog, the use cases and the audit log a
403 naming no department; every ``POST`` and ``PUT`` is a 403 that changes nothing."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from stellwerk.ledger.ledger import open_ledger
from tests.fixtures.gateway import (
    ENVIRON,
    KEYS,
    OFFLINE_BACKEND,
    Gateway,
    bearer,
    in_process,
    raw_config,
)
from tests.fixtures.llama import LlamaBackend
from tests.gateway.test_governance import chat, report
from tests.ledger.factory import make_record

HEAD_KEY = "sk-stw-test-head-5e2a9c7d1b3f4a60"
ADMIN_KEY = "sk-stw-test-admin-8d1f3b6a0c2e4d57"
ENV = {**ENVIRON, "STW_TEST_KEY_HEAD": HEAD_KEY, "STW_TEST_KEY_ADMIN": ADMIN_KEY}
HEAD = bearer(HEAD_KEY)
ADMIN = bearer(ADMIN_KEY)
REFUSED_READ = (
    "key 'research-head' has role head, which reads only its own department's usage, keys,"
    " limits and use cases; this needs an admin or viewer key"
)
REFUSED_CHANGE = "key 'research-head' has role head, which may only read; this needs an admin key"


def headed(database_url: str, backend: str = OFFLINE_BACKEND) -> dict[str, Any]:
    """The test config with a head key of research (in the config), an admin key of a
    department of its own, limits of both departments and of a key of each, and a use case of
    legal's: every figure of legal's is one a head of research must not read."""
    raw = raw_config(backend, database_url)
    research, legal = raw["departments"]
    research["keys"][0]["limits"] = {"requests_per_minute": 11}
    research["keys"].append({"id": "research-head", "key_env": "STW_TEST_KEY_HEAD", "role": "head"})
    research["limits"] = {"monthly_budget": 40}
    legal["keys"][0]["limits"] = {"monthly_budget": 7, "tokens_per_minute": 900}
    legal["limits"] = {"monthly_budget": 90, "requests_per_minute": 30}
    raw["departments"].append(
        {
            "name": "board",
            "keys": [{"id": "admin-1", "key_env": "STW_TEST_KEY_ADMIN", "role": "admin"}],
        }
    )
    raw["use_cases"] = [
        {"name": "contracts", "department": "legal", "purpose": "review"},
        {"name": "papers", "department": "research", "purpose": "summaries"},
    ]
    return raw


def with_usage(database_url: str) -> None:
    """This month's usage of both departments, in the ledger before the gateway starts."""
    now = datetime.now(UTC)
    ledger = open_ledger(database_url)
    try:
        ledger.insert_usage(
            [
                replace(make_record(i), department=dept, key_id=key, time=now, status=200)
                for i, dept, key in (
                    (1, "research", "research-1"),
                    (2, "research", "research-1"),
                    (3, "legal", "legal-1"),
                    (4, "legal", "legal-1"),
                    (5, "legal", "legal-1"),
                )
            ]
        )
    finally:
        ledger.close()


@pytest.fixture
def gateway(any_db_url: str) -> Iterator[Gateway]:
    """The gateway of ``headed`` over a ledger with usage, and a key of each department stored
    in the database (made by the admin), legal's with limits of its own."""
    with_usage(any_db_url)
    with in_process(headed(any_db_url), ENV) as gw:
        for department in ("research", "legal"):
            made = gw.post(
                "/admin/keys", json={"department": department, "reason": "r"}, headers=ADMIN
            )
            assert made.status_code == 201, made.text
        stored_legal = made.json()["key_id"]
        limited = gw.put(
            f"/admin/limits/key/{stored_legal}",
            json={"monthly_budget": 3, "reason": "r"},
            headers=ADMIN,
        )
        assert limited.status_code == 200, limited.text
        yield gw


def _get(gw: Gateway, path: str, headers: dict[str, str]) -> Any:
    answer = gw.get(path, headers=headers)
    assert answer.status_code == 200, (path, answer.text)
    assert "legal" not in answer.text or headers is ADMIN, (path, answer.text)
    return answer.json()


def _stored(keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The keys made through the CLI or the admin API of an answer of ``GET /admin/keys``."""
    return [k for k in keys if k["source"] == "database"]


def test_a_head_reads_its_departments_usage_keys_limits_and_use_cases(gateway: Gateway) -> None:
    gw, month = gateway, f"{datetime.now(UTC):%Y-%m}"
    # the usage report: research's only, by every grouping
    admins = report(gw, "department", ADMIN, requests=5)
    assert {r["group"] for r in admins["rows"]} == {"research", "legal"}
    research = next(r for r in admins["rows"] if r["group"] == "research")
    for by in ("department", "model", "use-case"):
        own = _get(gw, f"/admin/usage?month={month}&by={by}", HEAD)
        assert own["total"]["requests"] == 2 and own["total"]["cost"] == research["cost"], by
    assert [r["group"] for r in own["rows"]] == ["(none)"]
    by_department = _get(gw, f"/admin/usage?month={month}&by=department", HEAD)
    assert [r["group"] for r in by_department["rows"]] == ["research"]

    # its keys: research's, the config's and the stored one, as the admin lists them for research
    keys = _get(gw, "/admin/keys", HEAD)
    admins = _get(gw, "/admin/keys?department=research", ADMIN)["keys"]
    made_by = {"config": "config", "database": "admin"}  # the stored one: by admin-1
    assert keys == {"keys": [{**k, "created_by": made_by[k["source"]]} for k in admins]}
    assert {k["department"] for k in keys["keys"]} == {"research"} and len(keys["keys"]) == 3
    assert _get(gw, "/admin/keys?department=research", HEAD) == keys

    # its limits: research's, and its keys' own (research-1's from the config)
    limits = _get(gw, "/admin/limits", HEAD)
    every = _get(gw, "/admin/limits", ADMIN)
    assert set(every["departments"]) == {"research", "legal", "board"}
    assert len(every["keys"]) == 3  # research-1, legal-1 and legal's stored key
    assert limits == {
        "month": month,
        "departments": {"research": every["departments"]["research"]},
        "keys": {"research-1": every["keys"]["research-1"]},
    }
    # its spend this month: the usage report's cost (governance.month_spend)
    assert limits["departments"]["research"]["spent"] == research["cost"]
    assert limits["departments"]["research"]["monthly_budget"] == "40.000000"

    # its use cases, as the admin's list holds them
    cases = _get(gw, "/admin/use-cases", HEAD)["use_cases"]
    everyones = _get(gw, "/admin/use-cases", ADMIN)["use_cases"]
    assert {u["name"] for u in everyones} == {"contracts", "papers"}
    assert cases == [u for u in everyones if u["name"] == "papers"]


def test_a_head_reads_no_other_departments_key_id_as_who_made_or_revoked_its_keys(
    gateway: Gateway,
) -> None:
    """Who made and revoked research's stored key: admin-1, the admin key of another department
    (board), for the admin; ``admin`` for research's head, which reads no other department's key
    ids (small31)."""
    gw = gateway
    (stored,) = _stored(_get(gw, "/admin/keys?department=research", ADMIN)["keys"])
    revoked = gw.post(f"/admin/keys/{stored['key_id']}/revoke", json={"reason": "r"}, headers=ADMIN)
    assert revoked.status_code == 200, revoked.text
    (admins,) = _stored(_get(gw, "/admin/keys?department=research", ADMIN)["keys"])
    assert (admins["created_by"], admins["revoked_by"]) == ("admin-1", "admin-1")
    for path in ("/admin/keys", "/admin/keys?department=research"):
        answer = gw.get(path, headers=HEAD)
        assert answer.status_code == 200 and "admin-1" not in answer.text, answer.text
        (seen,) = _stored(answer.json()["keys"])
        assert seen == {**admins, "created_by": "admin", "revoked_by": "admin"}


@pytest.mark.parametrize("asked", ["legal", "board", "no-such-department", "Research"])
def test_another_departments_keys_are_one_403_whether_it_exists_or_not(
    gateway: Gateway, asked: str
) -> None:
    answer = gateway.get(f"/admin/keys?department={asked}", headers=HEAD)
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"] == {
        "message": "key 'research-head' has role head, which reads only its own department's"
        " keys (research); leave department out or name research",
        "type": "permission_error",
        "param": "department",
        "code": "forbidden",
    }


@pytest.mark.parametrize(
    "path",
    [
        "/admin/models",
        "/admin/models/tiny-small",
        "/admin/models/no-such-model",
        "/admin/compliance",
        "/admin/audit",
        "/admin/audit?target=department:legal",
        "/admin/audit?actor=admin-1",
    ],
)
def test_a_head_reads_nothing_but_its_department(gateway: Gateway, path: str) -> None:
    answer = gateway.get(path, headers=HEAD)
    assert answer.status_code == 403, answer.text
    error = answer.json()["error"]
    assert (error["type"], error["message"]) == ("permission_error", REFUSED_READ)


def test_a_head_changes_nothing(gateway: Gateway) -> None:
    gw = gateway
    stored = _get(gw, "/admin/keys", HEAD)["keys"][0]["key_id"]
    changes: list[tuple[str, str, dict[str, Any]]] = [
        ("PUT", "/admin/limits/department/research", {"monthly_budget": 1000, "reason": "x"}),
        ("PUT", "/admin/limits/key/research-head", {"monthly_budget": None, "reason": "x"}),
        ("POST", "/admin/keys", {"department": "research", "role": "admin", "reason": "x"}),
        ("POST", "/admin/keys", {"department": "legal", "role": "head", "reason": "x"}),
        ("POST", f"/admin/keys/{stored}/revoke", {"reason": "x"}),
        ("POST", "/admin/models/tiny-small/consent", {"consent": False, "reason": "x"}),
        ("POST", "/admin/models/tiny-large/lifecycle", {"state": "deprecated", "reason": "x"}),
        ("POST", "/admin/use-cases", {"name": "n", "department": "research", "reason": "x"}),
        ("PUT", "/admin/use-cases/contracts", {"purpose": "anything", "reason": "x"}),
    ]
    before = [_get(gw, p, ADMIN) for p in ("/admin/audit", "/admin/keys", "/admin/limits")]
    for method, path, body in changes:
        refused = gw.request(method, path, json=body, headers=HEAD)
        assert refused.status_code == 403, (path, refused.text)
        error = refused.json()["error"]
        assert (error["type"], error["message"]) == ("permission_error", REFUSED_CHANGE), path
    after = [_get(gw, p, ADMIN) for p in ("/admin/audit", "/admin/keys", "/admin/limits")]
    assert after == before  # nothing changed, nothing audited
    # an admin key's first change goes through: the refusal was the role's
    done = gw.request(*changes[0][:2], json=changes[0][2], headers=ADMIN)
    assert done.status_code == 200, done.text


def test_a_head_key_made_through_the_api_reads_its_department(gateway: Gateway) -> None:
    gw = gateway
    made = gw.post(
        "/admin/keys", json={"department": "legal", "role": "head", "reason": "r"}, headers=ADMIN
    )
    assert made.status_code == 201, made.text
    assert made.json()["role"] == "head"
    legal_head = bearer(made.json()["key"])
    keys = gw.get("/admin/keys", headers=legal_head)
    assert keys.status_code == 200, keys.text
    assert {k["department"] for k in keys.json()["keys"]} == {"legal"}
    assert len(keys.json()["keys"]) == 3  # legal-1 of the config, the admin's stored one, itself
    limits = gw.get("/admin/limits", headers=legal_head).json()
    assert set(limits["departments"]) == {"legal"} and "research-1" not in limits["keys"]
    assert len(limits["keys"]) == 2  # legal-1's from the config, the stored key's
    refused = gw.get("/admin/keys?department=research", headers=legal_head)
    assert refused.status_code == 403 and "research" not in refused.text


def test_every_key_is_listed_with_its_source_as_keys_list_shows_them(gateway: Gateway) -> None:
    """``GET /admin/keys`` listed only the keys made through the CLI or the API: a controller who
    asks who may spend its department's budget missed the config file's (walk 17, 11). The
    config's come first, with ``source: config``, as ``stellwerk keys list`` and the dashboard
    list them; the database's carry ``source: database``, their other fields as before."""
    gw = gateway
    stored = {k: _get(gw, f"/admin/keys?department={k}", ADMIN)["keys"][-1] for k in ("research",)}
    config_key = {
        "department": "research",
        "use_case": None,
        "classification": None,
        "effective_classification": "internal",
        "created_at": None,
        "created_by": "config",
        "revoked_at": None,
        "revoked_by": None,
        "source": "config",
    }
    research = [
        {**config_key, "key_id": "research-1", "role": "user"},
        {**config_key, "key_id": "research-head", "role": "head"},
    ]
    assert _get(gw, "/admin/keys?department=research", ADMIN)["keys"] == [
        *research,
        stored["research"],
    ]
    assert stored["research"]["source"] == "database"
    assert stored["research"]["created_by"] == "admin-1" and stored["research"]["created_at"]
    every = _get(gw, "/admin/keys", ADMIN)["keys"]
    assert [(k["key_id"], k["source"]) for k in every][:4] == [
        ("research-1", "config"),
        ("research-head", "config"),
        ("legal-1", "config"),
        ("admin-1", "config"),
    ]
    assert [k["source"] for k in every[4:]] == ["database", "database"]
    # the head of research: its department's, both sources, nothing of another
    own = _get(gw, "/admin/keys", HEAD)["keys"]
    assert [(k["key_id"], k["source"]) for k in own] == [
        ("research-1", "config"),
        ("research-head", "config"),
        (stored["research"]["key_id"], "database"),
    ]
    assert own[:2] == research


@pytest.mark.llama
def test_a_heads_report_counts_its_departments_answered_requests(
    llama_server: LlamaBackend, any_db_url: str
) -> None:
    """Real requests through the gateway to the llama.cpp server, one of research's key (and one
    of the head key's own: a head key calls the model APIs as any key of its department) and
    two of legal's: the head's report counts research's two, as the admin's research row does."""
    with in_process(headed(any_db_url, llama_server.base_url), ENV) as gw:
        for key in (KEYS["research"], HEAD_KEY, KEYS["legal"], KEYS["legal"]):
            answer = gw.post("/v1/chat/completions", json=chat(), headers=bearer(key), timeout=60)
            assert answer.status_code == 200, answer.text
        admins = report(gw, "department", ADMIN, requests=4)
        own = report(gw, "department", HEAD, requests=2)
    research = next(r for r in admins["rows"] if r["group"] == "research")
    assert research["requests"] == 2 and float(research["cost"]) > 0
    assert own["rows"] == [research] and own["total"]["cost"] == research["cost"]
    assert "legal" not in str(own)


def test_usage_by_key_as_json_and_csv_for_the_roles_that_may_read_keys(gateway: Gateway) -> None:
    """walk27 F21: the dashboard's usage by key, from the admin API as JSON and CSV (the CLI's
    columns, each row naming its month): keys by id, never a secret; a head key reads its own
    department's keys, a user key (which may not list its department's keys) is refused."""
    gw, month = gateway, f"{datetime.now(UTC):%Y-%m}"
    report(gw, "department", ADMIN, requests=5)
    answer = gw.get(f"/admin/usage?month={month}&by=key&format=csv", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert f'filename="usage-{month}-by-key.csv"' in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert {(r["key"], r["requests"], r["month"]) for r in rows} == {
        ("legal-1", "3", month),
        ("research-1", "2", month),
        ("(total)", "5", month),
    }
    assert rows[-1]["key"] == "(total)"
    assert all(secret not in answer.text for secret in (*KEYS.values(), HEAD_KEY, ADMIN_KEY))
    own = _get(gw, f"/admin/usage?month={month}&by=key", HEAD)
    assert [(r["group"], r["requests"]) for r in own["rows"]] == [("research-1", 2)]
    own_csv = gw.get(f"/admin/usage?month={month}&by=key&format=csv", headers=HEAD)
    assert [r["key"] for r in csv.DictReader(io.StringIO(own_csv.text))] == [
        "research-1",
        "(total)",
    ]
    user = gw.get(f"/admin/usage?month={month}&by=key", headers=bearer(KEYS["research"]))
    assert user.status_code == 403
    assert user.json()["error"]["message"] == (
        "key 'research-1' has role user, which reads its own department's usage by department,"
        " model or use case; usage by key needs an admin, viewer or head key"
    )
    by_department = gw.get(
        f"/admin/usage?month={month}&format=csv", headers=bearer(KEYS["research"])
    )
    assert [r["department"] for r in csv.DictReader(io.StringIO(by_department.text))] == [
        "research",
        "(total)",
    ]
    bad = gw.get(f"/admin/usage?month={month}&format=xml", headers=ADMIN)
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "format"
    assert bad.json()["error"]["message"] == "unknown format 'xml'; choose json or csv"
