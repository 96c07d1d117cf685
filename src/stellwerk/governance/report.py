"""The chargeback report: usage per department, model or use case for one month, with what the
same traffic would have cost on the largest approved model (the savings from routing).

Totals are sums of the usage records in the window, nothing estimated but the baseline: the
baseline prices each record's prompt and completion tokens at the largest approved model's
internal prices (largest by parameter count).

Amounts are exact: sums of the ledger's integer micro-units, shown with all six decimals (a
request of a tiny model costs millionths, and a report must not round it to 0.00). In JSON they
are decimal strings, so no client parses them into a float.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, get_args

import orjson
from sqlalchemy import func, select

from stellwerk.config.choice import parse_choice
from stellwerk.config.schema import ModelConfig
from stellwerk.errors import InvalidRequest, shown
from stellwerk.governance.state import ModelState
from stellwerk.ledger.ledger import Ledger
from stellwerk.ledger.tables import usage
from stellwerk.ledger.usage_read import usage_filter
from stellwerk.ledger.window import Window
from stellwerk.money import from_micro, micro_text

ReportBy = Literal["department", "model", "use-case"]
REPORT_BY: tuple[ReportBy, ...] = get_args(ReportBy)
NO_USE_CASE = "(none)"


@dataclass(frozen=True, slots=True)
class ReportRow:
    group: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_micro: int
    energy_wh: float
    baseline_cost_micro: int

    @property
    def cost(self) -> Decimal:
        return from_micro(self.cost_micro)

    @property
    def baseline_cost(self) -> Decimal:
        return from_micro(self.baseline_cost_micro)

    @property
    def savings(self) -> Decimal:
        return self.baseline_cost - self.cost


@dataclass(frozen=True, slots=True)
class UsageReport:
    month: str
    by: ReportBy
    baseline_model: str | None
    rows: tuple[ReportRow, ...]
    total: ReportRow

    def as_dict(self) -> dict[str, object]:
        def row(r: ReportRow) -> dict[str, object]:
            return {
                "group": r.group,
                "requests": r.requests,
                "prompt_tokens": r.prompt_tokens,
                "completion_tokens": r.completion_tokens,
                "cost": micro_text(r.cost_micro),
                "energy_wh": r.energy_wh,
                "baseline_cost": micro_text(r.baseline_cost_micro),
                "savings": micro_text(r.baseline_cost_micro - r.cost_micro),
            }

        return {
            "month": self.month,
            "by": self.by,
            "baseline_model": self.baseline_model,
            "rows": [row(r) for r in self.rows],
            "total": row(self.total),
        }


def parse_by(value: str) -> ReportBy:
    return parse_choice(
        value, REPORT_BY, unknown="cannot report usage by", known="choose one of", param="by"
    )


def largest_approved(models: Sequence[ModelState]) -> ModelConfig | None:
    """The model routing is compared against (here and on the dashboard): the largest approved
    chat model, the first id on a tie."""
    approved = [
        s.config for s in models if s.lifecycle == "approved" and "chat" in s.config.capabilities
    ]
    return max(approved, key=lambda m: (m.params_b, m.id), default=None)


def usage_report(
    ledger: Ledger,
    *,
    month: str,
    by: ReportBy,
    models: Sequence[ModelState],
    key_use_cases: Mapping[str, str],
    department: str | None = None,
) -> UsageReport:
    """Sum the month's usage records by ``by``; ``department`` restricts to one department."""
    window = Window.month(month)
    baseline = largest_approved(models)
    statement = (
        select(
            usage.c.department,
            usage.c.model,
            usage.c.key_id,
            func.count(),
            func.coalesce(func.sum(usage.c.prompt_tokens), 0),
            func.coalesce(func.sum(usage.c.completion_tokens), 0),
            func.coalesce(func.sum(usage.c.cost_micro), 0),
            func.coalesce(func.sum(usage.c.energy_wh), 0.0),
        )
        .where(usage_filter(window, department))
        .group_by(usage.c.department, usage.c.model, usage.c.key_id)
    )
    groups: dict[str, list[float]] = {}  # requests, prompt, completion, cost micro, Wh
    with ledger.connect() as connection:
        for dept, model, key_id, n, prompt, completion, cost, energy in connection.execute(
            statement
        ):
            if by == "department":
                name = dept or "(unknown)"
            elif by == "model":
                name = model or "(no model)"
            else:
                name = key_use_cases.get(key_id, NO_USE_CASE)
            acc = groups.setdefault(name, [0, 0, 0, 0, 0.0])
            acc[0] += int(n)
            acc[1] += int(prompt)
            acc[2] += int(completion)
            acc[3] += int(cost)
            acc[4] += float(energy)
    rows = tuple(
        sorted(
            (_row(name, acc, baseline) for name, acc in groups.items()),
            key=lambda r: (-r.cost_micro, r.group),
        )
    )
    sums = [sum(col) for col in zip(*groups.values(), strict=True)] or [0] * 5
    total = _row("total", sums, baseline)
    return UsageReport(month, by, baseline.id if baseline else None, rows, total)


def _row(name: str, acc: Sequence[float], baseline: ModelConfig | None) -> ReportRow:
    """One row; its baseline prices the row's tokens exactly, rounded up once."""
    prompt, completion = int(acc[1]), int(acc[2])
    base = baseline.price.cost_micro(prompt, completion) if baseline is not None else 0
    return ReportRow(name, int(acc[0]), prompt, completion, int(acc[3]), acc[4], base)


def render(report: UsageReport, fmt: str) -> str:
    """The report as ``table`` (for people), ``csv`` or ``json``."""
    if fmt == "json":
        return orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2).decode()
    header = [
        report.by,
        "requests",
        "prompt_tokens",
        "completion_tokens",
        "cost",
        "energy_wh",
        "baseline_cost",
        "savings",
    ]
    lines = [
        [
            r.group,
            str(r.requests),
            str(r.prompt_tokens),
            str(r.completion_tokens),
            micro_text(r.cost_micro),
            f"{r.energy_wh:.3f}",
            micro_text(r.baseline_cost_micro),
            micro_text(r.baseline_cost_micro - r.cost_micro),
        ]
        for r in (*report.rows, report.total)
    ]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(lines)
        return out.getvalue()
    if fmt != "table":
        raise InvalidRequest(
            f"unknown format {shown(fmt)}; choose table, csv or json", param="format"
        )
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    title = (
        f"usage {report.month} by {report.by}; baseline: always "
        f"{report.baseline_model or '(no approved model)'}"
    )
    rendered = [title, "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    for i, line in enumerate(lines):
        if i == len(lines) - 1:
            rendered.append("  ".join("-" * w for w in widths))
        rendered.append(
            "  ".join(
                cell.ljust(w) if j == 0 else cell.rjust(w)
                for j, (cell, w) in enumerate(zip(line, widths, strict=True))
            )
        )
    return "\n".join(rendered) + "\n"
