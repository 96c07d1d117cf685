"""The learned router and its versions in the ledger: which correction it uses, and adapting it.

A router version (``ledger.graded.RouterVersion``) is a correction
(``correction_blob.dump_correction``) on
top of one base artifact, or none. ``use_current`` puts the newest version of the router's
artifact on it (the gateway does at start and whenever the newest changes, ``stellwerk route``
before it decides): its correction, and the promotion that correction came from
(``GradedStore.correction_of``: a rollback names the version it restored) as the version its
decisions name; ``adapt_stored`` runs
``adapt`` over the graded records of the artifact kept in the ledger and, unless asked for a dry
run, stores a promoted correction as the new version, audited ``router.adapt`` with its before and
after figures (an adaptation that was not promoted is audited too, without a version); when
another version was stored while it ran (a rollback), nothing is promoted (``Conflict``). The audit
entry names the newest graded record read (``newest_record``), so that a scheduled adaptation
(``learning.schedule``) knows how many came since, and how many records it read (``read``) beside
the usable ones ``adapt`` counts (``records``: with a latent vector and a grade of a model the
router was trained on). ``judging`` gives what routing is judged at:
each configured model's cost of a typical request, and the cost weights of the config's routes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from stellwerk.config.schema import StellwerkConfig
from stellwerk.errors import ConfigError
from stellwerk.ledger.audit import append_audit
from stellwerk.ledger.graded import MAX_RECORDS, GradedStore, RouterVersion
from stellwerk.routing.adapt import Adaptation, AdaptSettings, adapt
from stellwerk.routing.base import Router
from stellwerk.routing.correction_blob import dump_correction, load_correction
from stellwerk.routing.learned import LearnedRouter
from stellwerk.routing.usable import Usability, usability


def learned(router: Router) -> LearnedRouter:
    """``router`` if it learns (``kind: learned``); a ``ConfigError`` otherwise."""
    if not isinstance(router, LearnedRouter):
        raise ConfigError(
            f"router.kind: the {router.name!r} router does not learn; only kind 'learned' adapts"
        )
    return router


def use_current(router: LearnedRouter, store: GradedStore) -> RouterVersion | None:
    """Put the newest version of ``router``'s artifact on it (or its base alone); returns it.
    ``router.adapted`` is then the promotion whose correction it carries (0: none)."""
    version = store.current(router.version)
    base = replace(router.model, correction=None)
    if version is None or version.correction is None:
        router.model, router.adapted = base, 0
    else:
        corrected = load_correction(base, version.correction)
        router.model, router.adapted = corrected, store.correction_of(version)
    return version


@dataclass(frozen=True)
class Outcome:
    adaptation: Adaptation
    current: int
    """The version compared against: the promotion whose correction was in use (0: the base
    alone)."""
    version: RouterVersion | None
    """The version stored (None: not promoted, or a dry run)."""
    read: int
    """The graded records read (``adaptation.records`` of them were usable)."""
    usability: Usability | None = None
    """The records read, counted by what kept them out (``routing.usable``)."""
    settings: AdaptSettings = field(default_factory=AdaptSettings)

    @property
    def why(self) -> str | None:
        """Plain words on the records, when too few were usable or judged (None otherwise)."""
        short = {"too_few_records", "too_few_judged"} & set(self.adaptation.reasons)
        if not short or self.usability is None:
            return None
        return self.usability.why(
            max(self.settings.min_records, 2), max(self.settings.min_judged, 1)
        )

    def as_json(self, base_version: str) -> dict[str, Any]:
        return {
            "artifact": base_version,
            "current_version": self.current,
            "new_version": None if self.version is None else self.version.id,
            "read": self.read,
            **self.adaptation.as_json(),
            "usable": None if self.usability is None else self.usability.as_json(),
            "why": self.why,
        }


TYPICAL_PROMPT_TOKENS = 256
"""The prompt length a model's cost is judged at (only the models' relative costs matter)."""


@dataclass(frozen=True)
class Judging:
    """What an adaptation judges routing at (``adapt.compare``)."""

    costs: Mapping[str, float] | None = None
    cost_weights: tuple[float, ...] | None = None


def judging(config: StellwerkConfig, router: LearnedRouter) -> Judging:
    """Each configured model's cost of a typical request (``TYPICAL_PROMPT_TOKENS`` in, the
    router's answer length out), and the cost weights of the config's routes."""
    costs = {m.id: m.price.cost(TYPICAL_PROMPT_TOKENS, router.answer_tokens) for m in config.models}
    weights = tuple(sorted({r.cost_weight for r in config.routes.values()}))
    return Judging(costs=costs, cost_weights=weights or None)


def adapt_stored(
    router: LearnedRouter,
    store: GradedStore,
    *,
    actor: str,
    dry_run: bool = False,
    seed: int = 0,
    config_hash: str | None = None,
    judged_at: Judging | None = None,
) -> Outcome:
    """Adapt ``router`` (its newest version) from the newest ``MAX_RECORDS`` graded records of
    its artifact; store and audit the outcome unless ``dry_run``."""
    judged_at = judged_at or Judging()
    newest_version = use_current(router, store)
    current_id = router.adapted
    newest = store.newest_id(router.version)
    records = store.records(router.version, limit=MAX_RECORDS, up_to=newest)
    settings = AdaptSettings()
    if judged_at.cost_weights:
        settings = replace(settings, cost_weights=judged_at.cost_weights)
    adaptation = adapt(router.model, records, seed=seed, settings=settings, costs=judged_at.costs)
    counted = usability(router.model.models, records)
    outcome = Outcome(adaptation, current_id, None, len(records), counted, settings)
    if dry_run:
        return outcome
    details = {
        **adaptation.as_json(),
        "compared_with": current_id,
        "seed": seed,
        "newest_record": newest,
        "read": len(records),
        "cost_weights": list(settings.cost_weights),
    }
    correction = adaptation.model.correction
    if adaptation.promoted and correction is not None:
        version = store.promote(
            router.version,
            dump_correction(correction),
            actor=actor,
            details=details,
            over=0 if newest_version is None else newest_version.id,
            config_hash=config_hash,
        )
        use_current(router, store)
        return Outcome(adaptation, current_id, version, len(records), counted, settings)
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
