"""Placing a model from a few hundred calibrated prompts, without retraining the router.

Two forms, for the two shapes a router's per-model predictor can take:

* ``place_on_ease``: the router rates each prompt's *ease* (how well models in general do on
  it, a logit) and a model it never saw gets ``sigmoid(offset + ease)`` with an offset guessed
  from its size. Calibration fits that model's own ``offset`` and ``slope`` (how strongly its
  quality follows the ease) to its measured scores, shrunk towards the guess (slope 1): two
  numbers, which a few hundred prompts pin down well (an IRT-style 2PL fit).
* ``fit_head``: the router has one logistic head per model over its prompt features; the new
  model gets a head of its own, fitted on the calibrated prompts and pulled towards a prior head.

The router's prompt features stay as they are; only the new model's own quality predictor (one
logistic head: weights over the features and a bias) is fitted, on the calibrated prompts, and
pulled towards a prior head: the head the router would use for the model without any
measurement (predicted from its catalog facts, or the mean head of the models it knows). With few
prompts the prior dominates; with more, the measurements do:

    minimise  mean_i CE(y_i, sigmoid(x_i . w + b)) + l2 / 2 * |w - w_prior|^2

``y`` are the calibration scores (soft labels in [0, 1] are fine), ``x`` the router's features of
the calibrated prompts (a dense array or a scipy sparse matrix).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from stellwerk.routing.linear import sigmoid

Array = npt.NDArray[np.float64]


def fit_head(
    x: Any,
    y: Array,
    *,
    prior_w: Array,
    prior_b: float,
    l2: float = 1.0,
    max_iter: int = 300,
) -> tuple[Array, float]:
    """The new model's head (weights, bias) from its calibration scores, shrunk to the prior."""
    from scipy.optimize import minimize

    n, d = x.shape
    if y.shape != (n,) or prior_w.shape != (d,):
        raise ValueError(f"shapes do not fit: x {x.shape}, y {y.shape}, prior_w {prior_w.shape}")
    if n == 0:
        return prior_w.copy(), float(prior_b)

    def loss(theta: Array) -> tuple[float, Array]:
        w, b = theta[:d], theta[d]
        z = np.asarray(x @ w).ravel() + b
        delta = w - prior_w
        value = float((np.logaddexp(0.0, z) - y * z).mean() + 0.5 * l2 * delta @ delta)
        g = (sigmoid(z) - y) / n
        grad_w = np.asarray(x.T @ g).ravel() + l2 * delta
        return value, np.concatenate([grad_w, [g.sum()]])

    start = np.concatenate([prior_w, [prior_b]])
    result = minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
    return result.x[:d].copy(), float(result.x[d])


@dataclass(frozen=True, slots=True)
class Placement:
    """``quality = sigmoid(offset + slope x ease)`` for one model, fitted on ``prompts`` scores."""

    offset: float
    slope: float
    prompts: int
    mean_score: float

    def quality(self, ease: Array) -> Array:
        return sigmoid(self.offset + self.slope * ease)


def place_on_ease(
    ease: Array, scores: Array, *, prior_offset: float, l2: float = 0.05
) -> Placement:
    """Fit a model's offset and slope on the ease of the calibrated prompts and its scores."""
    ease = np.asarray(ease, dtype=np.float64).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if ease.shape != scores.shape:
        raise ValueError(f"ease {ease.shape} and scores {scores.shape} differ in length")
    if ease.size and not ((scores >= 0) & (scores <= 1)).all():
        raise ValueError("scores must lie in [0, 1]")
    w, b = fit_head(
        ease.reshape(-1, 1), scores, prior_w=np.array([1.0]), prior_b=prior_offset, l2=l2
    )
    mean = float(scores.mean()) if scores.size else float("nan")
    return Placement(offset=b, slope=float(w[0]), prompts=int(scores.size), mean_score=mean)
