"""The router's adaptation runs, as the router-learning page shows them.

Every run of ``learning.online.adapt_stored`` (``stellwerk router adapt``, or the gateway on its
schedule) is one ``router.adapt`` audit entry with its ``Adaptation.as_json`` figures, promoted or
not; the page reads the newest of them (``GradedStore.adaptations``) so that an operator can tell a
router that tried to learn and found nothing better from one that never tried.

A run that promoted nothing says why: ``adapt.Adaptation.reasons``, written into the entry by the
run itself (``reasons``, with the form whose candidate routed best, ``best_form``). An entry written
before runs wrote them is read back from its figures: the comparison they were written from is
rebuilt and asked (``adapt.Comparison.reasons``, in the order of ``adapt.Comparison.better``;
every reason that applies is given):

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

from stellwerk.dashboard.formats import Formatter
from stellwerk.dashboard.i18n import Labels
from stellwerk.ledger.audit import AuditEntry
from stellwerk.routing.adapt import NOT_PROMOTED, Comparison, DepartmentGain, NotPromoted
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

    def worded(self, reason: Reason, t: Labels, fmt: Formatter) -> str:
        """``reason`` in the page's language, with this run's figures (``adapt_reason_<reason>``,
        :mod:`labels_learning`; the router-learning page and the overview's audit table)."""
        return t[f"adapt_reason_{reason}"].format(
            least=fmt.number(self.min_judged),
            needed=fmt.number(self.needed, 3),
            names=", ".join(self.worse_for),
        )


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
    """The reasons of an entry written before runs wrote them: its comparison rebuilt from the
    figures it kept, and asked (``Comparison.reasons``), so the rule is only ``adapt``'s."""
    if run.judged is None:
        return ("too_few_records",)
    if comparison.get("better") is True:
        return ("no_correction",)
    return _compared(run, comparison).reasons


def _compared(run: AdaptationRun, comparison: Mapping[str, Any]) -> Comparison:
    """The ``Comparison`` an entry's figures (``Comparison.as_json``) were written from, as far as
    its verdict goes: the gain as written, the departments only where the entry names those it
    routes worse (``worse_for``: an entry written before that clause of the rule has none)."""
    departments: dict[str, DepartmentGain] = {}
    given = comparison.get("departments")
    if "worse_for" in comparison and isinstance(given, dict):
        for name, figures in given.items():
            gain = as_float(figures.get("gain")) if isinstance(figures, dict) else None
            if gain is not None:
                records = as_int(figures.get("records")) or 0
                departments[str(name)] = DepartmentGain(
                    records, gain, as_float(figures.get("standard_error"))
                )
    return Comparison(
        records=run.judged or 0,
        grades=as_int(comparison.get("grades")) or 0,
        current_score=0.0,
        candidate_score=run.gain or 0.0,
        standard_error=run.standard_error or 0.0,
        current_error=0.0,
        candidate_error=0.0,
        min_records=run.min_judged,
        margin=run.margin,
        departments=departments,
    )


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
