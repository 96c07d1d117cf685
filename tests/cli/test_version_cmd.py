"""``stellwerk version`` names the build, not only the package's version, which is the same for
every build between two releases (walk28 F3): the git commit when run from a checkout, and the
ledger schema revision the build migrates to, which is what decides whether an older build can
still open a ledger after an upgrade."""

from __future__ import annotations

import subprocess
from pathlib import Path

from typer.testing import CliRunner

from stellwerk.build_info import describe
from stellwerk.cli.main import build_app
from stellwerk.ledger.migrate import head_revision

ROOT = Path(__file__).resolve().parents[2]


def _git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_version_names_the_commit_and_the_ledger_schema() -> None:
    answer = CliRunner().invoke(build_app(), ["version"])
    assert answer.exit_code == 0, answer.output
    line = answer.output.strip()
    head = _git("rev-parse", "--short=12", "HEAD")
    assert line.startswith(f"Stellwerk 0.1.0 (commit {head}"), line
    assert line.endswith(f"), ledger schema {head_revision()}"), line


def test_a_copy_that_is_no_checkout_names_no_commit(tmp_path: Path) -> None:
    """An installed package (no .git beside it) says its version and schema only."""
    assert describe(tmp_path) == f"Stellwerk 0.1.0, ledger schema {head_revision()}"


def test_changes_not_committed_are_said(tmp_path: Path) -> None:
    (tmp_path / "src" / "stellwerk").mkdir(parents=True)
    tracked = tmp_path / "src" / "stellwerk" / "x.py"
    tracked.write_text("a = 1\n")
    _git("init", "-q", cwd=tmp_path)
    _git("add", ".", cwd=tmp_path)
    who = ["-c", "user.name=t", "-c", "user.email=t@example.org"]
    _git(*who, "commit", "-qm", "one", cwd=tmp_path)
    head = _git("rev-parse", "--short=12", "HEAD", cwd=tmp_path)
    assert f"(commit {head})" in describe(tmp_path)
    tracked.write_text("a = 2\n")
    assert f"(commit {head}+changes)" in describe(tmp_path)
