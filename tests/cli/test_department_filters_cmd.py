"""Every command that takes a department refuses one that names none, in the admin API's words
(``governance.department_names``) and with a non-zero exit, rather than an empty list that
passes for a department without changes or limits; a department the config no longer names
still lists what is left of it, as on the admin API (``tests/gateway/
test_admin_unknown_department.py``). On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.cli.test_governance_cmd import run
from tests.governance.factories import model

KNOWN = "known: finance, legal"


def _write(path: Path, database_url: str, departments: list[str]) -> Path:
    raw = {
        "server": {"database_url": database_url},
        "backends": [{"name": "local", "kind": "openai", "base_url": "http://127.0.0.1:9"}],
        "models": [model("mistral-3b")],
        "departments": [{"name": name} for name in departments],
    }
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


@pytest.fixture
def config_path(tmp_path: Path, any_db_url: str) -> Path:
    return _write(tmp_path / "stellwerk.yaml", any_db_url, ["legal", "finance"])


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("audit", "--target", "department:no-such"), 2),
        (("audit", "--all", "--target", "department:no-such"), 2),
        (("audit", "--all", "--format", "csv", "--target", "department:no-such"), 2),
        (("limits", "show", "--department", "no-such"), 2),
        (("limits", "show", "--department", "no-such", "--format", "json"), 2),
        (("route", "hello", "--department", "no-such"), 1),  # route's errors exit 1
    ],
    ids=["audit", "audit-all", "audit-csv", "limits-show", "limits-show-json", "route"],
)
def test_an_unknown_department_is_refused_in_the_admin_apis_words(
    config_path: Path, args: tuple[str, ...], code: int
) -> None:
    """``audit --target department:no-such`` printed nothing (a CSV header) and exit 0;
    ``limits show`` and ``route`` said it in words of their own, without the known ones."""
    result = run(*args, "-c", str(config_path))
    assert result[:2] == (code, "")
    assert f"unknown department 'no-such'; {KNOWN}" in result[2]


def test_the_case_of_a_known_department_is_named(config_path: Path) -> None:
    code, out, err = run("audit", "-c", str(config_path), "--target", "department:Legal")
    assert (code, out) == (2, "")
    assert "(department names are case-sensitive: 'legal' is one)" in err


def test_a_department_the_config_no_longer_names_lists_what_is_left_of_it(
    config_path: Path, any_db_url: str
) -> None:
    """As on the admin API: its keys and audit entries are listed; ``keys list`` refused it."""
    c = str(config_path)
    code, out, err = run(
        "limits", "set", "-c", c, "--department", "legal", "--monthly-budget", "5", "--reason", "r"
    )
    assert code == 0, err
    code, out, err = run("keys", "create", "-c", c, "--department", "legal")
    assert code == 0, err
    _write(config_path, any_db_url, ["finance"])
    code, out, err = run("keys", "list", "-c", c, "--department", "legal")
    assert code == 0, err
    assert [line.split()[1:2] for line in out.splitlines()[1:]] == [["legal"]]
    code, out, err = run("audit", "-c", c, "--target", "department:legal", "--format", "jsonl")
    assert code == 0, err
    assert [line for line in out.splitlines() if '"action":"limits.set"' in line]
    code, out, err = run("audit", "-c", c, "--target", "department:board")
    assert (code, out) == (2, "")
    assert "unknown department 'board'; known: finance" in err
