"""The run: every (prompt, model) pair not yet settled (``Checkpoint.settled``), asked with
bounded concurrency per backend, graded as it arrives, and written to the checkpoint before it
counts as done."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from stellwerk.backends.base import Backend
from stellwerk.calibration.ask import Answer, ask
from stellwerk.calibration.bank import BankItem
from stellwerk.calibration.checkpoint import Checkpoint
from stellwerk.calibration.code_tasks import CODE_TESTS, Checked, CodeGrader
from stellwerk.calibration.graders import Grader
from stellwerk.config.schema import ModelConfig
from stellwerk.errors import CalibrationError

Progress = Callable[[Mapping[str, Any]], None]


@dataclass(frozen=True, slots=True)
class Settings:
    max_tokens: int = 512
    concurrency: int = 2
    """Requests in flight per backend, so that production traffic keeps flowing."""
    timeout_s: float | None = None
    """Whole-answer time limit; None: the backend's ``timeouts.total``."""


@dataclass(frozen=True, slots=True)
class Job:
    item: BankItem
    grader: str
    model: ModelConfig


def pending_jobs(
    items: Sequence[tuple[BankItem, str]], models: Sequence[ModelConfig], checkpoint: Checkpoint
) -> list[Job]:
    """The pairs still to ask, model by model (servers that swap models in memory, such as
    llama.cpp's, then load each model once)."""
    return [
        Job(item, grader, model)
        for model in models
        for item, grader in items
        if not checkpoint.settled((item.id, model.id), model.context_length)
    ]


def entry_of(
    job: Job, answer: Answer, graders: Mapping[str, Grader], checked: Checked | None = None
) -> dict[str, Any]:
    """The checkpoint line of a finished pair; an error scores 0 (the user got no answer).
    ``checked``: the sandbox's verdict on a code task (its ``detail`` is kept as ``check``).
    The model's configured ``context_length`` is kept: a refusal for the context is final while
    it stays the same (``Checkpoint.settled``)."""
    score = 0.0
    if not answer.error and checked is not None:
        score = checked.score
    elif not answer.error:
        try:
            score = graders[job.grader](answer.text, job.item.ground_truth)
        except Exception as exc:  # a grader's bug must not end a run of hours: record it
            answer = _grader_failed(answer, job, exc)
    entry = {
        "id": job.item.id,
        "model": job.model.id,
        "task": job.item.task,
        "grader": job.grader,
        "score": score,
        **asdict(answer),
        "decode_tokens_per_s": answer.decode_tokens_per_s,
        "context_length": job.model.context_length,
    }
    if checked is not None and not answer.error:
        entry["check"] = checked.detail
    return entry


def _grader_failed(answer: Answer, job: Job, exc: Exception) -> Answer:
    return replace(
        answer, error="grader", error_message=f"{job.grader}: {type(exc).__name__}: {exc}"
    )


async def graded_entry(
    job: Job, answer: Answer, graders: Mapping[str, Grader], code: CodeGrader | None
) -> dict[str, Any]:
    """``entry_of``, with code tasks run in the sandbox first (off the event loop)."""
    if job.grader != CODE_TESTS or answer.error:
        return entry_of(job, answer, graders)
    if code is None:
        raise CalibrationError(f"{job.item.task}: a code task was planned without a sandbox")
    try:
        checked = await code.grade(answer.text, job.item)
    except Exception as exc:  # the sandbox failed, not the model: asked again by the next run
        return entry_of(job, _grader_failed(answer, job, exc), graders)
    return entry_of(job, answer, graders, checked)


async def run_jobs(
    jobs: Sequence[Job],
    backends: Mapping[str, Backend],
    checkpoint: Checkpoint,
    graders: Mapping[str, Grader],
    settings: Settings,
    on_done: Progress | None = None,
    code: CodeGrader | None = None,
) -> int:
    """Ask every job; returns how many were asked. Failures of a model are recorded, not raised."""
    queues: dict[str, asyncio.Queue[Job]] = {}
    for job in jobs:
        queues.setdefault(job.model.backend, asyncio.Queue()).put_nowait(job)

    async def worker(queue: asyncio.Queue[Job]) -> None:
        while True:
            try:
                job = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            backend = backends[job.model.backend]
            timeout = settings.timeout_s or backend.config.timeouts.total
            answer = await ask(
                backend,
                job.model.upstream,
                job.item.prompt,
                max_tokens=settings.max_tokens,
                timeout_s=timeout,
            )
            entry = await graded_entry(job, answer, graders, code)
            await asyncio.to_thread(checkpoint.append, entry)
            if on_done is not None:
                on_done(entry)

    try:
        async with asyncio.TaskGroup() as group:
            for queue in queues.values():
                for _ in range(max(1, settings.concurrency)):
                    group.create_task(worker(queue))
    except* CalibrationError as failed:  # the checkpoint cannot be written: stop with its reason
        raise failed.exceptions[0] from None
    return len(jobs)
