"""Code tasks: the code taken from answers, the programs built for MBPP and HumanEval references,
graded in the real sandbox."""

from __future__ import annotations

import asyncio

import pytest

from stellwerk.calibration.bank import BankItem
from stellwerk.calibration.code_tasks import CodeGrader, extract_code, mbpp_tests
from stellwerk.calibration.sandbox import Limits, Sandbox
from tests.calibration.conftest import sandbox_python

MBPP = BankItem(
    "m1", "train", "mbpp", "Write a function to add two numbers.",
    "['assert add(2, 3) == 5', 'assert add(-1, 1) == 0']", 1,
)  # fmt: skip
HUMAN_EVAL = BankItem(
    "h1", "test", "human_eval",
    'from typing import List\n\n\ndef total(numbers: List[int]) -> int:\n    """ Sum.\n'
    '    >>> total([1, 2])\n    3\n    """\n',
    "\n\ndef check(candidate):\n    assert candidate([1, 2, 3]) == 6\n"
    "    assert candidate([]) == 0\n",
    2,
)  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ("Here:\n```python\ndef f():\n    return 1\n```\nDone.", "def f():\n    return 1\n"),
        ("```py\nx = 1\n```\n```python\ndef g():\n    pass\n```", "def g():\n    pass\n"),
        ("```\ndef h(): return 2\n```", "def h(): return 2\n"),
        ("```python\ndef cut(a):\n    return a", "def cut(a):\n    return a"),
        ("def plain(a):\n    return a\n", "def plain(a):\n    return a"),
    ],
)
def test_the_code_is_taken_from_the_answer(answer: str, code: str) -> None:
    assert extract_code(answer) == code


def test_mbpp_references_as_a_listed_text_become_asserts() -> None:
    assert mbpp_tests(MBPP.ground_truth) == "assert add(2, 3) == 5\nassert add(-1, 1) == 0\n"
    assert mbpp_tests("assert f(1) == 2") == "assert f(1) == 2"


@pytest.fixture(scope="module")
def grader() -> CodeGrader:
    return CodeGrader(Sandbox(Limits(wall_s=20.0), python=sandbox_python()), concurrency=2)


@pytest.mark.parametrize(
    ("item", "answer", "score"),
    [
        (MBPP, "```python\ndef add(a, b):\n    return a + b\n```", 1.0),
        (MBPP, "```python\ndef add(a, b):\n    return a * b\n```", 0.0),
        (MBPP, "I cannot write code.", 0.0),
        (HUMAN_EVAL, "```python\ndef total(numbers):\n    return sum(numbers)\n```", 1.0),
        (HUMAN_EVAL, "    return sum(numbers)\n", 1.0),  # a body that completes the prompt
        (HUMAN_EVAL, "```python\ndef total(numbers: List[int]) -> int:\n    return 6\n```", 0.0),
    ],
)
def test_answers_are_graded_by_running_the_tests(
    grader: CodeGrader, item: BankItem, answer: str, score: float
) -> None:
    checked = asyncio.run(grader.grade(answer, item))
    assert checked.score == score, checked.detail
    assert (checked.detail == "passed") is (score == 1.0)
