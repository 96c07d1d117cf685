"""Placing a model: its head learns from a few hundred prompts and keeps the prior where the
measurements say nothing."""

from __future__ import annotations

import numpy as np

from stellwerk.calibration.placement import fit_head
from stellwerk.routing.linear import sigmoid


def _data(rng: np.random.Generator, n: int, w: np.ndarray, b: float) -> tuple[np.ndarray, ...]:
    x = rng.normal(size=(n, w.size))
    y = (rng.random(n) < sigmoid(x @ w + b)).astype(np.float64)
    return x, y


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


def test_a_few_hundred_prompts_beat_the_prior() -> None:
    rng = np.random.default_rng(7)
    true_w, true_b = rng.normal(size=20), -0.3
    prior_w, prior_b = true_w + rng.normal(scale=1.0, size=20), 0.5  # facts-only guess
    x, y = _data(rng, 300, true_w, true_b)
    x_test, y_test = _data(rng, 5000, true_w, true_b)
    w, b = fit_head(x, y, prior_w=prior_w, prior_b=prior_b, l2=0.01)
    placed = _log_loss(y_test, sigmoid(x_test @ w + b))
    prior = _log_loss(y_test, sigmoid(x_test @ prior_w + prior_b))
    assert placed < prior
    assert np.linalg.norm(w - true_w) < np.linalg.norm(prior_w - true_w)


def test_without_prompts_or_with_a_strong_prior_the_head_stays_at_the_prior() -> None:
    rng = np.random.default_rng(3)
    prior_w = rng.normal(size=5)
    w, b = fit_head(np.zeros((0, 5)), np.zeros(0), prior_w=prior_w, prior_b=0.2)
    assert np.array_equal(w, prior_w) and b == 0.2
    x, y = _data(rng, 50, -prior_w, 0.0)
    w, _ = fit_head(x, y, prior_w=prior_w, prior_b=0.0, l2=1e4)
    assert np.allclose(w, prior_w, atol=1e-3)


def test_features_the_calibration_never_saw_keep_their_prior_weight() -> None:
    rng = np.random.default_rng(5)
    x, y = _data(rng, 200, np.array([1.0, -1.0, 0.0]), 0.0)
    x[:, 2] = 0.0  # feature 2 never occurs in the calibrated prompts
    prior_w = np.array([0.0, 0.0, 2.5])
    w, _ = fit_head(x, y, prior_w=prior_w, prior_b=0.0, l2=0.1)
    assert w[2] == 2.5


def test_place_on_ease_recovers_a_models_offset_and_slope() -> None:
    from stellwerk.calibration.placement import place_on_ease

    rng = np.random.default_rng(11)
    ease = rng.normal(scale=1.5, size=400)
    truth = 1.0 / (1.0 + np.exp(-(-0.8 + 1.4 * ease)))  # a weaker model, sharper on easy prompts
    scores = (rng.random(400) < truth).astype(np.float64)
    placed = place_on_ease(ease, scores, prior_offset=0.5)  # the size guess was too kind
    assert abs(placed.offset - -0.8) < 0.35 and abs(placed.slope - 1.4) < 0.4
    assert placed.prompts == 400
    held_out = rng.normal(scale=1.5, size=4000)
    truth_q = 1.0 / (1.0 + np.exp(-(-0.8 + 1.4 * held_out)))
    guess_q = 1.0 / (1.0 + np.exp(-(0.5 + held_out)))
    assert np.abs(placed.quality(held_out) - truth_q).mean() < np.abs(guess_q - truth_q).mean()
