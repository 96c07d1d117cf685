"""Graded records as arrays in a quality model's column order, each record checked first: what
the adaptation (``routing.adapt``) fits and judges on."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from stellwerk.errors import TrainingDataError
from stellwerk.routing.graded_record import GradedRecord
from stellwerk.routing.model import QualityModel

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class GradedTable:
    """Records as arrays in a model's column order."""

    latents: F32
    base: F64
    grades: F64
    graded: npt.NDArray[np.bool_]
    departments: tuple[str | None, ...] = ()
    """Each record's department (for the comparison's report only; empty: not kept)."""

    def __len__(self) -> int:
        return len(self.latents)

    def rows(self, idx: npt.NDArray[np.int64]) -> GradedTable:
        return GradedTable(
            self.latents[idx],
            self.base[idx],
            self.grades[idx],
            self.graded[idx],
            tuple(self.departments[i] for i in idx) if self.departments else (),
        )


def graded_table(base: QualityModel, records: Sequence[GradedRecord]) -> GradedTable:
    """The usable records as arrays: each checked, those without a latent vector or without a
    grade of a trained model left out (a record's models the router was not trained on are not
    learned from: their quality is placed from facts or by a calibration)."""
    dims = base.proj.shape[1]
    columns = {m: j for j, m in enumerate(base.models)}
    latents: list[F32] = []
    bases: list[F64] = []
    grades: list[F64] = []
    graded: list[npt.NDArray[np.bool_]] = []
    departments: list[str | None] = []
    for i, rec in enumerate(records):
        check_record(i, rec, dims, columns)
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
        departments.append(rec.department)
    m = len(columns)
    if not latents:
        return GradedTable(
            np.zeros((0, dims), dtype=np.float32),
            np.zeros((0, m)),
            np.zeros((0, m)),
            np.zeros((0, m), dtype=np.bool_),
        )
    return GradedTable(
        np.stack(latents), np.stack(bases), np.stack(grades), np.stack(graded), tuple(departments)
    )


def check_record(i: int, rec: GradedRecord, dims: int, columns: Mapping[str, int]) -> None:
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
