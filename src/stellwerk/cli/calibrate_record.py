"""After a calibration run: store the evaluation records in the ledger, and propose catalog costs
from the measured speed, applied only when the operator confirms (``--apply`` or the prompt)."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from stellwerk.calibration.costs import CostProposal
    from stellwerk.config.schema import StellwerkConfig
    from stellwerk.ledger.ledger import Ledger


def actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def record_and_propose(
    cfg: StellwerkConfig,
    summary: dict[str, Any],
    console: Console,
    ledger: Ledger,
    *,
    record: bool,
    watts: Mapping[str, float],
    hourly_cost: Mapping[str, float],
    apply: bool,
) -> None:
    """Store the run's records (once per run, again only if the run asked something new), show
    the cost proposal and apply it when confirmed."""
    from stellwerk.calibration.costs import propose_all
    from stellwerk.calibration.records import CalibrationStore, records_from_summary
    from stellwerk.config.loader import config_hash

    if summary["outcome_rows"] != summary["prompts"]:
        console.print("not recorded: the run has pairs never asked; finish it first")
        return
    store = CalibrationStore(ledger)
    who = actor()
    if record and (summary["asked_now"] or not store.has_run(summary["run_id"])):
        records = records_from_summary(summary, actor=who, config_hash=config_hash(cfg))
        stored = store.add(records)
        console.print(
            f"evaluation records stored in the ledger ({ledger.url}): run {summary['run_id']},"
            f" {len(stored)} models"
        )
    if not (watts or hourly_cost):
        return
    proposals = propose_all(cfg, summary, watts, hourly_cost)
    _print_proposals(proposals)
    changed = [p for p in proposals if p.changes]
    if not changed:
        console.print("no cost changes to propose")
        return
    if not apply and sys.stdin.isatty():
        apply = typer.confirm(f"apply the new costs of {len(changed)} models?", default=False)
    if not apply:
        typer.echo("not applied: run the same command with --apply (nothing is asked again)")
        return
    applied = store.apply_costs(
        _entries(changed, who, summary["run_id"]), config_hash=config_hash(cfg)
    )
    typer.echo(f"applied and audited the costs of {', '.join(e.model for e in applied)}")


def _entries(proposals: Sequence[CostProposal], who: str, run_id: str) -> list[Any]:
    from stellwerk.calibration.records import CostEntry

    return [
        CostEntry(
            model=p.model,
            input_per_mtok=p.proposed.input_per_mtok,
            output_per_mtok=p.proposed.output_per_mtok,
            energy_wh_per_1k_tokens=p.proposed.energy_wh_per_1k_tokens,
            actor=who,
            basis=p.basis,
            calibration_run=run_id,
        )
        for p in proposals
    ]


def _print_proposals(proposals: Sequence[CostProposal]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="proposed catalog costs (current -> measured)")
    for name in ("model", "input / 1M tok", "output / 1M tok", "Wh / 1k tok"):
        table.add_column(name, justify="left" if name == "model" else "right")
    for p in proposals:
        table.add_row(
            p.model,
            _change(p.current.input_per_mtok, p.proposed.input_per_mtok),
            _change(p.current.output_per_mtok, p.proposed.output_per_mtok),
            _change(p.current.energy_wh_per_1k_tokens, p.proposed.energy_wh_per_1k_tokens),
        )
    Console(file=sys.stdout).print(table)


def _change(before: float, after: float) -> str:
    return f"{before:.4g}" if before == after else f"{before:.4g} -> {after:.4g}"
