"""What a model can do is listed wherever models are: ``/v1/models`` (OpenAI's fields as they
are, and ``capabilities``, which the ``openai`` library keeps as an extra field), the admin API's
catalog (``GET /admin/models``, ``GET /admin/models/{id}``), besides Ollama's ``/api/show`` and
the dashboard's model page. (Ollama's ``/api/tags`` lists none: Ollama's has none.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.gateway import (
    ENVIRON,
    KEYS,
    OFFLINE_BACKEND,
    bearer,
    in_process,
    migrated_copy,
    raw_config,
)

ADMIN_KEY = "sk-stw-test-admin-3c8e1f5a9d2b7e40"
#: tiny-small's, as the test config lists them
SMALL = ["chat", "completion", "tools", "json"]


@pytest.fixture
def raw(tmp_path: Path, ledger_template: Path) -> dict[str, Any]:
    """The test config (its backend offline: nothing here asks it) with tiny-medium thinking
    and an admin key."""
    raw = raw_config(OFFLINE_BACKEND, migrated_copy(ledger_template, tmp_path / "ledger.db"))
    raw["models"][1]["capabilities"] = ["chat", "vision", "thinking"]
    raw["departments"].append(
        {"name": "it", "keys": [{"id": "admin-1", "key_env": "STW_ADMIN", "role": "admin"}]}
    )
    return raw


def test_v1_models_lists_what_each_model_and_route_can_do(raw: dict[str, Any]) -> None:
    """A model's capabilities as its config lists them; a route's, what the models it may
    choose for the key can (research may use tiny-medium, which thinks; legal only tiny-small),
    no embeddings (a route chooses no embedding model). OpenAI's fields stay as they were."""
    with in_process(raw, {**ENVIRON, "STW_ADMIN": ADMIN_KEY}) as gw:
        with gw.openai(KEYS["research"]) as client:
            listed = {m.id: m for m in client.models.list()}
            retrieved = client.models.retrieve("tiny-medium")
        legal = gw.get("/v1/models", headers=bearer(KEYS["legal"])).json()["data"]
    can = {name: (m.model_extra or {}).get("capabilities") for name, m in listed.items()}
    routed = ["chat", "completion", "tools", "vision", "json", "thinking"]
    assert can == {
        "auto": routed,
        "auto-economy": routed,
        "auto-quality": routed,
        "tiny-small": SMALL,
        "tiny-medium": ["chat", "vision", "thinking"],
        "tiny-large": ["chat"],
        "tiny-embed": ["embeddings"],
    }
    assert (retrieved.model_extra or {}).get("capabilities") == ["chat", "vision", "thinking"]
    small = listed["tiny-small"]
    assert (small.object, small.created, small.owned_by) == ("model", 0, "llamacpp")
    assert {entry["id"]: entry["capabilities"] for entry in legal} == {
        "auto": SMALL,
        "auto-economy": SMALL,
        "auto-quality": SMALL,
        "tiny-small": SMALL,
    }


def test_the_admin_catalog_lists_each_models_capabilities(raw: dict[str, Any]) -> None:
    with in_process(raw, {**ENVIRON, "STW_ADMIN": ADMIN_KEY}) as gw:
        listed = gw.get("/admin/models", headers=bearer(ADMIN_KEY)).json()["models"]
        one = gw.get("/admin/models/tiny-medium", headers=bearer(ADMIN_KEY)).json()
    assert {m["id"]: m["capabilities"] for m in listed} == {
        "tiny-small": SMALL,
        "tiny-medium": ["chat", "vision", "thinking"],
        "tiny-large": ["chat"],
        "tiny-embed": ["embeddings"],
        "tiny-retired": ["chat"],
    }
    assert one["capabilities"] == ["chat", "vision", "thinking"]
