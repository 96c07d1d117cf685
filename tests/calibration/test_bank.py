"""Reading a bank: bad lines are skipped and counted by reason, never fatal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stellwerk.calibration.bank import read_bank
from stellwerk.errors import TrainingDataError


def _line(**fields: object) -> str:
    row: dict[str, object] = {
        "id": "q1",
        "split": "train",
        "task": "quiz",
        "prompt": "2+2?",
        "ground_truth": "4",
    }
    row.update(fields)
    return json.dumps({k: v for k, v in row.items() if v is not None})


def test_bad_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "bank.jsonl"
    path.write_text(
        "\n".join(
            [
                _line(id="ok-1"),
                "{not json",
                _line(id="no-truth", ground_truth=None),
                _line(id="empty-truth", ground_truth="  "),
                _line(id="no-prompt", prompt=None),
                _line(id="bad-split", split="dev"),
                "[1, 2]",
                _line(id="ok-1"),
                "",
                _line(id="ok-2", ground_truth=7, scores={"m": 1.0}),
            ]
        )
        + "\n"
    )
    bank = read_bank(path)
    assert [item.id for item in bank.items] == ["ok-1", "ok-2"]
    assert bank.items[1].ground_truth == "7"
    assert bank.skipped == {
        "not valid JSON": 1,
        "no ground_truth": 1,
        "ground_truth empty or not a string": 1,
        "field 'prompt' missing or not a non-empty string": 1,
        "split is neither 'train' nor 'test'": 1,
        "not a JSON object": 1,
        "id appears twice": 1,
    }
    assert bank.first_skipped["not valid JSON"] == 2
    assert len(bank.sha256) == 64


def test_a_bank_without_any_usable_line_names_the_reasons(tmp_path: Path) -> None:
    path = tmp_path / "bank.jsonl"
    path.write_text(_line(ground_truth=None) + "\n")
    with pytest.raises(TrainingDataError, match=r"no usable line.*1 no ground_truth"):
        read_bank(path)


def test_a_missing_bank_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TrainingDataError, match="cannot read the bank"):
        read_bank(tmp_path / "nope.jsonl")


def test_open9_reads_whole(open9_path: Path) -> None:
    bank = read_bank(open9_path)
    assert len(bank.items) == 6108 and not bank.skipped
