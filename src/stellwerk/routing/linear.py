"""Multi-output logistic regression, fitted for all models at once with L-BFGS.

One weight column per model over the same sparse features: the loss is the binary cross-entropy
of every model's observed score (soft labels in [0, 1] are fine), plus ``l2 / 2 * |W|^2`` (the
bias is not penalised). A single sparse product per step serves every model, so fitting nine
models costs about as much as fitting one.
"""

from __future__ import annotations

from collections.abc import Callable
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
    n, d = x.shape
    m = y.shape[1]
    mean = np.clip(y.mean(axis=0), 1e-3, 1 - 1e-3)
    start = np.concatenate([np.zeros(d * m), np.log(mean / (1 - mean))])
    x_t = x.T.tocsr() if hasattr(x, "tocsr") else x.T

    def loss(theta: Array) -> tuple[float, Array]:
        w = theta[: d * m].reshape(d, m)
        b = theta[d * m :]
        z = np.asarray(x @ w) + b
        # log(1 + e^z) - y z, computed stably
        value = float((np.logaddexp(0.0, z) - y * z).sum() / n + 0.5 * l2 * (w * w).sum())
        g = (sigmoid(z) - y) / n
        grad_w = np.asarray(x_t @ g) + l2 * w
        return value, np.concatenate([grad_w.ravel(), g.sum(axis=0)])

    theta = lbfgs(loss, start, max_iter=max_iter)
    return theta[: d * m].reshape(d, m), theta[d * m :]


def lbfgs(
    fun: Callable[[Array], tuple[float, Array]],
    start: Array,
    *,
    max_iter: int,
    memory: int = 10,
    tol: float = 1e-6,
) -> Array:
    """Minimise a smooth function with limited-memory BFGS (two-loop recursion) and a
    backtracking Armijo line search. Numpy only: scipy's L-BFGS-B is slow on 10^5+ variables."""
    x = start.copy()
    f, g = fun(x)
    s_hist: list[Array] = []
    y_hist: list[Array] = []
    for _ in range(max_iter):
        q = g.copy()
        alphas = []
        for s_i, y_i in zip(reversed(s_hist), reversed(y_hist), strict=True):
            a = float(s_i @ q) / float(y_i @ s_i)
            alphas.append(a)
            q -= a * y_i
        if s_hist:
            q *= float(s_hist[-1] @ y_hist[-1]) / float(y_hist[-1] @ y_hist[-1])
        for (s_i, y_i), a in zip(zip(s_hist, y_hist, strict=True), reversed(alphas), strict=True):
            q += (a - float(y_i @ q) / float(y_i @ s_i)) * s_i
        direction = -q
        slope = float(g @ direction)
        if slope >= 0:  # not a descent direction: restart from the gradient
            s_hist.clear()
            y_hist.clear()
            direction, slope = -g, -float(g @ g)
        step = 1.0
        while True:
            x_new = x + step * direction
            f_new, g_new = fun(x_new)
            if f_new <= f + 1e-4 * step * slope or step < 1e-10:
                break
            step *= 0.5
        s_vec, y_vec = x_new - x, g_new - g
        if float(s_vec @ y_vec) > 1e-12:
            s_hist.append(s_vec)
            y_hist.append(y_vec)
            if len(s_hist) > memory:
                s_hist.pop(0)
                y_hist.pop(0)
        done = abs(f - f_new) <= tol * max(1.0, abs(f))
        x, f, g = x_new, f_new, g_new
        if done:
            break
    return x
