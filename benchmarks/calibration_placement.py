"""What calibration gains the router: a model the router never saw, placed from its facts only
against placed from a few hundred calibrated prompts.

    PYTHONPATH=src python benchmarks/calibration_placement.py \\
        [--data data/routing/open9.jsonl.gz] [--model llama3-chatqa-1.5-70b ...]

For each model X: 2,000 random train rows of the data stand for the organisation's calibration
bank (1,000 to place X on, 1,000 to judge on); the router is trained on the remaining train rows
without X (a reduced grid: bits 14, l2 1e-4, k 20/80, blend 0.3/0.6, 2 folds, to keep it to a
minute on two cores). Then the nine-model routing on the judging rows is evaluated (issue 3's
``evaluate``: AIQ, gap closed, cost to match the best single model) for the router with X placed
from its size (uncalibrated) and with X placed by ``calibration.fit`` from 100 and 300 of its
calibrated prompts. Figures printed as a Markdown table; docs/calibration.md keeps them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from stellwerk.calibration.fit import place_models, with_placed
from stellwerk.training.data import (
    ModelFacts,
    OutcomeData,
    default_models_file,
    load_model_facts,
    load_outcomes,
)
from stellwerk.training.evaluate import evaluate
from stellwerk.training.train import TrainSettings, train_quality_model
from stellwerk.training.workflow import predict_table

DEFAULT_DATA = Path(__file__).resolve().parents[1] / "data/routing/open9.jsonl.gz"
QUICK = TrainSettings(
    bits=14, l2_grid=(1e-4,), k_grid=(20, 80), blend_grid=(0.3, 0.6), folds=2, max_iter=120
)


def _rows(data: OutcomeData, rows: np.ndarray, *, test: bool = False) -> OutcomeData:
    mask = np.zeros(len(data), dtype=bool)
    mask[rows] = True
    part = data.subset(mask)
    split = np.full(len(part), test, dtype=np.bool_)
    return OutcomeData(
        part.ids, part.tasks, part.prompts, split, part.models, part.scores, part.cost_usd,
        part.sha256,
    )  # fmt: skip


def bench(
    data: OutcomeData, facts: dict[str, ModelFacts], held: str, sizes: tuple[int, ...]
) -> list[str]:
    rng = np.random.default_rng(42)
    bank = rng.choice(np.flatnonzero(~data.is_test), size=2000, replace=False)
    rest = np.ones(len(data), dtype=bool)
    rest[bank] = False
    model, _ = train_quality_model(data.subset(rest).without_model(held), facts, QUICK)
    judge = _rows(data, bank[1000:], test=True)
    costs = judge.costs(facts)
    j = judge.models.index(held)
    quiet = lambda *_: None  # noqa: E731
    tables = {"uncalibrated (size guess)": predict_table(model, judge, facts, quiet)}
    for n in sizes:
        fit = _rows(data, bank[:n])
        only = OutcomeData(
            fit.ids, fit.tasks, fit.prompts, fit.is_test, (held,),
            fit.scores[:, [fit.models.index(held)]], None, fit.sha256,
        )  # fmt: skip
        placed = with_placed(model, place_models(model, only, facts))
        tables[f"placed on {n} prompts"] = predict_table(placed, judge, facts, quiet)
    result = evaluate(judge.models, judge.scores, costs, tables).as_json()["routers"]
    true_mean = float(judge.scores[:, j].mean())
    lines = []
    for name, quality in tables.items():
        r = result[name]
        match = "never" if r["cost_to_match_best"] is None else f"{r['cost_to_match_best']:.0%}"
        lines.append(
            f"| {held} | {true_mean:.3f} | {name} | {quality[:, j].mean():.3f} |"
            f" {r['aiq']:.3f} | {r['gap_closed']:.3f} | {match} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--model", action="append", help="held-out model (repeatable)", default=None
    )
    args = parser.parse_args()
    data = load_outcomes(args.data)
    models_file = default_models_file(args.data)
    if models_file is None:
        parser.error(f"no models file beside {args.data} (NAME-models.json)")
    facts = load_model_facts(models_file)
    held = args.model or ["llama3-chatqa-1.5-70b", "qwen2.5-7b-instruct"]
    print(
        "| model X | X's true mean | router | X predicted | AIQ | gap closed | cost to match best |"
    )
    print("|---|---:|---|---:|---:|---:|---:|")
    for name in held:
        print("\n".join(bench(data, facts, name, (100, 300))), flush=True)


if __name__ == "__main__":
    main()
