"""Adaptation: the router learns from graded traffic, without keeping a prompt.

The gateway (shadow grading, application feedback) keeps one ``GradedRecord`` per graded
request: the router's latent vector of the prompt, its base prediction, the prompt statistics,
the grades of the models that were graded, and the task label if the caller gave one. Never the
prompt or the answer. ``GradedRecord.of`` builds one from a prompt; the prompt is read and
dropped.

``adapt(current, records)`` turns the records into a candidate router and decides whether it may
replace the current one:

1. the records are split, in the order given (oldest first), into a fitting part and the newest
   ``holdout_share`` of them, which the candidate never sees;
2. ``fit_correction`` fits a ``correction.Correction`` on the fitting part: its number of
   neighbours and its trust in the base prediction are chosen by cross-validation (seeded folds)
   among ``AdaptSettings``' grids, against no correction at all;
3. ``compare`` scores the current router and the candidate on the held-out records: the mean
   squared error of the predicted quality against every grade there (Brier score);
4. only a candidate strictly better than the current router there is promoted; it is then fitted
   once more, with the same settings chosen again by cross-validation, on every record.

The result says what was compared (``Comparison``: records, both errors, the paired standard
error) so that a promotion can be audited with its before and after figures. Everything is
deterministic for the same records and seed.

The correction is always fitted on top of the *base* (trained) model, from all the records kept,
never stacked on an earlier correction; a record's base prediction comes from that base model, so
records must be re-made (or dropped) when the base artifact changes.
"""

from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from stellwerk.errors import TrainingDataError
from stellwerk.routing.correction import Correction, corrections
from stellwerk.routing.model import QualityModel

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class AdaptSettings:
    k_grid: tuple[int, ...] = (40, 80, 160)
    tau_grid: tuple[float, ...] = (4.0, 16.0)
    folds: int = 5
    holdout_share: float = 0.25
    """The newest share of the records kept out of fitting, to judge the candidate on."""
    min_records: int = 8
    """Fewer usable records than this: nothing is fitted, nothing promoted."""


@dataclass(frozen=True)
class GradedRecord:
    """What is kept of one graded request (no text): see the module docstring."""

    latent: tuple[float, ...]
    """The prompt's unit vector in the router's latent space (empty: it had none)."""
    base: Mapping[str, float]
    """The base router's predicted quality of each trained model for the prompt."""
    grades: Mapping[str, float]
    """The grade in [0, 1] of each model that was graded."""
    stats: tuple[float, ...] = ()
    """The prompt statistics (``features.STAT_NAMES``), for reports; not learned from yet."""
    task: str | None = None

    @classmethod
    def of(
        cls,
        model: QualityModel,
        prompt: str,
        grades: Mapping[str, float],
        *,
        task: str | None = None,
        embedding: Sequence[float] | None = None,
    ) -> GradedRecord:
        """The record of ``prompt`` graded ``grades``, read by the base of ``model``."""
        reading = replace(model, correction=None, memory=None).read(prompt, embedding)
        return cls(
            latent=() if reading.latent is None else tuple(float(x) for x in reading.latent),
            base={m: float(q) for m, q in zip(model.models, reading.base, strict=True)},
            grades=dict(grades),
            stats=tuple(float(x) for x in reading.stats),
            task=task,
        )


@dataclass(frozen=True, slots=True)
class Comparison:
    """Two routers judged on the same held-out grades."""

    records: int
    grades: int
    current_error: float
    """Mean squared error of the current router's quality against the grades."""
    candidate_error: float
    standard_error: float
    """Standard error of the mean per-record difference of the two errors."""

    @property
    def better(self) -> bool:
        """Whether the candidate may replace the current router: strictly lower error."""
        return self.grades > 0 and self.candidate_error < self.current_error

    def as_json(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "grades": self.grades,
            "current_error": round(self.current_error, 6),
            "candidate_error": round(self.candidate_error, 6),
            "standard_error": round(self.standard_error, 6),
            "better": self.better,
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

    def as_json(self) -> dict[str, Any]:
        return {
            "promoted": self.promoted,
            "records": self.records,
            "k": self.k,
            "tau": self.tau,
            "comparison": None if self.comparison is None else self.comparison.as_json(),
        }


@dataclass(frozen=True)
class _Table:
    """Records as arrays in a model's column order."""

    latents: F32
    base: F64
    grades: F64
    graded: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.latents)

    def rows(self, idx: npt.NDArray[np.int64]) -> _Table:
        return _Table(self.latents[idx], self.base[idx], self.grades[idx], self.graded[idx])


def adapt(
    current: QualityModel,
    records: Sequence[GradedRecord],
    *,
    seed: int = 0,
    settings: AdaptSettings | None = None,
) -> Adaptation:
    """Fit a correction of ``current``'s base model on ``records`` (oldest first) and promote it
    only if it beats ``current`` on the newest ``holdout_share`` of them (module docstring)."""
    settings = settings or AdaptSettings()
    base = replace(current, correction=None)
    table = _table(base, records)
    n = len(table)
    held = max(1, math.ceil(settings.holdout_share * n))
    if n < settings.min_records or n - held < 2:
        return Adaptation(model=current, promoted=False, comparison=None, records=n)
    fit_rows = np.arange(n - held)
    held_rows = np.arange(n - held, n)
    candidate = _fit(base, table.rows(fit_rows), settings, seed)
    comparison = _compare(current, candidate.model, table.rows(held_rows))
    if not comparison.better:
        return Adaptation(model=current, promoted=False, comparison=comparison, records=n)
    final = _fit(base, table, settings, seed)
    if final.model.correction is None:  # on every record, no correction was better after all
        return Adaptation(model=current, promoted=False, comparison=comparison, records=n)
    return Adaptation(
        model=final.model,
        promoted=True,
        comparison=comparison,
        records=n,
        k=final.k,
        tau=final.tau,
    )


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
    return _fit(base, _table(base, records), settings or AdaptSettings(), seed).model


def compare(
    current: QualityModel, candidate: QualityModel, held_out: Sequence[GradedRecord]
) -> Comparison:
    """Both routers' errors on ``held_out`` (records neither was fitted on)."""
    return _compare(current, candidate, _table(replace(current, correction=None), held_out))


def predict_records(model: QualityModel, records: Sequence[GradedRecord]) -> F64:
    """``model``'s predicted quality for each record's prompt, from what the record keeps."""
    return _predict(model, _table(replace(model, correction=None), records))


@dataclass(frozen=True)
class _Fitted:
    model: QualityModel
    k: int | None
    tau: float | None


def _fit(base: QualityModel, table: _Table, settings: AdaptSettings, seed: int) -> _Fitted:
    n = len(table)
    if n < 2:
        return _Fitted(base, None, None)
    folds = np.random.default_rng(seed).permutation(n) % min(settings.folds, n)
    train_sims = table.latents @ base.neighbour_emb.T
    residuals = np.where(table.graded, table.grades - table.base, 0.0).astype(np.float32)
    errors = {(k, tau): 0.0 for k in settings.k_grid for tau in settings.tau_grid}
    plain = 0.0
    for f in np.unique(folds):
        fit, held = folds != f, folds == f
        graded_sims = table.latents[held] @ table.latents[fit].T
        mask = table.graded[held]
        plain += float(((table.base[held] - table.grades[held]) ** 2)[mask].sum())
        for k, tau in errors:
            shift = corrections(
                train_sims[held], graded_sims, residuals[fit], table.graded[fit], k, tau
            )
            pred = np.clip(table.base[held] + shift, 0.0, 1.0)
            errors[(k, tau)] += float(((pred - table.grades[held]) ** 2)[mask].sum())
    (k, tau), best = min(errors.items(), key=lambda item: (item[1], item[0]))
    if best >= plain:
        return _Fitted(base, None, None)
    correction = Correction(
        models=base.models,
        latents=table.latents,
        residuals=residuals,
        graded=table.graded,
        k=k,
        tau=tau,
    )
    return _Fitted(replace(base, correction=correction), k, tau)


def _predict(model: QualityModel, table: _Table) -> F64:
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
    )
    out: F64 = np.clip(table.base + shift, 0.0, 1.0)
    return out


def _compare(current: QualityModel, candidate: QualityModel, table: _Table) -> Comparison:
    mask = table.graded
    count = mask.sum(axis=1)
    use = count > 0
    a = np.where(mask, (_predict(current, table) - table.grades) ** 2, 0.0).sum(axis=1)
    b = np.where(mask, (_predict(candidate, table) - table.grades) ** 2, 0.0).sum(axis=1)
    grades = int(count.sum())
    if grades == 0:
        return Comparison(len(table), 0, 0.0, 0.0, 0.0)
    diff = (a - b)[use] / count[use]
    se = float(diff.std(ddof=1) / math.sqrt(len(diff))) if len(diff) > 1 else 0.0
    return Comparison(
        records=int(use.sum()),
        grades=grades,
        current_error=float(a.sum() / grades),
        candidate_error=float(b.sum() / grades),
        standard_error=se,
    )


def _table(base: QualityModel, records: Sequence[GradedRecord]) -> _Table:
    """The usable records as arrays: each checked, those without a latent vector or without a
    grade of a trained model left out (a record's models the router was not trained on are not
    learned from: their quality is placed from facts or by a calibration)."""
    dims = base.proj.shape[1]
    columns = {m: j for j, m in enumerate(base.models)}
    latents: list[F32] = []
    bases: list[F64] = []
    grades: list[F64] = []
    graded: list[npt.NDArray[np.bool_]] = []
    for i, rec in enumerate(records):
        _check(i, rec, dims, columns)
        if not rec.latent:
            continue
        row = np.zeros(len(columns))
        has = np.zeros(len(columns), dtype=np.bool_)
        for model, grade in rec.grades.items():
            j = columns.get(model)
            if j is not None:
                row[j], has[j] = grade, True
        if not has.any():
            continue
        latents.append(np.asarray(rec.latent, dtype=np.float32))
        bases.append(np.array([rec.base[m] for m in base.models], dtype=np.float64))
        grades.append(row)
        graded.append(has)
    m = len(columns)
    if not latents:
        return _Table(
            np.zeros((0, dims), dtype=np.float32),
            np.zeros((0, m)),
            np.zeros((0, m)),
            np.zeros((0, m), dtype=np.bool_),
        )
    return _Table(np.stack(latents), np.stack(bases), np.stack(grades), np.stack(graded))


def _check(i: int, rec: GradedRecord, dims: int, columns: Mapping[str, int]) -> None:
    where = f"graded record {i}"
    if rec.latent and len(rec.latent) != dims:
        raise TrainingDataError(
            f"{where}: field 'latent' has {len(rec.latent)} numbers; the router's latent space"
            f" has {dims} (a record of another router artifact?)"
        )
    if rec.latent and not all(math.isfinite(x) for x in rec.latent):
        raise TrainingDataError(f"{where}: field 'latent' holds NaN or infinite values")
    missing = [m for m in columns if m not in rec.base]
    if rec.latent and missing:
        raise TrainingDataError(
            f"{where}: field 'base' has no prediction for {', '.join(missing)}"
            " (a record of another router artifact?)"
        )
    for name, values in (("base", rec.base), ("grades", rec.grades)):
        for model, value in values.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TrainingDataError(f"{where}: field {name!r}: {model!r} is not a number")
            if not 0.0 <= value <= 1.0:
                raise TrainingDataError(
                    f"{where}: field {name!r}: {model!r} is {value}, outside [0, 1]"
                )


_CORRECTION_ARRAYS = {"latents": "float32", "residuals": "float32", "graded": "bool"}


def dump_correction(correction: Correction) -> bytes:
    """The correction as plain arrays (an ``.npz`` blob) to keep beside the artifact."""
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        allow_pickle=False,
        latents=correction.latents,
        residuals=correction.residuals,
        graded=correction.graded,
        models=np.array(correction.models),
        settings=np.array([correction.k, correction.tau], dtype=np.float64),
    )
    return buf.getvalue()


def load_correction(model: QualityModel, blob: bytes) -> QualityModel:
    """``model``'s base with the correction of ``blob`` (``dump_correction``), checked against
    it; every problem is a ``TrainingDataError``."""
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile, KeyError) as exc:
        raise TrainingDataError(f"the correction cannot be read as plain arrays ({exc})") from exc
    try:
        models = tuple(str(m) for m in arrays["models"])
        k, tau = (float(x) for x in arrays["settings"])
        parts = {name: arrays[name] for name in _CORRECTION_ARRAYS}
    except (KeyError, ValueError, TypeError) as exc:
        raise TrainingDataError(f"the correction lacks an array or a setting ({exc})") from exc
    rows = len(parts["latents"])
    shapes = {
        "latents": (rows, model.proj.shape[1]),
        "residuals": (rows, len(models)),
        "graded": (rows, len(models)),
    }
    for name, dtype in _CORRECTION_ARRAYS.items():
        arr = parts[name]
        if arr.dtype != np.dtype(dtype) or arr.shape != shapes[name]:
            raise TrainingDataError(f"the correction's array {name!r} has the wrong type or shape")
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise TrainingDataError(f"the correction's array {name!r} holds NaN or infinite values")
    if models != model.models:
        raise TrainingDataError("the correction was fitted for other models than the router's")
    if not (k >= 1 and k == int(k) and tau > 0):
        raise TrainingDataError("the correction's settings k and tau are out of range")
    correction = Correction(
        models=models,
        latents=parts["latents"],
        residuals=parts["residuals"],
        graded=parts["graded"],
        k=int(k),
        tau=tau,
    )
    return replace(model, correction=correction)
