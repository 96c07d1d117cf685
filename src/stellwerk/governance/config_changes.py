"""What a ``config.load`` audit entry says about the config it records: its governance settings
in brief (``settings``) and what changed in them since the previous ``config.load`` (``changed``).

The settings are ``kind -> name -> field -> value``, of the kinds in ``FIELDS`` (a model's
lifecycle, hosting and data owner; a department's data class, allowed models and limits; a key's
department, role, use case and the name of its variable; a data class's hosting locations ...).
No secret is among them: a key's variable is named (``key_env``), never read, and a key given by
its SHA-256 shows the first 12 hex digits of the hash; a backend's address loses any
``user:password@``. A field whose value is ``None`` is left out (read back as ``None``).

A change is one JSON object, in the order of ``FIELDS`` (then by name, then field):

* ``{"kind": "model", "name": "m", "field": "lifecycle", "from": "proposed", "to": "approved"}``
  (``"seed_only": true`` for a setting the config only seeds: the catalog's state of a known model
  and a use case the database holds already are changed through the admin API or the CLI);
* ``{"kind": "key", "name": "k", "change": "added", "settings": {...}}``, or ``"removed"``.

Bounded: at most ``MAX_NAMES`` names of one kind are kept (the first by name; ``cut`` counts the
others, and changes are compared only up to the last name both entries kept), a text at most
``MAX_TEXT`` characters, and at most ``MAX_CHANGES`` changes are listed (``changed_more`` counts
the rest). Pure: :class:`stellwerk.governance.admin.Administration` writes the entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from stellwerk.config.schema import StellwerkConfig, UsageLimits

Value = str | int | float | bool | list[str]
Settings = dict[str, dict[str, dict[str, Value]]]

MAX_NAMES: Final = 500
MAX_CHANGES: Final = 50
MAX_TEXT: Final = 200
SHA_SHOWN: Final = 12

_LIMITS: Final = ("requests_per_minute", "tokens_per_minute", "monthly_budget", "max_in_flight")
FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "model": (
        "lifecycle",
        "hosting",
        "risk_tier",
        "data_owner",
        "owner",
        "backend",
        "upstream",
        "licence",
        "openness",
        "input_per_mtok",
        "output_per_mtok",
        "model_card_url",
        "evaluation_url",
        "oversight_contact",
    ),
    "backend": ("kind", "base_url", "api_key_env", "remote_image_urls"),
    "department": ("classification", "allowed_models", *_LIMITS, "pilot"),
    "key": ("department", "role", "use_case", "classification", "key_env", "key_sha256", *_LIMITS),
    "use_case": (
        "department",
        "purpose",
        "risk_tier",
        "classification",
        "allowed_models",
        "oversight_contact",
    ),
    "data_class": ("hosting",),
    "route": ("cost_weight", "unfamiliar"),
    "router": (
        "kind",
        "artifact",
        "embedding_model",
        "shadow_share",
        "shadow_account",
        "shadow_departments",
        "shadow_routes",
        "shadow_classifications",
        "adapt_every_s",
    ),
    "governance": (
        "compliance_mode",
        "currency",
        "retention_days_minimal",
        "retention_days_limited",
        "retention_days_high",
        "required_model_facts_minimal",
        "required_model_facts_limited",
        "required_model_facts_high",
        "required_use_case_facts_minimal",
        "required_use_case_facts_limited",
        "required_use_case_facts_high",
    ),
}
"""The kinds of settings, in the order changes are listed, and each kind's fields."""
SEED_ONLY: Final = frozenset(
    {("model", "lifecycle"), *(("use_case", f) for f in FIELDS["use_case"])}
)
"""Settings the config only seeds (a model's state and a use case the database lacks)."""
NONE_MEANS: Final = {
    "allowed_models": "any",
    **{limit: "unlimited" for limit in _LIMITS},
    "shadow_departments": "every",
    "shadow_routes": "every",
    "classification": "inherited",
}
"""Fields whose ``None`` (left out) has a meaning: no allow-list allows any model ..."""


def config_settings(config: StellwerkConfig) -> tuple[Settings, dict[str, int]]:
    """The governance settings of ``config`` (module docstring), and per kind how many names
    were left out past ``MAX_NAMES``."""
    found: dict[str, dict[str, dict[str, object]]] = {
        "model": {m.id: _model(m.model_dump()) for m in config.models},
        "backend": {
            b.name: {
                "kind": b.kind,
                "base_url": _address(b.base_url),
                "api_key_env": b.api_key_env,
                "remote_image_urls": b.remote_image_urls,
            }
            for b in config.backends
        },
        "department": {
            d.name: {
                "classification": d.classification,
                "allowed_models": d.allowed_models,
                **_limits(d.limits),
                "max_in_flight": d.max_in_flight,
                "pilot": d.pilot,
            }
            for d in config.departments
        },
        "key": {
            k.id: {
                "department": d.name,
                "role": k.role,
                "use_case": k.use_case,
                "classification": k.classification,
                "key_env": k.key_env,
                "key_sha256": k.key_sha256[:SHA_SHOWN] + "…" if k.key_sha256 else None,
                **_limits(k.limits or UsageLimits()),
                "max_in_flight": k.max_in_flight,
            }
            for d in config.departments
            for k in d.keys
        },
        "use_case": {u.name: u.model_dump() for u in config.use_cases},
        "data_class": {
            c: {"hosting": h} for c, h in config.governance.classification_hosting.items()
        },
        "route": {name: r.model_dump() for name, r in config.routes.items()},
        "router": {"router": _router(config)},
        "governance": {"rules": _rules(config)},
    }
    settings: Settings = {}
    cut: dict[str, int] = {}
    for kind, entities in found.items():
        names = sorted(entities)
        if len(names) > MAX_NAMES:
            cut[kind] = len(names) - MAX_NAMES
            del names[MAX_NAMES:]
        settings[kind] = {n: _kept(kind, entities[n]) for n in names}
    return settings, cut


def _model(dump: dict[str, Any]) -> dict[str, object]:
    price = dump.pop("price")
    return {**dump, **price}


def _address(url: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _limits(limits: UsageLimits) -> dict[str, object]:
    budget = limits.monthly_budget
    return {
        "requests_per_minute": limits.requests_per_minute,
        "tokens_per_minute": limits.tokens_per_minute,
        "monthly_budget": None if budget is None else _decimal(budget),
    }


def _decimal(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _router(config: StellwerkConfig) -> dict[str, object]:
    router, shadow = config.router, config.router.shadow
    return {
        "kind": router.kind,
        "artifact": router.artifact,
        "embedding_model": router.embedding_model,
        "shadow_share": shadow.share,
        "shadow_account": shadow.account,
        "shadow_departments": shadow.departments,
        "shadow_routes": shadow.routes,
        "shadow_classifications": shadow.classifications,
        "adapt_every_s": router.adapt_every_s,
    }


def _rules(config: StellwerkConfig) -> dict[str, object]:
    rules = config.governance
    found: dict[str, object] = {
        "compliance_mode": rules.compliance_mode,
        "currency": rules.currency,
    }
    for tier, days in rules.retention_days.items():
        found[f"retention_days_{tier}"] = days
    for tier, facts in rules.required_model_facts.items():
        found[f"required_model_facts_{tier}"] = facts
    for tier, case_facts in rules.required_use_case_facts.items():
        found[f"required_use_case_facts_{tier}"] = case_facts
    return found


def _kept(kind: str, values: Mapping[str, object]) -> dict[str, Value]:
    """The fields of ``kind`` as JSON values, ``None`` left out, texts cut at ``MAX_TEXT``."""
    kept: dict[str, Value] = {}
    for field in FIELDS[kind]:
        value = values.get(field)
        if value is None:
            continue
        if isinstance(value, tuple | list):
            kept[field] = [_text(str(v)) for v in value]
        elif isinstance(value, bool | int | float):
            kept[field] = value
        else:
            kept[field] = _text(str(value))
    return kept


def _text(value: str) -> str:
    return value if len(value) <= MAX_TEXT else value[: MAX_TEXT - 1] + "…"


def changes(
    before: Mapping[str, Any],
    after: Settings,
    cut_before: Mapping[str, Any],
    cut: Mapping[str, int],
) -> list[dict[str, Any]]:
    """What changed from the settings ``before`` (as an earlier entry holds them) to ``after``,
    each kind compared up to the last name both kept (module docstring)."""
    found: list[dict[str, Any]] = []
    for kind, fields in FIELDS.items():
        old = _entities(before.get(kind))
        new = after.get(kind, {})
        bound = _bound(kind, old, new, cut_before, cut)
        for name in sorted(set(old) | set(new)):
            if bound is not None and name > bound:
                continue
            if name not in old:
                found.append({"kind": kind, "name": name, "change": "added", "settings": new[name]})
            elif name not in new:
                found.append({"kind": kind, "name": name, "change": "removed"})
            else:
                found += _fields(kind, name, fields, old[name], new[name])
    return found


def _entities(value: object) -> dict[str, Mapping[str, Any]]:
    """An earlier entry's settings of one kind, as far as they have the shape written here."""
    if not isinstance(value, Mapping):
        return {}
    return {str(n): v for n, v in value.items() if isinstance(v, Mapping)}


def _bound(
    kind: str,
    old: Mapping[str, object],
    new: Mapping[str, object],
    cut_before: Mapping[str, Any],
    cut: Mapping[str, int],
) -> str | None:
    """The last name of ``kind`` both entries kept, where either left names out."""
    last = [max(names) for names, c in ((old, cut_before), (new, cut)) if c.get(kind) and names]
    return min(last) if last else None


def _fields(
    kind: str, name: str, fields: tuple[str, ...], old: Mapping[str, Any], new: Mapping[str, Any]
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for field in fields:
        was, now = old.get(field), new.get(field)
        if was == now:
            continue
        change: dict[str, Any] = {"kind": kind, "name": name, "field": field}
        change.update({"from": was, "to": now})
        if (kind, field) in SEED_ONLY:
            change["seed_only"] = True
        found.append(change)
    return found


def load_details(
    config: StellwerkConfig, previous: Mapping[str, Any] | None, previous_hash: str | None
) -> dict[str, Any]:
    """The details of a ``config.load`` entry for ``config``, after the entry ``previous``
    (its details; ``None``: this is the first load)."""
    settings, cut = config_settings(config)
    details: dict[str, Any] = {"previous": previous_hash}
    if previous is None:
        details["first"] = True
    elif not isinstance(previous.get("settings"), Mapping):
        details["changes_unknown"] = True  # written before loads recorded their settings
    else:
        before_cut = previous.get("cut")
        found = changes(
            previous["settings"],
            settings,
            before_cut if isinstance(before_cut, Mapping) else {},
            cut,
        )
        details["changed"] = found[:MAX_CHANGES]
        if len(found) > MAX_CHANGES:
            details["changed_more"] = len(found) - MAX_CHANGES
    details["settings"] = settings
    if cut:
        details["cut"] = cut
    return details


def change_text(change: Mapping[str, Any]) -> str:
    """One change in plain English, as ``stellwerk audit`` prints it:
    ``model tiny-large: lifecycle proposed -> approved``, ``key research-2 added (role admin,
    ...)``."""
    what = f"{change.get('kind')} {change.get('name')}"
    kind = change.get("change")
    if kind == "removed":
        return f"{what} removed"
    if kind == "added":
        settings = in_order(change)
        shown = ", ".join(f"{k} {_shown(v, k)}" for k, v in settings.items())
        return f"{what} added" + (f" ({shown})" if shown else "")
    field = str(change.get("field"))
    line = (
        f"{what}: {field} {_shown(change.get('from'), field)} -> {_shown(change.get('to'), field)}"
    )
    if change.get("seed_only"):
        line += " (config only: the database keeps its own state)"
    return line


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
