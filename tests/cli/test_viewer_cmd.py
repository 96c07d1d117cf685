"""A viewer key made with the CLI, as an operator gives a controller one: ``keys create --role
viewer`` prints it, ``keys list`` shows its role beside a viewer key of the config, and the key
reads the admin API (every department's keys) and may not change anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.cli.test_governance_cmd import run
from tests.fixtures.gateway import bearer, in_process
from tests.governance.factories import model


def test_keys_create_role_viewer_and_the_key_only_reads(tmp_path: Path) -> None:
    raw: dict[str, Any] = {
        "server": {"database_url": f"sqlite:///{tmp_path / 'ledger.db'}"},
        "backends": [{"name": "local", "kind": "openai", "base_url": "http://127.0.0.1:9"}],
        "models": [model("mistral-3b")],
        "departments": [{"name": "legal"}, {"name": "finance"}],
    }
    config_path = tmp_path / "stellwerk.yaml"
    raw["departments"][1]["keys"] = [{"id": "controller", "key_sha256": "e" * 64, "role": "viewer"}]
    config_path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    c = str(config_path)
    code, out, err = run("keys", "create", "-c", c, "--department", "finance", "--role", "viewer")
    assert code == 0, err
    key, key_id = out.strip(), err.split("key id ")[1].split()[0]
    assert f"key id {key_id} (viewer, department finance" in err
    code, _, err = run("keys", "create", "-c", c, "--department", "legal")
    assert code == 0, err
    code, out, err = run("keys", "list", "-c", c)
    assert code == 0, err
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["controller"][1:3] == ["finance", "viewer"] and rows["controller"][6] == "config"
    assert rows[key_id][1:3] == ["finance", "viewer"] and rows[key_id][6] == "database"

    with in_process(raw, {}) as gw:
        listed = gw.get("/admin/keys", headers=bearer(key))
        assert listed.status_code == 200, listed.text
        assert {k["department"] for k in listed.json()["keys"]} == {"finance", "legal"}
        revoke = gw.post(f"/admin/keys/{key_id}/revoke", json={"reason": "x"}, headers=bearer(key))
        assert revoke.status_code == 403
        assert "has role viewer, which may only read" in revoke.json()["error"]["message"]
