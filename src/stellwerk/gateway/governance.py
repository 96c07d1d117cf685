"""Where governance meets the gateway: the policy filter as the selector's ``Permit``, and the
request's classification from its header. (The keyring reads the principals of config and
database keys from the governance snapshot: ``stellwerk.gateway.auth``; budgets and limits are
``stellwerk.gateway.budget``'s.)

Every decision is made at request time from the governance snapshot (no database round trip on
the request path); see :mod:`stellwerk.governance.snapshot`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from stellwerk.config.schema import ModelConfig
from stellwerk.gateway.auth import Principal
from stellwerk.gateway.selection import Permit
from stellwerk.governance.service import Governance
from stellwerk.policy.classification import HEADER, effective_classification


def permit(governance: Governance) -> Permit:
    """The models the policy filter lets serve a principal, over the governance snapshot."""

    def permitted(
        principal: Principal, requested: str | None, kind: str | None = None
    ) -> list[ModelConfig]:
        level = principal.classification
        return governance.snapshot.permitted(principal, level, requested, kind)  # type: ignore[arg-type]

    return permitted


def classify(principal: Principal, headers: Mapping[str, str]) -> Principal:
    """The principal with the request's classification: the header may raise the key's default,
    never lower it (403)."""
    header = headers.get(HEADER)
    given = None if header is None else header_text(header)
    level = effective_classification(given, principal.classification)  # type: ignore[arg-type]
    return (
        principal if level == principal.classification else replace(principal, classification=level)
    )


def header_text(value: str) -> str:
    """A header's value as the client wrote it. HTTP carries bytes, which Starlette reads as
    Latin-1: UTF-8 (what clients send) is read back as UTF-8, so an echo in an error shows
    ``'ünïcode'``, not ``'Ã¼nÃ¯code'``; a byte that is not UTF-8 is kept as a lone surrogate
    (``surrogateescape``), which an echo (``errors.shown``) shows as ``\\xNN``, once. A value
    that did not come from HTTP (the CLI's ``route``) is taken as it is."""
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:
        return value
    return raw.decode("utf-8", errors="surrogateescape")
