"""A ``config.load`` change (:mod:`stellwerk.governance.config_changes`) in plain English, as
``stellwerk audit`` prints it: ``model tiny-large: lifecycle proposed -> approved``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from stellwerk.governance.config_changes import FIELDS, MAX_NAMES, NONE_MEANS


def change_text(change: Mapping[str, Any]) -> str:
    """One change in plain English, as ``stellwerk audit`` prints it:
    ``model tiny-large: lifecycle proposed -> approved``, ``key research-2 added (role admin,
    ...)``."""
    what = f"{change.get('kind')} {change.get('name')}"
    kind = change.get("change")
    if kind == "removed":
        return f"{what} removed"
    settings = in_order(change)
    shown = ", ".join(f"{k} {_shown(v, k)}" for k, v in settings.items())
    if kind == "added":
        return f"{what} added" + (f" ({shown})" if shown else "")
    if kind == "unlisted":
        return f"{what} (not among the {MAX_NAMES} names the previous entry listed): added or" + (
            f" changed ({shown})" if shown else " changed"
        )
    if kind == "past_cut":
        return f"{change.get('kind')}: " + PAST_CUT.format(
            names=change.get("names"), listed=change.get("listed")
        )
    field = str(change.get("field"))
    if field == "credentials":
        done = "added" if change.get("from") is None else "removed"
        return f"{what}: credentials {done} (user:password@ or query values of base_url; not shown)"
    if field == "key_sha256" and None not in (change.get("from"), change.get("to")):
        return f"{what}: secret changed (key_sha256 {change.get('from')} -> {change.get('to')})"
    line = (
        f"{what}: {field} {_shown(change.get('from'), field)} -> {_shown(change.get('to'), field)}"
    )
    if change.get("seed_only"):
        line += " (config only: the database keeps its own state)"
    return line


PAST_CUT: Final = (
    "settings changed among the {names} names past the {listed} the previous entry listed"
    " (not listed one by one)"
)


def in_order(change: Mapping[str, Any]) -> dict[str, Any]:
    """An added entity's settings in the order of its kind's ``FIELDS`` (PostgreSQL's ``jsonb``
    keeps an object's keys in an order of its own)."""
    settings = change.get("settings")
    if not isinstance(settings, Mapping):
        return {}
    order = FIELDS.get(str(change.get("kind")), ())
    known = {f: settings[f] for f in order if f in settings}
    return known | {str(k): v for k, v in settings.items() if k not in known}


def _shown(value: object, field: str) -> str:
    if value is None:
        return f"({NONE_MEANS.get(field, 'none')})"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)
