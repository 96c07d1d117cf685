"""``GET /admin/limits`` and ``stellwerk limits show`` answer each budget with the month's spend
so far and what is left of it (walk 19 B3: the budget was shown, not how close it was), exactly,
as the dashboard and the usage report count the spend; a head key reads its department's only.
On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from stellwerk.ledger.ledger import open_ledger
from tests.cli.test_governance_cmd import run
from tests.fixtures.gateway import Gateway, in_process
from tests.gateway.test_head import ADMIN, ENV, HEAD, headed
from tests.ledger.factory import make_record

NOW = datetime.now(UTC)
MONTH = f"{NOW:%Y-%m}"
LAST_MONTH = NOW.replace(day=1, hour=0, minute=0) - timedelta(days=1)


def _with_usage(database_url: str) -> None:
    """This month's records of both departments, in micro-units that a float would not keep
    (1.250001 + 0.249999), and one of last month, which is not this month's spend."""
    ledger = open_ledger(database_url)
    try:
        ledger.insert_usage(
            [
                replace(make_record(i), department=d, key_id=k, time=t, status=200, cost_micro=c)
                for i, d, k, t, c in (
                    (1, "research", "research-1", NOW, 1_250_001),
                    (2, "research", "research-head", NOW, 249_999),
                    (3, "legal", "legal-1", NOW, 3_000_000),
                    (4, "research", "research-1", LAST_MONTH, 9_000_000),
                )
            ]
        )
    finally:
        ledger.close()


@pytest.fixture
def raw(any_db_url: str) -> dict[str, Any]:
    _with_usage(any_db_url)
    return headed(any_db_url)


@pytest.fixture
def gateway(raw: dict[str, Any]) -> Iterator[Gateway]:
    with in_process(raw, ENV) as gw:
        yield gw


def _limits(gw: Gateway, headers: dict[str, str]) -> Any:
    answer = gw.get("/admin/limits", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _spend(limits: dict[str, Any]) -> tuple[str | None, str, str | None]:
    return limits["monthly_budget"], limits["spent"], limits["remaining"]


def test_the_limits_answer_the_months_spend_and_what_is_left(gateway: Gateway) -> None:
    every = _limits(gateway, ADMIN)
    assert every["month"] == MONTH
    departments, keys = every["departments"], every["keys"]
    assert _spend(departments["research"]) == ("40.000000", "1.500000", "38.500000")
    assert _spend(departments["legal"]) == ("90.000000", "3.000000", "87.000000")
    assert _spend(departments["board"]) == (None, "0.000000", None)  # no budget: unlimited
    assert _spend(keys["research-1"]) == (None, "1.250001", None)  # its own rate limit only
    assert _spend(keys["legal-1"]) == ("7.000000", "3.000000", "4.000000")
    # the usage report counts the same spend
    usage = gateway.get(f"/admin/usage?month={MONTH}", headers=ADMIN).json()
    assert {r["group"]: r["cost"] for r in usage["rows"]} == {
        "research": "1.500000",
        "legal": "3.000000",
    }
    # a budget lowered below the spend has nothing left (never a negative amount)
    lowered = gateway.put(
        "/admin/limits/department/legal", json={"monthly_budget": 2, "reason": "r"}, headers=ADMIN
    )
    assert lowered.status_code == 200, lowered.text
    assert _spend(lowered.json()) == ("2.000000", "3.000000", "0.000000")  # the PUT's answer too
    assert _spend(_limits(gateway, ADMIN)["departments"]["legal"]) == (
        "2.000000",
        "3.000000",
        "0.000000",
    )


def test_a_head_key_reads_its_own_departments_spend_only(gateway: Gateway) -> None:
    every = _limits(gateway, ADMIN)
    own = _limits(gateway, HEAD)
    assert own == {
        "month": MONTH,
        "departments": {"research": every["departments"]["research"]},
        "keys": {"research-1": every["keys"]["research-1"]},
    }
    assert "legal" not in json.dumps(own) and "3.000000" not in json.dumps(own)


def test_the_cli_shows_what_the_admin_api_answers(
    gateway: Gateway, raw: dict[str, Any], tmp_path: Path
) -> None:
    config = tmp_path / "stellwerk.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    code, out, err = run("limits", "show", "-c", str(config), "--format", "json")
    assert code == 0, err
    assert json.loads(out) == _limits(gateway, ADMIN)
    code, out, err = run("limits", "show", "-c", str(config), "--department", "research")
    assert code == 0, err
    header, row = out.splitlines()
    assert header.split()[-3:] == ["spent", MONTH, "remaining"]
    assert row.split() == [
        "research",
        "unlimited",
        "unlimited",
        "40.000000",
        "1.500000",
        "38.500000",
    ]
    code, out, err = run("limits", "show", "-c", str(config), "--key", "legal-1")
    assert code == 0, err
    assert out.splitlines()[1].split()[-3:] == ["7.000000", "3.000000", "4.000000"]
