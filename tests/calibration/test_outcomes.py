"""Outcome rows and per-model facts computed from checkpoint entries."""

from __future__ import annotations

from pathlib import Path

from stellwerk.calibration.bank import BankItem
from stellwerk.calibration.calibrate import select_items
from stellwerk.calibration.outcomes import model_summary, outcome_rows, throughput
from stellwerk.config.schema import ModelConfig, Price


def _model(model_id: str) -> ModelConfig:
    return ModelConfig(
        id=model_id,
        backend="b",
        upstream=model_id,
        params_b=8,
        size_class="medium",
        price=Price(input_per_mtok=1.0, output_per_mtok=2.0),
    )


def _item(item_id: str, task: str = "quiz") -> BankItem:
    return BankItem(item_id, "train", task, "Q?", "A", 1)


def _entry(
    item: str, model: str, *, score: float = 1.0, error: str | None = None, start: float = 0.0
) -> dict[str, object]:
    return {
        "id": item,
        "model": model,
        "task": "quiz",
        "grader": "choice-letter",
        "score": score,
        "prompt_tokens": 100,
        "answer_tokens": 0 if error else 50,
        "latency_ms": 1000.0,
        "ttft_ms": None if error else 100.0,
        "started": start,
        "error": error,
        "decode_tokens_per_s": None if error else 54.4,
    }


def test_rows_need_every_model_and_carry_errors_as_zero() -> None:
    small, large = _model("small"), _model("large")
    items = [(_item("q1"), "choice-letter"), (_item("q2"), "choice-letter")]
    entries = {
        ("q1", "small"): _entry("q1", "small"),
        ("q1", "large"): _entry("q1", "large", score=0.0, error="timeout"),
        ("q2", "small"): _entry("q2", "small"),
    }
    rows = outcome_rows(items, [small, large], entries)
    assert len(rows) == 1  # q2 has no answer from large yet
    row = rows[0]
    assert row["scores"] == {"small": 1.0, "large": 0.0}
    assert row["errors"] == {"large": "timeout"}
    assert row["grader"] == "choice-letter"
    assert row["cost"]["small"] == (100 * 1.0 + 50 * 2.0) / 1e6


def test_throughput_counts_overlapping_requests_once() -> None:
    entries = [
        _entry("q1", "m", start=0.0),  # busy 0-1 s
        _entry("q2", "m", start=0.5),  # overlaps: busy until 1.5 s
        _entry("q3", "m", start=10.0),  # busy 10-11 s
    ]
    assert throughput(entries) == 150 / 2.5


def test_model_summary_per_task_quality_and_errors() -> None:
    entries = [_entry("q1", "m"), _entry("q2", "m", score=0.0, error="failed")]
    facts = model_summary(_model("m"), entries)
    assert facts["quality"] == 0.5
    assert facts["errors"] == {"failed": 1}
    assert facts["per_task"] == {"quiz": {"grader": "choice-letter", "n": 2, "quality": 0.5}}
    assert facts["answered"] == 1 and facts["tokens_per_s"] == 54.4


def test_limit_takes_every_task_in_turn(tmp_path: Path) -> None:
    items = [(_item(f"a{i}", "a"), "g") for i in range(5)] + [(_item("b0", "b"), "g")]
    items += [(_item(f"c{i}", "c"), "g") for i in range(3)]
    chosen = [item.id for item, _ in select_items(items, 5)]
    assert chosen == ["a0", "a1", "b0", "c0", "c1"]


def test_a_grader_that_fails_is_recorded_not_raised() -> None:
    from stellwerk.calibration.ask import Answer
    from stellwerk.calibration.runner import Job, entry_of

    def broken(answer: str, reference: str) -> float:
        raise ValueError("cannot read " + reference)

    answer = Answer("The answer is B", 10, 4, "backend", 50.0, 10.0, 0.0)
    entry = entry_of(
        Job(_item("q1"), "choice-letter", _model("m")), answer, {"choice-letter": broken}
    )
    assert entry["score"] == 0.0
    assert entry["error"] == "grader"
    assert entry["error_message"] == "choice-letter: ValueError: cannot read A"
