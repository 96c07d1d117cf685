"""What the CLI tests of the keys that only read (``head``, ``viewer``) share: such a key made
with ``keys create --role`` beside one of the config, as ``keys list`` shows them, and its
refused change through the admin API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.cli.test_governance_cmd import run
from tests.fixtures.gateway import Gateway, bearer
from tests.governance.factories import model


def made_with_cli(tmp_path: Path, role: str, config_key: str) -> tuple[dict[str, Any], str, str]:
    """A config of departments legal and finance, finance holding the key ``config_key`` of
    ``role``; ``keys create`` makes a key of ``role`` in finance (it prints the key and says its
    id, role and department) and a user key in legal; ``keys list`` shows both of finance with
    their department, role and source. The config, the key made and its id."""
    raw: dict[str, Any] = {
        "server": {"database_url": f"sqlite:///{tmp_path / 'ledger.db'}"},
        "backends": [{"name": "local", "kind": "openai", "base_url": "http://127.0.0.1:9"}],
        "models": [model("mistral-3b")],
        "departments": [{"name": "legal"}, {"name": "finance"}],
    }
    raw["departments"][1]["keys"] = [{"id": config_key, "key_sha256": "e" * 64, "role": role}]
    config_path = tmp_path / "stellwerk.yaml"
    config_path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    c = str(config_path)
    code, out, err = run("keys", "create", "-c", c, "--department", "finance", "--role", role)
    assert code == 0, err
    key, key_id = out.strip(), err.split("key id ")[1].split()[0]
    assert f"key id {key_id} ({role}, department finance" in err
    code, _, err = run("keys", "create", "-c", c, "--department", "legal")
    assert code == 0, err
    code, out, err = run("keys", "list", "-c", c)
    assert code == 0, err
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows[config_key][1:3] == ["finance", role] and rows[config_key][6] == "config"
    assert rows[key_id][1:3] == ["finance", role] and rows[key_id][6] == "database"
    return raw, key, key_id


def assert_revoke_refused(gw: Gateway, key: str, key_id: str, role: str) -> None:
    """``key`` revoking ``key_id`` (its own) through the admin API: a 403 naming its role."""
    revoke = gw.post(f"/admin/keys/{key_id}/revoke", json={"reason": "x"}, headers=bearer(key))
    assert revoke.status_code == 403
    assert f"has role {role}, which may only read" in revoke.json()["error"]["message"]
