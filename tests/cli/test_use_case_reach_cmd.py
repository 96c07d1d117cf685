"""``stellwerk config check`` and ``stellwerk use-cases list`` warn of a use case no model may
serve (walk15 LOW-11): a warning, not an error, as the gateway starts with it all the same."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from stellwerk.cli.main import build_app
from tests.cli.test_governance_cmd import started
from tests.governance.factories import model

PUB: dict[str, Any] = {"name": "pub", "department": "legal", "classification": "public"}


def run(tmp_path: Path, use_cases: list[dict[str, Any]], *args: str) -> tuple[int, str, str]:
    """``stellwerk *args`` over a config with these use cases (its path appended)."""
    raw = {
        "server": {"database_url": f"sqlite:///{tmp_path / 'ledger.db'}"},
        "backends": [{"name": "local", "kind": "openai", "base_url": "http://127.0.0.1:9"}],
        "models": [
            model("small-onprem"),
            model("big-cloud", hosting="eu_cloud", params_b=70),
            model("draft", lifecycle="proposed"),
        ],
        "departments": [
            {"name": "legal", "classification": "confidential"},
            {"name": "press", "classification": "public"},
        ],
        "use_cases": use_cases,
    }
    path = tmp_path / "stellwerk.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    if args[0] != "config":
        started(path)  # the use cases in the database, as a gateway's start seeds them
    result = CliRunner().invoke(build_app(), [*args, str(path)])
    return result.exit_code, result.stdout, result.stderr


def test_config_check_warns_of_a_use_case_no_allowed_model_may_serve(tmp_path: Path) -> None:
    code, out, err = run(
        tmp_path,
        [  # legal's data is confidential: on premises only; draft is only proposed
            PUB | {"allowed_models": ["big-cloud", "draft"]},
            {"name": "contracts", "department": "legal", "allowed_models": ["small-onprem"]},
            {"name": "releases", "department": "press", "allowed_models": ["big-cloud"]},
        ],
        "config",
        "check",
    )
    assert code == 0, err
    assert "valid" in out
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, err
    assert warnings[0].startswith(
        "warning: use case 'pub': no allowed model may serve its class confidential"
    )
    assert "big-cloud: hosted eu_cloud, where confidential data may not go" in warnings[0]
    assert "draft: lifecycle state is proposed" in warnings[0]


def test_use_cases_list_warns_of_a_use_case_no_allowed_model_may_serve(tmp_path: Path) -> None:
    cases: list[dict[str, Any]] = [
        PUB | {"allowed_models": ["big-cloud"]},
        {"name": "notes", "department": "press"},
    ]
    code, out, err = run(tmp_path, cases, "use-cases", "list", "-c")
    assert code == 0, err
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["notes", "pub"]
    assert err.strip() == (
        "warning: use case 'pub': no allowed model may serve its class confidential"
        " (big-cloud: hosted eu_cloud, where confidential data may not go)"
    )
