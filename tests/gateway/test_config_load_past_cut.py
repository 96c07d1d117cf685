"""A ``config.load`` entry never says nothing changed when something did (walk 17, 1 and 7): a
real gateway started on one config file and then on a changed one, on SQLite, read through
``GET /admin/audit`` and ``stellwerk audit``. With more keys than an entry keeps, a key past them
made an admin read "no governance setting changed"; so did a change past a long text's first 200
characters; and a change of a backend address's query was not recorded."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from stellwerk.governance.config_changes import MAX_NAMES
from tests.cli.test_governance_cmd import run
from tests.fixtures.gateway import OFFLINE_BACKEND
from tests.gateway.test_config_load_changes import first_config, start
from tests.gateway.test_governance import ENV

RESEARCH_SHA = hashlib.sha256(ENV["STW_TEST_KEY_RESEARCH"].encode()).hexdigest()[:12] + "…"

BULK = 600
KEYS = BULK + 3  # with research-1, legal-1 and admin-1


def padded(database_url: str, role: str) -> dict[str, Any]:
    """The config with ``BULK`` keys sorting before research's key, which has ``role``."""
    raw = first_config(database_url)
    research = raw["departments"][0]
    bulk = [
        {"id": f"bulk-{i:04d}", "key_sha256": hashlib.sha256(b"bulk-%d" % i).hexdigest()}
        for i in range(BULK)
    ]
    research["keys"] = [*bulk, {**research["keys"][0], "role": role}]
    return raw


def newest_text(path: Path) -> list[str]:
    code, out, err = run("audit", "-c", str(path), "--action", "config.load", "--limit", "1")
    assert code == 0, err
    return out.split("\n")[1:-1]


def test_a_key_made_admin_past_the_names_kept_is_said(tmp_path: Path, sqlite_url: str) -> None:
    start(tmp_path / "a.yaml", padded(sqlite_url, "user"))
    newest = start(tmp_path / "b.yaml", padded(sqlite_url, "admin"))[0]["details"]
    assert newest["changed"][0]["name"] == "research-1"
    assert newest["changed"][0]["settings"]["role"] == "admin"
    lines = newest_text(tmp_path / "b.yaml")
    assert lines == [
        f"    key research-1 (not among the {MAX_NAMES} names the previous entry listed): added"
        " or changed (department research, role admin, key_env STW_TEST_KEY_RESEARCH,"
        f" key_sha256 {RESEARCH_SHA})",
        f"    key: settings changed among the {KEYS - MAX_NAMES} names past the {MAX_NAMES}"
        " the previous entry listed (not listed one by one)",
    ]
    # now that it is an admin's, the key is kept, and its next change is listed by name
    start(tmp_path / "c.yaml", padded(sqlite_url, "owner"))
    assert newest_text(tmp_path / "c.yaml") == ["    key research-1: role admin -> owner"]


def test_a_change_past_a_long_texts_head_is_said(tmp_path: Path, sqlite_url: str) -> None:
    raw = first_config(sqlite_url)
    purpose = ["x" * 500_000 + "a" + "y" * 500_000]
    raw["use_cases"] = [{"name": "contracts", "department": "legal", "purpose": purpose[0]}]
    start(tmp_path / "a.yaml", raw)
    raw["use_cases"][0]["purpose"] = purpose[0].replace("a", "b")
    newest = start(tmp_path / "b.yaml", raw)[0]["details"]
    (change,) = newest["changed"]
    assert (change["name"], change["field"]) == ("contracts", "purpose")
    assert change["from"] != change["to"]
    assert newest_text(tmp_path / "b.yaml") != ["    no governance setting changed"]


def test_credentials_in_the_backend_address_are_said(tmp_path: Path, sqlite_url: str) -> None:
    """Walk 17, 7: the audit dropped ``user:password@``, so a change of it was not recorded."""
    raw = first_config(sqlite_url)
    start(tmp_path / "a.yaml", raw)
    name, host = raw["backends"][0]["name"], OFFLINE_BACKEND.removeprefix("http://")
    said = "credentials {} (user:password@ or query values of base_url; not shown)"
    for n, password in enumerate(("s3cr3tP4ss", "0ther")):
        raw["backends"][0]["base_url"] = f"http://alice:{password}@{host}"
        details = start(tmp_path / f"{n}.yaml", raw)[0]["details"]
        assert password not in str(details)
        assert details["settings"]["backend"][name]["credentials"] is True
    # walk 18, 2: a new password is not audited (nothing derived from it is recorded)
    assert newest_text(tmp_path / "0.yaml") == ["    no governance setting changed"]
    raw["backends"][0]["base_url"] = OFFLINE_BACKEND
    start(tmp_path / "2.yaml", raw)
    assert newest_text(tmp_path / "2.yaml") == [f"    backend {name}: " + said.format("removed")]
    code, out, err = run("audit", "-c", str(tmp_path / "2.yaml"), "--action", "config.load")
    assert code == 0, err
    assert f"    backend {name}: " + said.format("added") in out.split("\n")
