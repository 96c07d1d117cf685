"""After a calibration run: place the calibrated models into a router artifact."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console


def check_router_out(router: Path | None, router_out: Path) -> None:
    """Refuse before the run: an artifact that does not load, an output that exists."""
    from stellwerk.errors import CalibrationError
    from stellwerk.routing.artifact import load_artifact
    from stellwerk.routing.loader import shipped_artifact

    load_artifact(router or shipped_artifact())
    if router_out.exists() and (not router_out.is_dir() or any(router_out.iterdir())):
        raise CalibrationError(f"--router-out {router_out}: exists and is not an empty folder")
    if not router_out.parent.is_dir():
        raise CalibrationError(
            f"--router-out {router_out}: the folder {router_out.parent} is missing"
        )


def place_into_router(
    summary: dict[str, Any], console: Console, *, router: Path | None, router_out: Path
) -> None:
    """Place every calibrated model the router does not know, write the new artifact."""
    from rich.console import Console as RichConsole
    from rich.table import Table

    from stellwerk.calibration.fit import place_models, prior_offset, save_placed
    from stellwerk.routing.artifact import load_artifact
    from stellwerk.routing.loader import shipped_artifact
    from stellwerk.training.data import load_model_facts, load_outcomes

    if summary["outcome_rows"] != summary["prompts"]:
        console.print("router not fitted: the run has pairs never asked; finish it first")
        return
    artifact = load_artifact(router or shipped_artifact())
    data = load_outcomes(summary["outcomes"], require_splits=False)
    facts = load_model_facts(summary["models_file"])
    placements = place_models(artifact.model, data, facts)
    if not placements:
        console.print("router not changed: it was trained on every calibrated model already")
        return
    priors = {name: prior_offset(artifact.model, name, facts) for name in placements}
    saved = save_placed(
        artifact, placements, router_out, priors=priors, data_sha256=data.sha256, facts=facts
    )
    table = Table(title=f"models placed into the router ({saved.version})")
    for name in ("model", "prompts", "measured", "offset (guess -> fitted)", "slope"):
        table.add_column(name, justify="left" if name == "model" else "right")
    for name, p in placements.items():
        table.add_row(
            name,
            str(p.prompts),
            f"{p.mean_score:.3f}",
            f"{priors[name]:+.2f} -> {p.offset:+.2f}",
            f"{p.slope:.2f}",
        )
    RichConsole(file=sys.stdout).print(table)
    typer.echo(f"router artifact: {router_out}")
    typer.echo(
        f"judge it: stellwerk router eval --data {summary['outcomes']} --router {router_out}"
    )
