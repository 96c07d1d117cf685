"""A key given by ``key_env`` whose secret is swapped in the environment (the same config file,
a restart) is a ``config.load`` entry, as the same swap by ``key_sha256`` is (walk 18, 1): read
where an auditor reads it, ``GET /admin/audit`` and ``stellwerk audit``."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from stellwerk.config import load_config
from stellwerk.gateway import create_app
from tests.cli.test_governance_cmd import run
from tests.fixtures.gateway import IN_PROCESS_URL, Gateway
from tests.fixtures.inprocess import app_in_thread
from tests.gateway.test_config_load_changes import first_config
from tests.gateway.test_governance import ADMIN, ENV

ROTATED = "sk-stw-test-research-ROTATED-7f3e9a1c5b"


def loads(path: Path, environ: Mapping[str, str]) -> list[dict[str, Any]]:
    """Start the gateway on ``path`` with ``environ``; its ``config.load`` entries, newest first."""
    with app_in_thread(create_app(load_config(path), environ=environ)) as transport:
        config = load_config(path)
        gw = Gateway(IN_PROCESS_URL, config, config.server.database_url, transport)
        answer = gw.get("/admin/audit?action=config.load", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    assert not any(secret in answer.text for secret in [*environ.values(), ROTATED])
    entries: list[dict[str, Any]] = answer.json()["entries"]
    return entries


def test_a_key_swapped_in_its_variable_is_audited(tmp_path: Path, sqlite_url: str) -> None:
    path = tmp_path / "stellwerk.yaml"
    path.write_text(yaml.safe_dump(first_config(sqlite_url)), encoding="utf-8")
    variable = "STW_TEST_KEY_RESEARCH"
    old, new = (hashlib.sha256(k.encode()).hexdigest()[:12] + "…" for k in (ENV[variable], ROTATED))
    (first,) = loads(path, ENV)
    assert first["details"]["settings"]["key"]["research-1"]["key_sha256"] == old
    assert len(loads(path, ENV)) == 1  # the same file and keys: nothing to record

    rotated = {**ENV, variable: ROTATED}
    second, _ = loads(path, rotated)
    assert second["config_hash"] == first["config_hash"]
    assert second["details"]["changed"] == [
        {"kind": "key", "name": "research-1", "field": "key_sha256", "from": old, "to": new}
    ]
    code, out, err = run("audit", "-c", str(path), "--action", "config.load")
    assert code == 0, err
    assert out.split("\n")[1] == f"    key research-1: secret changed (key_sha256 {old} -> {new})"
    assert len(loads(path, rotated)) == 2  # once only
