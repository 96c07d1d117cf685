"""``stellwerk serve``'s start-up summary shows each model's lifecycle as the gateway enforces
it: the ledger's catalog's, once it holds the model (walk 22, F6: a model retired with
``stellwerk catalog set`` was listed "approved", the config's lifecycle, at the next start)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_governance_cmd import run
from tests.cli.test_serve_ledger import _serve


def models_line(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("models"))


def test_the_start_summary_shows_the_catalogs_lifecycle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, any_db_url: str
) -> None:
    result, _, _ = _serve(tmp_path, monkeypatch, any_db_url)  # the first start seeds the catalog
    assert result.exit_code == 0, result.output
    assert "tiny-large (large, approved, " in models_line(result.output)
    config = str(tmp_path / "stellwerk.yaml")
    code, _, err = run("catalog", "set", "-c", config, "tiny-large", "retired", "--reason", "old")
    assert code == 0, err
    result, _, served = _serve(tmp_path, monkeypatch, any_db_url)
    assert result.exit_code == 0, result.output
    assert served == [200]
    line = models_line(result.output)
    assert line.startswith("models (lifecycle from the ledger's catalog): ")
    assert "tiny-large (large, retired (config: approved), " in line
    assert "tiny-medium (medium, approved, " in line
