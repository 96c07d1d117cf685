"""``stellwerk limits show`` and ``stellwerk limits set``: the rate limits and budgets in force.

The same service as the admin API's ``/admin/limits``: ``set`` changes only the limits it names
(the others keep their values), ``none`` clears one (unlimited), every change is audited with the
limits in force before and after. Each department and key is shown with its spend this month and
what is left of its budget, as the admin API answers them (``governance.month_spend``). Budgets
and spend print with all six decimals (exact micro-units).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from stellwerk.cli.governance_cmd import (
    ConfigOption,
    Reason,
    _actor,
    _fail,
    _governance,
    _reading,
    _told,
)
from stellwerk.errors import InvalidRequest, StellwerkError

if TYPE_CHECKING:
    from stellwerk.governance.budgets import ScopeKind

_CLEAR = ("none", "unlimited")
Value = Annotated[
    str | None, typer.Option(show_default=False, help="A number, or 'none' for unlimited.")
]


def _scope(department: str | None, key: str | None) -> tuple[ScopeKind, str] | None:
    if department is not None and key is not None:
        raise InvalidRequest("give --department or --key, not both", param="scope")
    if department is not None:
        return "department", department
    if key is not None:
        return "key", key
    return None


def _value(field: str, text: str) -> str | int | None:
    """A limit as typed: ``none`` clears it. A rate limit is a whole number from 1 to its bound
    (``cli/whole_number.py``), else a usage error naming the option and what is wrong
    (``Invalid value for '--requests-per-minute': -1 is less than 1, the least it may be; or
    'none' for unlimited``; it said ``not a valid integer``). A budget is passed on as text and
    checked by the service, by the admin API's rule for text (``governance.budgets.parse_limits``),
    naming the field: the CLI refuses what the admin API refuses, in its words (``' 5' is not a
    plain amount ... no spaces``)."""
    from stellwerk.cli.whole_number import whole
    from stellwerk.config.governance import MAX_REQUESTS_PER_MINUTE, MAX_TOKENS_PER_MINUTE

    if text.lower() in _CLEAR:
        return None
    most = {
        "requests_per_minute": MAX_REQUESTS_PER_MINUTE,
        "tokens_per_minute": MAX_TOKENS_PER_MINUTE,
    }
    option = "--" + field.replace("_", "-")
    if field not in most:
        _within_budget(text, option)
        return text
    try:
        return whole(least=1, most=most[field])(text)
    except ValueError as exc:
        raise typer.BadParameter(
            f"{exc}; or 'none' for unlimited", param_hint=f"'{option}'"
        ) from exc


def _within_budget(text: str, option: str) -> None:
    """A budget above the largest (``money.MAX_BUDGET``) refused as a rate limit is, naming the
    option and the bound (it said pydantic's ``Input should be less than or equal to ...``);
    every other check of a budget is the service's."""
    from decimal import Decimal

    from stellwerk.money import MAX_BUDGET, PLAIN_AMOUNT

    if PLAIN_AMOUNT.fullmatch(text) and Decimal(text) > MAX_BUDGET:  # Decimal: any length
        said = text if len(text) <= 40 else f"{text[:12]}... ({len(text)} characters)"
        raise typer.BadParameter(
            f"{said} is more than {MAX_BUDGET}, the most it may be; or 'none' for unlimited",
            param_hint=f"'{option}'",
        )


_COLUMNS = (
    ("req/min", "requests_per_minute"),
    ("tokens/min", "tokens_per_minute"),
    ("budget/month", "monthly_budget"),
    ("spent {month}", "spent"),
    ("remaining", "remaining"),
)


def _table(groups: dict[str, dict[str, dict[str, Any]]], month: str) -> list[str]:
    """The lines of ``limits show`` (and ``set``): for each kind with rows, a heading line and a
    line per department or key. Each column is as wide as its widest cell, across the kinds, so
    that the figures line up and nothing is cut: about 75 columns for names of a dozen
    characters, where fixed widths made 118 (and a name past 24 characters pushed its row out of
    line)."""

    def cell(value: object) -> str:
        return "unlimited" if value is None else str(value)

    headings = [heading.format(month=month) for heading, _ in _COLUMNS]
    rows = {
        kind: [
            (name, [cell(values[field]) for _, field in _COLUMNS]) for name, values in of.items()
        ]
        for kind, of in groups.items()
        if of
    }
    if not rows:
        return []
    names = [text for kind, lines in rows.items() for text in (kind, *(n for n, _ in lines))]
    first = max(map(len, names))
    widths = [
        max([len(heading), *(len(cells[i]) for lines in rows.values() for _, cells in lines)])
        for i, heading in enumerate(headings)
    ]

    def line(name: str, cells: list[str]) -> str:
        figures = "  ".join(f"{text:>{width}}" for text, width in zip(cells, widths, strict=True))
        return f"{name:<{first}}  {figures}"

    out: list[str] = []
    for kind, lines in rows.items():
        out.append(line(kind, headings))
        out.extend(line(name, cells) for name, cells in lines)
    return out


def limits_show(
    config: ConfigOption,
    department: Annotated[str | None, typer.Option(help="Only this department.")] = None,
    key: Annotated[str | None, typer.Option(help="Only this key id.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """The limits in force: every department, and every key with limits of its own, each with
    its spend this month and what is left of its budget."""
    import orjson

    from stellwerk.governance.department_names import unknown_department
    from stellwerk.governance.key_store import CONFIG_LIMITS
    from stellwerk.governance.month_spend import month_spend
    from stellwerk.policy.limits import UNLIMITED

    try:
        if fmt not in ("table", "json"):
            raise InvalidRequest(f"unknown format {fmt!r}; choose table or json", param="format")
        _scope(department, key)  # not both
        with _reading(config) as gov:
            departments, keys = gov.admin.budgets.effective()
            configured = {k.id for d in gov.admin.config.departments for k in d.keys}
            if key is not None and key not in keys and key not in configured:
                gov.admin.keys.get(key, in_config=CONFIG_LIMITS)  # unknown: refused, as by set
            if department is not None and department not in departments:
                raise unknown_department(department, departments)  # the admin API's words
            spent = month_spend(gov.admin.ledger, department=department)
        if key is not None:  # a key without limits of its own: unlimited, with its spend
            keys = {key: keys.get(key, UNLIMITED)}
        groups = {
            "department": {
                n: spent.scope_json("department", n, v)
                for n, v in departments.items()
                if key is None and department in (None, n)
            },
            "key": {
                n: spent.scope_json("key", n, v) for n, v in keys.items() if department is None
            },
        }
    except StellwerkError as exc:
        raise _fail(exc) from exc
    if fmt == "json":
        shown = {"month": spent.month, "departments": groups["department"], "keys": groups["key"]}
        typer.echo(orjson.dumps(shown, option=orjson.OPT_INDENT_2).decode())
        return
    for line in _table(groups, spent.month):
        typer.echo(line)


def limits_set(
    config: ConfigOption,
    reason: Reason,
    department: Annotated[str | None, typer.Option(help="The department to change.")] = None,
    key: Annotated[str | None, typer.Option(help="The key id to change.")] = None,
    requests_per_minute: Value = None,
    tokens_per_minute: Value = None,
    monthly_budget: Value = None,
) -> None:
    """Change the limits named; the others keep their values ('none': unlimited)."""
    from stellwerk.governance.key_store import CONFIG_LIMITS
    from stellwerk.governance.month_spend import month_spend

    given = {
        "requests_per_minute": requests_per_minute,
        "tokens_per_minute": tokens_per_minute,
        "monthly_budget": monthly_budget,
    }
    changes = {name: _value(name, text) for name, text in given.items() if text is not None}
    try:
        scope = _scope(department, key)
        if scope is None:
            raise InvalidRequest("name the scope: --department NAME or --key KEY_ID")
        if not changes:
            raise InvalidRequest(
                "name at least one of --requests-per-minute, --tokens-per-minute, --monthly-budget"
            )
        kind, name = scope
        with _governance(config) as gov:
            if kind == "key":
                gov.admin.keys.get(name, in_config=CONFIG_LIMITS)
            after = gov.admin.budgets.change_limits(
                kind, name, changes, actor=_actor(), reason=reason
            )
            _told(gov.changed())
            spent = month_spend(gov.admin.ledger, department=department)
    except StellwerkError as exc:
        raise _fail(exc) from exc
    for line in _table({kind: {name: spent.scope_json(kind, name, after)}}, spent.month):
        typer.echo(line)


def register(app: typer.Typer) -> None:
    limits = typer.Typer(help="Rate limits and monthly budgets.", no_args_is_help=True)
    limits.command("show")(limits_show)
    limits.command("set")(limits_set)
    app.add_typer(limits, name="limits")
