"""`stellwerk calibrate` against the real llama.cpp test server, with banks drawn from open9.

The tiny models answer noise, so grades are near zero; what is tested is the pipeline: every
pair asked once, graded, measured, written in the outcome schema, failures recorded, resumable.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from stellwerk.cli.main import build_app
from tests.calibration.conftest import draw_bank, sandbox_python
from tests.fixtures.gateway import free_port, raw_config
from tests.fixtures.llama import LlamaBackend

pytestmark = pytest.mark.llama

GRADED_TASKS = ("mmlu", "gsm8k", "trivia_qa", "commongen", "math", "arc_challenge")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def config_path(llama_server: LlamaBackend, tmp_path: Path) -> Path:
    raw = raw_config(llama_server.base_url, f"sqlite:///{tmp_path / 'ledger.db'}")
    path = tmp_path / "stellwerk.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture
def bank(open9_path: Path, tmp_path: Path) -> Path:
    """Four prompts of each of six graded tasks and of one code task (24 graded, 4 skipped)."""
    return draw_bank(open9_path, tmp_path / "bank.jsonl", 4, (*GRADED_TASKS, "mbpp"))


@pytest.fixture
def long_bank(open9_path: Path, tmp_path: Path) -> Path:
    """Sixteen prompts of each graded task (96): a run long enough to be stopped in its middle
    even on a busy machine."""
    return draw_bank(open9_path, tmp_path / "long-bank.jsonl", 16, GRADED_TASKS)


def _calibrate(*args: str) -> Any:
    return CliRunner().invoke(build_app(), ["calibrate", "--no-progress", *args])


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_outcomes_in_the_routing_schema_with_measurements(
    config_path: Path, bank: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    result = _calibrate(
        "--config", str(config_path), "--bank", str(bank), "--models", "tiny-small,tiny-medium",
        "--max-tokens", "12", "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = _lines(out)
    assert len(rows) == 24
    assert {row["task"] for row in rows} == set(GRADED_TASKS)
    for row in rows:
        assert set(row["scores"]) == {"tiny-small", "tiny-medium"}
        assert all(0.0 <= s <= 1.0 for s in row["scores"].values())
        assert row["split"] in ("train", "test") and row["ground_truth"]
        failed = row.get("errors", {})
        assert all(n > 0 for m, n in row["prompt_tokens"].items() if m not in failed)
    graders = {row["task"]: row["grader"] for row in rows}
    assert graders["mmlu"] == "choice-letter" and graders["gsm8k"] == "final-number"
    summary = json.loads((tmp_path / "out.summary.json").read_text())
    assert summary["complete"] and summary["open_pairs"] == 0
    assert summary["skipped_prompts"] == {
        "mbpp: code task: grading runs the model's code; add --run-code to run it in the sandbox": 4
    }
    assert summary["code"] == {"run": False}
    for facts in summary["models"].values():
        assert facts["pairs"] == 24
        assert set(facts["per_task"]) == set(GRADED_TASKS)
        if facts["answer_tokens"]:
            assert facts["throughput_tokens_per_s"] > 0
    assert "tiny-small" in result.stdout and "outcomes:" in result.stdout
    facts = json.loads((tmp_path / "out-models.json").read_text())
    assert facts["tiny-medium"] == {
        "params_b": 8.0,
        "size_class": "medium",
        "input_usd_per_mtok": 0.4,
        "output_usd_per_mtok": 0.4 * 3,
        "family": "tiny-medium",  # its upstream name, without a size label to remove
    }


def test_a_failing_model_is_recorded_and_the_run_goes_on(
    config_path: Path, bank: Path, tmp_path: Path
) -> None:
    raw = yaml.safe_load(config_path.read_text())
    port = free_port()  # a port nobody listens on (nor binds meanwhile)
    raw["backends"].append(
        {"name": "gone", "kind": "openai", "base_url": f"http://127.0.0.1:{port}",
         "timeouts": {"connect": 1, "first_token": 5, "total": 5}}
    )  # fmt: skip
    raw["models"].append(
        {"id": "ghost", "backend": "gone", "upstream": "ghost", "params_b": 3,
         "size_class": "small"}
    )  # fmt: skip
    config_path.write_text(yaml.safe_dump(raw))
    out = tmp_path / "out.jsonl"
    result = _calibrate(
        "--config", str(config_path), "--bank", str(bank), "--models", "tiny-small,ghost",
        "--max-tokens", "8", "--limit", "6", "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = _lines(out)
    assert len(rows) == 6
    assert all(row["errors"]["ghost"] == "unavailable" for row in rows)
    assert all(row["scores"]["ghost"] == 0.0 for row in rows)
    summary = json.loads((tmp_path / "out.summary.json").read_text())
    assert summary["models"]["ghost"]["errors"] == {"unavailable": 6}
    assert (
        summary["models"]["tiny-small"]["answered"]
        + sum(summary["models"]["tiny-small"]["errors"].values())
        == 6
    )
    assert not summary["complete"]  # errored pairs are asked again by the next run


def test_code_tasks_are_graded_in_the_sandbox_with_run_code(
    config_path: Path, open9_path: Path, tmp_path: Path
) -> None:
    """The tiny model writes no working code: every code pair is graded 0, none is skipped."""
    bank = draw_bank(open9_path, tmp_path / "code.jsonl", 2, ("mbpp", "human_eval"), 600)
    out = tmp_path / "out.jsonl"
    result = _calibrate(
        "--config", str(config_path), "--bank", str(bank), "--models", "tiny-small",
        "--max-tokens", "16", "--out", str(out), "--run-code",
        "--code-python", sandbox_python(),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = _lines(out)
    assert {row["task"] for row in rows} == {"mbpp", "human_eval"} and len(rows) == 4
    assert all(row["grader"] == "code-tests" for row in rows)
    assert [row["scores"]["tiny-small"] for row in rows] == [0.0] * 4
    assert not any(row.get("errors") for row in rows)
    summary = json.loads((tmp_path / "out.summary.json").read_text())
    assert summary["skipped_prompts"] == {}
    assert summary["code"]["run"] and summary["code"]["network_isolated"]
    checks = _lines(tmp_path / "out.jsonl.checkpoint")[1:]
    assert len(checks) == 4 and all(entry["check"] != "passed" for entry in checks)


def test_a_time_limit_is_recorded_as_timeout(config_path: Path, bank: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    result = _calibrate(
        "--config", str(config_path), "--bank", str(bank), "--models", "tiny-large",
        "--limit", "3", "--timeout", "0.0005", "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [row["errors"] for row in _lines(out)] == [{"tiny-large": "timeout"}] * 3


def test_records_in_the_ledger_and_costs_applied_only_when_confirmed(
    config_path: Path, bank: Path, tmp_path: Path
) -> None:
    from stellwerk.calibration.records import CalibrationStore
    from stellwerk.ledger.ledger import open_ledger

    args = [
        "--config", str(config_path), "--bank", str(bank), "--models", "tiny-small",
        "--max-tokens", "12", "--limit", "6", "--out", str(tmp_path / "out.jsonl"),
        "--watts", "250", "--hourly-cost", "1.2",
    ]  # fmt: skip
    first = _calibrate(*args)
    assert first.exit_code == 0, first.output
    assert "proposed catalog costs" in first.stdout
    assert "not applied: run the same command with --apply" in first.stdout
    ledger = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        store = CalibrationStore(ledger)
        records = store.history("tiny-small")
        assert len(records) == 1 and records[0].pairs == 6
        assert set(records[0].per_task) <= set(GRADED_TASKS)
        assert store.current_costs() == {}
        second = _calibrate(*args, "--apply")
        assert second.exit_code == 0, second.output
        assert "applied and audited the costs of tiny-small" in second.stdout
        assert len(store.history("tiny-small")) == 1  # nothing new was asked: no new record
        costs = store.current_costs()["tiny-small"]
        assert costs.energy_wh_per_1k_tokens > 0 and costs.basis["watts"] == 250.0
        assert costs.calibration_run == records[0].run_id
        [audit] = ledger.list_audit(action="catalog.costs")
        assert audit.target == "tiny-small" and audit.actor.startswith("cli:")
    finally:
        ledger.close()


def test_bad_cost_input_fails_before_the_run(config_path: Path, bank: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    result = _calibrate(
        "--config", str(config_path), "--bank", str(bank), "--out", str(out),
        "--watts", "tiny-huge=300",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "'tiny-huge' is not a calibrated model" in result.output
    assert not out.exists()
    checkpoint = tmp_path / "out.jsonl.checkpoint"
    assert len(checkpoint.read_text().splitlines()) == 1  # the header only: nothing was asked


def test_calibrated_models_are_placed_into_the_router_and_judged(
    config_path: Path, bank: Path, tmp_path: Path
) -> None:
    rows = _lines(bank)
    for i, row in enumerate(rows):  # the organisation's bank: a third of it for judging
        row["split"] = "test" if i % 3 == 2 else "train"
    bank.write_text("".join(json.dumps(row) + "\n" for row in rows))
    out, router_out = tmp_path / "out.jsonl", tmp_path / "router"
    result = _calibrate(
        "--config", str(config_path), "--bank", str(bank), "--models", "tiny-small,tiny-large",
        "--max-tokens", "8", "--out", str(out), "--router-out", str(router_out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "models placed into the router" in result.stdout
    from stellwerk.routing.artifact import load_artifact

    placed = load_artifact(router_out)
    assert placed.model.models[-2:] == ("tiny-small", "tiny-large")
    graded_train = sum(1 for r in rows if r["task"] != "mbpp" and r["split"] == "train")
    assert placed.info["placed"]["tiny-large"]["prompts"] == graded_train
    judged = CliRunner().invoke(
        build_app(),
        ["router", "eval", "--data", str(out), "--router", str(router_out), "--json"],
    )
    assert judged.exit_code == 0, judged.output
    routers = json.loads(judged.stdout)["routers"]
    assert {"stellwerk", "oracle", "single:tiny-small", "single:tiny-large"} <= set(routers)


def test_an_unusable_router_is_refused_before_the_run(
    config_path: Path, bank: Path, tmp_path: Path
) -> None:
    (tmp_path / "not-a-router").mkdir()
    out = tmp_path / "out.jsonl"
    result = _calibrate(
        "--config", str(config_path), "--bank", str(bank), "--out", str(out),
        "--router", str(tmp_path / "not-a-router"), "--router-out", str(tmp_path / "new"),
    )  # fmt: skip
    assert result.exit_code == 2
    assert "not a router artifact" in result.output
    assert len((tmp_path / "out.jsonl.checkpoint").read_text().splitlines()) == 1


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A port that accepts connections and counts them: proof of whether a request was sent."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        sock.setblocking(False)
        yield sock


@pytest.mark.parametrize("where", ["missing-folder", "folder", "proc"])
def test_an_unwritable_output_fails_before_any_request(
    listener: socket.socket, bank: Path, tmp_path: Path, where: str
) -> None:
    port = listener.getsockname()[1]
    raw = raw_config(f"http://127.0.0.1:{port}", f"sqlite:///{tmp_path / 'ledger.db'}")
    config_path = tmp_path / "stellwerk.yaml"
    config_path.write_text(yaml.safe_dump(raw))
    out = {
        "missing-folder": tmp_path / "nope" / "out.jsonl",
        "folder": tmp_path,
        "proc": Path("/proc/out.jsonl"),
    }[where]
    result = _calibrate("--config", str(config_path), "--bank", str(bank), "--out", str(out))
    assert result.exit_code == 2
    assert "--out" in result.output
    with pytest.raises(BlockingIOError):
        listener.accept()  # nobody connected


def _answered_lines(checkpoint: Path) -> Counter[tuple[str, str]]:
    counts: Counter[tuple[str, str]] = Counter()
    for raw in checkpoint.read_bytes().splitlines()[1:]:
        try:
            row = json.loads(raw)
        except json.JSONDecodeError:
            continue
        if row.get("error") is None:
            counts[(row["id"], row["model"])] += 1
    return counts


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO / "src")}


def _calibrate_argv(config_path: Path, bank: Path, out: Path, models: str) -> list[str]:
    """``stellwerk calibrate`` of ``models`` as a separate process, one request at a time."""
    return [
        sys.executable, "-m", "stellwerk", "calibrate", "--no-progress",
        "--config", str(config_path), "--bank", str(bank), "--out", str(out),
        "--models", models, "--max-tokens", "12", "--concurrency", "1",
    ]  # fmt: skip


def _default_sigint() -> None:
    """In the child before it starts Python: Ctrl-C's default action. A test run started in the
    background of a non-interactive shell (``./run test &``) ignores SIGINT, children inherit
    that, and Python then never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _started_until_checkpointed(
    args: list[str], cwd: Path, checkpoint: Path, lines: int, stdout: int
) -> subprocess.Popen[str]:
    """The run of ``args``, once its checkpoint holds more than ``lines`` lines (still running)."""
    process = subprocess.Popen(
        args,
        cwd=cwd,
        env=_env(),
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if checkpoint.exists() and len(checkpoint.read_bytes().splitlines()) > lines:
            break
        time.sleep(0.02)
    assert process.poll() is None, "the run ended before it could be stopped"
    return process


@pytest.mark.slow
def test_killed_run_resumes_without_asking_answered_pairs_again(
    config_path: Path, bank: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    checkpoint = tmp_path / "out.jsonl.checkpoint"
    args = _calibrate_argv(config_path, bank, out, "tiny-small,tiny-medium")
    process = _started_until_checkpointed(args, tmp_path, checkpoint, 12, subprocess.DEVNULL)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.stderr is not None
    process.stderr.close()
    before = _answered_lines(checkpoint)
    assert 0 < len(before) < 48
    assert not out.exists()  # killed: no outcomes were written

    resumed = subprocess.run(args, cwd=tmp_path, env=_env(), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming: {len(before)} of 48 pairs already answered" in resumed.stderr
    after = _answered_lines(checkpoint)
    assert all(after[pair] == 1 for pair in before), "an answered pair was asked again"
    rows = _lines(out)
    summary = json.loads((tmp_path / "out.summary.json").read_text())
    assert sum(f["pairs"] for f in summary["models"].values()) == 48
    assert len(rows) == 24


@pytest.mark.slow
def test_ctrl_c_writes_what_is_complete_and_says_how_to_continue(
    config_path: Path, long_bank: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    checkpoint = tmp_path / "out.jsonl.checkpoint"
    args = _calibrate_argv(config_path, long_bank, out, "tiny-small")
    process = _started_until_checkpointed(args, tmp_path, checkpoint, 6, subprocess.PIPE)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "run the same command again to continue" in stderr
    assert "tiny-small" in stdout  # the summary of what was measured so far
    asked = {(r["id"], r["model"]) for r in _lines(checkpoint)[1:]}
    rows = _lines(out)
    assert 0 < len(rows) == len(asked) < 96
