"""A calibration run from start to end: check everything before the first request, ask the pairs
still open, then write the outcomes and the summary.

    prepared = prepare(config, Request(bank=..., out=...))   # every input error raises here
    summary = asyncio.run(execute(prepared, os.environ))      # model failures are recorded
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stellwerk.calibration.bank import Bank, BankItem, read_bank
from stellwerk.calibration.checkpoint import Checkpoint
from stellwerk.calibration.code_tasks import CodeGrader
from stellwerk.calibration.graders import builtin_graders
from stellwerk.calibration.outcomes import (
    model_summary,
    models_file,
    models_path,
    outcome_rows,
    write_json,
    write_jsonl,
)
from stellwerk.calibration.plan import CODE_REASON, Plan, make_plan
from stellwerk.calibration.runner import Progress, Settings, pending_jobs, run_jobs
from stellwerk.calibration.sandbox import Limits, Sandbox, probe
from stellwerk.config.schema import ModelConfig, StellwerkConfig
from stellwerk.errors import CalibrationError


@dataclass(frozen=True)
class CodeRuns:
    """Whether code tasks are graded by running the answers' code (docs/calibration.md)."""

    run: bool = False
    without_network_isolation: bool = False
    """Run it even where the sandbox cannot cut the network off (an explicit opt-in)."""
    limits: Limits = field(default_factory=Limits)
    python: str = sys.executable


@dataclass(frozen=True)
class Request:
    bank: Path
    out: Path
    models: tuple[str, ...] | None = None
    """Model ids of the config; None: every chat model that is not retired."""
    limit: int | None = None
    """At most this many prompts, taken from the tasks in turn so that every task is in."""
    overrides: Mapping[str, str] = field(default_factory=dict)
    settings: Settings = field(default_factory=Settings)
    code: CodeRuns = field(default_factory=CodeRuns)


@dataclass
class Prepared:
    config: StellwerkConfig
    request: Request
    bank: Bank
    plan: Plan
    items: tuple[tuple[BankItem, str], ...]
    models: tuple[ModelConfig, ...]
    checkpoint: Checkpoint
    sandbox: Sandbox | None = None
    """Where code tasks run; None when this run grades none."""

    @property
    def summary_path(self) -> Path:
        return summary_path(self.request.out)

    def close(self) -> None:
        self.checkpoint.close()


def checkpoint_path(out: Path) -> Path:
    return out.with_name(out.name + ".checkpoint")


def summary_path(out: Path) -> Path:
    return out.with_name(out.stem + ".summary.json")


def select_models(config: StellwerkConfig, names: Sequence[str] | None) -> tuple[ModelConfig, ...]:
    if not names:
        chosen = tuple(
            m for m in config.models if "chat" in m.capabilities and m.lifecycle != "retired"
        )
        if not chosen:
            raise CalibrationError("the config has no chat model to calibrate")
        return chosen
    known = {m.id: m for m in config.models}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise CalibrationError(
            f"--models: {', '.join(unknown)} not in the config (its models: {', '.join(known)})"
        )
    not_chat = [name for name in names if "chat" not in known[name].capabilities]
    if not_chat:
        raise CalibrationError(f"--models: {', '.join(not_chat)} cannot chat (capabilities)")
    return tuple(known[name] for name in dict.fromkeys(names))


def select_items(
    items: Sequence[tuple[BankItem, str]], limit: int | None
) -> tuple[tuple[BankItem, str], ...]:
    """The first ``limit`` items taking the tasks in turn (round robin), in bank order."""
    if limit is None or limit >= len(items):
        return tuple(items)
    if limit < 1:
        raise CalibrationError(f"--limit must be at least 1, not {limit}")
    by_task: dict[str, list[tuple[BankItem, str]]] = {}
    for pair in items:
        by_task.setdefault(pair[0].task, []).append(pair)
    chosen: set[str] = set()
    queues = [iter(group) for group in by_task.values()]
    while len(chosen) < limit:
        for queue in queues:
            taken = next(queue, None)
            if taken is not None and len(chosen) < limit:
                chosen.add(taken[0].id)
    return tuple(pair for pair in items if pair[0].id in chosen)


def check_writable(out: Path) -> None:
    """Refuse an output that cannot be written, before any request is sent."""
    parent = out.parent
    if not parent.is_dir():
        raise CalibrationError(f"--out {out}: the folder {parent} does not exist")
    if out.is_dir():
        raise CalibrationError(f"--out {out}: is a folder; give a file name")
    for path in (out, summary_path(out), models_path(out)):
        if path.exists() and not os.access(path, os.W_OK):
            raise CalibrationError(f"--out {out}: {path} is not writable")
    try:
        fd, probe = tempfile.mkstemp(dir=parent, prefix=".stellwerk-probe-")
    except OSError as exc:
        raise CalibrationError(f"--out {out}: cannot write in {parent} ({exc.strerror})") from exc
    os.close(fd)
    Path(probe).unlink()


def choose_sandbox(code: CodeRuns) -> tuple[Sandbox | None, str | None]:
    """(the sandbox, None), or (None, why code tasks are skipped). Fails closed: without
    network isolation code runs only when the user said so."""
    if not code.run:
        return None, CODE_REASON
    why = probe(code.python)
    if why is None:
        return Sandbox(code.limits, isolate=True, python=code.python), None
    if not why.startswith("cannot isolate"):
        return None, f"code task: {why}"
    if not code.without_network_isolation:
        return None, (
            f"code task: the sandbox cannot cut the network off here ({why});"
            " add --run-code-without-network-isolation to run the code anyway"
        )
    why = probe(code.python, isolate=False)
    if why is None:
        return Sandbox(code.limits, isolate=False, python=code.python), None
    return None, f"code task: {why}"


def prepare(config: StellwerkConfig, request: Request) -> Prepared:
    """Read the bank, choose graders, models and prompts, and open the checkpoint."""
    if request.settings.max_tokens < 1:
        raise CalibrationError("--max-tokens must be at least 1")
    if request.settings.concurrency < 1:
        raise CalibrationError("--concurrency must be at least 1")
    models = select_models(config, request.models)
    bank = read_bank(request.bank)
    wall = request.code.limits.wall_s
    if not math.isfinite(wall) or wall <= 0:
        raise CalibrationError(
            f"--code-timeout must be a finite number of seconds above 0, not {wall}"
        )
    sandbox, code_skipped = choose_sandbox(request.code)
    plan = make_plan(bank, request.overrides, code_skipped)
    if not plan.items:
        raise CalibrationError(f"{request.bank}: no prompt can be graded ({_reasons(plan)})")
    items = select_items(plan.items, request.limit)
    check_writable(request.out)
    header = {"bank_sha256": bank.sha256, "max_tokens": request.settings.max_tokens}
    checkpoint = Checkpoint.open(checkpoint_path(request.out), header)
    return Prepared(config, request, bank, plan, items, models, checkpoint, sandbox)


async def execute(
    prepared: Prepared,
    environ: Mapping[str, str],
    *,
    on_start: Callable[[int, int], None] | None = None,
    on_done: Progress | None = None,
) -> dict[str, Any]:
    """Ask the open pairs; ``on_start(total, already_done)`` then ``on_done(entry)`` per pair."""
    from stellwerk.backends.build import build_backends, build_client

    jobs = pending_jobs(prepared.items, prepared.models, prepared.checkpoint)
    total = len(prepared.items) * len(prepared.models)
    if on_start is not None:
        on_start(total, total - len(jobs))
    client = build_client()
    settings = prepared.request.settings
    code = None if prepared.sandbox is None else CodeGrader(prepared.sandbox, settings.concurrency)
    try:
        backends = build_backends(prepared.config, client, environ)
        await run_jobs(
            jobs,
            backends,
            prepared.checkpoint,
            builtin_graders(),
            settings,
            on_done,
            code,
        )
    finally:
        await client.aclose()
    return finish(prepared, asked=len(jobs))


def finish(prepared: Prepared, *, asked: int = 0) -> dict[str, Any]:
    """Write the outcomes (complete rows only) and the summary from what the checkpoint holds."""
    entries = prepared.checkpoint.entries
    items, models = prepared.items, prepared.models
    rows = outcome_rows(items, models, entries)
    write_jsonl(prepared.request.out, rows)
    write_json(models_path(prepared.request.out), models_file(models))
    ids = {item.id for item, _ in items}
    pending = sum(
        1
        for item, _ in items
        for m in models
        if not prepared.checkpoint.settled((item.id, m.id), m.context_length)
    )
    settings = prepared.request.settings
    summary: dict[str, Any] = {
        "run_id": prepared.checkpoint.run_id,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "bank": {
            "path": str(prepared.bank.path),
            "sha256": prepared.bank.sha256,
            "usable_lines": len(prepared.bank.items),
            "skipped_lines": dict(prepared.bank.skipped),
        },
        "graders": [
            {"task": t.task, "grader": t.grader, "reason": t.reason, "source": t.source}
            for t in prepared.plan.tasks
        ],
        "skipped_prompts": dict(prepared.plan.skipped),
        "prompts": len(items),
        "outcome_rows": len(rows),
        "open_pairs": pending,
        "asked_now": asked,
        "complete": pending == 0,
        "settings": {"max_tokens": settings.max_tokens, "concurrency": settings.concurrency},
        "code": _code_facts(prepared.sandbox),
        "outcomes": str(prepared.request.out),
        "models_file": str(models_path(prepared.request.out)),
        "models": {
            m.id: model_summary(
                m, (e for (i, mid), e in entries.items() if mid == m.id and i in ids)
            )
            for m in models
        },
    }
    write_json(prepared.summary_path, summary)
    return summary


def _code_facts(sandbox: Sandbox | None) -> dict[str, Any]:
    if sandbox is None:
        return {"run": False}
    return {
        "run": True,
        "network_isolated": sandbox.isolate,
        "python": sandbox.python,
        "limits": asdict(sandbox.limits),
    }


def _reasons(plan: Plan) -> str:
    return "; ".join(f"{n} {reason}" for reason, n in plan.skipped.most_common()) or "empty"
