"""One rotation of ``spibb_run.py collect`` (the candidates only, no SPIBB variants), to check
that a run reproduces the stored candidates without a whole collect.

    PYTHONPATH=src:. python benchmarks/spibb_one.py [--seed S] [--task SET/TASK] [--rotation R]
        [--noise X]

``--noise`` 0.5 (default, noise seeded 0) or 0 (exact records, ``promotion_rules.py collect``).
Only the first task of a group (``spibb_run.GROUPS``: open9/arc_challenge for ``b``) draws the
noise the stored collect drew: the generator is shared, in order, by a group's tasks. Noisy
records made before the latent space's signs were fixed (``training.train._latent_space``) drew
their noise in whichever signs OpenBLAS's kernel and thread count gave: the stored noisy
collects reproduce at such a commit with ``OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=2``
(BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from typing import Any

import numpy as np


def one(seed: int, key: str, r: int, noise: float) -> dict[str, Any]:
    from benchmarks.promotion_rules import ROTATIONS, N
    from benchmarks.record_noise_learning import noisy_records
    from benchmarks.router_learning import MAX_JUDGED, SETS
    from benchmarks.spibb_run import REPO
    from stellwerk.routing import adapt as steps
    from stellwerk.routing.graded_record import GradedRecord
    from stellwerk.routing.graded_table import graded_table
    from stellwerk.routing.memory import prompt_digest
    from stellwerk.training.data import load_model_facts, load_outcomes
    from stellwerk.training.evaluate import evaluate
    from stellwerk.training.holdout import _mean_costs, as_split, task_mask, traffic_rows
    from stellwerk.training.holdout import _order as order_of
    from stellwerk.training.train import TrainSettings, quiet, train_quality_model
    from stellwerk.training.workflow import predict_table

    name, task = key.split("/")
    if noise > 0:
        noisy_records(noise, 0)
    bench = TrainSettings(l2_grid=(1e-4,), k_grid=(20, 80, 160), folds=2, max_iter=40)
    settings = steps.AdaptSettings()
    file, resplit, models = SETS[name]
    data = load_outcomes(REPO / "data/routing" / file, resplit=resplit)
    facts = load_model_facts(
        REPO / "data/routing" / models if models else REPO / "benchmarks/routellm-models.json"
    )
    held = task_mask(data, task)
    base_train = ~held & ~data.is_test
    unadapted, _ = train_quality_model(as_split(data, base_train), facts, bench)
    base = replace(unadapted, correction=None)
    out: dict[str, Any] = {}
    for rot in range(r + 1):  # the earlier rotations draw noise too
        order = order_of(data, task, seed, rot, ROTATIONS)
        traffic = traffic_rows(data, task, N, seed, rot, ROTATIONS)
        records = [
            GradedRecord.of(
                unadapted,
                data.prompts[i],
                dict(zip(data.models, data.scores[i].tolist(), strict=True)),
                task=data.tasks[i],
            )
            for i in traffic
        ]
        if rot < r:
            continue
        shown = {prompt_digest(data.prompts[i]) for i in traffic}
        shown |= {prompt_digest(data.prompts[i]) for i in np.flatnonzero(base_train)}
        judged = np.zeros(len(data), dtype=np.bool_)
        new = [i for i in order[N:] if prompt_digest(data.prompts[i]) not in shown]
        judged[new[:MAX_JUDGED]] = True
        test = data.subset(judged)
        table = graded_table(base, records)
        cost = steps._costs(base, _mean_costs(data, traffic, facts))
        current = steps._predict(unadapted, table)
        costs = test.costs(facts)
        predictions = {"unadapted": predict_table(unadapted, test, facts, quiet)}
        forms: dict[str, Any] = {}
        for form in settings.form_grid:
            each = replace(settings, form_grid=(form,))
            crossed = steps._cross_fitted(base, table, each, seed)
            comparison = steps._compare(current, crossed, table, cost, each)
            final = steps._fit(base, table, each, seed)
            corr = final.model.correction
            forms[form] = {
                "gain": comparison.gain,
                "se": comparison.standard_error,
                "k": None if corr is None else corr.k,
                "tau": None if corr is None else corr.tau,
            }
            if corr is not None:
                predictions[form] = predict_table(final.model, test, facts, quiet)
        ev = evaluate(test.models, test.scores, costs, predictions)
        gaps = {k: ev.routers[k]["gap_closed"] for k in predictions}
        for form, entry in forms.items():
            entry["judged_gap"] = gaps.get(form, gaps["unadapted"])
        out = {"unadapted": gaps["unadapted"], "forms": forms}
        out["records"] = [
            len(table),
            float(table.latents.astype(np.float64).sum()),
            float(table.base.sum()),
            float(table.grades.sum()),
        ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--task", default="open9/arc_challenge")
    parser.add_argument("--rotation", type=int, default=0)
    parser.add_argument("--noise", type=float, default=0.5, help="0: exact records")
    args = parser.parse_args()
    print(json.dumps(one(args.seed, args.task, args.rotation, args.noise), default=float))


if __name__ == "__main__":
    main()
