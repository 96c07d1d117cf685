"""What ``stellwerk init`` shows of a proposal: the table, the notes, and the header lines the
written config starts with."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from stellwerk.configurator.engines import Served
    from stellwerk.configurator.needs import Needs
    from stellwerk.configurator.select import Proposal
    from stellwerk.modelfacts import Catalog

# backends, served models, header comment lines, engine script lines
Plan = tuple[list[dict[str, object]], list["Served"], list[str], list[str]]


def error(console: Console, message: str) -> None:
    from rich.markup import escape

    console.print("[red]error:[/] " + escape(message), soft_wrap=True)


def from_proposal(
    catalog: Catalog, needs: Needs, host: str, out: Console, err: Console
) -> Plan | None:
    from rich.markup import escape

    from stellwerk.configurator.engines import plan
    from stellwerk.configurator.select import propose

    proposal = propose(catalog, needs)
    if not proposal.fits:
        for note in proposal.notes:
            error(err, note)
        if proposal.smallest is None:
            for model_id, reason in proposal.excluded:
                err.print(f"  {model_id}: {reason}", markup=False, soft_wrap=True)
        err.print("nothing written")
        return None
    out.print(table(proposal))
    for note in proposal.notes:
        out.print(f"  {note}", markup=False, soft_wrap=True)
    engine_plan = plan(proposal.picks, needs, host)
    for note in engine_plan.notes:
        err.print(f"[yellow]warning:[/] {escape(note)}", soft_wrap=True)
    header = proposal_header(proposal) + [f"WARNING: {note}" for note in engine_plan.notes]
    return list(engine_plan.backends), list(engine_plan.served), header, list(engine_plan.commands)


def table(proposal: Proposal) -> Table:
    from rich.markup import escape
    from rich.table import Table

    needs = proposal.needs
    table = Table(title=f"Proposed models for {needs.engine} on {needs.memory_label}")
    for column in ("class", "model", "params", "memory", "context", "licence", "why"):
        table.add_column(column, overflow="fold")
    for pick in proposal.picks:
        model = pick.model
        params = f"{model.params_b:g}B"
        if model.is_moe:
            params += f" ({model.active_params_b:g}B active)"
        cells = (
            pick.size_class,
            f"{model.id}\n{model.name}",
            params,
            f"{pick.memory_gb:.1f} GB ({pick.quant})",
            str(min(needs.context, model.context_length or needs.context)),
            model.licence,
            "\n".join(pick.reasons[1:]),
        )
        table.add_row(*(escape(cell) for cell in cells))
    return table


def proposal_header(proposal: Proposal) -> list[str]:
    needs = proposal.needs
    lines = [
        f"engine {needs.engine}, {needs.memory_label}, context {needs.context} tokens, "
        f"languages {', '.join(needs.languages) or 'any'}, openness {needs.openness}, "
        f"licences {', '.join(needs.licences) or 'any'}, "
        f"preferred families {', '.join(needs.families) or 'none'}, "
        f"use cases {', '.join(needs.use_cases)}, "
        f"data up to {needs.highest_classification}",
    ]
    for pick in proposal.picks:
        lines.append(f"{pick.size_class}: {pick.model.id} ({pick.model.name})")
        lines.extend(f"  - {reason}" for reason in pick.reasons)
    lines.extend(proposal.notes)
    return lines
