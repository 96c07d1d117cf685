"""What a ``config.load`` audit entry says about the config it records: its governance settings
in brief (``settings``) and what changed in them since the previous ``config.load`` (``changed``).

The settings are ``kind -> name -> field -> value``, of the kinds in ``FIELDS`` (a model's
lifecycle, hosting and data owner; a department's data class, allowed models and limits; a key's
department, role, use case and the name of its variable; a data class's hosting locations ...).
No secret is among them: a key shows the first 12 hex digits of its SHA-256 (``key_sha256``),
whether the file gives the hash or names the variable (``key_env``) that holds the key, so that a
new key in the variable is a change (walk 18); a backend's address loses any ``user:password@``
(the rest is shown as ``stellwerk.config.backend.shown_address`` shows it), and ``credentials``
is ``true`` when it had any (their value is not recorded in any form). A field whose value is
``None`` is left out (read back as ``None``).

A change is one JSON object, in the order of ``FIELDS`` (then by name, then field):

* ``{"kind": "model", "name": "m", "field": "lifecycle", "from": "proposed", "to": "approved"}``
  (``"seed_only": true`` for a setting the config only seeds: the catalog's state of a known model
  and a use case the database holds already are changed through the admin API or the CLI);
* ``{"kind": "key", "name": "k", "change": "added", "settings": {...}}``, or ``"removed"``.

* ``{"kind": "key", "name": "k", "change": "unlisted", "settings": {...}}``: a key that is not a
  user's, not among the names the previous entry kept (added, or changed past them);
* ``{"kind": "key", "change": "past_cut", "names": 106, "listed": 500}``: settings changed among
  the names past those the previous entry kept.

Bounded, yet never silent about a change (walk 17): at most ``MAX_NAMES`` names of one kind are
kept (keys that are not a user's first, then by name; ``cut`` counts the others and
``cut_digest`` is a digest of their settings, which the next load compares), and a text longer
than ``MAX_TEXT`` characters is kept as its head and a digest of the whole (``… sha256:<hex>``),
so a change anywhere in it is a change. At most ``MAX_CHANGES`` changes are listed
(``changed_more`` counts the rest); after an entry written before loads recorded their settings,
the changes are unknown (``changes_unknown``). Pure:
:class:`stellwerk.governance.admin.Administration` writes the entry.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from stellwerk.config.backend import shown_address
from stellwerk.config.schema import StellwerkConfig, UsageLimits

Value = str | int | float | bool | list[str]
Settings = dict[str, dict[str, dict[str, Value]]]

MAX_NAMES: Final = 500
MAX_CHANGES: Final = 50
MAX_TEXT: Final = 200
SHA_SHOWN: Final = 12
VERSION: Final = 3
"""How the entries written here record settings (their ``version``)."""
DIGEST_SHOWN: Final = 16
_DIGEST_MARK: Final = "… sha256:"
TEXT_HEAD: Final = MAX_TEXT - len(_DIGEST_MARK) - DIGEST_SHOWN
"""How much of a text longer than ``MAX_TEXT`` is kept before the digest of the whole."""
_LONG: Final = re.compile(rf"(?s)(.*){re.escape(_DIGEST_MARK)}([0-9a-f]{{{DIGEST_SHOWN}}})")

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
    "backend": ("kind", "base_url", "credentials", "api_key_env", "remote_image_urls"),
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


def config_settings(
    config: StellwerkConfig, key_hashes: Mapping[str, str] | None = None
) -> Settings:
    """The governance settings of ``config`` (module docstring), every name of every kind.
    ``key_hashes``: key id -> the SHA-256 (hex) of a ``key_env`` key's value, as read at the
    start (a key not in it is recorded without ``key_sha256``: not known here)."""
    hashes = key_hashes or {}
    found: dict[str, dict[str, dict[str, object]]] = {
        "model": {m.id: _model(m.model_dump()) for m in config.models},
        "backend": {
            b.name: {
                "kind": b.kind,
                "base_url": recorded_address(b.base_url),
                "credentials": credentials(b.base_url),
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
                "key_sha256": _shown_hash(k.key_sha256 or hashes.get(k.id)),
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
    return {kind: {n: _kept(kind, e[n]) for n in sorted(e)} for kind, e in found.items()}


def _shown_hash(digest: str | None) -> str | None:
    return digest[:SHA_SHOWN] + "…" if digest else None


def bounded(settings: Settings) -> tuple[Settings, dict[str, int], dict[str, str]]:
    """``settings`` with at most ``MAX_NAMES`` names per kind (keys that are not a user's
    first, then by name), how many names each kind left out, and a digest of their settings."""
    kept: Settings = {}
    cut: dict[str, int] = {}
    digests: dict[str, str] = {}
    for kind, entities in settings.items():
        names = sorted(entities, key=lambda n: (_rank(entities[n]), n))
        kept[kind] = {n: entities[n] for n in sorted(names[:MAX_NAMES])}
        if len(names) > MAX_NAMES:
            cut[kind] = len(names) - MAX_NAMES
            digests[kind] = _digest_of({n: entities[n] for n in names[MAX_NAMES:]})
    return kept, cut, digests


def _rank(settings: Mapping[str, Value]) -> int:
    """0 for a key that is not a user's (kept first: its changes matter most), else 1."""
    return 0 if settings.get("role", "user") != "user" else 1


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:DIGEST_SHOWN]


def _digest_of(entities: Mapping[str, Mapping[str, Any]]) -> str:
    return _digest(json.dumps(entities, sort_keys=True, ensure_ascii=False))


def _model(dump: dict[str, Any]) -> dict[str, object]:
    price = dump.pop("price")
    return {**dump, **price}


def recorded_address(url: str) -> str:
    """``url`` without ``user:password@`` (``credentials`` records that it was there), the rest
    as ``shown_address`` shows it (the config refuses a query, whose values it would mask)."""
    parts = urlsplit(url)
    return shown_address(urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2])))


def credentials(url: str) -> bool | None:
    """``True`` when ``url`` has a ``user:password@`` or query values (``None``: it has none).
    Only their presence is recorded: any function of them that an audit reader could see would
    let a guessed password be checked (walk 18)."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    values = [v for _, v in parse_qsl(parts.query, keep_blank_values=True)]
    return True if userinfo or values else None


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
    """``value``, or past ``MAX_TEXT`` characters its head and a digest of the whole."""
    if len(value) <= MAX_TEXT:
        return value
    return f"{value[:TEXT_HEAD]}{_DIGEST_MARK}{_digest(value)}"


def long_text(value: object) -> tuple[str, str] | None:
    """The head and the digest of a text kept as them (``None``: a text kept whole)."""
    found = _LONG.fullmatch(value) if isinstance(value, str) else None
    return None if found is None else (found[1], found[2])


def changes(previous: Mapping[str, Any], after: Settings) -> list[dict[str, Any]]:
    """What changed from the settings the entry ``previous`` holds (its details) to ``after``
    (every name), in the order of ``FIELDS``, then by name (module docstring)."""
    found: list[dict[str, Any]] = []
    before = previous["settings"]
    cut_before, digests = (_mapping(previous.get(d)) for d in ("cut", "cut_digest"))
    for kind, fields in FIELDS.items():
        old = _entities(before.get(kind))
        new = after.get(kind, {})
        rest: dict[str, dict[str, Value]] = {}  # names the previous entry did not keep
        for name in sorted(set(old) | set(new)):
            if name not in old:
                if cut_before.get(kind):
                    rest[name] = new[name]
                else:
                    found.append(
                        {"kind": kind, "name": name, "change": "added", "settings": new[name]}
                    )
            elif name not in new:
                found.append({"kind": kind, "name": name, "change": "removed"})
            else:
                found += _fields(kind, name, fields, old[name], new[name])
        if cut_before.get(kind):
            found += _past_cut(kind, rest, len(old), digests.get(kind))
    return found


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _past_cut(
    kind: str, rest: Mapping[str, dict[str, Value]], listed: int, digest: object
) -> list[dict[str, Any]]:
    """What changed among the names past those the previous entry kept: nothing, if the digest
    of their settings is the same; else the keys that are not a user's by name, and a line."""
    if digest == _digest_of(rest):
        return []
    summary: dict[str, Any] = {"kind": kind, "change": "past_cut", "names": len(rest)}
    summary["listed"] = listed
    named = [
        {"kind": kind, "name": name, "change": "unlisted", "settings": settings}
        for name, settings in rest.items()
        if kind == "key" and _rank(settings) == 0
    ]
    return [*named, summary]


def _entities(value: object) -> dict[str, Mapping[str, Any]]:
    """An earlier entry's settings of one kind, as far as they have the shape written here."""
    if not isinstance(value, Mapping):
        return {}
    return {str(n): v for n, v in value.items() if isinstance(v, Mapping)}


def _fields(
    kind: str,
    name: str,
    fields: tuple[str, ...],
    old: Mapping[str, Any],
    new: Mapping[str, Any],
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for field in fields:
        was, now = old.get(field), new.get(field)
        if (kind, field) == ("key", "key_sha256") and _unread(was, now, old, new):
            continue  # a variable's key not known on one side (a CLI without the variable)
        if was == now:
            continue
        change: dict[str, Any] = {"kind": kind, "name": name, "field": field}
        change.update({"from": was, "to": now})
        if (kind, field) in SEED_ONLY:
            change["seed_only"] = True
        found.append(change)
    return found


def _unread(was: object, now: object, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether a key's hash is missing on one side because its variable was not read there."""
    env = old.get("key_env")
    return (was is None or now is None) and bool(env) and env == new.get("key_env")


def load_details(
    config: StellwerkConfig,
    previous: Mapping[str, Any] | None,
    previous_hash: str | None,
    key_hashes: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The details of a ``config.load`` entry for ``config``, after the entry ``previous``
    (its details; ``None``: this is the first load); ``key_hashes`` as for ``config_settings``."""
    every = config_settings(config, key_hashes)
    settings, cut, digests = bounded(every)
    details: dict[str, Any] = {"previous": previous_hash}
    if previous is None:
        details["first"] = True
    elif not isinstance(previous.get("settings"), Mapping):
        details["changes_unknown"] = True  # written before loads recorded their settings
    else:
        found = changes(previous, every)
        details["changed"] = found[:MAX_CHANGES]
        if len(found) > MAX_CHANGES:
            details["changed_more"] = len(found) - MAX_CHANGES
    details["version"] = VERSION
    details["settings"] = settings
    if cut:
        details["cut"] = cut
        details["cut_digest"] = digests
    return details


def secret_moved(previous: Mapping[str, Any], details: Mapping[str, Any]) -> bool:
    """Whether ``details``, for the same config file as the entry ``previous`` (its details),
    is to be written all the same: a key's secret changed in its variable, or a variable's key
    is known now that ``previous`` (written by a command run without the variable) did not
    know, so that the next change of it has a hash to be compared with."""
    before = previous.get("settings")
    if not isinstance(before, Mapping):
        return False
    found = details.get("changed") or []
    if any(c.get("kind") == "key" and c.get("field") == "key_sha256" for c in found):
        return True
    now = _mapping(details.get("settings"))
    return bool(_newly_read(_mapping(before.get("key")), _mapping(now.get("key"))))


def _newly_read(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The keys given by the same variable on both sides whose hash only ``new`` records."""
    return [
        name
        for name, now in new.items()
        if isinstance(now, Mapping)
        and now.get("key_sha256") is not None
        and isinstance(was := old.get(name), Mapping)
        and was.get("key_sha256") is None
        and _unread(None, now.get("key_sha256"), was, now)
    ]
