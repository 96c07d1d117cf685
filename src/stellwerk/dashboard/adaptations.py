"""The router's adaptation runs, as the router-learning page shows them.

Every run of ``learning.online.adapt_stored`` (``stellwerk router adapt``, or the gateway on its
schedule) is one ``router.adapt`` audit entry with its ``Adaptation.as_json`` figures, promoted or
not; the page reads the newest of them (``GradedStore.adaptations``) so that an operator can tell a
router that tried to learn and found nothing better from one that never tried.

A run that promoted nothing says why: ``adapt.Adaptation.reasons``, written into the entry by the
run itself (``reasons``, with the form whose candidate routed best, ``best_form``). An entry written
before runs wrote them is read back from its figures, in the order of ``adapt.Comparison.better``
(every reason that applies is given):

1. ``too_few_records``: too few usable graded records to fit anything (the run has no comparison);
   a record is unusable without a latent vector or without a grade of a model the router was
   trained on, so a run may read many records and use none (``read`` beside ``records``);
2. ``too_few_judged``: fewer judged records than a promotion needs (the comparison's
   ``min_records``); a run that judged none has no gain and no form that routed best (its
   comparison's zeros are not figures), so this is its only reason;
3. ``no_gain``: the candidate routes no better (a routing gain of zero or less);
4. ``under_margin``: a routing gain, but not above ``margin`` standard errors;
5. ``worse_for``: a department the candidate routes worse (the comparison's ``worse_for``);
6. ``no_correction``: the candidate routed better, but fitted once more on every record no
   correction beat the base (``adapt``'s last step).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from stellwerk.ledger.audit import AuditEntry
from stellwerk.routing.adapt import NOT_PROMOTED, NotPromoted
from stellwerk.routing.correction import FORMS

RUNS_SHOWN = 10

Reason = NotPromoted


@dataclass(frozen=True, slots=True)
class AdaptationRun:
    """One adaptation run: what it read and judged, its routing gain, and what came of it."""

    time: datetime
    actor: str
    promoted: bool
    version: int | None
    """The version it promoted (None: it promoted nothing)."""
    read: int | None
    """The graded records it read (None: a run audited before runs counted them)."""
    records: int | None
    """Of those, the usable ones: with a latent vector and a grade of a model the router was
    trained on."""
    judged: int | None
    """The records its comparison judged (None: too few records to judge any)."""
    gain: float | None
    """The routing gain of the best form's candidate over the router in use (grade points; None:
    nothing judged)."""
    standard_error: float | None
    form: str | None
    """The form of correction whose candidate routed best (``correction.FORMS``; None: nothing
    judged, so no form was compared)."""
    min_judged: int = 0
    margin: float = 0.0
    worse_for: tuple[str, ...] = ()
    reasons: tuple[Reason, ...] = ()
    """Why nothing was promoted (module docstring); empty when it was."""

    @property
    def needed(self) -> float | None:
        """The gain a promotion needed: more than ``margin`` standard errors."""
        if self.standard_error is None:
            return None
        return self.margin * self.standard_error


def adaptation_run(entry: AuditEntry) -> AdaptationRun:
    """The run that ``entry`` (a ``router.adapt`` audit entry) records."""
    d: Mapping[str, Any] = entry.details
    comparison = d.get("comparison")
    c: Mapping[str, Any] = comparison if isinstance(comparison, dict) else {}
    promoted = d.get("promoted") is True
    worse = c.get("worse_for")
    judged = as_int(c.get("records"))
    nothing_judged = judged == 0
    run = AdaptationRun(
        time=entry.time,
        actor=entry.actor,
        promoted=promoted,
        version=as_int(d.get("version")) if promoted else None,
        read=as_int(d.get("read")),
        records=as_int(d.get("records")),
        judged=judged,
        gain=None if nothing_judged else as_float(c.get("gain")),
        standard_error=None if nothing_judged else as_float(c.get("standard_error")),
        form=None if nothing_judged else _form(d),
        min_judged=as_int(c.get("min_records")) or 0,
        margin=as_float(c.get("margin")) or 0.0,
        worse_for=tuple(str(n) for n in worse) if isinstance(worse, list) else (),
    )
    return run if promoted else replace(run, reasons=_written(d) or _reasons(run, c))


def _written(details: Mapping[str, Any]) -> tuple[Reason, ...]:
    """The reasons the run wrote into its entry (empty: an older entry, or none it knew)."""
    given = details.get("reasons")
    if not isinstance(given, list):
        return ()
    return tuple(r for r in NOT_PROMOTED if r in given)


def _reasons(run: AdaptationRun, comparison: Mapping[str, Any]) -> tuple[Reason, ...]:
    """The reasons of an entry written before runs wrote them, read back from its figures."""
    if run.judged is None:
        return ("too_few_records",)
    if comparison.get("better") is True:
        return ("no_correction",)
    reasons: list[Reason] = []
    if run.judged < max(run.min_judged, 1):
        reasons.append("too_few_judged")
    gain, needed = run.gain, run.needed
    if gain is not None and gain <= 0.0:
        reasons.append("no_gain")
    elif gain is not None and needed is not None and gain <= needed:
        reasons.append("under_margin")
    if run.worse_for:
        reasons.append("worse_for")
    return tuple(reasons)


def _form(details: Mapping[str, Any]) -> str | None:
    """The form promoted; else the one whose candidate routed best (``best_form``; in an older
    entry, read from each form's ``[gain, standard error]``: ``adapt`` takes the first of
    ``FORMS`` of the highest gain)."""
    for key in ("form", "best_form"):
        form = details.get(key)
        if isinstance(form, str):
            return form
    gains = details.get("form_gains")
    if not isinstance(gains, dict):
        return None
    best: tuple[float, str] | None = None
    for form in [f for f in FORMS if f in gains] + sorted(set(gains) - set(FORMS)):
        figures = gains[form]
        gain = as_float(figures[0]) if isinstance(figures, list) and figures else None
        if gain is not None and (best is None or gain > best[0]):
            best = (gain, form)
    return None if best is None else best[1]


def as_int(value: object) -> int | None:
    """``value`` if it is an integer (not a bool), else None: audit figures are read as JSON."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_float(value: object) -> float | None:
    """``value`` as a float if it is a number (not a bool), else None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None
