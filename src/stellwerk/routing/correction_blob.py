"""A router version's correction as a blob to keep in the ledger (``router_versions``): plain
arrays in an ``.npz``, never a pickle, checked against the router it is loaded onto."""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace

import numpy as np

from stellwerk.errors import TrainingDataError
from stellwerk.routing.correction import FORMS, Correction
from stellwerk.routing.model import QualityModel

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
        settings=np.array(
            [correction.k, correction.tau, FORMS.index(correction.form)], dtype=np.float64
        ),
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
        k, tau, *form = (float(x) for x in arrays["settings"])  # form: none before 2026-12-06
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
    codes: list[list[float]] = [[], *([float(i)] for i in range(len(FORMS)))]
    if not (k >= 1 and k == int(k) and tau > 0) or form not in codes:
        raise TrainingDataError("the correction's settings k, tau and form are out of range")
    correction = Correction(
        models=models,
        latents=parts["latents"],
        residuals=parts["residuals"],
        graded=parts["graded"],
        k=int(k),
        tau=tau,
        form=FORMS[int(form[0])] if form else "shared",
    )
    return replace(model, correction=correction)
