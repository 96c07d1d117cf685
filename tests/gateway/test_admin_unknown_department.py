"""A filter of the admin API that names no department (``GET /admin/keys?department=``, the
audit log's department target) is a 404 naming it, for an admin and a viewer key alike, not an
empty answer that passes for a department without keys or changes; a department the config no
longer names still lists what is left of it. A head key's one 403 for another department,
existing or not, is ``tests/gateway/test_head.py``'s."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fixtures.gateway import Gateway, bearer, in_process
from tests.gateway.test_head import ADMIN, ENV, headed

VIEWER_KEY = "sk-stw-test-viewer-2b7e9d4c1a6f3e85"
VIEWER = bearer(VIEWER_KEY)
VIEWER_ENV = {**ENV, "STW_TEST_KEY_VIEWER": VIEWER_KEY}
KNOWN = "known: board, legal, research"


def _config(database_url: str) -> dict[str, Any]:
    raw = headed(database_url)
    board = raw["departments"][-1]
    board["keys"].append({"id": "viewer-1", "key_env": "STW_TEST_KEY_VIEWER", "role": "viewer"})
    return raw


@pytest.fixture
def gateway(any_db_url: str) -> Iterator[Gateway]:
    with in_process(_config(any_db_url), VIEWER_ENV) as gw:
        yield gw


def _not_found(answer: Any, message: str) -> None:
    assert answer.status_code == 404, answer.text
    assert answer.json()["error"] == {
        "message": message,
        "type": "not_found_error",
        "param": "department",
        "code": "not_found",
    }


@pytest.mark.parametrize("key", [ADMIN, VIEWER], ids=["admin", "viewer"])
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("department=no-such", f"unknown department 'no-such'; {KNOWN}"),
        (
            "department=Research",
            "unknown department 'Research' (department names are case-sensitive: 'research' is"
            f" one); {KNOWN}",
        ),
    ],
)
def test_keys_of_a_department_that_does_not_exist_are_a_404_naming_it(
    gateway: Gateway, key: dict[str, str], query: str, message: str
) -> None:
    _not_found(gateway.get(f"/admin/keys?{query}", headers=key), message)
    known = gateway.get("/admin/keys?department=research", headers=key)
    assert known.status_code == 200 and known.json()["keys"], known.text


@pytest.mark.parametrize("key", [ADMIN, VIEWER], ids=["admin", "viewer"])
@pytest.mark.parametrize(
    "query",
    [
        "target=department:no-such",
        "target_kind=department&target=no-such",
        "target_kind=department&target=department:no-such",
        "target=department:no-such&after=0",
    ],
)
def test_the_audit_of_a_department_that_does_not_exist_is_a_404_naming_it(
    gateway: Gateway, key: dict[str, str], query: str
) -> None:
    _not_found(
        gateway.get(f"/admin/audit?{query}", headers=key), f"unknown department 'no-such'; {KNOWN}"
    )
    # a department that exists is a filter, even where it has no entry (yet)
    for known in ("target=department:board", "target_kind=department&target=board"):
        answer = gateway.get(f"/admin/audit?{known}", headers=key)
        assert answer.status_code == 200 and answer.json()["entries"] == [], answer.text
    # a target of another kind, or a name of any kind, is no department's
    for other in ("target=model:no-such", "target=no-such"):
        assert gateway.get(f"/admin/audit?{other}", headers=key).json()["entries"] == []


def test_a_department_the_config_no_longer_names_lists_what_is_left_of_it(
    any_db_url: str,
) -> None:
    """legal leaves the config: its key made through the API and its limits' audit entry are
    still listed; board, gone with nothing made of it, is a 404."""
    with in_process(_config(any_db_url), VIEWER_ENV) as gw:
        made = gw.post("/admin/keys", json={"department": "legal", "reason": "r"}, headers=ADMIN)
        assert made.status_code == 201, made.text
        limited = gw.put(
            "/admin/limits/department/legal",
            json={"monthly_budget": 5, "reason": "r"},
            headers=ADMIN,
        )
        assert limited.status_code == 200, limited.text
    raw = _config(any_db_url)
    research, _legal, board = raw["departments"]
    research["keys"].append(board["keys"][0])  # the admin key, in a department that stays
    raw["departments"] = [research]
    raw["use_cases"] = [u for u in raw["use_cases"] if u["department"] == "research"]
    with in_process(raw, VIEWER_ENV) as gw:
        keys = gw.get("/admin/keys?department=legal", headers=ADMIN)
        assert keys.status_code == 200, keys.text
        assert [k["key_id"] for k in keys.json()["keys"]] == [made.json()["key_id"]]
        audit = gw.get("/admin/audit?target=department:legal", headers=ADMIN)
        assert [e["action"] for e in audit.json()["entries"]] == ["limits.set"], audit.text
        _not_found(
            gw.get("/admin/keys?department=board", headers=ADMIN),
            "unknown department 'board'; known: research",
        )
        _not_found(
            gw.get("/admin/audit?target_kind=department&target=board", headers=ADMIN),
            "unknown department 'board'; known: research",
        )
