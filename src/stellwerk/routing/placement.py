"""Placing models the router never saw, from their catalog facts.

A trained model ``m`` has an offset: its mean logit above the prompt's ease. For a new model the
offset comes from

* its public benchmark score, when the config gives one: the offset at which the model's mean
  predicted quality over the training prompts' ease equals that score; otherwise
* its size: ``intercept + slope x ln(params_b)``, fitted over the trained models with the
  Theil-Sen estimator (the median of pairwise slopes), so that one odd model (a prompt-format
  mismatch, a broken checkpoint) cannot turn the trend around. The slope is kept non-negative:
  a larger model of the same family is never predicted to be worse.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


def theil_sen(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """(intercept, slope) of the Theil-Sen line; slope 0 when all xs are equal."""
    slopes = [
        (ys[j] - ys[i]) / (xs[j] - xs[i])
        for i in range(len(xs))
        for j in range(i + 1, len(xs))
        if xs[j] != xs[i]
    ]
    slope = max(float(np.median(slopes)), 0.0) if slopes else 0.0
    intercept = float(np.median([y - slope * x for x, y in zip(xs, ys, strict=True)]))
    return intercept, slope


def offset_from_size(params_b: float, intercept: float, slope: float) -> float:
    return intercept + slope * math.log(max(params_b, 1e-3))


def offset_from_benchmark(score: float, ease_quantiles: F64) -> float:
    """The offset whose mean quality over the ease distribution equals ``score`` (bisection)."""
    target = min(max(score, 0.01), 0.99)
    lo, hi = -20.0, 20.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        mean = float(np.mean(1.0 / (1.0 + np.exp(-(ease_quantiles + mid)))))
        if mean < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
