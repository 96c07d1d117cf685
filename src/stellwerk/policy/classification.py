"""Data classification: ``public < internal < confidential < secret``, each mapped by the config
(``governance.classification_hosting``) to the hosting locations its data may go to.

A request states its class in the header ``x-stellwerk-classification``; without it, the key's
default applies (the highest of the key's own, its use case's and its department's:
``stellwerk.config.key_class``). A request may raise its class, never lower it below that
default.
"""

from __future__ import annotations

from typing import Final, get_args

from stellwerk.config.choice import parse_choice
from stellwerk.config.schema import Classification, GovernanceConfig, Hosting
from stellwerk.errors import InvalidRequest, PermissionDenied

HEADER: Final = "x-stellwerk-classification"
LEVELS: Final[tuple[Classification, ...]] = get_args(Classification)
HOSTINGS: Final[tuple[Hosting, ...]] = get_args(Hosting)


def rank(value: Classification) -> int:
    return LEVELS.index(value)


def parse_classification(value: str) -> Classification:
    """A classification from a header or user input; anything else names the known ones."""
    return parse_choice(
        value,
        LEVELS,
        unknown=f"{HEADER}: unknown classification",
        known="known:",
        param=HEADER,
        normalise=lambda given: given.strip().lower(),
    )


def stricter(*values: Classification | None) -> Classification:
    """The most sensitive of the given classes (``public`` if none is given)."""
    present = [v for v in values if v is not None]
    return max(present, key=rank) if present else "public"


def effective_classification(header: str | None, default: Classification) -> Classification:
    """The class a request runs under (``header``: the header's value, None without one);
    refuses a header that would lower the key's default, and an empty one: a proxy that blanks
    the header must not silently leave the request at the key's default."""
    if header is None:
        return default
    if not header.strip():
        raise InvalidRequest(
            f"{HEADER} is empty: send one of {', '.join(LEVELS)}, or leave the header out for"
            " the key's default",
            param=HEADER,
        )
    requested = parse_classification(header)
    if rank(requested) < rank(default):
        raise PermissionDenied(
            f"{HEADER}: {requested} is below this key's default classification {default};"
            " a request may raise its classification, never lower it",
            param=HEADER,
            code="classification_lowered",
        )
    return requested


def allowed_hosting(classification: Classification, rules: GovernanceConfig) -> tuple[Hosting, ...]:
    """Where data of this class may be processed, by the config's mapping."""
    return rules.classification_hosting.get(classification, ())


def may_go(
    classification: Classification, hosting: Hosting | None, rules: GovernanceConfig
) -> bool:
    """Whether data of this class may go to a model hosted at ``hosting``. A location the config
    does not state (None) could be any, so it is counted as the least trusted: it gets only the
    data that may go to every location (by default ``public`` data alone)."""
    allowed = allowed_hosting(classification, rules)
    if hosting is None:
        return all(place in allowed for place in HOSTINGS)
    return hosting in allowed


def classes_by_hosting(rules: GovernanceConfig) -> dict[Hosting, tuple[Classification, ...]]:
    """For each hosting location, the classifications whose data may go there (the dashboard's
    hosting widget)."""
    return {
        where: tuple(c for c in LEVELS if where in rules.classification_hosting.get(c, ()))
        for where in HOSTINGS
    }
