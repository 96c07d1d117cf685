"""Choosing graders from the shape of references and prompts, with overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stellwerk.calibration import graders as g
from stellwerk.calibration.bank import read_bank
from stellwerk.calibration.code_tasks import CODE_TESTS
from stellwerk.calibration.plan import CODE_REASON, make_plan, parse_overrides
from stellwerk.errors import InvalidRequest


def _bank(tmp_path: Path, rows: list[tuple[str, str, str]]) -> Path:
    path = tmp_path / "bank.jsonl"
    path.write_text(
        "".join(
            json.dumps(
                {"id": f"r{i}", "split": "train", "task": t, "prompt": p, "ground_truth": gt}
            )
            + "\n"
            for i, (t, p, gt) in enumerate(rows)
        )
    )
    return path


def test_open9_tasks_get_the_expected_graders(open9_path: Path) -> None:
    plan = make_plan(read_bank(open9_path))
    graders = {t.task: t.grader for t in plan.tasks}
    assert graders["mmlu"] == graders["arc_challenge"] == g.CHOICE_LETTER
    assert graders["gsm8k"] == graders["math"] == graders["agentverse-mgsm"] == g.FINAL_NUMBER
    assert graders["natural_qa"] == graders["trivia_qa"] == g.SHORT_ANSWER
    assert graders["commongen"] == g.CONCEPT_COVERAGE
    assert graders["mbpp"] is None and graders["human_eval"] is None
    assert plan.skipped[f"mbpp: {CODE_REASON}"] == 548
    assert sum(plan.skipped.values()) == 548 + 214
    assert len(plan.items) == 6108 - 548 - 214


def test_unseen_task_names_are_inferred_from_the_references(tmp_path: Path) -> None:
    rows = [("werkstatt-quiz", f"Frage {i}?", "ABCD"[i % 4]) for i in range(10)]
    rows += [("rechnen", f"Wie viel ist {i} + {i}?", str(2 * i)) for i in range(10)]
    rows += [("hauptstadt", "Hauptstadt von Frankreich?", "Paris") for _ in range(5)]
    rows += [("aufsatz", "Schreibe einen Aufsatz.", "Ein langer Aufsatz " * 20)]
    rows += [("tests", "def f(x):", "assert f(1) == 2")]
    plan = make_plan(read_bank(_bank(tmp_path, rows)))
    graders = {t.task: (t.grader, t.source) for t in plan.tasks}
    assert graders["werkstatt-quiz"] == (g.CHOICE_LETTER, "inferred")
    assert graders["rechnen"] == (g.FINAL_NUMBER, "inferred")
    assert graders["hauptstadt"] == (g.SHORT_ANSWER, "inferred")
    assert graders["aufsatz"][0] is None
    assert graders["tests"][0] is None
    assert plan.skipped == {
        "aufsatz: free-text references: no safe automatic grader": 1,
        f"tests: {CODE_REASON}": 1,
    }


def test_overrides_win_and_lines_that_do_not_fit_are_counted(tmp_path: Path) -> None:
    rows = [("quiz", "Q?", gt) for gt in ("A", "B", "C", "D", "E", "F", "G", "H", "I", "maybe")]
    rows += [("names", "Who?", "Ada Lovelace")]
    bank = read_bank(_bank(tmp_path, rows))
    plan = make_plan(bank, parse_overrides(["quiz=choice-letter", "names=skip"]))
    assert {t.task: t.source for t in plan.tasks} == {"quiz": "override", "names": "override"}
    assert len(plan.items) == 9
    assert plan.skipped == {
        "quiz: ground_truth does not fit choice-letter": 1,
        "names: skipped by --grader": 1,
    }


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (["quiz"], "write TASK=GRADER"),
        (["quiz=letters"], "unknown grader 'letters'"),
        (["=skip"], "write TASK=GRADER"),
    ],
)
def test_bad_overrides_are_refused(spec: list[str], message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        parse_overrides(spec)


def test_an_override_for_a_task_not_in_the_bank_is_refused(tmp_path: Path) -> None:
    bank = read_bank(_bank(tmp_path, [("quiz", "Q?", "A")]))
    with pytest.raises(InvalidRequest, match="not in the bank: qiuz"):
        make_plan(bank, {"qiuz": "skip"})


def test_open9_code_tasks_are_graded_when_the_run_may_execute_code(open9_path: Path) -> None:
    plan = make_plan(read_bank(open9_path), code_skipped=None)
    graders = {t.task: t.grader for t in plan.tasks}
    assert graders["mbpp"] == graders["human_eval"] == CODE_TESTS
    assert not plan.skipped and len(plan.items) == 6108


def test_forcing_the_code_grader_without_a_sandbox_is_refused(tmp_path: Path) -> None:
    bank = read_bank(_bank(tmp_path, [("tests", "def f(x):", "assert f(1) == 2")]))
    with pytest.raises(InvalidRequest, match="--grader tests=code-tests: this run cannot grade"):
        make_plan(bank, parse_overrides(["tests=code-tests"]))
