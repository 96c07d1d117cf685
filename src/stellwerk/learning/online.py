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
after figures (an adaptation that was not promoted is audited too, without a version) and how many
dry runs came since the newest version (``dry_runs_before``: a dry run stores nothing but is
audited ``router.adapt_dry_run``, so that seeds tried until one passes show); when
another version was stored while it ran (a rollback), nothing is promoted (``Conflict``). The audit
entry names the newest graded record read (``newest_record``), so that a scheduled adaptation
(``learning.schedule``) knows how many came since, and how many records it read (``read``) beside
the usable ones ``adapt`` counts (``records``: with a latent vector and a grade of a model the
router was trained on). After a rollback it learns only from the records newer than the newest
rollback (``GradedStore.learning_window``: what was learned from the earlier ones was rolled
back), unless asked for all (``all_records``); the audit entry and the outcome name that window
(``records_since``) and how many records it left out. ``judging`` gives what routing is judged at:
each configured model's cost of a typical request, and the cost weights of the config's routes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC
from typing import Any

from stellwerk.config.schema import StellwerkConfig
from stellwerk.errors import ConfigError
from stellwerk.ledger.audit import append_audit
from stellwerk.ledger.graded import (
    DRY_RUN_ACTION,
    MAX_RECORDS,
    GradedStore,
    LearningWindow,
    RouterVersion,
)
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
    window: LearningWindow | None = None
    """The rollback after which it read the records (None: it read every record)."""
    left_out: int = 0
    """The records of the artifact before ``window`` (not read)."""
    all_records: bool = False
    """Asked to read every record, those before the newest rollback included."""

    @property
    def why(self) -> str | None:
        """Plain words on the records, when too few were usable or judged (None otherwise)."""
        short = {"too_few_records", "too_few_judged"} & set(self.adaptation.reasons)
        if not short or self.usability is None:
            return None
        since = None if self.window is None else f"since {rollback_words(self.window)}"
        words = self.usability.why(
            max(self.settings.min_records, 2), max(self.settings.min_judged, 1), since=since
        )
        return words if self.window is None else f"{words} {self._left_out()}"

    @property
    def window_note(self) -> str | None:
        """Plain words on the records it learned from after a rollback (None: it read all)."""
        if self.window is None:
            return None
        return (
            f"Learned from the {self.read} graded records since {rollback_words(self.window)}."
            f" {self._left_out()}"
        )

    def _left_out(self) -> str:
        return (
            f"The {self.left_out} graded records before the rollback are left out: what was"
            " learned from them was rolled back (stellwerk router adapt --all-records includes"
            " them)."
        )

    def records_since(self) -> dict[str, Any] | None:
        """The window it read (``records_since`` of the output and the audit entry)."""
        w = self.window
        if w is None:
            return None
        return {
            "rollback": w.rollback,
            "time": w.time.isoformat(timespec="seconds"),
            "after_record": w.after,
            "left_out": self.left_out,
        }

    def as_json(self, base_version: str) -> dict[str, Any]:
        return {
            "artifact": base_version,
            "current_version": self.current,
            "new_version": None if self.version is None else self.version.id,
            "read": self.read,
            "records_since": self.records_since(),
            "all_records": self.all_records,
            **self.adaptation.as_json(),
            "usable": None if self.usability is None else self.usability.as_json(),
            "why": self.why,
        }


def rollback_words(window: LearningWindow) -> str:
    """``the rollback of 2026-12-07 22:10 UTC (version 6)`` (a time read without its zone is
    UTC: the ledger writes UTC)."""
    time = window.time if window.time.tzinfo is None else window.time.astimezone(UTC)
    return f"the rollback of {time:%Y-%m-%d %H:%M} UTC (version {window.rollback})"


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
    all_records: bool = False,
) -> Outcome:
    """Adapt ``router`` (its newest version) from the newest ``MAX_RECORDS`` graded records of
    its artifact (after its newest rollback, unless ``all_records``); store and audit the outcome
    (``router.adapt``, with ``dry_runs_before``: the dry runs since the newest version); a dry run
    stores nothing and is audited ``router.adapt_dry_run``."""
    judged_at = judged_at or Judging()
    newest_version = use_current(router, store)
    current_id = router.adapted
    newest = store.newest_id(router.version)
    window = None if all_records else store.learning_window(router.version)
    after = None if window is None else window.after
    records = store.records(router.version, limit=MAX_RECORDS, up_to=newest, after=after)
    left_out = 0 if after is None else store.count(router.version, up_to=after)
    settings = AdaptSettings()
    if judged_at.cost_weights:
        settings = replace(settings, cost_weights=judged_at.cost_weights)
    adaptation = adapt(router.model, records, seed=seed, settings=settings, costs=judged_at.costs)
    counted = usability(router.model.models, records)
    outcome = Outcome(
        adaptation,
        current_id,
        None,
        len(records),
        counted,
        settings,
        window=window,
        left_out=left_out,
        all_records=all_records,
    )
    details = {
        **adaptation.as_json(),
        "compared_with": current_id,
        "seed": seed,
        "newest_record": newest,
        "read": len(records),
        "records_since": outcome.records_since(),
        "all_records": all_records,
        "cost_weights": list(settings.cost_weights),
    }
    if dry_run:  # stores nothing, but the try shows (an admin trying seeds until one passes)
        _audit(store, actor, DRY_RUN_ACTION, router.version, details, config_hash)
        return outcome
    since = None if newest_version is None else newest_version.time
    details["dry_runs_before"] = store.dry_runs_since(router.version, since)
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
        return replace(outcome, version=version)
    _audit(store, actor, "router.adapt", router.version, {**details, "version": None}, config_hash)
    return outcome


def _audit(
    store: GradedStore,
    actor: str,
    action: str,
    base_version: str,
    details: dict[str, Any],
    config_hash: str | None,
) -> None:
    with store.ledger.begin() as connection:
        append_audit(
            connection,
            actor=actor,
            action=action,
            target_kind="router",
            target=base_version,
            details=details,
            config_hash=config_hash,
        )
