"""Commands that only read governance write nothing to the audit log, on SQLite and PostgreSQL.

Walk 22 (F4): ``report usage``, ``audit`` and the listings wrote a ``config.load`` entry (actor
``config``, "no governance setting changed") whenever their config file differed from the last
one loaded, so two copies of one config that differ in a server setting alone (an operator's
copy reaching the database by another address) made the audit log flap with every report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cli.test_audit_cmd import write_config
from tests.cli.test_governance_cmd import run

READS = [
    ("report", "usage", "--month", "2026-12"),
    ("audit",),
    ("audit", "--action", "config.load", "--all"),
    ("catalog", "list"),
    ("keys", "list"),
    ("use-cases", "list"),
    ("limits", "show"),
]


def audit_log(config: Path) -> list[dict[str, Any]]:
    code, out, err = run("audit", "-c", str(config), "--all", "--format", "json")
    assert code == 0, err
    entries: list[dict[str, Any]] = json.loads(out)
    return entries


def twin(config: Path, database_url: str) -> Path:
    """The same config with another server address and the ledger's host spelt otherwise (on
    PostgreSQL): no governance setting differs, the file's hash does."""
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    raw["server"]["port"] = 8181
    raw["server"]["database_url"] = database_url.replace("127.0.0.1", "localhost")
    other = config.with_name("stellwerk-copy.yaml")
    other.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return other


def test_reading_commands_write_no_audit_entry_whichever_copy_of_the_config(
    tmp_path: Path, any_db_url: str
) -> None:
    config = write_config(tmp_path, any_db_url)
    copy = twin(config, any_db_url)
    # a change seeds the ledger and records the config it was made under
    code, _, err = run(
        "catalog", "set", "-c", str(config), "mistral-3b", "retired", "--reason", "r"
    )
    assert code == 0, err
    before = audit_log(config)
    assert [e["action"] for e in before].count("config.load") == 1
    for _ in range(2):
        for path in (copy, config):
            for command in READS:
                code, _, err = run(*command, "-c", str(path))
                assert code == 0, (command, err)
    assert audit_log(copy) == before
    # the listing read with the copy shows the ledger's state, not the copy's lifecycle
    listed = run("catalog", "list", "-c", str(copy))[1]
    assert next(x for x in listed.splitlines() if x.startswith("mistral-3b")).split()[1] == (
        "retired"
    )
    # a change made with the copy is made under another file: that one is recorded
    code, _, err = run(
        "catalog", "set", "-c", str(copy), "mistral-8b", "in_review", "--reason", "r"
    )
    assert code == 0, err
    loads = [e for e in audit_log(config) if e["action"] == "config.load"]
    assert len(loads) == 2 and loads[-1]["details"]["changed"] == []
    assert [e["actor"].startswith("cli:") for e in loads] == [True, True]  # not the gateway


@pytest.mark.parametrize("command", READS[3:], ids=lambda c: " ".join(c))
def test_reading_an_unseeded_ledger_seeds_nothing(
    tmp_path: Path, sqlite_url: str, command: tuple[str, ...]
) -> None:
    """Before any start or change, a listing reads the database as it is: the models as the
    config states them, no entry written."""
    config = write_config(tmp_path, sqlite_url)
    code, out, err = run(*command, "-c", str(config))
    assert code == 0, err
    if command[0] == "catalog":
        assert "mistral-8b" in out and "proposed" in out
    if command[0] == "use-cases":  # none listed, and why
        assert len(out.splitlines()) == 1
        assert err.strip() == (
            "note: not in the database yet: contracts (the config's; a gateway's start, or a"
            " change made with stellwerk, seeds them)"
        )
    assert audit_log(config) == []
