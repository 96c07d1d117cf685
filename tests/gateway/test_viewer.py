"""The viewer role on the admin API: a department head, controller or auditor reads everything
an admin key reads (every department's usage included) and changes nothing: every ``POST`` and
``PUT`` is a 403 naming the role, with nothing changed and nothing audited."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.gateway import Gateway, bearer, in_process
from tests.fixtures.llama import LlamaBackend
from tests.gateway.test_governance import ADMIN, ENV, RESEARCH, chat, governed, post, report

pytestmark = pytest.mark.llama

VIEWER_KEY = "sk-stw-test-viewer-4d8b2e6f0a1c3957"
VIEWER = bearer(VIEWER_KEY)

READS = [
    "/admin/models",
    "/admin/models/tiny-small",
    "/admin/compliance",
    "/admin/use-cases",
    "/admin/keys",
    "/admin/limits",
    "/admin/audit",
]


def with_viewer(llama: LlamaBackend, tmp_path: Path) -> dict[str, Any]:
    """``governed`` with a viewer key in the config, in a department of its own (controlling),
    so that every other department's figures are another department's."""
    raw = governed(llama, tmp_path)
    raw["departments"].append(
        {
            "name": "controlling",
            "keys": [{"id": "controller", "key_env": "STW_TEST_KEY_VIEWER", "role": "viewer"}],
        }
    )
    return raw


def changes(stored_key: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Every change the admin API takes, each with a body an admin key's would succeed with."""
    return [
        ("POST", "/admin/models/tiny-large/lifecycle", {"state": "in_review", "reason": "x"}),
        ("POST", "/admin/models/tiny-small/consent", {"consent": False, "reason": "x"}),
        ("POST", "/admin/use-cases", {"name": "audit-notes", "department": "legal", "reason": "x"}),
        ("PUT", "/admin/use-cases/contracts", {"purpose": "anything", "reason": "x"}),
        ("POST", "/admin/keys", {"department": "controlling", "role": "admin", "reason": "x"}),
        ("POST", f"/admin/keys/{stored_key}/revoke", {"reason": "x"}),
        ("PUT", "/admin/limits/department/research", {"monthly_budget": 1, "reason": "x"}),
    ]


def everything(gw: Gateway, headers: dict[str, str]) -> dict[str, Any]:
    """What ``headers``' key reads under ``/admin``, by path."""
    read = {}
    for path in READS:
        answer = gw.get(path, headers=headers)
        assert answer.status_code == 200, (path, answer.text)
        read[path] = answer.json()
    return read


def test_a_viewer_reads_what_an_admin_reads_and_changes_nothing(
    llama_server: LlamaBackend, tmp_path: Path
) -> None:
    environ = {**ENV, "STW_TEST_KEY_VIEWER": VIEWER_KEY}
    with in_process(with_viewer(llama_server, tmp_path), environ) as gw:
        assert post(gw, "/v1/chat/completions", chat(), RESEARCH).status_code == 200
        made = post(gw, "/admin/keys", {"department": "research", "reason": "intern"}, ADMIN)
        assert made.status_code == 201, made.text
        stored = made.json()["key_id"]

        # every department's usage: research's request, which is not the viewer's department
        usage = report(gw, "department", VIEWER, requests=1)
        assert [r["group"] for r in usage["rows"]] == ["research"]
        assert usage == report(gw, "department", ADMIN, requests=1)
        before = everything(gw, ADMIN)
        assert everything(gw, VIEWER) == before
        listed = gw.get("/admin/keys", headers=VIEWER)
        stored_ones = [k["key_id"] for k in listed.json()["keys"] if k["source"] == "database"]
        assert stored_ones == [stored]
        assert "sk-stw-" not in listed.text  # ids and facts, never a key

        for method, path, body in changes(stored):
            refused = gw.request(method, path, json=body, headers=VIEWER)
            assert refused.status_code == 403, (path, refused.text)
            error = refused.json()["error"]
            assert error["type"] == "permission_error"
            assert error["message"] == (
                "key 'controller' has role viewer, which may only read; this needs an admin key"
            ), path
        assert everything(gw, ADMIN) == before  # nothing changed, nothing audited
        assert post(gw, "/v1/chat/completions", chat(), RESEARCH).status_code == 200
        # an admin key's changes with the same bodies go through: the refusals were the role's
        for method, path, body in changes(stored):
            done = gw.request(method, path, json=body, headers=ADMIN)
            assert done.status_code in (200, 201), (path, done.text)
