"""A prompt over a model's context is refused the same way on every run: `stellwerk calibrate`
scores it 0 once, says so apart, and does not leave it open (against the real llama.cpp server).
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from stellwerk.cli.demo_cmd import NOTICE
from stellwerk.cli.main import build_app
from stellwerk.demo.config import new_demo_keys, write_demo_config
from tests.calibration.conftest import draw_bank
from tests.fixtures.gateway import raw_config
from tests.fixtures.llama import LlamaBackend
from tests.fixtures.routing_data import lines

pytestmark = pytest.mark.llama

LONG_TASK = "agentverse-logicgrid"  # its first open9 prompt is 1,473 characters: over 1,024 tokens


@pytest.fixture
def config_path(llama_server: LlamaBackend, tmp_path: Path) -> Path:
    raw = raw_config(llama_server.base_url, f"sqlite:///{tmp_path / 'ledger.db'}")
    path = tmp_path / "stellwerk.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture
def bank_with_a_long_prompt(open9_path: Path, tmp_path: Path) -> Path:
    """Two short prompts and one over the test models' context (1,024 tokens)."""
    bank = draw_bank(open9_path, tmp_path / "bank.jsonl", 1, ("natural_qa", "trivia_qa"))
    long = next(
        line
        for line in lines(open9_path)
        if json.loads(line)["task"] == LONG_TASK and len(json.loads(line)["prompt"]) > 1400
    )
    bank.write_text(bank.read_text() + long, encoding="utf-8")
    return bank


def _calibrate(*args: str) -> Any:
    return CliRunner().invoke(build_app(), ["calibrate", "--no-progress", *args])


def _asked(checkpoint: Path) -> int:
    """The pairs the runs asked so far: the checkpoint's lines after its header."""
    return len(checkpoint.read_text().splitlines()) - 1


def test_a_prompt_over_the_context_is_final_and_reported_apart(
    config_path: Path, bank_with_a_long_prompt: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    checkpoint = tmp_path / "out.jsonl.checkpoint"
    args = [
        "--config", str(config_path), "--bank", str(bank_with_a_long_prompt),
        "--models", "tiny-small,tiny-medium", "--max-tokens", "8", "--out", str(out),
    ]  # fmt: skip
    first = _calibrate(*args)
    assert first.exit_code == 0, first.output
    assert _asked(checkpoint) == 6
    for model in ("tiny-small", "tiny-medium"):
        assert f"1 pair does not fit {model}'s context (1,024 tokens): scored 0" in first.stdout
    assert "pairs open" not in first.stdout
    assert "nothing open" in first.stdout
    summary = json.loads((tmp_path / "out.summary.json").read_text())
    assert summary["complete"] and summary["open_pairs"] == 0
    for facts in summary["models"].values():
        assert facts["errors"] == {"context": 1}
        assert facts["does_not_fit"] == {"pairs": 1, "context_length": 1024}
        assert facts["pairs"] == 3
    rows = {row["task"]: row for row in map(json.loads, out.read_text().splitlines())}
    assert rows[LONG_TASK]["errors"] == {"tiny-small": "context", "tiny-medium": "context"}
    assert rows[LONG_TASK]["scores"] == {"tiny-small": 0.0, "tiny-medium": 0.0}

    second = _calibrate(*args)
    assert second.exit_code == 0, second.output
    assert _asked(checkpoint) == 6  # nothing asked again
    assert "pairs open" not in second.stdout and "nothing open" in second.stdout
    again = json.loads((tmp_path / "out.summary.json").read_text())
    assert again["asked_now"] == 0 and again["complete"]


def test_a_larger_context_in_the_config_asks_the_refused_pair_again(
    config_path: Path, bank_with_a_long_prompt: Path, tmp_path: Path
) -> None:
    """The refusal is final for the context it was made with: an operator who gives the model a
    larger context (here only in the config; the server keeps its own) has it asked again."""
    out = tmp_path / "out.jsonl"
    checkpoint = tmp_path / "out.jsonl.checkpoint"
    args = [
        "--config", str(config_path), "--bank", str(bank_with_a_long_prompt),
        "--models", "tiny-small", "--max-tokens", "8", "--out", str(out),
    ]  # fmt: skip
    assert _calibrate(*args).exit_code == 0
    assert _asked(checkpoint) == 3
    raw = yaml.safe_load(config_path.read_text())
    raw["models"][0]["context_length"] = 4096
    config_path.write_text(yaml.safe_dump(raw))
    again = _calibrate(*args)
    assert again.exit_code == 0, again.output
    assert _asked(checkpoint) == 4  # the refused pair, once more


def test_the_command_the_demo_suggests_finishes_on_its_models(
    llama_server: LlamaBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`stellwerk demo` prints a calibration command; on the demo's own config and models it
    ends with nothing open, and a second run asks nothing."""
    config = write_demo_config(
        tmp_path, llama_server.base_url, new_demo_keys(), host="127.0.0.1", port=8080
    )
    bank = Path(__file__).resolve().parents[2] / "data" / "routing" / "open9.jsonl.gz"
    [line] = [line for line in NOTICE.splitlines() if "stellwerk calibrate" in line]
    argv = shlex.split(line.format(config=config, bank=bank))
    assert argv[:2] == ["stellwerk", "calibrate"]
    monkeypatch.chdir(tmp_path)  # the outcomes go to the current folder
    checkpoint = tmp_path / "open9.jsonl-calibrated.jsonl.checkpoint"
    first = _calibrate(*argv[2:])
    assert first.exit_code == 0, first.output
    asked = _asked(checkpoint)
    assert "nothing open" in first.stdout and "pairs open" not in first.stdout
    second = _calibrate(*argv[2:])
    assert second.exit_code == 0, second.output
    assert _asked(checkpoint) == asked
    assert "nothing open" in second.stdout
