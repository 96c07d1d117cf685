"""The chargeback report: usage per department, model, key or use case for one month, with what
the same traffic would have cost without routing (the savings from routing).

The sum of the rows is the row named ``TOTAL`` (``(total)``), which no department, model, key or
use case can be named (``config.base.check_name`` takes no parentheses; a key id is a name or
``key-`` and hex digits), so a script or a spreadsheet tells it from a group named ``total``. The
CSV's last column, ``month``, names the month each row covers: the rows of several months' exports
can be put in one file and still be told apart. A key is named by its id, never by its secret.

Totals are sums of the usage records in the window, nothing estimated but the baseline. The
baseline follows the dashboard's rule (stellwerk.governance.baseline): each routed request
(``auto...``) is priced at the internal prices of the largest model its key may use (its
reference); a request that named a model, an embedding, a request refused before a model was
chosen and a request of a key that may use no model were not routed or have nothing to compare
with, so they count at their own cost and save nothing. A routed baseline within the ledger's
rounding of the routed cost (one micro-unit a request) is that cost: no saving
(``stellwerk.money.within_rounding``, the dashboard's rule).

A routed request's reference is the one its usage record keeps: the gateway stores it with the
record (``usage.reference_model``, ``usage.reference_cost_micro``: what the reference would have
charged for the same tokens, at its price then), so a closed month reported again after a model
was retired, a price changed or a key's allow-list changed reads the same. Records written
before the ledger kept a reference (null) are compared with today's references, the models a
key may use when the report is made; each row says how many of its requests were
(``compared_today``), and the table's title and the JSON's ``baseline_models_as_of`` say when
today's references were taken.

Refused and failed requests are counted apart, as the dashboard counts them: ``refused`` the
requests refused for what they asked (a 4xx: a policy, a limit, a bad request), ``failed`` those a
backend failed (a 5xx); both are among ``requests``.

Amounts are exact: sums of the ledger's integer micro-units, shown with all six decimals (a
request of a tiny model costs millionths, and a report must not round it to 0.00). In JSON they
are decimal strings, so no client parses them into a float. Energy is an estimate summed in
floating point; in JSON it is rounded to ``ENERGY_DECIMALS`` (micro-watt-hours), which drops the
sum's binary noise (0.1 + 0.2 is 0.30000000000000004) and keeps a tiny request's share.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal, get_args

import orjson

from stellwerk.config.choice import parse_choice
from stellwerk.config.schema import ModelConfig
from stellwerk.errors import InvalidRequest, shown
from stellwerk.ledger.chargeback import UsageGroup
from stellwerk.ledger.ledger import Ledger
from stellwerk.ledger.tables import IDLE_GROUP
from stellwerk.ledger.window import Window
from stellwerk.money import from_micro, micro_text, within_rounding

ReportBy = Literal["department", "model", "key", "use-case"]
REPORT_BY: tuple[ReportBy, ...] = get_args(ReportBy)
NO_USE_CASE = "(none)"
NO_MODEL = "(no model)"  # refused or failed before a model was chosen
TOTAL = "(total)"  # the sum of the rows: no group's name (names hold no parentheses)
ENERGY_DECIMALS = 6


@dataclass(frozen=True, slots=True)
class ReportRow:
    group: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_micro: int
    energy_wh: float
    baseline_cost_micro: int
    refused: int
    failed: int
    compared_today: int = 0
    """Of the routed requests, those whose records keep no reference (written before the
    ledger kept one): compared with today's reference of their key."""

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
    rows: tuple[ReportRow, ...]
    total: ReportRow
    references_as_of: datetime
    """When today's references were taken (the report's own time): those of the records that
    keep no reference of their own (``ReportRow.compared_today``)."""
    today_models: tuple[str, ...] = ()
    """Today's references of the routed requests compared (of the records that keep none)."""
    recorded_models: tuple[str, ...] = ()
    """The references the records compared keep (a model can be one of today's too)."""

    @property
    def baseline_models(self) -> tuple[str, ...]:
        """Every reference model of the routed requests compared, recorded or today's."""
        return tuple(sorted({*self.today_models, *self.recorded_models}))

    def as_dict(self) -> dict[str, object]:
        def row(r: ReportRow) -> dict[str, object]:
            return {
                "group": r.group,
                "requests": r.requests,
                "prompt_tokens": r.prompt_tokens,
                "completion_tokens": r.completion_tokens,
                "cost": micro_text(r.cost_micro),
                "energy_wh": round(r.energy_wh, ENERGY_DECIMALS),
                "baseline_cost": micro_text(r.baseline_cost_micro),
                "savings": micro_text(r.baseline_cost_micro - r.cost_micro),
                "refused": r.refused,
                "failed": r.failed,
                "compared_today": r.compared_today,
            }

        return {
            "month": self.month,
            "by": self.by,
            "baseline_models": list(self.baseline_models),
            "baseline_models_today": list(self.today_models),
            "baseline_models_as_of": _instant(self.references_as_of),
            "rows": [row(r) for r in self.rows],
            "total": row(self.total),
        }


def parse_by(value: str) -> ReportBy:
    return parse_choice(
        value, REPORT_BY, unknown="cannot report usage by", known="choose one of", param="by"
    )


def usage_report(
    ledger: Ledger,
    *,
    month: str,
    by: ReportBy,
    references: Mapping[str, ModelConfig | None],
    key_use_cases: Mapping[str, str],
    department: str | None = None,
) -> UsageReport:
    """Sum the month's usage records by ``by``; ``references``: each key's reference model now
    (stellwerk.governance.baseline.key_references), for the records that keep none of their
    own; ``department`` restricts to one department."""
    window = Window.month(month)
    groups: dict[str, _Group] = {}
    today: set[str] = set()  # today's references, of records that keep none
    recorded: set[str] = set()  # the references the records keep
    for sums in ledger.usage_groups(window, department=department):
        if by == "department":
            name = sums.department or "(unknown)"
        elif by == "model":
            name = IDLE_GROUP if sums.idle else sums.model or NO_MODEL
        elif by == "key":
            name = sums.key_id
        else:
            name = key_use_cases.get(sums.key_id, NO_USE_CASE)
        group = groups.setdefault(name, _Group())
        compared = sums.routed and bool(sums.model)
        if compared and sums.reference_model is not None:
            group.add_recorded(sums)
            recorded.add(sums.reference_model)
            continue
        reference = references.get(sums.key_id) if compared else None
        group.add(sums, reference, today=reference is not None)
        if reference is not None:
            today.add(reference.id)
    rows = tuple(
        sorted(
            (group.row(name) for name, group in groups.items()),
            key=lambda r: (-r.cost_micro, r.group),
        )
    )
    total = _Group()
    for group in groups.values():
        total.merge(group)
    return UsageReport(
        month,
        by,
        rows,
        total.row(TOTAL),
        references_as_of=datetime.now(UTC),
        today_models=tuple(sorted(today)),
        recorded_models=tuple(sorted(recorded)),
    )


def _instant(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


class _Group:
    """The sums of one row: the recorded references' costs as stored; the routed tokens of the
    records without one by today's reference model, priced once per row."""

    def __init__(self) -> None:
        self.requests = self.prompt = self.completion = self.cost = self.unrouted_cost = 0
        self.routed_requests = self.routed_cost = 0
        self.recorded_baseline = self.today = 0
        self.refused = self.failed = 0
        self.energy = 0.0
        self.routed: dict[str, tuple[ModelConfig, int, int]] = {}

    def _count(self, sums: UsageGroup) -> None:
        self.requests += sums.requests
        self.prompt += sums.prompt_tokens
        self.completion += sums.completion_tokens
        self.cost += sums.cost_micro
        self.energy += sums.energy_wh
        self.refused += sums.refused
        self.failed += sums.failed

    def add_recorded(self, sums: UsageGroup) -> None:
        """Routed records that keep their reference's cost: compared with it as stored."""
        self._count(sums)
        self.recorded_baseline += sums.reference_cost_micro

    def add(self, sums: UsageGroup, reference: ModelConfig | None, *, today: bool) -> None:
        """Records that keep no reference: ``reference`` is their key's today (None: not
        compared, at their own cost); ``today``: they are compared with it (counted in
        ``today``)."""
        self._count(sums)
        if today:
            self.today += sums.requests
        if reference is None:
            self.unrouted_cost += sums.cost_micro  # compared with itself: no saving
        else:
            self.routed_requests += sums.requests
            self.routed_cost += sums.cost_micro
            self._add_routed(reference, sums.prompt_tokens, sums.completion_tokens)

    def merge(self, other: _Group) -> None:
        self.requests += other.requests
        self.prompt += other.prompt
        self.completion += other.completion
        self.cost += other.cost
        self.energy += other.energy
        self.refused += other.refused
        self.failed += other.failed
        self.unrouted_cost += other.unrouted_cost
        self.recorded_baseline += other.recorded_baseline
        self.today += other.today
        self.routed_requests += other.routed_requests
        self.routed_cost += other.routed_cost
        for reference, prompt, completion in other.routed.values():
            self._add_routed(reference, prompt, completion)

    def _add_routed(self, reference: ModelConfig, prompt: int, completion: int) -> None:
        _, p, c = self.routed.get(reference.id, (reference, 0, 0))
        self.routed[reference.id] = (reference, p + prompt, c + completion)

    def row(self, name: str) -> ReportRow:
        """The row; each of today's references prices its tokens exactly, rounded up once. The
        ledger rounds each request up, so such a baseline within that rounding of the routed
        cost is the cost: no saving (the dashboard's rule, ``stellwerk.money.within_rounding``).
        A recorded reference cost was rounded up per request as the cost was: taken as it is."""
        routed = sum(
            reference.price.cost_micro(prompt, completion)
            for reference, prompt, completion in self.routed.values()
        )
        if within_rounding(routed - self.routed_cost, self.routed_requests):
            routed = self.routed_cost
        baseline = self.unrouted_cost + routed + self.recorded_baseline
        return ReportRow(
            name,
            self.requests,
            self.prompt,
            self.completion,
            self.cost,
            self.energy,
            baseline,
            self.refused,
            self.failed,
            self.today,
        )


def render(report: UsageReport, fmt: str) -> str:
    """The report as ``table`` (for people), ``csv`` or ``json``; each ends with a newline."""
    if fmt == "json":
        return orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2).decode() + "\n"
    header = [
        report.by,
        "requests",
        "prompt_tokens",
        "completion_tokens",
        "cost",
        "energy_wh",
        "baseline_cost",
        "savings",
        "refused",
        "failed",
        "compared_today",
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
            str(r.refused),
            str(r.failed),
            str(r.compared_today),
        ]
        for r in (*report.rows, report.total)
    ]
    if fmt == "csv":  # the month last (the columns a report had keep their place)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*header, "month"])
        writer.writerows([*line, report.month] for line in lines)
        return out.getvalue()
    if fmt != "table":
        raise InvalidRequest(
            f"unknown format {shown(fmt)}; choose table, csv or json", param="format"
        )
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    recorded = report.recorded_models
    title = (
        f"usage {report.month} by {report.by}; baseline: each routed request on the reference"
        " its record keeps (the largest model its key might use then):"
        f" {', '.join(recorded) or '(none)'}; compared_today: those whose records keep none, on"
        " the largest model their key may use as of"
        f" {report.references_as_of.astimezone(UTC):%Y-%m-%d %H:%M} UTC (today's references):"
        f" {', '.join(report.today_models) or '(none)'}"
    )
    if not report.baseline_models:
        title = f"usage {report.month} by {report.by}; no routed request to compare"
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
