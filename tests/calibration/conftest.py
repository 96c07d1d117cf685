"""Calibration fixtures: the public routing-outcome data and small banks drawn from open9."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from tests.fixtures.routing_data import OPEN9, lines


@pytest.fixture(scope="session")
def open9_path() -> Path:
    """The shipped open9 outcomes (``data/routing/open9.jsonl.gz``), a ready calibration bank."""
    return OPEN9


def draw_bank(
    source: Path, target: Path, per_task: int, tasks: tuple[str, ...] = (), max_chars: int = 900
) -> Path:
    """The first ``per_task`` lines of each task (of ``tasks``, or all) into ``target``; only
    prompts of at most ``max_chars`` characters, which fit the test models' context window."""
    counts: dict[str, int] = {}
    kept: list[str] = []
    for line in lines(source):
        row = json.loads(line)
        task = row["task"]
        if (tasks and task not in tasks) or len(row["prompt"]) > max_chars:
            continue
        if counts.get(task, 0) < per_task:
            counts[task] = counts.get(task, 0) + 1
            kept.append(line)
    target.write_text("".join(kept), encoding="utf-8")
    return target


def sandbox_python() -> str:
    """An interpreter the code sandbox can use here: as root the code runs as nobody, who cannot
    read an interpreter under /root (pyenv); then the system's python3 is used."""
    from stellwerk.calibration.sandbox import probe

    for python in (sys.executable, shutil.which("python3", path="/usr/bin:/bin")):
        if python and probe(python, isolate=False) is None:
            return python
    pytest.skip("no Python interpreter that the sandbox's user can read")
