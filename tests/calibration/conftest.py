"""Calibration fixtures: the public routing-outcome data and small banks drawn from open9."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

DATA_ENV = "STELLWERK_ROUTING_DATA"


def routing_data_dir() -> Path:
    """``$STELLWERK_ROUTING_DATA`` or ``<repo root>/../shared/data/routing`` (where CI has it)."""
    configured = os.environ.get(DATA_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data" / "routing"


@pytest.fixture(scope="session")
def open9_path() -> Path:
    path = routing_data_dir() / "open9.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} is missing: set {DATA_ENV} to the routing data folder")
    return path


def draw_bank(
    source: Path, target: Path, per_task: int, tasks: tuple[str, ...] = (), max_chars: int = 900
) -> Path:
    """The first ``per_task`` lines of each task (of ``tasks``, or all) into ``target``; only
    prompts of at most ``max_chars`` characters, which fit the test models' context window."""
    counts: dict[str, int] = {}
    lines: list[str] = []
    with source.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            task = row["task"]
            if (tasks and task not in tasks) or len(row["prompt"]) > max_chars:
                continue
            if counts.get(task, 0) < per_task:
                counts[task] = counts.get(task, 0) + 1
                lines.append(line)
    target.write_text("".join(lines), encoding="utf-8")
    return target


def sandbox_python() -> str:
    """An interpreter the code sandbox can use here: as root the code runs as nobody, who cannot
    read an interpreter under /root (pyenv); then the system's python3 is used."""
    from stellwerk.calibration.sandbox import probe

    for python in (sys.executable, shutil.which("python3", path="/usr/bin:/bin")):
        if python and probe(python, isolate=False) is None:
            return python
    pytest.skip("no Python interpreter that the sandbox's user can read")
