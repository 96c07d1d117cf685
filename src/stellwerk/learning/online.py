"""The learned router and its versions in the ledger: which correction it uses, and adapting it.

A router version (``ledger.graded.RouterVersion``) is a correction (``adapt.dump_correction``) on
top of one base artifact, or none. ``use_current`` puts the newest version of the router's
artifact on it (the gateway does at start and whenever the newest changes); ``adapt_stored`` runs
``adapt`` over the graded records of the artifact kept in the ledger and, unless asked for a dry
run, stores a promoted correction as the new version, audited ``router.adapt`` with its before and
after figures (an adaptation that was not promoted is audited too, without a version).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from stellwerk.errors import ConfigError
from stellwerk.ledger.audit import append_audit
from stellwerk.ledger.graded import MAX_RECORDS, GradedStore, RouterVersion
from stellwerk.routing.adapt import Adaptation, adapt, dump_correction, load_correction
from stellwerk.routing.base import Router
from stellwerk.routing.learned import LearnedRouter


def learned(router: Router) -> LearnedRouter:
    """``router`` if it learns (``kind: learned``); a ``ConfigError`` otherwise."""
    if not isinstance(router, LearnedRouter):
        raise ConfigError(
            f"router.kind: the {router.name!r} router does not learn; only kind 'learned' adapts"
        )
    return router


def use_current(router: LearnedRouter, store: GradedStore) -> RouterVersion | None:
    """Put the newest version of ``router``'s artifact on it (or its base alone); returns it."""
    version = store.current(router.version)
    base = replace(router.model, correction=None)
    if version is None or version.correction is None:
        router.model, router.adapted = base, 0
    else:
        router.model, router.adapted = load_correction(base, version.correction), version.id
    return version


@dataclass(frozen=True)
class Outcome:
    adaptation: Adaptation
    current: int
    """The version compared against (0: the base alone)."""
    version: RouterVersion | None
    """The version stored (None: not promoted, or a dry run)."""

    def as_json(self, base_version: str) -> dict[str, Any]:
        return {
            "artifact": base_version,
            "current_version": self.current,
            "new_version": None if self.version is None else self.version.id,
            **self.adaptation.as_json(),
        }


def adapt_stored(
    router: LearnedRouter,
    store: GradedStore,
    *,
    actor: str,
    dry_run: bool = False,
    seed: int = 0,
    config_hash: str | None = None,
) -> Outcome:
    """Adapt ``router`` (its newest version) from the newest ``MAX_RECORDS`` graded records of
    its artifact; store and audit the outcome unless ``dry_run``."""
    current = use_current(router, store)
    current_id = 0 if current is None or current.correction is None else current.id
    records = store.records(router.version, limit=MAX_RECORDS)
    adaptation = adapt(router.model, records, seed=seed)
    outcome = Outcome(adaptation, current_id, None)
    if dry_run:
        return outcome
    details = {**adaptation.as_json(), "compared_with": current_id, "seed": seed}
    correction = adaptation.model.correction
    if adaptation.promoted and correction is not None:
        version = store.promote(
            router.version,
            dump_correction(correction),
            actor=actor,
            details=details,
            config_hash=config_hash,
        )
        use_current(router, store)
        return Outcome(adaptation, current_id, version)
    with store.ledger.begin() as connection:
        append_audit(
            connection,
            actor=actor,
            action="router.adapt",
            target_kind="router",
            target=router.version,
            details={**details, "version": None},
            config_hash=config_hash,
        )
    return outcome
