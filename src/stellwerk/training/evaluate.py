"""Judging routers on a test split: Stellwerk's router against the baselines.

Every router is a table of predicted qualities (rows x models) traced over cost weights with the
same decision rule as the gateway (``learned.choose``); the single models, the random mixture of
any two of them (the hull of the single models) and the oracle are points. Cost is ``cost_usd``
where the data has it, otherwise price x (ceil(len(prompt)/4) + 128) tokens.

The oracle sends each prompt to the cheapest model whose answer was good (score > 0; the
cheapest model when none was) and is mixed with the single models, as in RouterBench.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from stellwerk.routing.learned import choose
from stellwerk.training.metrics import (
    Points,
    curve_metrics,
    gap_closed,
    two_model_metrics,
    upper_hull,
)

F64 = npt.NDArray[np.float64]
COST_WEIGHTS = np.concatenate(([0.0], np.geomspace(1e-3, 1e3, 121)))


@dataclass
class Evaluation:
    """The metrics of every router and the points of its curve (for plots)."""

    routers: dict[str, dict[str, Any]] = field(default_factory=dict)
    curves: dict[str, Points] = field(default_factory=dict)
    best_single: str = ""
    hull_aiq: float = 0.0
    oracle_aiq: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "routers": self.routers,
            "best_single": self.best_single,
            "best_single_hull_aiq": round(self.hull_aiq, 6),
            "oracle_aiq": round(self.oracle_aiq, 6),
        }


def sweep(quality: F64, scores: F64, costs: F64) -> Points:
    """(mean cost, mean quality) of a router at every cost weight of ``COST_WEIGHTS``."""
    rows = np.arange(len(scores))
    points = []
    for weight in COST_WEIGHTS:
        pick = choose(quality, costs, float(weight))
        points.append((costs[rows, pick].mean(), scores[rows, pick].mean()))
    return np.array(points)


def oracle_point(scores: F64, costs: F64) -> tuple[float, float]:
    good = scores > 0
    masked = np.where(good, costs, np.inf)
    pick = np.where(good.any(axis=1), masked.argmin(axis=1), costs.argmin(axis=1))
    rows = np.arange(len(scores))
    return float(costs[rows, pick].mean()), float(scores[rows, pick].mean())


def evaluate(
    models: tuple[str, ...],
    scores: F64,
    costs: F64,
    predictions: Mapping[str, F64],
) -> Evaluation:
    """Metrics of each router in ``predictions`` (name -> qualities) and of the baselines."""
    singles = np.stack([costs.mean(axis=0), scores.mean(axis=0)], axis=1)
    best = int(np.lexsort((singles[:, 0], -singles[:, 1]))[0])
    hull = curve_metrics(singles, singles)
    oracle_pts = np.vstack([singles, [oracle_point(scores, costs)]])
    oracle = curve_metrics(oracle_pts, singles)
    result = Evaluation(best_single=models[best], hull_aiq=hull.aiq, oracle_aiq=oracle.aiq)

    def record(name: str, points: Points) -> dict[str, Any]:
        m = curve_metrics(points, singles)
        result.curves[name] = points
        entry: dict[str, Any] = {
            "aiq": round(m.aiq, 6),
            "gap_closed": round(gap_closed(m.aiq, hull.aiq, oracle.aiq), 6),
            "max_quality": round(m.max_quality, 6),
            "cost_to_match_best": None
            if m.cost_to_match_best is None
            else round(m.cost_to_match_best, 6),
        }
        result.routers[name] = entry
        return entry

    for name, quality in predictions.items():
        entry = record(name, sweep(quality, scores, costs))
        if len(models) == 2:
            strong = _strong(singles)
            margin = quality[:, strong] - quality[:, 1 - strong]
            tm = two_model_metrics(margin, scores[:, 1 - strong], scores[:, strong])
            entry.update(apgr=round(tm.apgr, 6), cpt50=tm.cpt50, cpt80=tm.cpt80)
    record("oracle", oracle_pts)
    record("mixture", singles)
    for i, model in enumerate(models):
        record(f"single:{model}", singles[i : i + 1])
    result.curves["mixture"] = upper_hull(singles)
    return result


def _strong(singles: Points) -> int:
    """The dearer of two models (the better one when they cost the same)."""
    if singles[0, 0] != singles[1, 0]:
        return int(np.argmax(singles[:, 0]))
    return int(np.argmax(singles[:, 1]))
