"""A model whose config does not state ``hosting`` (walk 15, MEDIUM-3): it counted as on
premises, so secret data went to a model whose location nobody stated and the compliance view
could never list ``hosting`` as missing. Now it is the least trusted location and missing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.gateway import ENVIRON, KEYS, Gateway, in_process, migrated_copy, raw_config
from tests.fixtures.llama import LlamaBackend

pytestmark = pytest.mark.llama

ADMIN_KEY = "sk-stw-test-admin-5e0b7c2d9a4f1e63"
RESEARCH = {"authorization": f"Bearer {KEYS['research']}"}
ADMIN = {"authorization": f"Bearer {ADMIN_KEY}"}


def unstated(llama: LlamaBackend, tmp_path: Path, ledger_template: Path) -> dict[str, Any]:
    """The test config with tiny-medium appended as an operator would: no hosting, no
    lifecycle (walk 15's ``cloud-x``)."""
    raw = raw_config(llama.base_url, migrated_copy(ledger_template, tmp_path / "ledger.db"))
    medium = raw["models"][1]
    del medium["hosting"]
    assert "lifecycle" not in medium
    raw["departments"][0]["classification"] = "public"  # research may send public data
    raw["departments"].append(
        {"name": "it", "keys": [{"id": "admin-1", "key_env": "STW_ADMIN", "role": "admin"}]}
    )
    return raw


def ask(gw: Gateway, model: str, classification: str) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    headers = {**RESEARCH, "x-stellwerk-classification": classification}
    return gw.post("/v1/chat/completions", json=body, headers=headers, timeout=60)


def test_a_model_without_hosting_gets_no_confidential_data_and_lacks_hosting(
    llama_server: LlamaBackend, tmp_path: Path, ledger_template: Path
) -> None:
    raw = unstated(llama_server, tmp_path, ledger_template)
    with in_process(raw, {**ENVIRON, "STW_ADMIN": ADMIN_KEY}) as gw:
        for level in ("confidential", "secret", "internal"):
            refused = ask(gw, "tiny-medium", level)
            assert refused.status_code == 403, refused.text
            message = refused.json()["error"]["message"]
            assert "tiny-medium: its hosting is not stated in the config" in message
            assert f"where {level} data may not go" in message
        # public data may go anywhere, so also where nobody said
        served = ask(gw, "tiny-medium", "public")
        assert served.status_code == 200, served.text
        assert served.headers["x-stellwerk-model"] == "tiny-medium"
        # the compliance view names the missing fact; the model shows no location
        compliance = gw.get("/admin/compliance", headers=ADMIN).json()
        missing = {r["name"]: r["missing"] for r in compliance["non_compliant"]}
        assert "hosting" in missing["tiny-medium"]
        assert "hosting" not in missing.get("tiny-small", [])
        assert gw.get("/admin/models/tiny-medium", headers=ADMIN).json()["hosting"] is None
