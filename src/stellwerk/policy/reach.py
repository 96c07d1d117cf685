"""Whether a use case can be served at all: some model may serve its keys' requests now.

A use case whose allowed models (or, with no allow-list, the catalog's models) are all refused
at its class makes every request of a key bound to it a 403. It is not refused for that when it
is made: a model may be approved, re-hosted or granted consent later. It is pointed out instead
(the admin API's answer, ``GET /admin/compliance``, the dashboard, ``stellwerk config check``).

The test is the policy filter's own (``PolicyFilter.refusal``: lifecycle, consent, compliance,
hosting, allow-lists), at the class a key of the use case without a class of its own runs under
(``stellwerk.config.key_class``): this module never states a rule a second time, so a rule
changed there changes this warning too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stellwerk.config.key_class import key_class
from stellwerk.config.schema import Classification, StellwerkConfig, UseCaseConfig
from stellwerk.policy.filter import PolicyFilter
from stellwerk.policy.state import ModelState

SHOWN = 5
"""At most this many models' reasons are named in a warning; the others are counted."""


@dataclass(frozen=True, slots=True)
class Unservable:
    """A use case no model may serve: ``refused`` holds each candidate model and why not (the
    use case's allowed models, or every model of the catalog when it has no allow-list)."""

    use_case: str
    department: str
    classification: Classification
    listed: bool  # the use case has allowed_models
    refused: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        which = "allowed model" if self.listed else "model of the catalog"
        text = f"use case {self.use_case!r}: no {which} may serve its class {self.classification}"
        if not self.refused:
            return text
        named = "; ".join(f"{model}: {why}" for model, why in self.refused[:SHOWN])
        more = len(self.refused) - SHOWN
        return text + f" ({named}{f'; {more} more' if more > 0 else ''})"

    def to_json(self) -> dict[str, object]:
        """As ``GET /admin/compliance`` lists it."""
        return {
            "use_case": self.use_case,
            "department": self.department,
            "classification": self.classification,
            "refused": dict(self.refused),
            "message": self.describe(),
        }


def unservable(
    policy: PolicyFilter, case: UseCaseConfig, models: Sequence[ModelState]
) -> Unservable | None:
    """Why no model may serve a key of ``case`` now, or ``None`` when one may (or when its
    department is not configured: that is refused elsewhere, with its own message)."""
    department = policy.departments.get(case.department)
    if department is None:
        return None
    level = key_class(None, case, department)
    listed = case.allowed_models is not None
    candidates = [m for m in models if not listed or m.id in (case.allowed_models or ())]
    refused: list[tuple[str, str]] = []
    for model in candidates:
        why = policy.refusal(model, department, case, level)
        if why is None:
            return None
        refused.append((model.id, why))
    return Unservable(case.name, case.department, level, listed, tuple(refused))


def unservable_in_config(config: StellwerkConfig) -> list[Unservable]:
    """The config's use cases that no model may serve as the config seeds the catalog (each
    model in its configured lifecycle state, consent granted): ``stellwerk config check``. The
    ledger is not read there, so each model is taken to have the calibration record that may
    stand for its ``evaluation_url`` (``compliance_mode: block``): no warning that a record
    already in the ledger would make false."""
    policy = PolicyFilter.from_config(config, evaluated=frozenset(m.id for m in config.models))
    models = [ModelState.from_config(m) for m in config.models]
    found = (unservable(policy, case, models) for case in config.use_cases)
    return [u for u in found if u is not None]
