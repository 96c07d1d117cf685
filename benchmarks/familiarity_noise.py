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
* ``top5``, ``top5_length``: the mean of the five largest products (as they are, by length).

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

from stellwerk.routing.familiarity import DEFAULT_THRESHOLD, Familiarity
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
    scores = []
    for latent, train_sim in prompts:
        if latent is None:
            scores.append(0.0)
            continue
        sim = train_sim if graded is None else max(train_sim, graded(latent))
        scores.append(fam.score(sim))
    return round(float((np.array(scores) < DEFAULT_THRESHOLD).mean()), 4)


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
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
