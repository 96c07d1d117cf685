"""A head key made with the CLI, as an operator gives a department head one: ``keys create --role
head`` prints it, ``keys list`` shows its role beside a head key of the config, and the key reads
its own department's keys through the admin API, no other department's, and changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.cli.test_governance_cmd import run
from tests.fixtures.gateway import bearer, in_process
from tests.governance.factories import model


def test_keys_create_role_head_and_the_key_reads_its_department_only(tmp_path: Path) -> None:
    raw: dict[str, Any] = {
        "server": {"database_url": f"sqlite:///{tmp_path / 'ledger.db'}"},
        "backends": [{"name": "local", "kind": "openai", "base_url": "http://127.0.0.1:9"}],
        "models": [model("mistral-3b")],
        "departments": [{"name": "legal"}, {"name": "finance"}],
    }
    raw["departments"][1]["keys"] = [{"id": "cfo", "key_sha256": "e" * 64, "role": "head"}]
    config_path = tmp_path / "stellwerk.yaml"
    config_path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    c = str(config_path)
    code, out, err = run("keys", "create", "-c", c, "--department", "finance", "--role", "head")
    assert code == 0, err
    key, key_id = out.strip(), err.split("key id ")[1].split()[0]
    assert f"key id {key_id} (head, department finance" in err
    code, _, err = run("keys", "create", "-c", c, "--department", "legal")
    assert code == 0, err
    code, out, err = run("keys", "list", "-c", c)
    assert code == 0, err
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["cfo"][1:3] == ["finance", "head"] and rows["cfo"][6] == "config"
    assert rows[key_id][1:3] == ["finance", "head"] and rows[key_id][6] == "database"

    with in_process(raw, {}) as gw:
        listed = gw.get("/admin/keys", headers=bearer(key))
        assert listed.status_code == 200, listed.text
        assert [k["key_id"] for k in listed.json()["keys"]] == ["cfo", key_id]  # config's first
        other = gw.get("/admin/keys?department=legal", headers=bearer(key))
        assert other.status_code == 403 and "legal" not in other.text
        revoke = gw.post(f"/admin/keys/{key_id}/revoke", json={"reason": "x"}, headers=bearer(key))
        assert revoke.status_code == 403
        assert "has role head, which may only read" in revoke.json()["error"]["message"]
