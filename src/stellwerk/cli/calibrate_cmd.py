"""``stellwerk calibrate``: measure the configured models on a bank of prompts with references."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from stellwerk.cli.plain_number import plain
from stellwerk.cli.whole_number import whole
from stellwerk.errors import StellwerkError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Task
    from rich.text import Text

    from stellwerk.calibration.calibrate import Prepared


def calibrate(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="Path of stellwerk.yaml.", show_default=False)
    ],
    bank: Annotated[
        Path,
        typer.Option(
            help="Bank of prompts with ground_truth (routing-outcome JSONL).", show_default=False
        ),
    ],
    models: Annotated[
        str | None, typer.Option(help="Comma-separated model ids (default: every chat model).")
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            parser=whole(least=1), help="At most N prompts, taken from every task in turn."
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option(parser=whole(least=1), help="Requests in flight per backend.")
    ] = 2,
    out: Annotated[
        Path | None,
        typer.Option(help="Outcomes JSONL (default: BANK-calibrated.jsonl in this folder)."),
    ] = None,
    max_tokens: Annotated[
        int, typer.Option(parser=whole(least=1), help="Answer length limit per prompt.")
    ] = 512,
    timeout: Annotated[
        float | None,
        typer.Option(
            parser=plain(above=0),
            help="Seconds per answer (default: the backend's timeouts.total).",
        ),
    ] = None,
    grader: Annotated[
        list[str] | None,
        typer.Option(help="TASK=GRADER or TASK=skip; overrides the inferred grader. Repeatable."),
    ] = None,
    run_code: Annotated[
        bool,
        typer.Option(
            help="Grade code tasks by running the answers' code with the tests in the sandbox."
        ),
    ] = False,
    run_code_without_network_isolation: Annotated[
        bool,
        typer.Option(
            help="With --run-code: run the code even where the sandbox cannot cut the network off."
        ),
    ] = False,
    code_timeout: Annotated[
        float,
        typer.Option(parser=plain(above=0), help="Wall-clock seconds per sandboxed code run."),
    ] = 10.0,
    code_python: Annotated[
        str | None,
        typer.Option(help="Interpreter for code runs (default: the one running Stellwerk)."),
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show the progress bar on stderr.")] = True,
    record: Annotated[
        bool, typer.Option(help="Store the evaluation record of every model in the ledger.")
    ] = True,
    watts: Annotated[
        list[str] | None,
        typer.Option(help="Power draw while serving, W or MODEL=W: proposes energy costs."),
    ] = None,
    hourly_cost: Annotated[
        list[str] | None,
        typer.Option(help="Cost of an hour of the hardware, C or MODEL=C: proposes prices."),
    ] = None,
    apply: Annotated[
        bool, typer.Option(help="Apply the proposed catalog costs without asking (audited).")
    ] = False,
    router: Annotated[
        Path | None,
        typer.Option(help="Router artifact to place the models into (default: the shipped one)."),
    ] = None,
    router_out: Annotated[
        Path | None,
        typer.Option(help="Write the router with the calibrated models placed into it here."),
    ] = None,
) -> None:
    """Ask every configured model every prompt of the bank, grade the answers, write outcomes.

    Interrupted runs resume: run the same command again; answered pairs are not asked again.
    """
    from rich.console import Console

    from stellwerk.calibration.calibrate import CodeRuns, Request, finish, prepare
    from stellwerk.calibration.costs import per_model
    from stellwerk.calibration.plan import parse_overrides
    from stellwerk.calibration.runner import Settings
    from stellwerk.calibration.sandbox import Limits
    from stellwerk.cli.calibrate_fit import check_router_out, place_into_router
    from stellwerk.cli.calibrate_record import record_and_propose
    from stellwerk.config import load_config
    from stellwerk.ledger.ledger import Ledger, open_ledger

    console = Console(stderr=True)
    target = out or Path(f"{bank.stem}-calibrated.jsonl")
    try:
        cfg = load_config(config)
        request = Request(
            bank=bank,
            out=target,
            models=tuple(m.strip() for m in models.split(",") if m.strip()) if models else None,
            limit=limit,
            overrides=parse_overrides(grader or []),
            settings=Settings(max_tokens=max_tokens, concurrency=concurrency, timeout_s=timeout),
            code=CodeRuns(
                run=run_code or run_code_without_network_isolation,
                without_network_isolation=run_code_without_network_isolation,
                limits=Limits(wall_s=code_timeout),
                python=code_python or sys.executable,
            ),
        )
        prepared = prepare(cfg, request)
    except StellwerkError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from exc
    ledger: Ledger | None = None
    try:
        names = [m.id for m in prepared.models]
        watts_map = per_model("--watts", watts or [], names)
        hourly_map = per_model("--hourly-cost", hourly_cost or [], names)
        if router_out is not None:
            check_router_out(router, router_out)
        if record or watts_map or hourly_map:
            ledger = open_ledger(cfg.server.database_url)  # fails now, not after the run
        _describe_plan(console, prepared)
        try:
            summary = _run(prepared, console, show=progress)
        except KeyboardInterrupt:
            summary = finish(prepared)
            _print_summary(console, summary)
            console.print(
                f"interrupted: {summary['open_pairs']} pairs open; run the same command again"
                " to continue"
            )
            raise typer.Exit(130) from None
        _print_summary(console, summary)
        if ledger is not None:
            record_and_propose(
                cfg,
                summary,
                console,
                ledger,
                record=record,
                watts=watts_map,
                hourly_cost=hourly_map,
                apply=apply,
            )
        if router_out is not None:
            place_into_router(summary, console, router=router, router_out=router_out)
    except StellwerkError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from exc
    finally:
        prepared.close()
        if ledger is not None:
            ledger.close()


def _run(prepared: Prepared, console: Console, *, show: bool) -> dict[str, Any]:
    import asyncio

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from stellwerk.calibration.calibrate import execute

    bar = Progress(
        TextColumn("calibrating"),
        BarColumn(),
        MofNCompleteColumn(),
        _rate_column(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        disable=not show,
    )
    task_id = bar.add_task("pairs", total=None)

    def on_start(total: int, done: int) -> None:
        if done:
            console.print(f"resuming: {done} of {total} pairs already answered")
        bar.reset(task_id, total=total, completed=done)

    def on_done(entry: Any) -> None:
        bar.advance(task_id)

    with bar:
        return asyncio.run(execute(prepared, os.environ, on_start=on_start, on_done=on_done))


def _rate_column() -> Any:
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        """Pairs per second since the (re)start."""

        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            return Text("-/s" if speed is None else f"{speed:.2f}/s")

    return RateColumn()


def _describe_plan(console: Console, prepared: Prepared) -> None:
    bank = prepared.bank
    console.print(
        f"bank {bank.path} (sha256 {bank.sha256[:12]}): {len(bank.items)} usable lines,"
        f" {len(prepared.items)} prompts x {len(prepared.models)} models"
    )
    for reason, count in bank.skipped.most_common():
        console.print(f"  skipped {count} lines: {reason}")
    for task in prepared.plan.tasks:
        how = task.grader or "skipped"
        console.print(f"  {task.task}: {how} ({task.source}: {task.reason})")
    for reason, count in prepared.plan.skipped.most_common():
        console.print(f"  skipped {count} prompts: {reason}")
    if prepared.sandbox is not None and not prepared.sandbox.isolate:
        console.print(
            "  warning: code tasks run WITHOUT network isolation"
            " (--run-code-without-network-isolation)"
        )


_KINDS = {"context": "over context"}
"""How the table names an error kind where its key says too little."""


def _print_summary(console: Console, summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="calibration")
    for name in ("model", "quality", "answered", "errors", "tok/s", "TTFT p50 ms", "lat p50 ms"):
        table.add_column(name, justify="left" if name == "model" else "right")
    for model, facts in summary["models"].items():
        errors = ", ".join(f"{_KINDS.get(k, k)} {v}" for k, v in facts["errors"].items()) or "0"
        table.add_row(
            model,
            _fmt(facts["quality"], 3),
            f"{facts['answered']}/{facts['pairs']}",
            errors,
            _fmt(facts["tokens_per_s"], 1),
            _fmt(facts["ttft_ms_p50"], 0),
            _fmt(facts["latency_ms_p50"], 0),
        )
    Console(file=sys.stdout).print(table)
    typer.echo(f"outcomes: {summary['outcomes']} ({summary['outcome_rows']} rows)")
    for model, facts in summary["models"].items():
        refused = facts["does_not_fit"]
        if refused["pairs"]:
            pairs = _pairs(refused["pairs"])
            verb = "does" if refused["pairs"] == 1 else "do"
            typer.echo(
                f"{pairs} {verb} not fit {model}'s context ({refused['context_length']:,}"
                " tokens): scored 0, not asked again"
            )
    if summary["complete"]:
        typer.echo("nothing open: every pair is answered or scored for good")
    else:
        typer.echo(f"{_pairs(summary['open_pairs'])} open: run the same command again to continue")


def _pairs(count: int) -> str:
    return f"{count} pair" if count == 1 else f"{count} pairs"


def _fmt(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def register(app: typer.Typer) -> None:
    app.command()(calibrate)
