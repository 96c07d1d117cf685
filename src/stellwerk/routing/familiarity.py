"""Familiarity: how close a prompt is to what the router was trained and adapted on, in [0, 1].

The router already projects every prompt into its latent space (``model``: LSA of the hashed
TF-IDF) and compares it with the latent vectors of its training prompts to find neighbours. The
*similarity* of a prompt is its cosine with the nearest of those vectors (and of the graded
traffic an adaptation added, ``adapt``). Raw cosines mean little on their own (short prompts and
long ones, code and prose sit at different levels), so they are calibrated against the training
prompts themselves: each training prompt's similarity to its nearest *other* training prompt
(leave one out) is the reference, and a prompt's **familiarity** is the share of those reference
values at or below its similarity. A familiarity of 0.05 says: 95 % of the training prompts are
closer to the rest of the training data than this prompt is to any of it.

On open9, holding one task out of training, the nearest-neighbour cosine in this latent space
separates the held-out task's prompts from the other tasks' test prompts with an AUC of 0.90 on
average over the 14 tasks (BENCHMARKS.md); the calibration does not change that order.

The reference is computed from the stored latent vectors at load (no artifact field needed): at
most ``REFERENCE_ROWS`` of them, evenly spaced, each against all the others, in blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

REFERENCE_ROWS = 2000
"""Training prompts whose leave-one-out similarity calibrates the score (evenly spaced)."""
QUANTILES = 101
DEFAULT_THRESHOLD = 0.05
"""Below this familiarity a prompt is called unfamiliar (``router.familiarity_threshold``)."""


@dataclass(frozen=True)
class Familiarity:
    """Quantiles of the training prompts' leave-one-out nearest-neighbour similarity."""

    quantiles: F64

    def score(self, similarity: float) -> float:
        """The share of reference prompts whose similarity is at most ``similarity``."""
        q = self.quantiles
        if similarity < q[0]:
            return 0.0
        if similarity >= q[-1]:
            return 1.0
        # the highest quantile level at or below the similarity, interpolated between levels
        levels = np.linspace(0.0, 1.0, len(q))
        hi = int(np.searchsorted(q, similarity, side="right"))
        lo = hi - 1
        span = q[hi] - q[lo]
        frac = 0.0 if span <= 0 else (similarity - q[lo]) / span
        return float(levels[lo] + frac * (levels[hi] - levels[lo]))


def leave_one_out_similarity(latents: F32, rows: npt.NDArray[np.int64]) -> F64:
    """Each of ``rows``' cosine with its nearest other row of ``latents`` (unit rows)."""
    out = np.empty(len(rows))
    for start in range(0, len(rows), 256):
        block = rows[start : start + 256]
        sims = latents[block] @ latents.T
        sims[np.arange(len(block)), block] = -np.inf  # not itself
        out[start : start + 256] = sims.max(axis=1)
    return out


def fit_familiarity(latents: F32) -> Familiarity | None:
    """The calibration of ``latents`` (the training prompts' unit latent vectors); None when
    there are too few to compare with each other."""
    n = len(latents)
    if n < 3:
        return None
    rows = np.unique(np.linspace(0, n - 1, min(n, REFERENCE_ROWS)).round().astype(np.int64))
    sims = leave_one_out_similarity(latents, rows)
    quantiles = np.quantile(sims, np.linspace(0.0, 1.0, QUANTILES))
    return Familiarity(quantiles=np.maximum.accumulate(quantiles))


def familiarity_auc(unfamiliar: F64, familiar: F64) -> float:
    """How well the scores separate two groups: the chance that a prompt of ``familiar`` scores
    higher than one of ``unfamiliar`` (ties count half), the Mann-Whitney AUC."""
    if len(unfamiliar) == 0 or len(familiar) == 0:
        return float("nan")
    values = np.concatenate([unfamiliar, familiar])
    order = values.argsort(kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    # average ranks over ties
    sorted_values = values[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_values[1:] != sorted_values[:-1])))
    ends = np.concatenate((starts[1:], [len(values)]))
    for s, e in zip(starts, ends, strict=True):
        if e - s > 1:
            ranks[order[s:e]] = (s + 1 + e) / 2
    n_u, n_f = len(unfamiliar), len(familiar)
    return float((ranks[n_u:].sum() - n_f * (n_f + 1) / 2) / (n_u * n_f))
