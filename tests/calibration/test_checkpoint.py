"""The checkpoint survives a kill mid-line and refuses to mix runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stellwerk.calibration.checkpoint import Checkpoint
from stellwerk.errors import CalibrationError

HEADER = {"bank_sha256": "a" * 64, "max_tokens": 16}


CONTEXT = 1024


def _entry(
    item: str, model: str, error: str | None = None, context_length: int = CONTEXT
) -> dict[str, object]:
    return {
        "id": item, "model": model, "score": 1.0, "error": error, "context_length": context_length
    }  # fmt: skip


def test_entries_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "run.checkpoint"
    first = Checkpoint.open(path, HEADER)
    first.append(_entry("q1", "small"))
    first.append(_entry("q2", "small", error="timeout"))
    first.close()
    again = Checkpoint.open(path, HEADER)
    assert again.settled(("q1", "small"), CONTEXT)
    assert not again.settled(("q2", "small"), CONTEXT)  # errors are asked again
    assert not again.settled(("q1", "large"), CONTEXT)
    again.close()


@pytest.mark.parametrize(
    ("error", "settled"),
    [("context", True), ("timeout", False), ("unavailable", False), ("failed", False),
     ("rejected", False), ("grader", False)],
)  # fmt: skip
def test_only_a_prompt_over_the_context_is_a_final_error(
    tmp_path: Path, error: str, settled: bool
) -> None:
    path = tmp_path / "run.checkpoint"
    first = Checkpoint.open(path, HEADER)
    first.append(_entry("q1", "small", error=error))
    first.close()
    again = Checkpoint.open(path, HEADER)
    assert again.settled(("q1", "small"), CONTEXT) is settled
    assert not again.settled(("q1", "small"), 4 * CONTEXT)  # a larger context: asked again
    again.close()


def test_a_line_cut_short_by_a_kill_is_ignored_and_later_lines_stay_readable(
    tmp_path: Path,
) -> None:
    path = tmp_path / "run.checkpoint"
    first = Checkpoint.open(path, HEADER)
    first.append(_entry("q1", "small"))
    first.close()
    with path.open("ab") as handle:
        handle.write(b'{"kind":"answer","id":"q2","mod')
    second = Checkpoint.open(path, HEADER)
    assert set(second.entries) == {("q1", "small")}
    second.append(_entry("q2", "small"))
    second.close()
    third = Checkpoint.open(path, HEADER)
    assert third.settled(("q2", "small"), CONTEXT)
    third.close()
    lines = path.read_bytes().splitlines()
    assert json.loads(lines[-1])["id"] == "q2"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ({"bank_sha256": "b" * 64, "max_tokens": 16}, "bank_sha256"),
        ({"bank_sha256": "a" * 64, "max_tokens": 512}, "max_tokens"),
    ],
)
def test_a_checkpoint_of_another_run_is_refused(
    tmp_path: Path, header: dict[str, object], message: str
) -> None:
    path = tmp_path / "run.checkpoint"
    Checkpoint.open(path, HEADER).close()
    with pytest.raises(CalibrationError, match=f"belongs to another run \\({message}"):
        Checkpoint.open(path, header)


def test_a_foreign_file_is_not_taken_for_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("shopping list\n")
    with pytest.raises(CalibrationError, match="not a calibration checkpoint"):
        Checkpoint.open(path, HEADER)
    assert path.read_text() == "shopping list\n"


def test_a_full_disk_is_a_clear_error(tmp_path: Path) -> None:
    full = Path("/dev/full")
    if not full.exists():
        pytest.skip("/dev/full is not available")
    with full.open("ab", buffering=0) as handle:
        checkpoint = Checkpoint(tmp_path / "run.checkpoint", handle, "run", {})
        with pytest.raises(CalibrationError, match="cannot write the checkpoint"):
            checkpoint.append(_entry("q1", "small"))
    assert not checkpoint.settled(("q1", "small"), CONTEXT)
