"""An audit entry's details as the overview's table shows them: short ``name: value`` lines in the
page's language (the labels: :mod:`labels_audit`).

A detail's name is looked up as ``detail_<action>.<name>`` first (``records`` of a ``router.adapt``
entry are its usable records), then ``detail_<name>``; the names inside a detail that is an object
(``from``/``to`` of a change, a run's ``comparison``) as ``detail_<detail>.<name>``, then
``detail_<name>``. A name without a label is shown as it is. Values: empty ones are left out (limits
with none set read "unlimited"); yes/no, amounts of money (``MONEY_DETAILS``) with the currency,
numbers in the page's notation, the words of the dashboard (``VALUE_LABELS``: a state, a tier ...)
translated, and the reasons a run promoted nothing worded with its figures as the router-learning
page words them (``AdaptationRun.worded``); version 0 of a router is its base alone. A moment
(``TIMES``) is shown in the page's zone and notation; a switch that is off on every entry but
those a command asked for (``OFF_UNLESS_ASKED``) only when on. An entry's ``from`` and ``to`` (a
lifecycle move, limits set) are one line, before then after: ``from
approved to deprecated``, ``von freigegeben auf abgekündigt``. The objects
keyed by a name (``NAMED``: a run's gain per form and per department) show the name as it is.
A detail that lists what changed (``CHANGES``: a use case's ``{"classification": {"from": "secret",
"to": "public"}}``) is a line per field, ``classification: secret → public``; a field that was empty
reads as what nothing means for it (a use case without an allow-list: "any permitted model").
A ``config.load`` entry (``governance.config_changes``) shows whether it is the first load, then
what changed since the previous one, a line each (``Model tiny-large: lifecycle approved →
deprecated``; at most ``CONFIG_SHOWN``, then how many more), never the settings it recorded; a
change past the names the previous entry kept is said so, and a long text is shown with the
digest of the whole, so a change past its head reads as one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, get_args

from stellwerk.config.schema import Classification, Hosting, Lifecycle, RiskTier, Role
from stellwerk.dashboard.adaptations import AdaptationRun, adaptation_run
from stellwerk.dashboard.formats import DASH, Formatter
from stellwerk.dashboard.i18n import Labels, counted
from stellwerk.governance.config_change_text import in_order
from stellwerk.governance.config_changes import MAX_NAMES, NONE_MEANS, long_text
from stellwerk.ledger.audit import AuditEntry
from stellwerk.ledger.graded import DRY_RUN_ACTION
from stellwerk.routing.adapt import NOT_PROMOTED

MONEY_DETAILS: Final = frozenset({"monthly_budget", "input_per_mtok", "output_per_mtok"})
"""Audit detail fields that hold an amount of money (shown with the currency)."""
VALUE_LABELS: Final = {
    **{
        word: word
        for word in (
            *get_args(Lifecycle),
            *get_args(RiskTier),
            *get_args(Classification),
            *get_args(Hosting),
            "granted",
            "withdrawn",
            "lifted",
        )
    },
    # a role as the keys table writes it ("owner"), not as a column's title ("Owner")
    **{role: f"role_{role}" for role in get_args(Role)},
}
"""Audit detail values that are words of the dashboard (a state, a tier, a role ...) -> their
label: translated."""
NAMED: Final = frozenset({"form_gains", "departments"})
"""Details that are objects keyed by a name (a form, a department), not by a detail's name."""
NOTHING_MEANS: Final = {
    ("limits.set", "from"): "unlimited",
    ("limits.set", "to"): "unlimited",
    ("use_case.update", "allowed_models"): "any_permitted_model",
}
"""Details (or changed fields) whose empty value has a meaning: limits with none set are
unlimited, a use case without an allow-list may use any permitted model."""
CHANGES: Final = "changes"
"""The detail holding ``{"from": ..., "to": ...}`` for each field an entry changed."""
CHANGE_ENDS: Final = ("from", "to")
ROUTER_VERSIONS: Final = frozenset({"compared_with", "previous", "rollback_to", "correction_of"})
"""Details that name a router version, whose 0 is the base router alone."""
ADAPTATIONS: Final = frozenset({"router.adapt", DRY_RUN_ACTION})
"""Actions whose entry is an adaptation run (a dry run's too): its reasons worded with its
figures."""
SHOWN: Final = 120
"""The most characters of one detail shown."""
CONFIG_SHOWN: Final = 12
"""The most changes of a ``config.load`` entry the table shows."""
CONFIG_NONE: Final = {
    "any": "any_permitted_model",
    "unlimited": "unlimited",
    "every": "config_every",
    "inherited": "config_inherited",
}
"""What a setting left out means (``NONE_MEANS``) -> its label."""
UNNAMED: Final = frozenset({"router", "governance"})
"""Kinds of settings with one entry, whose name only repeats the kind."""
OFF_UNLESS_ASKED: Final = frozenset({"all_records"})
"""Details that are ``false`` on every entry but those a command asked for (``router adapt
--all-records``): shown only when true."""
TIMES: Final = frozenset({"time"})
"""Details holding a moment as ISO 8601 text (a rollback's, in ``records_since``): shown in the
page's zone and notation."""


def audit_details(entry: AuditEntry, t: Labels, fmt: Formatter) -> list[str]:
    """The lines of ``entry``'s details (module docstring)."""
    if entry.action == "config.load":
        return _config_load(entry.details, t, fmt)
    run = adaptation_run(entry) if entry.action in ADAPTATIONS else None
    lines: list[str] = []
    moved = all(end in entry.details for end in CHANGE_ENDS)
    for name, value in entry.details.items():
        if moved and name in CHANGE_ENDS:
            if name == _first_end(entry.details):
                lines.append(_moved(entry, run, t, fmt))
            continue
        if _empty(value) or (value is False and name in OFF_UNLESS_ASKED):
            continue
        if name == CHANGES and isinstance(value, Mapping):
            lines += [_changed(entry, k, v, t, fmt) for k, v in value.items()]
        else:
            shown = _detail(name, value, run, t, fmt) or _nothing(entry, name, t)
            lines.append(f"{_name(name, entry.action, t)}: {shown}")
    return lines


def _config_load(details: Mapping[str, Any], t: Labels, fmt: Formatter) -> list[str]:
    """A ``config.load`` entry: the first load, or the previous one and what changed since."""
    lines: list[str] = []
    if details.get("first"):
        lines.append(t["config_first"])
    elif not _empty(details.get("previous")):
        lines.append(f"{t['detail_previous']}: {_short(str(details['previous']))}")
    if details.get("changes_unknown"):
        lines.append(t["config_changes_unknown"])
    changed = details.get("changed")
    if isinstance(changed, list):
        found = [c for c in changed if isinstance(c, Mapping)]
        if not found:
            lines.append(t["config_no_change"])
        lines += [_setting(c, t, fmt) for c in found[:CONFIG_SHOWN]]
        more = details.get("changed_more")
        more = max(len(found) - CONFIG_SHOWN, 0) + (more if isinstance(more, int) else 0)
        if more > 0:
            lines.append(counted(t, fmt, "config_more", more))
    return lines


def _setting(change: Mapping[str, Any], t: Labels, fmt: Formatter) -> str:
    """One changed setting: ``Model tiny-large: lifecycle approved → deprecated``, ``Key k:
    added (role=admin, ...)``."""
    kind = str(change.get("kind"))
    name = str(change.get("name"))
    what = t(f"target_{kind}") if f"target_{kind}" in t else kind
    if kind not in UNNAMED and "name" in change:  # a line past the names kept has none
        what += " " + (t(name) if kind == "data_class" else _short(name))
    if change.get("change") == "removed":
        return f"{what}: {t['config_removed']}"
    if change.get("change") in ("added", "unlisted"):
        shown = _fields("config.load", in_order(change), t, fmt)
        said = t["config_added" if change["change"] == "added" else "config_unlisted"]
        return f"{what}: {said.format(kept=fmt.number(MAX_NAMES))}" + (
            f" ({shown})" if shown else ""
        )
    if change.get("change") == "past_cut":
        counts = {k: fmt.number(_count(change.get(k))) for k in ("names", "listed")}
        return f"{what}: {t['config_past_cut'].format(**counts)}"
    field = str(change.get("field"))
    if field == "credentials":
        done = "added" if change.get("from") is None else "removed"
        return f"{what}: {t['config_credentials_' + done]}"
    old, new = (
        _none(field, t)
        if change.get(end) is None
        else _value(field, change[end], t, fmt) or t["config_none"]  # an empty list
        for end in CHANGE_ENDS
    )
    line = f"{what}: {_name(field, 'config.load', t)} {old} → {new}"
    # a model's state is the catalog's, a use case the database's (walk 17, 13)
    return line + (f" {t['config_seed_only_' + kind]}" if change.get("seed_only") else "")


def _count(value: object) -> int:
    return value if isinstance(value, int) else 0


def _none(field: str, t: Labels) -> str:
    meaning = CONFIG_NONE.get(NONE_MEANS.get(field, ""))
    return DASH if meaning is None else t[meaning]


def _first_end(details: Mapping[str, Any]) -> str:
    """Which of ``from`` and ``to`` the details hold first (PostgreSQL's ``jsonb`` keeps ``to``
    before ``from``): the line of the move goes there."""
    return next(name for name in details if name in CHANGE_ENDS)


def _moved(entry: AuditEntry, run: AdaptationRun | None, t: Labels, fmt: Formatter) -> str:
    """An entry's move as one line, from before to after whatever order the log keeps them in:
    ``from approved to deprecated``, ``von freigegeben auf abgekündigt`` (walk 15: "to: approved
    from: deprecated" read as the other way round)."""
    old, new = (
        (None if _empty(value) else _detail(end, value, run, t, fmt)) or _nothing(entry, end, t)
        for end, value in ((end, entry.details[end]) for end in CHANGE_ENDS)
    )
    return f"{_name('from', entry.action, t)} {old} {_name('to', entry.action, t)} {new}"


def _changed(entry: AuditEntry, field: str, change: object, t: Labels, fmt: Formatter) -> str:
    """One changed field: ``classification: secret → public`` (a change as the log did not
    write it is shown as any detail)."""
    label = _name(field, CHANGES, t)
    if not isinstance(change, Mapping) or set(change) != set(CHANGE_ENDS):
        return f"{label}: {_value(field, change, t, fmt) or _nothing(entry, field, t)}"
    old, new = (
        _nothing(entry, field, t) if _empty(change[end]) else _value(field, change[end], t, fmt)
        for end in CHANGE_ENDS
    )
    return f"{label}: {old} → {new}"


def _nothing(entry: AuditEntry, name: str, t: Labels) -> str:
    """What a detail with nothing to show says (a cleared limit: "unlimited")."""
    meaning = NOTHING_MEANS.get((entry.action, name))
    return DASH if meaning is None else t[meaning]


def _detail(name: str, value: object, run: AdaptationRun | None, t: Labels, fmt: Formatter) -> str:
    if name == "reasons" and run is not None and isinstance(value, list):
        return _reasons(value, run, t, fmt)
    return _value(name, value, t, fmt)


def _reasons(value: list[Any], run: AdaptationRun, t: Labels, fmt: Formatter) -> str:
    """A run's ``reasons``, worded with its figures as the router-learning page words them
    (``AdaptationRun.worded``); a code it does not know as it is."""
    said = [run.worded(r, t, fmt) if r in NOT_PROMOTED else str(r) for r in value]
    return _short("; ".join(said))  # "; ": a reason may hold a comma


def _empty(value: object) -> bool:
    return value is None or value == "" or value == {} or value == []


def _name(name: str, scope: str, t: Labels) -> str:
    for key in (f"detail_{scope}.{name}", f"detail_{name}"):
        if key in t:
            return t[key]
    return name


def _value(name: str, value: object, t: Labels, fmt: Formatter) -> str:
    if isinstance(value, Mapping):
        return _named(name, value, t, fmt) if name in NAMED else _fields(name, value, t, fmt)
    if isinstance(value, bool):
        return t["yes"] if value else t["no"]
    if name in MONEY_DETAILS and isinstance(value, int | float | Decimal | str):
        amount = _amount(value)  # the ledger writes amounts as exact decimal strings
        if amount is not None:
            return fmt.exact_money(amount)
    if name in TIMES and isinstance(value, str):
        moment = _moment(value)
        if moment is not None:
            return fmt.when(moment)
    if name in ROUTER_VERSIONS and value == 0 and isinstance(value, int):
        return t["base_alone"]
    if isinstance(value, float):
        return fmt.number(value, 4).rstrip("0").rstrip(".,")
    if isinstance(value, str) and value in VALUE_LABELS:
        return t[VALUE_LABELS[value]]
    long = long_text(value)
    if long is not None:  # its digest shown, so a change past the head reads as one
        head, digest = long
        return f"{head[: SHOWN - len(digest) - 10]}… sha256:{digest}"
    if isinstance(value, list | tuple):
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        # "0,1; 0,5": a comma would read as a decimal comma in German
        return _short(("; " if numbers else ", ").join(_value(name, v, t, fmt) for v in value))
    return _short(str(value))


def _moment(text: str) -> datetime | None:
    """An ISO 8601 moment with its zone (one without is not a moment the log writes)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _fields(scope: str, value: Mapping[str, Any], t: Labels, fmt: Formatter) -> str:
    """An object of details (``from``/``to``, a run's comparison): ``name=value`` each."""
    return ", ".join(
        f"{_name(k, scope, t)}={_value(k, v, t, fmt)}"
        for k, v in value.items()
        if not _empty(v)  # an empty list ("routes worse for=") says nothing
    )


def _named(scope: str, value: Mapping[str, Any], t: Labels, fmt: Formatter) -> str:
    """An object keyed by names: a form's gain and its standard error (``shared=0,01 ± 0,02``),
    a department's figures (``legal (judged=3, routing gain=0,1, ...)``)."""
    parts: list[str] = []
    for key, item in value.items():
        if isinstance(item, Mapping):
            parts.append(f"{key} ({_fields(scope, item, t, fmt)})")
        elif isinstance(item, list) and len(item) == 2:  # a gain and its standard error
            gain, error = (_value(scope, v, t, fmt) for v in item)
            parts.append(f"{key}={gain} ± {error}")
        else:
            parts.append(f"{key}={_value(scope, item, t, fmt)}")
    return ", ".join(parts)


def _amount(value: int | float | Decimal | str) -> Decimal | int | float | None:
    if not isinstance(value, str):
        return value
    try:
        return Decimal(value)
    except ArithmeticError:  # decimal.InvalidOperation: not an amount after all
        return None


def _short(text: str) -> str:
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"
