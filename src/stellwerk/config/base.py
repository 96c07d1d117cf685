"""What every part of ``stellwerk.yaml`` shares: the value types, the strict frozen model base,
and the checks of names and environment variable names."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from stellwerk.errors import shown

SizeClass = Literal["small", "medium", "large"]
Lifecycle = Literal["proposed", "in_review", "approved", "deprecated", "retired"]
Capability = Literal["chat", "completion", "tools", "vision", "embeddings", "json", "thinking"]
Classification = Literal["public", "internal", "confidential", "secret"]
Openness = Literal["open_weights", "open_model", "open_tooling", "open_science", "closed"]
Hosting = Literal["on_prem", "eu_cloud", "non_eu_cloud"]
RiskTier = Literal["minimal", "limited", "high"]
Role = Literal["user", "owner", "admin", "viewer", "head", "metrics"]
READERS: tuple[Role, ...] = ("admin", "viewer")
"""The roles that read everything under ``/admin`` and every page of the dashboard: every
department's usage, budgets, keys (ids, never the keys), the catalog, the audit log. Of them only
``admin`` changes anything; ``viewer`` is for a controller or an auditor of the whole
organisation, who should see the figures without holding a key that could revoke keys or lift
consents."""
HEAD: Role = "head"
"""The role that reads its own department only: its usage report, its keys (ids), its limits and
its use cases under ``/admin``, its department's page on the dashboard; nothing of another
department, and it changes nothing. For a department head or the department's controller."""
READ_ONLY: tuple[Role, ...] = ("viewer", HEAD)
"""The roles that may read and never change anything."""
MofClass = Literal["I", "II", "III"]
ModelFact = Literal[
    "licence",
    "model_card_url",
    "hosting",
    "owner",
    "evaluation_url",
    "oversight_contact",
    "data_owner",
]
UseCaseFact = Literal["purpose", "oversight_contact", "allowed_models"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def check_name(value: str) -> str:
    """A name (a backend's, a model's id, a department's, a key's id): ASCII letters, digits
    and ``. _ : / -``, starting with a letter or digit, at most 128 characters. ASCII only:
    names stand in URLs, file and variable names and the audit log, and letters of other
    scripts can look alike (a Cyrillic a, U+0430, beside a Latin one: two departments that read the
    same)."""
    if not _NAME.match(value):
        raise ValueError(name_refusal(value, ". _ : / -"))
    return value


def check_use_case_name(value: str) -> str:
    """A use case's name: as ``check_name``; a refusal names the characters a new one may hold
    (no ``:``, ``governance.new_use_case_name``; one stored with it before is still read)."""
    if not _NAME.match(value):
        raise ValueError(name_refusal(value, ". _ / -"))
    return value


# an umlaut's ASCII spelling; other accented letters lose their accent (NFKD)
_ASCII_SPELLING = {"Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"}


def name_refusal(value: str, marks: str) -> str:
    """Why ``value`` is no name, naming what one may hold (``marks``: the marks besides letters
    and digits); a letter outside ASCII is named, with the name spelt in ASCII when that is
    one."""
    import unicodedata

    rule = (
        f"use ASCII letters (A-Z, a-z), digits and {marks}, starting with a letter or digit,"
        " at most 128 characters"
    )
    letter = next((c for c in value if c.isalpha() and not c.isascii()), None)
    if letter is None:
        return f"{value!r} is not a valid name: {rule}"
    spelt = "".join(_ASCII_SPELLING.get(c, c) for c in value)
    spelt = unicodedata.normalize("NFKD", spelt).encode("ascii", "ignore").decode()
    fits = _NAME.match(spelt) is not None and (":" in marks or ":" not in spelt)
    hint = f" (e.g. {spelt!r})" if fits else ""
    return f"{value!r} is not a valid name: {letter!r} is not an ASCII letter; {rule}{hint}"


def check_env(value: str | None) -> str | None:
    if value is not None and not _ENV.match(value):
        raise ValueError(f"{value!r} is not an environment variable name")
    return value


_Listed = TypeVar("_Listed", bound=Sequence[str] | None)


def each_once(noun: str, same: Callable[[str], str] | None = None) -> Callable[[_Listed], _Listed]:
    """The check of a list of names (``allowed_models``, ``capabilities`` ...) that refuses one
    named twice, as a model id or a YAML key given twice is refused: kept, the duplicate would
    show in the audit, on the dashboard and in the CLI's lists, and pass for a mistake nobody
    was told of. ``same`` spells a name as compared, for names that are one however written
    (a language code in any case, an origin with a ``/`` at its end). The config's loader puts
    the list's place before the words (``departments.0.allowed_models: names the model 'x'
    twice; name each model once``)."""

    def check(values: _Listed) -> _Listed:
        seen: dict[str, str] = {}
        for value in values if values is not None else ():
            key = same(value) if same is not None else value
            if key in seen:
                also = f" (as {shown(seen[key])} too)" if seen[key] != value else ""
                raise ValueError(
                    f"names the {noun} {shown(value)} twice{also}; name each {noun} once"
                )
            seen[key] = value
        return values

    return check


def same_origin(value: str) -> str:
    """An origin as browsers send it: scheme and host in lower case (both are case-insensitive),
    no ``/`` at its end (an origin has no path)."""
    return value.strip().rstrip("/").lower()


def refuse_prohibited(value: object) -> object:
    if value == "prohibited":
        raise ValueError(
            "risk tier 'prohibited' is refused: the EU AI Act forbids these practices (Art. 5);"
            " use minimal, limited or high"
        )
    return value
