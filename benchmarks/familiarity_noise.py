"""What the familiarity learns from noisy graded records, and ways of reading them (walk24).

    PYTHONPATH=src python benchmarks/familiarity_noise.py DATA MODELS TASK [--resplit F]

Trains the router without ``TASK`` (default settings, as ``router eval --holdout-task TASK``
does), takes the same 200 traffic rows and judged rows as ``router eval --holdout-task TASK
--adapt 200`` (seed 0, rotation 0) and the other tasks' test prompts, and gives the share of each
called unfamiliar (familiarity below ``DEFAULT_THRESHOLD``): before adapting, and with the traffic
kept as graded records at noise 0 and 0.5 (noise drawn from a generator seeded 13, as ``router
eval`` draws it), the records' similarity to a prompt read in each of these ways (``READINGS``):

* ``length``: the largest product divided by the record's length (what ``model.read`` does);
* ``raw``: the largest product as it is;
* ``minus_expected_max``: the largest of (product - s x sqrt(2 ln N)), s the record's own noise
  on a product (from its length: |r|^2 = 1 + d s^2), N the records: the expected largest of N
  draws of pure noise taken off;
* ``minus_2s``, ``minus_1s``: the largest of (product - 2 s), (product - s);
* ``top5``, ``top5_length``: the mean of the five largest products (as they are, by length);
* ``calibrated_nearest``, ``calibrated_all`` (fam18): the ``length`` reading scored on a reference
  of its own (``noisy_reference``), built from the training prompts' latent vectors and the
  records' lengths; the prompt's familiarity is the larger of its score on the training prompts
  (exact, as now) and that one. Reference seeds ``REFERENCE_SEEDS``
  (benchmarks/results/familiarity-noise-calibrated-protocol.md);
* ``calibrated_sparse`` (fam18b): the same, but each reference prompt read against N copies drawn at
  random among its K_p nearest, K_p the widest neighbourhood whose mean cosine with it is at least
  the records' mean pairwise product (``sparse_reference``,
  benchmarks/results/familiarity-noise-sparse-protocol.md).

Only the familiarity of the judged and the other prompts is computed, not the adaptation's
correction (the familiarity reads the records' latent vectors only), so a task takes one
training. One JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from stellwerk.routing.familiarity import (
    DEFAULT_THRESHOLD,
    QUANTILES,
    REFERENCE_ROWS,
    Familiarity,
)
from stellwerk.routing.graded_record import GradedRecord
from stellwerk.routing.memory import prompt_digest
from stellwerk.training.data import load_model_facts, load_outcomes
from stellwerk.training.holdout import as_split, task_mask, traffic_rows
from stellwerk.training.train import TrainSettings, train_quality_model

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
Reading = Callable[[F64, F64, F64], float]
"""A prompt's similarity to the records from their products with it, their lengths and noise."""

N_TRAFFIC = 200
NOISES = (0.0, 0.5)
REFERENCE_SEEDS = (0, 1, 2)
Score = Callable[[F32, float], float]
"""A prompt's familiarity from its latent vector and its similarity to the training prompts."""


def _noisy_copies(latents: F32, s: F64, rng: np.random.Generator) -> tuple[F64, F64]:
    """Each training prompt with noise of an ``s`` drawn from the records', and the copies'
    lengths (1 at least)."""
    n, d = latents.shape
    sigma = rng.choice(s, size=n)
    noisy = latents.astype(np.float64) + rng.normal(0.0, 1.0, size=(n, d)) * sigma[:, None]
    return noisy, np.maximum(np.linalg.norm(noisy, axis=1), 1.0)


def _rows(n: int) -> npt.NDArray[np.int64]:
    return np.unique(np.linspace(0, n - 1, min(n, REFERENCE_ROWS)).round().astype(np.int64))


def _reference(values: F64) -> Familiarity:
    quantiles = np.quantile(values, np.linspace(0.0, 1.0, QUANTILES))
    return Familiarity(quantiles=np.maximum.accumulate(quantiles))


def noisy_reference(latents: F32, s: F64, count: int | None, seed: int) -> Familiarity:
    """Quantiles of what a training prompt's ``length`` reading of noisy records of the other
    training prompts gives: each training prompt copied with noise of an ``s`` drawn from the
    records' (seeded), each of ``REFERENCE_ROWS`` evenly spaced prompts read against the copies
    of its ``count`` nearest others (by exact cosine; None: all others)."""
    n = len(latents)
    noisy, lengths = _noisy_copies(latents, s, np.random.default_rng(seed))
    rows = _rows(n)
    values = np.empty(len(rows))
    for start in range(0, len(rows), 256):
        block = rows[start : start + 256]
        here = np.arange(len(block))
        unit = latents[block].astype(np.float64)
        products = (unit @ noisy.T) / lengths[None, :]
        products[here, block] = -np.inf
        if count is not None and count < n - 1:
            exact = unit @ latents.T.astype(np.float64)
            exact[here, block] = -np.inf
            nearest = np.argpartition(-exact, count - 1, axis=1)[:, :count]
            products = np.take_along_axis(products, nearest, axis=1)
        values[start : start + 256] = products.max(axis=1)
    return _reference(values)


def mean_pair_product(records: F32) -> float:
    """The mean product of two different records: an unbiased estimate of the mean cosine between
    two prompts of their kind (each record is a unit vector plus noise of mean zero)."""
    r = records.astype(np.float64)
    total = r.sum(axis=0)
    pairs = float(total @ total) - float((r * r).sum())
    return pairs / (len(r) * (len(r) - 1))


def sparse_reference(
    latents: F32, s: F64, count: int, mean: float, seed: int
) -> tuple[Familiarity, float]:
    """As ``noisy_reference`` with ``count`` nearest, but each reference prompt read against
    ``count`` copies drawn at random among its K nearest others, K the largest whose mean exact
    cosine with it is at least ``mean`` (``count`` at least, all others at most); the reference
    and the median K."""
    n = len(latents)
    rng = np.random.default_rng(seed)
    noisy, lengths = _noisy_copies(latents, s, rng)
    rows = _rows(n)
    values = np.empty(len(rows))
    widths = np.empty(len(rows))
    exact_all = latents.astype(np.float64)
    for start in range(0, len(rows), 256):
        block = rows[start : start + 256]
        here = np.arange(len(block))
        unit = exact_all[block]
        products = (unit @ noisy.T) / lengths[None, :]
        exact = unit @ exact_all.T
        exact[here, block] = -np.inf
        order = np.argsort(-exact, axis=1)[:, : n - 1]  # the others, nearest first
        ranked = np.take_along_axis(exact, order, axis=1)
        means = np.cumsum(ranked, axis=1) / np.arange(1, n)
        wide = np.clip((means >= mean).sum(axis=1), min(count, n - 1), n - 1)
        for i, k in enumerate(wide):
            drawn = order[i, rng.choice(int(k), size=min(count, int(k)), replace=False)]
            values[start + i] = products[i, drawn].max()
        widths[start : start + len(block)] = wide
    return _reference(values), float(np.median(widths))


def _readings(n: int) -> dict[str, Reading]:
    c = math.sqrt(2.0 * math.log(n))
    return {
        "length": lambda p, length, s: float((p / length).max()),
        "raw": lambda p, length, s: float(p.max()),
        "minus_expected_max": lambda p, length, s: float((p - c * s).max()),
        "minus_2s": lambda p, length, s: float((p - 2.0 * s).max()),
        "minus_1s": lambda p, length, s: float((p - s).max()),
        "top5": lambda p, length, s: float(np.sort(p)[-5:].mean()),
        "top5_length": lambda p, length, s: float(np.sort(p / length)[-5:].mean()),
    }


def _share(
    fam: Familiarity,
    prompts: Sequence[tuple[F32 | None, float]],
    graded: Callable[[F32], float] | None,
) -> float:
    def score(latent: F32, train_sim: float) -> float:
        return fam.score(train_sim if graded is None else max(train_sim, graded(latent)))

    return _scored(prompts, score)


def _scored(prompts: Sequence[tuple[F32 | None, float]], score: Score) -> float:
    scores = [0.0 if latent is None else score(latent, sim) for latent, sim in prompts]
    return round(float((np.array(scores) < DEFAULT_THRESHOLD).mean()), 4)


def _calibrated(fam: Familiarity, reference: Familiarity, graded: Callable[[F32], float]) -> Score:
    """The larger of the exact score and the graded reading's score on ``reference``."""

    def score(latent: F32, train_sim: float) -> float:
        return max(fam.score(train_sim), reference.score(graded(latent)))

    return score


def _graded(reading: Reading, latents: F32, length: F64, s: F64) -> Callable[[F32], float]:
    """A prompt's similarity to the records ``latents`` read by ``reading``."""

    def graded(latent: F32) -> float:
        return reading((latents @ latent).astype(np.float64), length, s)

    return graded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("models")
    parser.add_argument("task")
    parser.add_argument("--resplit", type=float, default=None)
    args = parser.parse_args()
    data = load_outcomes(args.data, resplit=args.resplit)
    facts = load_model_facts(args.models)
    held = task_mask(data, args.task)
    base_train = ~held & ~data.is_test
    order = traffic_rows(data, args.task, len(data))  # the whole seeded order
    traffic = order[:N_TRAFFIC]
    shown = {prompt_digest(data.prompts[i]) for i in traffic}
    shown |= {prompt_digest(data.prompts[i]) for i in np.flatnonzero(base_train)}
    judged = [i for i in order[N_TRAFFIC:] if prompt_digest(data.prompts[i]) not in shown]
    others = np.flatnonzero(~held & data.is_test)
    model, _ = train_quality_model(as_split(data, base_train), facts, TrainSettings())
    fam = model.familiarity
    assert fam is not None
    base = replace(model, correction=None, memory=None)
    read = [base.read(data.prompts[i]) for i in judged]
    held_out = [(r.latent, r.similarity) for r in read]
    read = [base.read(data.prompts[i]) for i in others]
    other = [(r.latent, r.similarity) for r in read]
    d = model.proj.shape[1]
    out: dict[str, object] = {
        "task": args.task,
        "judged": len(held_out),
        "other": len(other),
        "latent_dimensions": d,
        "unadapted": {"held_out": _share(fam, held_out, None), "other": _share(fam, other, None)},
    }
    for noise in NOISES:
        rng = np.random.default_rng(13)
        records = [
            GradedRecord.of(model, data.prompts[i], {}, noise=noise, rng=rng) for i in traffic
        ]
        latents = np.array([r.latent for r in records if r.latent], dtype=np.float32)
        length = np.maximum(np.linalg.norm(latents, axis=1), 1.0).astype(np.float64)
        s = np.sqrt(np.maximum(length**2 - 1.0, 0.0) / d)
        out[f"noise {noise}: mean record length"] = round(float(length.mean()), 3)
        for name, reading in _readings(len(latents)).items():
            graded = _graded(reading, latents, length, s)
            out[f"noise {noise}: {name}"] = {
                "held_out": _share(fam, held_out, graded),
                "other": _share(fam, other, graded),
            }
        graded = _graded(_readings(len(latents))["length"], latents, length, s)
        for variant, count in (("calibrated_nearest", len(latents)), ("calibrated_all", None)):
            for seed in REFERENCE_SEEDS:
                reference = noisy_reference(model.neighbour_emb, s, count, seed)
                score = _calibrated(fam, reference, graded)
                out[f"noise {noise}: {variant} seed {seed}"] = {
                    "held_out": _scored(held_out, score),
                    "other": _scored(other, score),
                    "reference_q05": round(float(reference.quantiles[5]), 4),
                }
        mean = mean_pair_product(latents)
        out[f"noise {noise}: records' mean pair product"] = round(mean, 4)
        for seed in REFERENCE_SEEDS:
            reference, width = sparse_reference(model.neighbour_emb, s, len(latents), mean, seed)
            score = _calibrated(fam, reference, graded)
            out[f"noise {noise}: calibrated_sparse seed {seed}"] = {
                "held_out": _scored(held_out, score),
                "other": _scored(other, score),
                "reference_q05": round(float(reference.quantiles[5]), 4),
                "median_neighbourhood": width,
            }
        out[f"noise {noise}: exact reference_q05"] = round(float(fam.quantiles[5]), 4)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
