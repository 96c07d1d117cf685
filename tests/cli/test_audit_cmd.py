"""``stellwerk audit``: the newest entries, or the whole log exported to a file in a format an
auditor's tools read, on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from stellwerk.ledger.audit import append_audit
from stellwerk.ledger.ledger import open_ledger
from tests.cli.test_governance_cmd import run, started
from tests.governance.factories import model

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
MANY = 2300  # more than two pages of the export


def write_config(tmp_path: Path, database_url: str) -> Path:
    raw = {
        "server": {"database_url": database_url},
        "backends": [{"name": "local", "kind": "openai", "base_url": "http://127.0.0.1:9"}],
        "models": [model("mistral-3b"), model("mistral-8b", lifecycle="proposed", params_b=8)],
        "departments": [{"name": "legal"}],
        "use_cases": [{"name": "contracts", "department": "legal", "purpose": "review"}],
    }
    path = tmp_path / "stellwerk.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


@pytest.fixture
def config_path(tmp_path: Path, sqlite_url: str) -> Path:
    return write_config(tmp_path, sqlite_url)


def fill(database_url: str) -> None:
    """``MANY`` key entries an hour apart from ``T0``, alternately by two actors, with details
    that need CSV's quoting."""
    ledger = open_ledger(database_url)
    try:
        with ledger.begin() as connection:
            for n in range(MANY):
                append_audit(
                    connection,
                    actor="cli:anna" if n % 2 else "key-admin-1",
                    action="key.create",
                    target_kind="key",
                    target=f"key-{n}",
                    details={"reason": f'"{n}", with a comma\nand a line', "n": n},
                    time=T0 + timedelta(hours=n),
                )
    finally:
        ledger.close()


def export(config: Path, out: Path, fmt: str, *options: str) -> str:
    code, stdout, stderr = run(
        "audit", "-c", str(config), "--all", "--format", fmt, "-o", str(out), *options
    )
    assert code == 0, stderr
    assert stdout == ""
    assert not out.with_name(out.name + ".part").exists()
    return stderr


def test_the_whole_log_exports_to_csv_json_and_json_lines(tmp_path: Path, any_db_url: str) -> None:
    config = write_config(tmp_path, any_db_url)
    started(config)  # migrated and seeded (models, use case, config)
    fill(any_db_url)
    told = export(config, tmp_path / "audit.csv", "csv")
    with (tmp_path / "audit.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
        "id", "time", "actor", "action", "target_kind", "target", "details", "config_hash"
    ]  # fmt: skip
    keys = [r for r in rows if r["action"] == "key.create"]
    assert [r["target"] for r in keys] == [f"key-{n}" for n in range(MANY)]  # oldest first
    assert json.loads(keys[7]["details"]) == {"reason": '"7", with a comma\nand a line', "n": 7}
    assert keys[7]["time"] == (T0 + timedelta(hours=7)).isoformat()
    assert {r["action"] for r in rows} == {
        "model.seed", "use_case.create", "config.load", "key.create"
    }  # fmt: skip
    assert told.strip() == f"wrote {len(rows)} audit entries to {tmp_path / 'audit.csv'}"
    ids = [int(r["id"]) for r in rows]
    assert ids == sorted(set(ids))
    (tmp_path / "audit.json").write_text("stale", encoding="utf-8")  # replaced whole
    export(config, tmp_path / "audit.json", "json")
    array = json.loads((tmp_path / "audit.json").read_text(encoding="utf-8"))
    assert [e["id"] for e in array] == ids
    last = MANY - 1
    assert array[-1]["details"] == {"reason": f'"{last}", with a comma\nand a line', "n": last}
    export(config, tmp_path / "audit.jsonl", "jsonl")
    lines = (tmp_path / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == array


@pytest.mark.parametrize(
    ("options", "targets"),
    [
        (("--since", "2026-11-20T10:00:00Z", "--until", "2026-11-20T13:00:00+00:00"),
         ["key-1", "key-2", "key-3"]),
        (("--since", "2026-11-20T11:00:00+01:00", "--until", "2026-11-20T12:00:00"),
         ["key-1", "key-2"]),
        (("--actor", "cli:anna", "--until", "2026-11-20T16:00:00Z"), ["key-1", "key-3", "key-5"]),
        (("--target", "key:key-4"), ["key-4"]),
        (("--target", "key-4"), ["key-4"]),
        (("--target", "model:key-4"), []),
    ],
)  # fmt: skip
def test_the_export_takes_a_window_an_actor_and_a_target(
    config_path: Path, sqlite_url: str, options: tuple[str, ...], targets: list[str]
) -> None:
    assert run("audit", "-c", str(config_path))[0] == 0
    fill(sqlite_url)
    out = config_path.parent / "window.jsonl"
    export(config_path, out, "jsonl", *options)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["target"] for line in lines] == targets


def test_the_target_as_printed_finds_its_entries(config_path: Path) -> None:
    c = str(config_path)
    assert run("catalog", "set", "-c", c, "mistral-8b", "in_review", "--reason", "tests")[0] == 0
    code, out, _ = run("audit", "-c", c)
    printed = [line.split()[5] for line in out.splitlines() if "model.lifecycle" in line]
    assert printed == ["model:mistral-8b"]
    for target in ("model:mistral-8b", "mistral-8b"):
        code, out, err = run("audit", "-c", c, "--target", target, "--format", "jsonl")
        assert code == 0, err
        entries = [json.loads(line) for line in out.splitlines()]
        assert [e["action"] for e in entries] == ["model.lifecycle", "model.seed"], target


def test_every_change_carries_the_hash_of_the_config_it_was_made_under(config_path: Path) -> None:
    c = str(config_path)
    assert run("keys", "create", "-c", c, "--department", "legal")[0] == 0
    key_id = run("keys", "list", "-c", c)[1].splitlines()[-1].split()[0]
    assert run("keys", "revoke", "-c", c, key_id, "--reason", "leaver")[0] == 0
    assert run("catalog", "set", "-c", c, "mistral-8b", "in_review", "--reason", "r")[0] == 0
    code, out, err = run("audit", "-c", c, "--format", "json")
    assert code == 0, err
    entries: list[dict[str, Any]] = json.loads(out)
    (load,) = [e for e in entries if e["action"] == "config.load"]
    assert load["config_hash"]
    assert {e["action"]: e["config_hash"] for e in entries} == {
        action: load["config_hash"]
        for action in (
            "config.load", "model.seed", "use_case.create", "key.create", "key.revoke",
            "model.lifecycle",
        )
    }  # fmt: skip


def test_the_newest_come_first_and_limit_counts_them(config_path: Path, sqlite_url: str) -> None:
    assert run("audit", "-c", str(config_path))[0] == 0
    fill(sqlite_url)
    code, out, _ = run("audit", "-c", str(config_path), "--limit", "3", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(out.splitlines()))
    assert [r["target"] for r in rows] == [f"key-{n}" for n in (MANY - 1, MANY - 2, MANY - 3)]
    code, out, _ = run("audit", "-c", str(config_path), "--action", "nothing", "--format", "json")
    assert code == 0 and json.loads(out) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--all", "--limit", "5"), "--all writes every entry; leave out --limit"),
        (("--format", "xml"), "unknown format 'xml'; choose text, csv, json, jsonl"),
        (("--since", "last week"), "since 'last week' is not an ISO 8601 date or time"),
        (("--since", "2026-12-02", "--until", "2026-12-01"), "until 2026-12-01T00:00:00+00:00 is"),
        (("--limit", "0"), "0 is less than 1, the least it may be"),
        (("--all", "-o", "/nonexistent/folder/audit.csv"), "error: cannot write"),
    ],
)
def test_bad_options_are_refused_naming_them(
    config_path: Path, options: tuple[str, ...], message: str
) -> None:
    code, out, err = run("audit", "-c", str(config_path), *options)
    assert code == 2
    assert message in err
    assert out == ""


def test_a_reader_that_stops_early_ends_the_command_quietly(config_path: Path) -> None:
    """``stellwerk audit ... | head``: the closed pipe ends the export without an error (it said
    ``error: cannot write None: Broken pipe``)."""
    import os
    import shutil
    import subprocess
    import sys

    assert run("audit", "-c", str(config_path))[0] == 0  # migrated and seeded
    sqlite = yaml.safe_load(config_path.read_text())["server"]["database_url"]
    fill(sqlite)  # far more than a pipe's buffer of JSON lines
    command = shutil.which("stellwerk")
    argv = [command] if command else [sys.executable, "-m", "stellwerk"]
    with subprocess.Popen(
        [*argv, "audit", "-c", str(config_path), "--all", "--format", "jsonl"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        first = process.stdout.readline()
        process.stdout.close()  # as head does after its lines
        stderr = process.stderr.read().decode()
        code = process.wait(timeout=120)
    assert json.loads(first)["action"]
    assert "error" not in stderr.lower() and "Traceback" not in stderr, stderr
    assert code == 0, stderr
