"""``stellwerk catalog list`` names the model ids that serve the same weights (same server, same
upstream), what they differ in, and which of them a withdrawal of consent on another refuses;
``stellwerk catalog consent`` on one of them withdraws it for the weights. Typer's runner on a
SQLite ledger, as a user runs them."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from stellwerk.cli.main import build_app
from tests.governance.factories import model


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, result.stdout, result.stderr


def test_catalog_list_names_the_ids_of_the_same_weights_and_the_shared_withdrawal(
    tmp_path: Path,
) -> None:
    raw = {
        "server": {"database_url": f"sqlite:///{tmp_path / 'ledger.db'}"},
        "backends": [
            {"name": "local", "kind": "openai", "base_url": "http://127.0.0.1:9"},
            {"name": "local-v1", "kind": "openai", "base_url": "http://127.0.0.1:9/v1"},
        ],
        "models": [
            model("expert-3b", data_owner="legal"),
            model("expert-fast", upstream="expert-3b", backend="local-v1"),  # the same weights
            model("plain-3b"),
        ],
        "departments": [{"name": "legal"}],
    }
    path = tmp_path / "stellwerk.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    code, out, err = run("catalog", "list", "-c", str(path))
    assert code == 0, err
    assert [x.split()[0] for x in out.splitlines()[1:]] == ["expert-3b", "expert-fast", "plain-3b"]
    assert err.splitlines() == [
        "note: expert-3b, expert-fast serve the same weights; they differ in: data_owner"
    ]
    code, _, err = run(
        "catalog", "consent", "-c", str(path), "expert-3b", "withdraw", "--reason", "ended"
    )
    assert code == 0, err
    code, _, err = run("catalog", "list", "-c", str(path))
    assert code == 0, err
    assert err.splitlines() == [
        "note: expert-3b, expert-fast serve the same weights; they differ in: data_owner;"
        " expert-fast is refused: consent withdrawn on expert-3b"
    ]
