"""The headroom rules of issue 18's sixth session, judged by ``promotion_rules.py grid`` and
``choose`` (BENCHMARKS.md, "Sixth session"), and the in-distribution figures of another seed.

A rotation's *headroom* is the most a router could gain on its judged graded requests: the
oracle's score (per record and cost weight the best graded model) minus the current router's,
averaged as ``adapt._compare`` averages. The rules: a normal prior N(0, s^2) on the true gain with
s = c x headroom, promoted when the posterior z, g s / (SE sqrt(s^2 + SE^2)), exceeds m (family
A); the same with s = c x relative headroom x SE, the relative headroom being the headroom as a
share of the oracle's score over the best single model's (B); the shipped test at a low margin
where the headroom (C) or the relative headroom (D) exceeds a threshold, at a high one otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.promotion_rules import (
    REPO,
    ROTATIONS,
    TASKS,
    N,
    Rotation,
    Rule,
    Verdict,
    _best,
    margin,
)


def in_distribution(seed: int, only: set[str] | None, out: Path) -> None:
    """The in-distribution router's gap closed on the judged rows of every task and rotation of
    ``collect`` at ``seed`` (trained, as ``holdout_evaluation`` trains it, on every train row
    less the judged ones), and the unadapted router's beside it (a check: it must equal the
    collected file's). For seeds other than 0, whose in-distribution figures no earlier run has."""
    from benchmarks.router_learning import MAX_JUDGED, SETS
    from stellwerk.routing.memory import prompt_digest
    from stellwerk.training.data import load_model_facts, load_outcomes
    from stellwerk.training.evaluate import evaluate
    from stellwerk.training.holdout import _order as order_of
    from stellwerk.training.holdout import as_split, task_mask, traffic_rows
    from stellwerk.training.train import TrainSettings, quiet, train_quality_model
    from stellwerk.training.workflow import predict_table

    bench = TrainSettings(l2_grid=(1e-4,), k_grid=(20, 80, 160), folds=2, max_iter=40)
    result: dict[str, Any] = {"seed": seed, "n": N, "rotations": ROTATIONS, "tasks": {}}
    for name, (file, resplit, models) in SETS.items():
        data = load_outcomes(REPO / "data/routing" / file, resplit=resplit)
        facts_file = (
            REPO / "data/routing" / models if models else REPO / "benchmarks/routellm-models.json"
        )
        facts = load_model_facts(facts_file)
        for task in TASKS[name]:
            if only and task not in only:
                continue
            held = task_mask(data, task)
            base_train = ~held & ~data.is_test
            unadapted, _ = train_quality_model(as_split(data, base_train), facts, bench)
            each: dict[str, list[float]] = {"in_distribution_each": [], "unadapted_each": []}
            for r in range(ROTATIONS):
                order = order_of(data, task, seed, r, ROTATIONS)
                traffic = traffic_rows(data, task, N, seed, r, ROTATIONS)
                shown = {prompt_digest(data.prompts[i]) for i in traffic}
                shown |= {prompt_digest(data.prompts[i]) for i in np.flatnonzero(base_train)}
                judged = np.zeros(len(data), dtype=np.bool_)
                new = [i for i in order[N:] if prompt_digest(data.prompts[i]) not in shown]
                judged[new[:MAX_JUDGED]] = True
                test = data.subset(judged)
                in_model, _ = train_quality_model(
                    as_split(data, ~data.is_test & ~judged), facts, bench
                )
                predictions = {
                    "unadapted": predict_table(unadapted, test, facts, quiet),
                    "in_distribution": predict_table(in_model, test, facts, quiet),
                }
                ev = evaluate(test.models, test.scores, test.costs(facts), predictions)
                for k in predictions:
                    each[f"{k}_each"].append(ev.routers[k]["gap_closed"])
                print(name, task, r, {k: v[-1] for k, v in each.items()}, flush=True)
            result["tasks"][f"{name}/{task}"] = each
    out.write_text(json.dumps(result, indent=1) + "\n")


def headroom(rot: Rotation) -> float:
    """The most a router could gain on the rotation's judged graded requests: the oracle's score
    (the best graded model per record and cost weight) minus the current router's."""
    return float(rot["oracle_score"] - rot["current_score"])


def relative_headroom(rot: Rotation) -> float:
    """``headroom`` as a share of the oracle's score over the best single model's (inf when the
    best single model is the oracle and the router is below it)."""
    room = rot["oracle_score"] - rot["best_single_score"]
    h = headroom(rot)
    return h / room if room > 1e-12 else (np.inf if h > 1e-12 else 0.0)


def _z(form_entry: dict[str, Any], scale: float) -> float:
    """The posterior z of the true gain under a N(0, scale^2) prior: g s / (SE sqrt(s^2 + SE^2))."""
    g, se = form_entry["gain"], form_entry["se"]
    if scale <= 0.0:
        return 0.0
    if se <= 0.0:
        return np.inf if g > 0 else 0.0
    return float(g * scale / (se * np.sqrt(scale**2 + se**2)))


def _admissible(rot: Rotation) -> tuple[str, dict[str, Any]] | None:
    form, e = _best(rot)
    return (form, e) if e["records"] >= 20 and e["gain"] > 0 and e["fitted"] else None


def prior(c: float, m: float) -> Rule:
    """The best form by gain, promoted when the posterior z of its gain under a N(0, (c H)^2) prior
    (H: ``headroom``) exceeds m."""

    def rule(rot: Rotation) -> str | None:
        best = _admissible(rot)
        if best is None:
            return None
        return best[0] if _z(best[1], c * max(headroom(rot), 0.0)) > m else None

    return rule


def prior_relative(c: float, m: float) -> Rule:
    """As ``prior`` with s = c r SE (r: ``relative_headroom``): the shipped z shrunk by
    k / sqrt(1 + k^2), k = c r."""

    def rule(rot: Rotation) -> str | None:
        best = _admissible(rot)
        if best is None:
            return None
        k = c * max(relative_headroom(rot), 0.0)
        shrink = k / np.sqrt(1 + k**2) if np.isfinite(k) else 1.0
        z = best[1]["gain"] / max(best[1]["se"], 1e-12) * shrink
        return best[0] if z > m else None

    return rule


def step(low: float, high: float, t: float, relative: bool) -> Rule:
    """The shipped rule at margin ``low`` where the headroom (relative: ``relative_headroom``)
    exceeds t, at ``high`` otherwise."""

    def rule(rot: Rotation) -> str | None:
        best = _admissible(rot)
        if best is None:
            return None
        h = relative_headroom(rot) if relative else headroom(rot)
        m = low if h > t else high
        return best[0] if best[1]["gain"] > m * best[1]["se"] else None

    return rule


def new_rules() -> dict[str, Rule]:
    """The families of the sixth session (BENCHMARKS.md), in the protocol's order."""
    out: dict[str, Rule] = {}
    for c in (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0):
        for m in (1.0, 1.5, 2.0):
            out[f"A prior, s = {c} x headroom, z > {m}"] = prior(c, m)
    for c in (0.5, 1.0, 2.0, 4.0):
        for m in (1.0, 1.5, 2.0):
            out[f"B prior, s = {c} x relative headroom x SE, z > {m}"] = prior_relative(c, m)
    for relative, ts in (
        (False, (0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2)),
        (True, (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)),
    ):
        for low in (1.0, 1.5):
            for high in (2.0, 2.5, 3.0):
                for t in ts:
                    what = "relative headroom" if relative else "headroom"
                    out[f"{'D' if relative else 'C'} margin {low} if {what} > {t}, else {high}"] = (
                        step(low, high, t, relative)
                    )
    return out


def reference_rules() -> dict[str, Rule]:
    return {f"best form, margin {m}": margin(m) for m in (1.0, 1.5, 2.0, 2.5, 3.0)}


def choose(verdicts: dict[str, Verdict]) -> str:
    """The protocol's choice, written down before the seed-1 file was read (the helper's report
    of 2026-12-07): fewest tasks worse (0 if any), then the highest mean gain over unadapted, then
    (ties within 1e-6) the fewest promotions, then the first in ``new_rules``' order."""
    order = list(verdicts)

    def key(name: str) -> tuple[int, float, int, int]:
        v = verdicts[name]
        return (len(v.worse), -round(v.gain / 1e-6) * 1e-6, v.promoted, order.index(name))

    return min(order, key=key)
