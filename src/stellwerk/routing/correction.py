"""The correction an adaptation puts on top of a trained quality model (``adapt`` fits it).

Graded traffic tells, for some prompts, how each model really did (its grade) next to what the
router predicted (its base quality). A new prompt's correction is read from its neighbours in the
router's latent space, among the training prompts and the graded prompts together:

    quality = base + sum over graded neighbours of (grade - base) / (tau + neighbours counted)

over its ``k`` nearest. A training prompt counts as a neighbour whose error is zero: the base
model was fitted to it. So a prompt like those the router was trained on, whose neighbours are
training prompts, keeps its base quality; a prompt of a kind the router meets only in the graded
traffic, whose neighbours are graded prompts, moves toward what those prompts were graded, the
more the more of them there are (``tau`` is how many neighbours' worth the base prediction is
trusted). A graded prompt without a grade for some model counts only for the models it has.

Kept per graded prompt: its latent vector and, per model, grade minus base quality. No text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Correction:
    """Graded prompts' latent vectors and errors, and the two settings of the rule above."""

    models: tuple[str, ...]
    """The trained models of the quality model it corrects, in its column order."""
    latents: F32
    """(graded prompts, latent dimensions), unit rows."""
    residuals: F32
    """(graded prompts, models): grade minus base quality, 0 where there is no grade."""
    graded: npt.NDArray[np.bool_]
    """(graded prompts, models): which models have a grade."""
    k: int
    tau: float

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
    res = np.where(is_graded[:, :, None], residuals[row], 0.0)
    weight = np.where(is_graded[:, :, None], graded[row], True).astype(np.float64)
    out: F64 = res.sum(axis=1) / (tau + weight.sum(axis=1))
    return out
