"""The correction an adaptation puts on top of a trained quality model (``adapt`` fits it).

Graded traffic tells, for some prompts, how each model really did (its grade) next to what the
router predicted (its base quality). A new prompt's correction is read from its neighbours in the
router's latent space, among the training prompts and the graded prompts together:

    quality = base + sum over graded neighbours of (grade - base) / (tau + neighbours counted)

over its ``k`` nearest (form ``shared``). A training prompt counts as a neighbour whose error is
zero: the base model was fitted to it. So a prompt like those the router was trained on, whose
neighbours are training prompts, keeps its base quality; a prompt of a kind the router meets only
in the graded traffic, whose neighbours are graded prompts, moves toward what those prompts were
graded, the more the more of them there are (``tau`` is how many neighbours' worth the base
prediction is trusted). A graded prompt without a grade for some model counts only for the
models it has.

Two more forms (``form``) read the same ``k`` nearest differently, and count a graded neighbour
only when it is at least as near as the prompt's ``GATE``-th (10th) nearest training prompt: a
prompt like the training data, with ten training prompts nearer than any graded one, keeps its
base quality however many graded prompts there are (in the first form the training prompts
among the ``k`` nearest dilute the graded ones instead):

* ``graded``: only those graded neighbours count,
  ``quality = base + sum over them of (grade - base) / (tau + their number)``: a few graded
  neighbours are no longer diluted by the training prompts among the ``k`` nearest (a kind of
  prompt whose nearest training prompts are of other kinds, worded alike);
* ``pooled``: every graded prompt's error counts, in the share those neighbours have of the
  ``k`` nearest, ``quality = base + share x sum over all graded prompts of (grade - base) /
  (tau + graded prompts)``: a per-model offset shrunk toward 0 (how each model really does on
  the graded traffic), given to a prompt as far as its neighbourhood is graded traffic.

Which form, ``k`` and ``tau`` a correction uses is chosen by ``adapt``'s cross-validation.

Kept per graded prompt: its latent vector and, per model, grade minus base quality. No text.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

GATE = 10
"""The ``graded`` and ``pooled`` forms count a graded neighbour only when it is at least as near
as the prompt's ``GATE``-th nearest training prompt (module docstring)."""
FORMS = ("shared", "graded", "pooled")
"""The correction's forms (module docstring), in the order their codes are kept."""


@dataclass(frozen=True)
class Correction:
    """Graded prompts' latent vectors and errors, and the two settings of the rule above."""

    models: tuple[str, ...]
    """The trained models of the quality model it corrects, in its column order."""
    latents: F32
    """(graded prompts, latent dimensions): unit rows, or unit rows plus the noise the records
    were kept with (``record_noise``: their products with a prompt estimate cosines)."""
    residuals: F32
    """(graded prompts, models): grade minus base quality, 0 where there is no grade."""
    graded: npt.NDArray[np.bool_]
    """(graded prompts, models): which models have a grade."""
    k: int
    tau: float
    form: str = "shared"
    """``shared``, ``graded`` or ``pooled`` (``FORMS``; the module docstring)."""

    @cached_property
    def lengths(self) -> F32:
        """Each graded prompt's vector length, 1 at least: a noisy record's is above 1
        (``record_noise``), and the familiarity scales its product down by it."""
        out: F32 = np.maximum(np.linalg.norm(self.latents, axis=1), 1.0).astype(np.float32)
        return out

    def __len__(self) -> int:
        return len(self.latents)

    def apply(self, latent: F32 | None, train_sims: F32 | None, base: F64) -> F64:
        """``base`` corrected for one prompt (``latent``: its unit latent vector, or None when
        the prompt has no word the latent space knows; ``train_sims``: its cosines with the
        training prompts)."""
        if latent is None or train_sims is None or len(self) == 0:
            return base
        shift = corrections(
            train_sims[None, :],
            (self.latents @ latent)[None, :],
            self.residuals,
            self.graded,
            self.k,
            self.tau,
            self.form,
        )[0]
        out: F64 = np.clip(base + shift, 0.0, 1.0)
        return out


def corrections(
    train_sims: F32,
    graded_sims: F32,
    residuals: F32,
    graded: npt.NDArray[np.bool_],
    k: int,
    tau: float,
    form: str = "shared",
) -> F64:
    """The shift of every query (rows of the two similarity tables) and model, by the rule in
    the module docstring; vectorised for the cross-validation of ``adapt``."""
    queries = train_sims.shape[0]
    n_train = train_sims.shape[1]
    models = residuals.shape[1]
    if graded_sims.shape[1] == 0:
        return np.zeros((queries, models))
    sims = np.concatenate([train_sims, graded_sims], axis=1)
    top = min(k, sims.shape[1])
    idx = np.argpartition(-sims, top - 1, axis=1)[:, :top]
    is_graded = idx >= n_train
    row = np.where(is_graded, idx - n_train, 0)
    if form != "shared" and n_train:  # graded neighbours as near as the GATE-th training one
        gate = min(GATE, n_train)
        near = -np.partition(-train_sims, gate - 1, axis=1)[:, gate - 1]
        is_graded &= np.take_along_axis(sims, idx, axis=1) >= near[:, None]
    if form == "pooled":
        share = is_graded.mean(axis=1)
        offset = residuals.sum(axis=0) / (tau + graded.sum(axis=0))
        pooled: F64 = share[:, None] * offset[None, :].astype(np.float64)
        return pooled
    res = np.where(is_graded[:, :, None], residuals[row], 0.0)
    weight = np.where(is_graded[:, :, None], graded[row], form == "shared").astype(np.float64)
    out: F64 = res.sum(axis=1) / (tau + weight.sum(axis=1))
    return out
