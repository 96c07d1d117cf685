"""A key's own limits on its department's page (walk 15, MEDIUM-1): a key's monthly budget, set
with ``stellwerk limits set --key``, refused its requests while the department page showed the
department's budget almost untouched ("budget used < 0.1 %") and counted the refusals as "monthly
budget used up" beside it, so the department head would raise the wrong budget. The page now
shows each key's own limits with its spend against its budget, and the refusals of a key's own
budget apart from those of its department's. The client still gets ``budget_exceeded`` for
either (its message names the scope); the usage record keeps a key's apart."""

from __future__ import annotations

import re

import httpx

from tests.dashboard.conftest import DashboardGateway
from tests.dashboard.test_browser_layout import ADMIN
from tests.dashboard.test_languages import text_of
from tests.dashboard.traffic import Served, chat, record, served, wait_for_usage
from tests.fixtures.gateway import KEYS

KEY_BUDGET = "0.000005"
"""Less than the key spent (0.000322) and than the bound of any request: each is refused,
whatever the counters hold."""

SHOWN = {
    "en": {
        "key_refusals": (
            r"the key's own monthly budget used up\s+key_budget_exceeded\s+3\s+{key}: 3"
        ),
        "key_limits": (
            r"Keys' own limits\s+Key\s+Own monthly budget\s+Rate limits\s+"
            r"{key}\s+€0\.000322 /\s+€0\.000005\s+Budget used:\s+6,440\.0\s%\s+"
            r"100 requests per minute"
        ),
        "department_budget": r"€0\.000322 / €1,000\.00\s+Budget used\s+Budget used:\s+<\s0\.1\s%",
        "department_refusals": (
            r"the department's monthly budget used up\s+budget_exceeded\s+2\s+research-1: 2"
        ),
        "no_key_limits": "No key has limits of its own: the department's apply to all its keys.",
    },
    "de": {
        "key_refusals": (
            r"eigenes Monatsbudget des Schlüssels aufgebraucht\s+key_budget_exceeded\s+3\s+"
            r"{key}: 3"
        ),
        "key_limits": (
            r"Eigene Limits der Schlüssel\s+Schlüssel\s+Eigenes Monatsbudget\s+Ratenlimits\s+"
            r"{key}\s+0,000322\s€ /\s+0,000005\s€\s+"
            r"Budget verbraucht:\s+6\.440,0\s%\s+100 Anfragen pro Minute"
        ),
        "department_budget": (
            r"0,000322\s€ / 1\.000,00\s€\s+Budget verbraucht\s+Budget verbraucht:\s+<\s0,1\s%"
        ),
        "department_refusals": (
            r"Monatsbudget des Bereichs aufgebraucht\s+budget_exceeded\s+2\s+research-1: 2"
        ),
        "no_key_limits": "Kein Schlüssel hat eigene Limits: für alle gelten die des Bereichs.",
    },
}


def put_limits(dashboard: DashboardGateway, kind: str, scope: str, **limits: object) -> None:
    answer = dashboard.gateway.put(
        f"/admin/limits/{kind}/{scope}", json={**limits, "reason": "walk15"}, headers=ADMIN
    )
    assert answer.status_code == 200, answer.text


def spend_a_keys_budget(dashboard: DashboardGateway) -> str:
    """A key of legal (budget 1,000) with a budget of its own that it spent: 3 requests refused
    by it; 2 of research refused by research's budget. The key's id."""
    made = dashboard.gateway.post("/admin/keys", json={"department": "legal"}, headers=ADMIN)
    assert made.status_code == 201, made.text
    key_id: str = made.json()["key_id"]
    key: str = made.json()["key"]
    put_limits(dashboard, "department", "legal", monthly_budget="1000")
    put_limits(dashboard, "key", key_id, monthly_budget=KEY_BUDGET, requests_per_minute=100)
    put_limits(dashboard, "department", "research", monthly_budget=KEY_BUDGET)
    config = dashboard.gateway.config
    spent: Served = {"department": "legal", "key_id": key_id, "model": "tiny-small"}
    record(dashboard, [served(config, **spent) for _ in range(2)])  # 2 x 0.000161
    for _ in range(3):
        refused = chat(dashboard, key)
        assert refused.status_code == 429
        error = refused.json()["error"]
        assert error["code"] == "budget_exceeded"  # the client's code, as before
        assert error["message"].startswith(f"key '{key_id}': ")
    for _ in range(2):
        refused = chat(dashboard, KEYS["research"])
        assert refused.json()["error"]["code"] == "budget_exceeded"
        assert refused.json()["error"]["message"].startswith("department 'research': ")
    wait_for_usage(dashboard, 7)
    return key_id


def test_a_keys_own_budget_and_its_refusals_stand_apart_from_the_departments(
    offline_dashboard: DashboardGateway, admin_in_language: httpx.Client, language: str
) -> None:
    key_id = spend_a_keys_budget(offline_dashboard)
    shown = {name: text.replace("{key}", key_id) for name, text in SHOWN[language].items()}

    legal = text_of(admin_in_language.get("/dashboard/departments/legal"))
    assert re.search(shown["department_budget"], legal), legal
    assert re.search(shown["key_limits"], legal), legal
    assert re.search(shown["key_refusals"], legal), legal

    research = text_of(admin_in_language.get("/dashboard/departments/research"))
    assert re.search(shown["department_refusals"], research), research
    assert shown["no_key_limits"] in research
