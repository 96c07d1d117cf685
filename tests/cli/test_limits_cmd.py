"""``stellwerk limits show|set`` run like a user would (Typer's runner) on a SQLite ledger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.cli.test_governance_cmd import run
from tests.cli.test_whole_number import flat
from tests.governance.factories import model


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    raw = {
        "server": {"database_url": f"sqlite:///{tmp_path / 'ledger.db'}"},
        "backends": [{"name": "local", "kind": "openai", "base_url": "http://127.0.0.1:9"}],
        "models": [model("mistral-3b")],
        "departments": [
            {"name": "legal", "limits": {"requests_per_minute": 120}},
            {"name": "finance"},
        ],
    }
    path = tmp_path / "stellwerk.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def shown(config: Path) -> dict[str, dict[str, object]]:
    code, out, err = run("limits", "show", "-c", str(config), "--format", "json")
    assert code == 0, err
    departments: dict[str, dict[str, object]] = json.loads(out)["departments"]
    return departments


def test_set_changes_one_limit_keeps_the_rest_and_clears_with_none(config_path: Path) -> None:
    c = str(config_path)
    code, out, err = run(
        "limits", "set", "-c", c, "--department", "legal", "--monthly-budget", "0.0005",
        "--reason", "pilot",
    )  # fmt: skip
    assert code == 0, err
    assert "0.000500" in out and "120" in out
    assert shown(config_path)["legal"] == {
        "requests_per_minute": 120,
        "tokens_per_minute": None,
        "monthly_budget": "0.000500",
        "spent": "0.000000",
        "remaining": "0.000500",
    }
    code, _, err = run(
        "limits", "set", "-c", c, "--department", "legal", "--requests-per-minute", "none",
        "--reason", "no rate limit",
    )  # fmt: skip
    assert code == 0, err
    assert shown(config_path)["legal"]["requests_per_minute"] is None
    assert shown(config_path)["legal"]["monthly_budget"] == "0.000500"
    code, out, _ = run("limits", "show", "-c", c, "--department", "legal")
    assert "unlimited" in out and "0.000500" in out and "finance" not in out
    code, out, _ = run("audit", "-c", c, "--action", "limits.set")
    assert '"from":{"monthly_budget":null,"requests_per_minute":120' in out


@pytest.mark.parametrize(
    ("option", "value", "said"),
    [
        ("--monthly-budget", "1e303", "monthly_budget"),
        ("--monthly-budget", "nan", "monthly_budget"),
        ("--monthly-budget", "-1", "monthly_budget"),
        (
            "--requests-per-minute",
            "99999999999999999999999",
            "'--requests-per-minute': 99999999999999999999999 is more than 1000000000, the most",
        ),
        (
            "--tokens-per-minute",
            str(2**63),
            f"'--tokens-per-minute': {2**63} is more than 1000000000, the most it may be",
        ),
        ("--tokens-per-minute", "lots", "'--tokens-per-minute': 'lots' is not a whole number"),
        # past 4300 digits: Python's "Exceeds the limit (4300 digits) ... set_int_max_str_digits()"
        (
            "--requests-per-minute",
            "9" * 5000,
            "'--requests-per-minute': 999999999999... (5000 digits) is more than 1000000000, the",
        ),
        # pydantic's "monthly_budget: Input should be less than or equal to 1000000000000"
        (
            "--monthly-budget",
            "9" * 28,
            f"'--monthly-budget': {'9' * 28} is more than 1000000000000, the most it may be; or",
        ),
        (
            "--monthly-budget",
            "1000000000000.000001",
            "'--monthly-budget': 1000000000000.000001 is more than 1000000000000, the most",
        ),
        # "-1" said "Input should be a valid integer", "0" "Input should be greater than 0"
        ("--requests-per-minute", "-1", "'--requests-per-minute': -1 is less than 1, the least"),
        ("--tokens-per-minute", "0", "'--tokens-per-minute': 0 is less than 1, the least it"),
    ],
)
def test_set_refuses_unbounded_numbers_saying_what_is_wrong(
    config_path: Path, option: str, value: str, said: str
) -> None:
    code, _, err = run(
        "limits", "set", "-c", str(config_path), "--department", "finance", option, value,
        "--reason", "try",
    )  # fmt: skip
    assert code == 2
    assert said in flat(err), err
    finance = shown(config_path)["finance"]
    assert [finance[f] for f in ("requests_per_minute", "tokens_per_minute", "monthly_budget")] == [
        None,
        None,
        None,
    ]


# " 5" and "5 " were set as 5 by the CLI, which the admin API refuses (walk 19, B2)
@pytest.mark.parametrize("amount", ["1e3", "5_000", "+5", "1,5", "١٢", " 5", "5 ", "\t5", " none"])
def test_set_reads_a_budget_as_the_admin_api_reads_text(config_path: Path, amount: str) -> None:
    """Walk 15 (LOW-4): ``--monthly-budget 1e3`` set a budget of 1000 (a typo of 1.3, 770
    times larger), where the admin API and the dashboard refuse the text ``1e3``: the same rule
    and words now (tests/gateway/test_admin_strict.py), and nothing changes."""
    code, _, err = run(
        "limits", "set", "-c", str(config_path), "--department", "finance",
        "--monthly-budget", amount, "--reason", "typo",
    )  # fmt: skip
    assert code == 2
    assert f"error: monthly_budget: {amount!r} is not a plain amount: write ASCII digits" in err
    assert shown(config_path)["finance"]["monthly_budget"] is None


def test_set_needs_a_scope_and_a_change(config_path: Path) -> None:
    c = str(config_path)
    code, _, err = run("limits", "set", "-c", c, "--monthly-budget", "5", "--reason", "r")
    assert code == 2 and "--department" in err
    code, _, err = run("limits", "set", "-c", c, "--department", "legal", "--reason", "r")
    assert code == 2 and "--monthly-budget" in err
    code, _, err = run("limits", "set", "-c", c, "--department", "sales", "--monthly-budget", "5",
                       "--reason", "r")  # fmt: skip
    assert code == 2 and "unknown department 'sales'" in err


def test_show_and_set_refuse_an_unknown_key_alike(config_path: Path) -> None:
    """``limits show --key`` of a key that does not exist said "unlimited" and exit 0, where
    ``limits set`` refused it."""
    c = str(config_path)
    shown = run("limits", "show", "-c", c, "--key", "key-nope")
    changed = run("limits", "set", "-c", c, "--key", "key-nope", "--monthly-budget", "5",
                  "--reason", "r")  # fmt: skip
    assert shown[0] == changed[0] == 2
    assert "key-nope" in shown[2] and shown[2] == changed[2]
    assert "unlimited" not in shown[1]


def test_show_fits_in_100_columns_with_every_figure_lined_up(config_path: Path) -> None:
    """``limits show`` printed fixed widths, 118 columns whatever it showed, and a department
    name past 24 characters pushed its row out of line with the headings."""
    raw = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    raw["departments"].append({"name": "legal-and-compliance-office"})
    config_path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    c = str(config_path)
    code, _, err = run(
        "limits", "set", "-c", c, "--department", "legal-and-compliance-office",
        "--monthly-budget", "1500.25", "--tokens-per-minute", "250000", "--reason", "r",
    )  # fmt: skip
    assert code == 0, err
    code, out, err = run("limits", "show", "-c", c)
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 4 and max(map(len, lines)) <= 100, out
    assert len({len(line) for line in lines}) == 1, out  # every column ends where its heading does
    heading, *rows = (line.split() for line in lines)
    assert heading[0] == "department" and heading[-1] == "remaining"
    assert rows == [
        ["legal", "120", "unlimited", "unlimited", "0.000000", "unlimited"],
        ["finance", "unlimited", "unlimited", "unlimited", "0.000000", "unlimited"],
        [
            "legal-and-compliance-office", "unlimited", "250000", "1500.250000", "0.000000",
            "1500.250000",
        ],
    ]  # fmt: skip
