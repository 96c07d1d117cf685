"""``stellwerk serve``'s start-up summary shows each model's lifecycle as the gateway enforces
it: the ledger's catalog's, once it holds the model (walk 22, F6: a model retired with
``stellwerk catalog set`` was listed "approved", the config's lifecycle, at the next start)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stellwerk.cli.serve_summary import startup_summary
from stellwerk.config import parse_config
from tests.cli.test_governance_cmd import run
from tests.cli.test_serve_ledger import _serve
from tests.fixtures.gateway import OFFLINE_BACKEND, raw_config


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


@pytest.mark.parametrize(
    ("router", "line"),
    [
        (
            {
                "shadow": {"share": 1.0, "requests_per_minute": 600, "account": "legal"},
                "feedback_window_s": 3600,
                "adapt_every_s": 86400,
                "adapt_min_new": 5,
            },
            "router learning: shadow grading 100 % of familiar routed requests, unfamiliar first"
            " (at most 600/min per process, charged to legal); feedback for 1 h after an answer;"
            " adaptation every 1 d once 5 new graded requests came (one replica at a time)",
        ),
        (
            {"feedback_window_s": 0},
            "router learning: shadow grading off; feedback off; adaptation by command only"
            " (stellwerk router adapt)",
        ),
    ],
)
def test_the_start_summary_says_what_the_router_learns_from(
    router: dict[str, Any], line: str
) -> None:
    """walk24 9: the summary said nothing of shadow grading, feedback or the schedule, nor which
    account grading is charged to."""
    raw = raw_config(OFFLINE_BACKEND, "sqlite://")
    raw["router"] = router
    lines = startup_summary(parse_config(raw), "http://127.0.0.1:8080", "stellwerk.yaml")
    assert line in lines
