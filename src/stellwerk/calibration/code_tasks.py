"""Grading code tasks: the model's code and the task's tests, run together in the sandbox.

The references come in the two shapes of the public benchmarks:

- MBPP: assert statements, either as Python source or as the text of a list of them
  (``"['assert f(1) == 2', 'assert f(2) == 3']"``, as in open9);
- HumanEval: ``def check(candidate): assert candidate(...) == ...``. The prompt is the function's
  signature and docstring; the function checked is the last one the prompt defines (else the last
  one the answer defines). The prompt runs first (its imports and helper functions), then the
  answer: a whole function replaces the stub, an indented body completes it.

The code is taken from the answer's fenced blocks (```` ```python ````, ```` ```py ```` or
unlabelled; the first one that defines a function, else the first one; a block cut off by the
answer length counts), else the whole answer. Score 1.0 when every test passes, else 0.0.
"""

from __future__ import annotations

import ast
import asyncio
import re
from dataclasses import dataclass

from stellwerk.calibration.bank import BankItem
from stellwerk.calibration.sandbox import Piece, Result, Sandbox

CODE_TESTS = "code-tests"

_FENCE = re.compile(
    r"```[ \t]*(?:python3?|py)?[ \t]*\r?\n(.*?)(?:```|\Z)", re.DOTALL | re.IGNORECASE
)


def is_code(reference: str) -> bool:
    return "assert " in reference or "def check(" in reference


def extract_code(answer: str) -> str:
    blocks: list[str] = [block for block in _FENCE.findall(answer) if block.strip()]
    if not blocks:
        return answer.strip("\n")
    return next((b for b in blocks if re.search(r"^\s*def ", b, re.MULTILINE)), blocks[0])


def mbpp_tests(reference: str) -> str:
    """Assert statements as source: a list of them (as text) is joined line by line."""
    text = reference.strip()
    if text.startswith("["):
        try:
            listed = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return reference
        if isinstance(listed, list) and all(isinstance(line, str) for line in listed):
            return "\n".join(listed) + "\n"
    return reference


def _defined(source: str) -> list[str]:
    """Names of the top-level functions of source; empty when it is no valid Python."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]


def program(answer: str, item: BankItem) -> list[Piece]:
    """The pieces the sandbox runs for this answer, in order."""
    code = extract_code(answer)
    if "def check(" not in item.ground_truth:
        return [("answer.py", code), ("tests.py", mbpp_tests(item.ground_truth))]
    from_prompt = _defined(item.prompt)
    defined = from_prompt or _defined(code)
    if not defined:
        return [("answer.py", code), ("tests.py", "raise NameError('no function to check')")]
    entry = defined[-1]
    check = ("tests.py", f"{item.ground_truth}\n\ncheck({entry})\n")
    if not from_prompt:
        return [("answer.py", code), check]
    if entry in _defined(code):
        return [("prompt.py", item.prompt), ("answer.py", code), check]
    return [("answer.py", item.prompt.rstrip("\n") + "\n" + code), check]


@dataclass(frozen=True, slots=True)
class Checked:
    score: float
    detail: str


class CodeGrader:
    """Runs answers in the sandbox, at most ``concurrency`` at a time, off the event loop."""

    def __init__(self, sandbox: Sandbox, concurrency: int) -> None:
        self.sandbox = sandbox
        self._slots = asyncio.Semaphore(max(1, concurrency))

    async def grade(self, answer: str, item: BankItem) -> Checked:
        pieces = program(answer, item)
        async with self._slots:
            result: Result = await asyncio.to_thread(self.sandbox.run, pieces)
        return Checked(1.0 if result.passed else 0.0, result.detail[:200])
