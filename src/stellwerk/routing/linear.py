"""Multi-output logistic regression, fitted for all models at once with L-BFGS.

One weight column per model over the same sparse features: the loss is the binary cross-entropy
of every model's observed score (soft labels in [0, 1] are fine), plus ``l2 / 2 * |W|^2`` (the
bias is not penalised). A single sparse product per step serves every model, so fitting nine
models costs about as much as fitting one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


def sigmoid(x: Array) -> Array:
    out: Array = 0.5 * (1.0 + np.tanh(0.5 * x))
    return out


def fit_logistic(x: Any, y: Array, l2: float, *, max_iter: int = 300) -> tuple[Array, Array]:
    """Weights (features, models) and bias (models,) minimising mean cross-entropy + l2 term.

    ``x`` is a scipy sparse matrix or a dense array of shape (rows, features).
    """
    from scipy.optimize import minimize

    n, d = x.shape
    m = y.shape[1]
    mean = np.clip(y.mean(axis=0), 1e-3, 1 - 1e-3)
    start = np.concatenate([np.zeros(d * m), np.log(mean / (1 - mean))])

    def loss(theta: Array) -> tuple[float, Array]:
        w = theta[: d * m].reshape(d, m)
        b = theta[d * m :]
        z = np.asarray(x @ w) + b
        # log(1 + e^z) - y z, computed stably
        value = float((np.logaddexp(0.0, z) - y * z).sum() / n + 0.5 * l2 * (w * w).sum())
        g = (sigmoid(z) - y) / n
        grad_w = np.asarray(x.T @ g) + l2 * w
        return value, np.concatenate([grad_w.ravel(), g.sum(axis=0)])

    result = minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
    theta = result.x
    return theta[: d * m].reshape(d, m), theta[d * m :]
