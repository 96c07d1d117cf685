"""A gateway started on one config file and then on a changed one writes a ``config.load`` entry
that says what changed in governance terms (walk 15, LOW-16: the log held only the new hash and
the old one). Read where an auditor reads it: ``GET /admin/audit`` and ``stellwerk audit``, on
SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from stellwerk.config import load_config
from stellwerk.gateway import create_app
from tests.cli.test_governance_cmd import run
from tests.fixtures.gateway import IN_PROCESS_URL, OFFLINE_BACKEND, Gateway, raw_config
from tests.fixtures.inprocess import app_in_thread
from tests.gateway.test_governance import ADMIN, ENV

NEW_KEY_SHA = hashlib.sha256(b"sk-stw-test-research-two").hexdigest()


def first_config(database_url: str) -> dict[str, Any]:
    raw = raw_config(OFFLINE_BACKEND, database_url)
    raw["models"][2]["lifecycle"] = "proposed"  # tiny-large
    raw["departments"][0]["limits"] = {"monthly_budget": 100}  # research
    raw["departments"].append(
        {
            "name": "governance",
            "keys": [{"id": "admin-1", "key_env": "STW_TEST_KEY_ADMIN", "role": "admin"}],
        }
    )
    return raw


def second_config(database_url: str) -> dict[str, Any]:
    raw = first_config(database_url)
    raw["models"][2]["lifecycle"] = "approved"
    raw["models"][1]["hosting"] = "eu_cloud"  # tiny-medium
    raw["departments"][0]["limits"] = {"monthly_budget": 500}
    raw["departments"][0]["keys"].append(
        {"id": "research-2", "key_sha256": NEW_KEY_SHA, "role": "owner"}
    )
    raw["departments"][1]["keys"] = []  # legal-1 goes
    raw["governance"] = {"classification_hosting": {"confidential": ["on_prem", "eu_cloud"]}}
    raw["routes"] = {"auto": {"cost_weight": 0.8}}
    raw["server"]["max_body_bytes"] = 128 * 1024  # not a governance setting
    return raw


EXPECTED = [
    {
        "kind": "model",
        "name": "tiny-large",
        "field": "lifecycle",
        "from": "proposed",
        "to": "approved",
        "seed_only": True,
    },
    {
        "kind": "model",
        "name": "tiny-medium",
        "field": "hosting",
        "from": "on_prem",
        "to": "eu_cloud",
    },
    {
        "kind": "department",
        "name": "research",
        "field": "monthly_budget",
        "from": "100",
        "to": "500",
    },
    {"kind": "key", "name": "legal-1", "change": "removed"},
    {
        "kind": "key",
        "name": "research-2",
        "change": "added",
        "settings": {
            "department": "research",
            "role": "owner",
            "key_sha256": NEW_KEY_SHA[:12] + "…",
        },
    },
    {
        "kind": "data_class",
        "name": "confidential",
        "field": "hosting",
        "from": ["on_prem"],
        "to": ["on_prem", "eu_cloud"],
    },
    {"kind": "route", "name": "auto", "field": "cost_weight", "from": 0.5, "to": 0.8},
    {"kind": "route", "name": "auto-economy", "change": "removed"},
    {"kind": "route", "name": "auto-quality", "change": "removed"},
]

TEXT = [
    "    model tiny-large: lifecycle proposed -> approved (config only: the database keeps its"
    " own state)",
    "    model tiny-medium: hosting on_prem -> eu_cloud",
    "    department research: monthly_budget 100 -> 500",
    "    key legal-1 removed",
    f"    key research-2 added (department research, role owner, key_sha256 {NEW_KEY_SHA[:12]}…)",
    "    data_class confidential: hosting [on_prem] -> [on_prem, eu_cloud]",
    "    route auto: cost_weight 0.5 -> 0.8",
    "    route auto-economy removed",
    "    route auto-quality removed",
]


def start(path: Path, raw: dict[str, Any]) -> list[dict[str, Any]]:
    """Write ``raw`` to ``path``, start the gateway on the file as ``stellwerk serve`` does and
    read its ``config.load`` entries through the admin API, newest first."""
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with app_in_thread(create_app(load_config(path), environ=ENV)) as transport:
        gw = Gateway(IN_PROCESS_URL, load_config(path), raw["server"]["database_url"], transport)
        answer = gw.get("/admin/audit?action=config.load", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    assert not any(secret in answer.text for secret in ENV.values())
    entries: list[dict[str, Any]] = answer.json()["entries"]
    return entries


def test_a_changed_config_file_says_what_changed(tmp_path: Path, any_db_url: str) -> None:
    (first,) = start(tmp_path / "first.yaml", first_config(any_db_url))
    assert first["details"]["first"] is True and first["details"]["previous"] is None
    assert "changed" not in first["details"]
    settings = first["details"]["settings"]
    assert settings["model"]["tiny-large"]["lifecycle"] == "proposed"
    assert settings["key"]["research-1"] == {
        "department": "research",
        "role": "user",
        "key_env": "STW_TEST_KEY_RESEARCH",
        "key_sha256": hashlib.sha256(ENV["STW_TEST_KEY_RESEARCH"].encode()).hexdigest()[:12] + "…",
    }

    second_path = tmp_path / "second.yaml"
    second, again = start(second_path, second_config(any_db_url))
    assert again == first
    assert second["target"] == str(second_path.resolve())
    assert second["details"]["previous"] == first["config_hash"]
    assert "first" not in second["details"]
    assert second["details"]["changed"] == EXPECTED

    code, out, err = run("audit", "-c", str(second_path), "--action", "config.load")
    assert code == 0, err
    lines = out.split("\n")
    assert lines[0].endswith(f'{{"previous":"{first["config_hash"]}"}}')
    assert lines[1 : len(TEXT) + 1] == TEXT
    # the first load: said so, no setting printed
    assert lines[len(TEXT) + 1].endswith('{"first":true,"previous":null}')
    assert lines[len(TEXT) + 2 :] == [""]
    # the other formats give the details whole
    code, out, err = run(
        "audit", "-c", str(second_path), "--action", "config.load", "--format", "json"
    )
    assert code == 0, err
    assert [e["details"] for e in json.loads(out)] == [second["details"], first["details"]]


def test_a_change_outside_governance_says_none_changed(tmp_path: Path, any_db_url: str) -> None:
    raw = first_config(any_db_url)
    start(tmp_path / "a.yaml", raw)
    raw["server"]["max_body_bytes"] = 128 * 1024
    raw["backends"][0]["timeouts"] = {"connect": 3}
    newest = start(tmp_path / "b.yaml", raw)[0]
    assert newest["details"]["changed"] == []
    code, out, err = run("audit", "-c", str(tmp_path / "b.yaml"), "--action", "config.load")
    assert code == 0, err
    assert out.split("\n")[1] == "    no governance setting changed"
