"""Adaptation: the router learns from graded traffic, without keeping a prompt.

The gateway (shadow grading, application feedback) keeps one ``GradedRecord`` per graded
request (``stellwerk.routing.graded_record``): the router's reading of the prompt, never its text.

``adapt(current, records)`` turns the records into a candidate router and decides whether it may
replace the current one:

1. ``fit_correction`` fits a ``correction.Correction`` on records: its number of neighbours and
   its trust in the base prediction are chosen by cross-validation (seeded folds, squared error)
   among ``AdaptSettings``' grids, against no correction at all;
2. the candidate is judged by how it *routes*, on records it was not fitted on: the records are
   cut into ``judge_folds`` seeded folds, and every fold is judged by a candidate fitted (step 1)
   on the other folds only, so every record is judged once, by a candidate that never saw it.
   This is done for each form of correction (``AdaptSettings.form_grid``, ``correction.FORMS``)
   alike, and the form whose candidate routes best (highest gain, step 3) is the candidate: the
   squared error would choose a form that routes worse (held-out arc_challenge, BENCHMARKS.md);
3. ``compare`` judges the current router and the candidate on those records as the gateway
   decides (``learned.choose``): at each cost weight of ``AdaptSettings.cost_weights``, each
   router picks, among the models the record has grades of, the one of highest predicted quality
   minus cost weight x normalised cost (``costs``: a relative cost per model; none: all free), and
   scores that model's grade minus the same cost term. A record's gain is the candidate's score
   minus the current router's, averaged over the cost weights; records with fewer than two graded
   models cannot tell two routers apart and are not counted;
4. only a candidate that routes better there is promoted: at least ``min_judged`` records, and a
   mean gain above zero and above ``margin`` paired standard errors; it is then fitted once more,
   in its form, with its settings chosen again by cross-validation, on every record. Taking the
   best of three forms before the test makes a promotion of a candidate no better somewhat more
   likely than the margin alone says (the forms' gains are strongly correlated: they share
   records and neighbours); every form's gain is reported (``Adaptation.gains``).

The squared error of the predicted qualities against the grades (Brier score) is reported beside
the gain, for the audit, but does not decide: a lower error does not always route better (the
router only needs the order of the models, per prompt and cost weight, to be right).

The result says what was compared (``Comparison``: records, both routers' mean score, the gain and
its paired standard error, both errors, and the same gain per department of the records that name
one, ``DepartmentGain``) so that a promotion can be audited with its before and after figures.
The promotion decides on all records together; the departments' figures only report where the
gain came from (a department with few judged records has a wide standard error). Everything is
deterministic for the same records and seed. A current router that carries a correction may have
been fitted on some of the judged records (an earlier adaptation): that favours it, never the
candidate.

The correction is always fitted on top of the *base* (trained) model, from all the records kept,
never stacked on an earlier correction; a record's base prediction comes from that base model, so
records must be re-made (or dropped) when the base artifact changes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt

from stellwerk.errors import TrainingDataError
from stellwerk.routing.correction import FORMS, Correction, corrections
from stellwerk.routing.graded_record import GradedRecord
from stellwerk.routing.graded_table import GradedTable, graded_table
from stellwerk.routing.model import QualityModel

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

NotPromoted = Literal[
    "too_few_records", "too_few_judged", "no_gain", "under_margin", "worse_for", "no_correction"
]
"""Why an adaptation promoted nothing (``Adaptation.reasons``), every reason that applies:

* ``too_few_records``: too few usable records to fit anything (no comparison);
* ``too_few_judged``: fewer judged records than ``min_judged``;
* ``no_gain``: the candidate routes no better (a gain of zero or less);
* ``under_margin``: a gain, but not above ``margin`` standard errors;
* ``worse_for``: a department the candidate routes worse (``Comparison.worse_for``);
* ``no_correction``: the candidate routed better, but fitted once more on every record no
  correction beat the base (step 4).
"""
NOT_PROMOTED: tuple[NotPromoted, ...] = get_args(NotPromoted)


@dataclass(frozen=True, slots=True)
class AdaptSettings:
    k_grid: tuple[int, ...] = (40, 80, 160)
    tau_grid: tuple[float, ...] = (4.0, 16.0)
    form_grid: tuple[str, ...] = FORMS
    """The correction's forms to choose from (``correction.FORMS``)."""
    folds: int = 5
    """Folds of the cross-validation that chooses ``k`` and ``tau``."""
    judge_folds: int = 5
    """Folds of the judgement: each is judged by a candidate fitted on the others."""
    min_records: int = 8
    """Fewer usable records than this: nothing is fitted, nothing promoted."""
    min_judged: int = 20
    """Fewer judged records (with two graded models or more) than this: nothing promoted."""
    margin: float = 2.0
    """A candidate is promoted only when its mean gain exceeds this many standard errors (one
    standard error would promote about one candidate in six that is no better at all)."""
    cost_weights: tuple[float, ...] = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
    """The cost weights the routing of both routers is judged at (a route's ``cost_weight``)."""


@dataclass(frozen=True, slots=True)
class DepartmentGain:
    """The judged records of one department in a ``Comparison``, and their mean gain."""

    records: int
    gain: float
    """Mean per-record gain (candidate minus current score) of the department's records."""
    standard_error: float | None
    """Standard error of that mean (None: a single record has none)."""

    def as_json(self) -> dict[str, Any]:
        se = self.standard_error
        return {
            "records": self.records,
            "gain": round(self.gain, 6),
            "standard_error": None if se is None else round(se, 6),
        }


@dataclass(frozen=True, slots=True)
class Comparison:
    """Two routers judged by how they route, on the same graded records neither was fitted on
    (module docstring, step 3)."""

    records: int
    """Records judged: with grades of two models or more."""
    grades: int
    """Grades of those records."""
    current_score: float
    """The current router's mean score: grade of its pick minus the cost term, over the cost
    weights and records."""
    candidate_score: float
    standard_error: float
    """Standard error of the mean per-record gain (candidate minus current score)."""
    current_error: float
    """Mean squared error of the current router's quality against the grades (for reports)."""
    candidate_error: float
    min_records: int = 0
    margin: float = 0.0
    departments: Mapping[str, DepartmentGain] = field(default_factory=dict)
    """The gain per department, of the judged records that name one (by name)."""

    @property
    def gain(self) -> float:
        return self.candidate_score - self.current_score

    @property
    def worse_for(self) -> tuple[str, ...]:
        """The departments the candidate routes worse: at least ``min_records`` judged records
        of theirs, and a mean gain below zero by more than ``margin`` of its standard errors.
        A gain for the whole must not be paid for by one department."""
        return tuple(
            name
            for name, d in sorted(self.departments.items())
            if d.records >= max(self.min_records, 2)
            and d.standard_error is not None
            and d.gain < 0.0
            and -d.gain > self.margin * d.standard_error
        )

    @property
    def better(self) -> bool:
        """Whether the candidate may replace the current router: it routes better, by more than
        ``margin`` standard errors, on at least ``min_records`` records, and no department with
        that many records of its own is routed worse by as much (``worse_for``)."""
        return not self.reasons

    @property
    def reasons(self) -> tuple[NotPromoted, ...]:
        """Why the candidate may not replace the current router (empty: it may), every reason
        that applies in the order of ``better``'s clauses; a comparison that judged no record has
        no gain to speak of, so its only reason is ``too_few_judged``."""
        return self._verdict(self.worse_for)

    def _verdict(self, worse_for: tuple[str, ...]) -> tuple[NotPromoted, ...]:
        if self.records == 0:
            return ("too_few_judged",)
        out: list[NotPromoted] = []
        if self.records < max(self.min_records, 1):
            out.append("too_few_judged")
        if self.gain <= 0.0:
            out.append("no_gain")
        elif self.gain <= self.margin * self.standard_error:
            out.append("under_margin")
        if worse_for:
            out.append("worse_for")
        return tuple(out)

    def as_json(self) -> dict[str, Any]:
        worse_for = self.worse_for
        return {
            "records": self.records,
            "grades": self.grades,
            "current_score": round(self.current_score, 6),
            "candidate_score": round(self.candidate_score, 6),
            "gain": round(self.gain, 6),
            "standard_error": round(self.standard_error, 6),
            "min_records": self.min_records,
            "margin": self.margin,
            "current_error": round(self.current_error, 6),
            "candidate_error": round(self.candidate_error, 6),
            "better": not self._verdict(worse_for),
            "worse_for": list(worse_for),
            "departments": {
                name: self.departments[name].as_json() for name in sorted(self.departments)
            },
        }


@dataclass(frozen=True)
class Adaptation:
    """The outcome of ``adapt``: the router to use from now on, and why."""

    model: QualityModel
    """The promoted candidate, or the current router when the candidate was not better."""
    promoted: bool
    comparison: Comparison | None
    """None: too few usable records to fit and judge anything."""
    records: int
    """Usable records (with a latent vector and a grade of a trained model)."""
    k: int | None = None
    tau: float | None = None
    form: str | None = None
    gains: Mapping[str, Comparison] | None = None
    """Each correction form's comparison (step 3); ``comparison`` is the best form's."""
    best_form: str | None = None
    """The form whose candidate routed best (``comparison`` is its), promoted or not; None when
    nothing was judged."""

    @property
    def reasons(self) -> tuple[NotPromoted, ...]:
        """Why nothing was promoted (empty when a version was): ``NotPromoted``."""
        if self.promoted:
            return ()
        if self.comparison is None:
            return ("too_few_records",)
        if self.comparison.better:  # routed better, but on every record no correction did
            return ("no_correction",)
        return self.comparison.reasons

    def as_json(self) -> dict[str, Any]:
        return {
            "promoted": self.promoted,
            "reasons": list(self.reasons),
            "records": self.records,
            "k": self.k,
            "tau": self.tau,
            "form": self.form,
            "best_form": self.best_form,
            "form_gains": None
            if self.gains is None
            else {f: [round(c.gain, 6), round(c.standard_error, 6)] for f, c in self.gains.items()},
            "comparison": None if self.comparison is None else self.comparison.as_json(),
        }


def adapt(
    current: QualityModel,
    records: Sequence[GradedRecord],
    *,
    seed: int = 0,
    settings: AdaptSettings | None = None,
    costs: Mapping[str, float] | None = None,
) -> Adaptation:
    """Fit a correction of ``current``'s base model on ``records`` (oldest first) and promote it
    only if it routes better than ``current`` on records it was not fitted on (module
    docstring); ``costs``: a relative cost per model (missing: free)."""
    settings = settings or AdaptSettings()
    base = replace(current, correction=None)
    table = graded_table(base, records)
    n = len(table)
    if n < max(settings.min_records, 2):
        return Adaptation(model=current, promoted=False, comparison=None, records=n)
    cost = _costs(base, costs)
    current_quality = _predict(current, table)
    gains: dict[str, Comparison] = {}
    for form in settings.form_grid:  # each form judged alike; the one that routes best is taken
        each = replace(settings, form_grid=(form,))
        candidate = _cross_fitted(base, table, each, seed)
        gains[form] = _compare(current_quality, candidate, table, cost, each)
    form, comparison = max(gains.items(), key=lambda item: item[1].gain)
    best = form if comparison.records else None
    if not comparison.better:
        return Adaptation(current, False, comparison, n, gains=gains, best_form=best)
    final = _fit(base, table, replace(settings, form_grid=(form,)), seed)
    if final.model.correction is None:  # on every record, no correction was better after all
        return Adaptation(current, False, comparison, n, gains=gains, best_form=best)
    return Adaptation(
        model=final.model,
        promoted=True,
        comparison=comparison,
        records=n,
        k=final.k,
        tau=final.tau,
        form=final.form,
        gains=gains,
        best_form=best,
    )


def _cross_fitted(
    base: QualityModel, table: GradedTable, settings: AdaptSettings, seed: int
) -> F64:
    """Every record's quality as predicted by a candidate fitted on the other judge folds."""
    n = len(table)
    folds = np.random.default_rng(seed + 1).permutation(n) % min(settings.judge_folds, n)
    candidate = np.empty_like(table.base)
    for f in np.unique(folds):
        held = np.flatnonzero(folds == f)
        fitted = _fit(base, table.rows(np.flatnonzero(folds != f)), settings, seed)
        candidate[held] = _predict(fitted.model, table.rows(held))
    return candidate


def fit_correction(
    model: QualityModel,
    records: Sequence[GradedRecord],
    *,
    seed: int = 0,
    settings: AdaptSettings | None = None,
) -> QualityModel:
    """``model``'s base with the correction cross-validation prefers on ``records`` (the base
    unchanged when none beats it)."""
    base = replace(model, correction=None)
    return _fit(base, graded_table(base, records), settings or AdaptSettings(), seed).model


def compare(
    current: QualityModel,
    candidate: QualityModel,
    held_out: Sequence[GradedRecord],
    *,
    costs: Mapping[str, float] | None = None,
    settings: AdaptSettings | None = None,
) -> Comparison:
    """How both routers route ``held_out`` (records neither was fitted on): step 3 of the
    module docstring."""
    base = replace(current, correction=None)
    table = graded_table(base, held_out)
    return _compare(
        _predict(current, table),
        _predict(candidate, table),
        table,
        _costs(base, costs),
        settings or AdaptSettings(),
    )


def predict_records(model: QualityModel, records: Sequence[GradedRecord]) -> F64:
    """``model``'s predicted quality for each record's prompt, from what the record keeps."""
    return _predict(model, graded_table(replace(model, correction=None), records))


@dataclass(frozen=True)
class _Fitted:
    model: QualityModel
    k: int | None
    tau: float | None
    form: str | None = None


def _fit(base: QualityModel, table: GradedTable, settings: AdaptSettings, seed: int) -> _Fitted:
    n = len(table)
    if n < 2:
        return _Fitted(base, None, None)
    folds = np.random.default_rng(seed).permutation(n) % min(settings.folds, n)
    train_sims = table.latents @ base.neighbour_emb.T
    residuals = np.where(table.graded, table.grades - table.base, 0.0).astype(np.float32)
    errors = {
        (k, tau, form): 0.0
        for k in settings.k_grid
        for tau in settings.tau_grid
        for form in settings.form_grid
    }
    plain = 0.0
    for f in np.unique(folds):
        fit, held = folds != f, folds == f
        graded_sims = table.latents[held] @ table.latents[fit].T
        mask = table.graded[held]
        plain += float(((table.base[held] - table.grades[held]) ** 2)[mask].sum())
        for k, tau, form in errors:
            shift = corrections(
                train_sims[held], graded_sims, residuals[fit], table.graded[fit], k, tau, form
            )
            pred = np.clip(table.base[held] + shift, 0.0, 1.0)
            errors[(k, tau, form)] += float(((pred - table.grades[held]) ** 2)[mask].sum())
    (k, tau, form), best = min(errors.items(), key=lambda item: (item[1], item[0]))
    if best >= plain:
        return _Fitted(base, None, None)
    correction = Correction(
        models=base.models,
        latents=table.latents,
        residuals=residuals,
        graded=table.graded,
        k=k,
        tau=tau,
        form=form,
    )
    return _Fitted(replace(base, correction=correction), k, tau, form)


def _predict(model: QualityModel, table: GradedTable) -> F64:
    corr = model.correction
    if corr is None or len(corr) == 0:
        return table.base
    shift = corrections(
        table.latents @ model.neighbour_emb.T,
        table.latents @ corr.latents.T,
        corr.residuals,
        corr.graded,
        corr.k,
        corr.tau,
        corr.form,
    )
    out: F64 = np.clip(table.base + shift, 0.0, 1.0)
    return out


def _costs(base: QualityModel, costs: Mapping[str, float] | None) -> F64:
    """The relative cost of each trained model, in column order (missing: free)."""
    given = costs or {}
    out = np.array([float(given.get(m, 0.0)) for m in base.models])
    if not np.isfinite(out).all() or (out < 0).any():
        raise TrainingDataError("adaptation: a model's cost is negative, NaN or infinite")
    return out


def _scores(quality: F64, table: GradedTable, norm: F64, cost: F64, weights: F64) -> F64:
    """(records, cost weights): the grade of the model the router picks among each record's
    graded models, minus the cost term, as ``learned.choose`` picks (cheaper on ties)."""
    utility = quality[:, None, :] - weights[None, :, None] * norm[:, None, :]
    utility = np.where(table.graded[:, None, :], utility, -np.inf)
    best = utility.max(axis=2, keepdims=True)
    tied = np.where(utility >= best - 1e-12, cost[None, None, :], np.inf)
    pick = tied.argmin(axis=2)
    grade = np.take_along_axis(table.grades, pick, axis=1)
    paid = np.take_along_axis(norm, pick, axis=1)
    out: F64 = grade - weights[None, :] * paid
    return out


def _compare(
    current: F64, candidate: F64, table: GradedTable, cost: F64, settings: AdaptSettings
) -> Comparison:

    mask = table.graded
    count = mask.sum(axis=1)
    use = count >= 2
    weights = np.array(settings.cost_weights if cost.any() else settings.cost_weights[:1])
    row_cost = np.where(mask, cost[None, :], 0.0)
    top = row_cost.max(axis=1, keepdims=True)
    norm = np.divide(row_cost, top, out=np.zeros_like(row_cost), where=top > 0)
    t = GradedTable(table.latents[use], table.base[use], table.grades[use], mask[use])
    a = _scores(current[use], t, norm[use], cost, weights).mean(axis=1)
    b = _scores(candidate[use], t, norm[use], cost, weights).mean(axis=1)
    judged = int(use.sum())
    graded = int(count[use].sum())
    names = [table.departments[i] for i in np.flatnonzero(use)] if table.departments else []
    se = float((b - a).std(ddof=1) / math.sqrt(judged)) if judged > 1 else 0.0
    ea = np.where(mask, (current - table.grades) ** 2, 0.0).sum()
    eb = np.where(mask, (candidate - table.grades) ** 2, 0.0).sum()
    total = max(int(count.sum()), 1)
    return Comparison(
        records=judged,
        grades=graded,
        current_score=float(a.mean()) if judged else 0.0,
        candidate_score=float(b.mean()) if judged else 0.0,
        standard_error=se,
        current_error=float(ea / total),
        candidate_error=float(eb / total),
        min_records=settings.min_judged,
        margin=settings.margin,
        departments=_by_department(b - a, names),
    )


def _by_department(gains: F64, departments: Sequence[str | None]) -> dict[str, DepartmentGain]:
    """The judged records' gains (``departments``: theirs, or empty) per department, in name
    order; records without a department count only in the whole."""
    rows: dict[str, list[int]] = {}
    for i, name in enumerate(departments):
        if name is not None:
            rows.setdefault(name, []).append(i)
    out: dict[str, DepartmentGain] = {}
    for name in sorted(rows):
        g = gains[rows[name]]
        se = float(g.std(ddof=1) / math.sqrt(len(g))) if len(g) > 1 else None
        out[name] = DepartmentGain(records=len(g), gain=float(g.mean()), standard_error=se)
    return out
