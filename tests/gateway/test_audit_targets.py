"""A target as the audit log prints it, ``kind:name``, is that kind's target (walk 15, LOW-7): a use
case named ``model:tiny-large`` made ``GET /admin/audit?target=model:tiny-large`` (and ``stellwerk
audit --target``) list its entries in the model's trail. New use-case names may not hold ``:``;
one an older version stored keeps loading, changing and being found by its kind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stellwerk.config import parse_config
from stellwerk.config.schema import UseCaseConfig
from stellwerk.governance.use_cases import UseCases
from stellwerk.ledger.ledger import open_ledger
from tests.fixtures.gateway import Gateway, in_process, migrated_copy
from tests.fixtures.llama import LlamaBackend
from tests.gateway.test_admin_strict import refused
from tests.gateway.test_governance import ADMIN, ENV, governed, post

pytestmark = pytest.mark.llama

OLD = "model:tiny-large"  # a use case's name an older version took


def seed_an_older_use_case(raw: dict[str, Any]) -> None:
    """The use case ``OLD`` stored as an older version stored it (its config took the name)."""
    config = parse_config(raw)
    older = UseCaseConfig.model_construct(
        name=OLD, department="research", purpose="reading", risk_tier="minimal",
        classification="internal", allowed_models=None, oversight_contact=None,
    )  # fmt: skip
    ledger = open_ledger(config.server.database_url)
    try:
        UseCases(ledger, config.model_copy(update={"use_cases": (older,)})).seed()
    finally:
        ledger.close()


def actions(gw: Gateway, query: str) -> list[str]:
    answer = gw.get(f"/admin/audit?{query}", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return [f"{e['action']} {e['target_kind']}:{e['target']}" for e in answer.json()["entries"]]


def test_kind_and_name_find_that_kinds_target_only(
    llama_server: LlamaBackend, tmp_path: Path, ledger_template: Path
) -> None:
    raw = governed(llama_server, tmp_path, migrated_copy(ledger_template, tmp_path / "ledger.db"))
    seed_an_older_use_case(raw)
    with in_process(raw, ENV) as gw:
        change = {"state": "in_review", "reason": "evaluated"}
        assert post(gw, "/admin/models/tiny-large/lifecycle", change, ADMIN).status_code == 200
        model = ["model.lifecycle model:tiny-large", "model.seed model:tiny-large"]
        assert actions(gw, f"target={OLD}") == model
        assert actions(gw, f"target={OLD}&target_kind=model") == model
        # the older use case: by its kind, or by its printed form
        older = [f"use_case.create use_case:{OLD}"]
        assert actions(gw, f"target={OLD}&target_kind=use_case") == older
        assert actions(gw, f"target=use_case:{OLD}") == older
        # it loads and changes as before
        listed = gw.get("/admin/use-cases", headers=ADMIN).json()["use_cases"]
        assert OLD in [u["name"] for u in listed]
        changed = gw.put(
            f"/admin/use-cases/{OLD}", json={"purpose": "summaries", "reason": "r"}, headers=ADMIN
        )
        assert changed.status_code == 200, changed.text
        # a new one may not take such a name
        body = {"name": "model:tiny-small", "department": "research", "reason": "r"}
        made = post(gw, "/admin/use-cases", body, ADMIN)
        assert "holds ':', which the audit log reads as kind:name" in refused(made, "name")
        assert made.json()["error"]["message"].startswith("name: 'model:tiny-small' holds ':'")
