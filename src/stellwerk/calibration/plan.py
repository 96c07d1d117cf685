"""Which grader grades which task: inferred from the shape of the task's references and prompts,
overridable per task (``--grader TASK=NAME`` or ``TASK=skip``).

Inference looks at every reference of a task, not at the task's name, so that a bank with tasks
nobody here has seen still gets graded when its references have a recognisable shape:

| references of the task (at least 80% of them)        | grader            |
|-------------------------------------------------------|-------------------|
| unit tests (``assert ...``, ``def check(``)             | code-tests [*]    |
| a single option letter A-J (digits 1-9 also allowed)  | choice-letter     |
| comma-separated single words that the prompt lists    | concept-coverage  |
| a number, or a solution ending in ``####`` / ``\\boxed``| final-number      |
| short text (at most 8 words, one line)                | short-answer      |
| anything else (long free text)                        | skipped           |

[*] only when the run may execute code (``--run-code``, and the sandbox isolates it or the user
accepted it without network isolation); else the task is skipped with the reason why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from stellwerk.calibration import graders as g
from stellwerk.calibration.bank import Bank, BankItem
from stellwerk.calibration.code_tasks import CODE_TESTS, is_code
from stellwerk.errors import InvalidRequest

SKIP = "skip"
SHARE = 0.8
CODE_REASON = "code task: grading runs the model's code; add --run-code to run it in the sandbox"
CODE_GRADED = "references are unit tests: run with the answer's code in the sandbox"
FREE_TEXT_REASON = "free-text references: no safe automatic grader"


@dataclass(frozen=True, slots=True)
class TaskGrader:
    task: str
    grader: str | None
    """None: the task is skipped, ``reason`` says why."""
    reason: str
    source: str
    """``inferred`` or ``override``."""
    prompts: int


@dataclass(frozen=True)
class Plan:
    """The gradable items, each with its grader, and the count of skipped prompts per reason."""

    items: tuple[tuple[BankItem, str], ...]
    tasks: tuple[TaskGrader, ...]
    skipped: Counter[str] = field(default_factory=Counter)

    def grader_of(self, task: str) -> str | None:
        return next((t.grader for t in self.tasks if t.task == task), None)


def infer_grader(
    items: Sequence[BankItem], code_skipped: str | None = CODE_REASON
) -> tuple[str | None, str]:
    """(grader name, why) for the items of one task; (None, reason) when none is safe.
    ``code_skipped``: why code tasks cannot be graded in this run, None when they can."""
    n = len(items)

    def share(test: Callable[[BankItem], bool]) -> float:
        return sum(1 for item in items if test(item)) / n

    if share(lambda i: is_code(i.ground_truth)) >= 0.5:
        return (None, code_skipped) if code_skipped else (CODE_TESTS, CODE_GRADED)
    letters = share(lambda i: i.ground_truth.strip().upper() in "ABCDEFGHIJ")
    if letters >= SHARE or (
        letters >= 0.5 and share(lambda i: g.is_choice_label(i.ground_truth)) >= SHARE
    ):
        return g.CHOICE_LETTER, "references are option letters"
    if share(lambda i: g.is_concept_list(i.ground_truth, i.prompt)) >= SHARE:
        return g.CONCEPT_COVERAGE, "references are the concept lists of the prompts"
    if share(lambda i: g.is_final_number(i.ground_truth)) >= SHARE:
        return g.FINAL_NUMBER, "references are numbers or solutions with a marked final answer"
    if share(lambda i: g.is_short_answer(i.ground_truth)) >= SHARE:
        return g.SHORT_ANSWER, "references are short texts"
    return None, FREE_TEXT_REASON


def parse_overrides(specs: Sequence[str]) -> dict[str, str]:
    """``["mmlu=choice-letter", "essay=skip"]`` -> a map; a malformed or unknown one is refused."""
    known = set(g.builtin_graders()) | {SKIP, CODE_TESTS}
    out: dict[str, str] = {}
    for spec in specs:
        task, sep, name = spec.partition("=")
        task, name = task.strip(), name.strip()
        if not sep or not task or not name:
            raise InvalidRequest(f"--grader {spec!r}: write TASK=GRADER", param="grader")
        if name not in known:
            raise InvalidRequest(
                f"--grader {spec!r}: unknown grader {name!r} (known: {', '.join(sorted(known))})",
                param="grader",
            )
        out[task] = name
    return out


def _fits(grader: str, item: BankItem) -> bool:
    if grader == g.CHOICE_LETTER:
        return g.is_choice_label(item.ground_truth)
    if grader == g.CONCEPT_COVERAGE:
        return bool(g.concepts(item.ground_truth))
    if grader == CODE_TESTS:
        return is_code(item.ground_truth)
    return True


def make_plan(
    bank: Bank, overrides: Mapping[str, str] | None = None, code_skipped: str | None = CODE_REASON
) -> Plan:
    """Choose a grader per task and keep the items it can grade. ``code_skipped``: why this run
    cannot grade code tasks (they are skipped with that reason); None when it can."""
    overrides = dict(overrides or {})
    forced = sorted(task for task, name in overrides.items() if name == CODE_TESTS)
    if forced and code_skipped:
        raise InvalidRequest(
            f"--grader {forced[0]}={CODE_TESTS}: this run cannot grade code ({code_skipped})",
            param="grader",
        )
    unknown = sorted(set(overrides) - set(bank.tasks))
    if unknown:
        raise InvalidRequest(
            f"--grader names tasks that are not in the bank: {', '.join(unknown)}"
            f" (its tasks: {', '.join(bank.tasks)})",
            param="grader",
        )
    by_task: dict[str, list[BankItem]] = {}
    for item in bank.items:
        by_task.setdefault(item.task, []).append(item)
    tasks: list[TaskGrader] = []
    items: list[tuple[BankItem, str]] = []
    skipped: Counter[str] = Counter()
    for task, task_items in by_task.items():
        if task in overrides:
            name = overrides[task]
            grader = None if name == SKIP else name
            reason = "skipped by --grader" if grader is None else "set by --grader"
            source = "override"
        else:
            grader, reason = infer_grader(task_items, code_skipped)
            source = "inferred"
        tasks.append(TaskGrader(task, grader, reason, source, len(task_items)))
        if grader is None:
            skipped[f"{task}: {reason}"] += len(task_items)
            continue
        for item in task_items:
            if _fits(grader, item):
                items.append((item, grader))
            else:
                skipped[f"{task}: ground_truth does not fit {grader}"] += 1
    return Plan(tuple(items), tuple(tasks), skipped)
