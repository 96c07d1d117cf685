"""Every promotion rule at once, on one run's candidates (issue 18).

    PYTHONPATH=src python benchmarks/promotion_rules.py collect [--seed 0] [--tasks a,b] [--out F]
    PYTHONPATH=src python benchmarks/promotion_rules.py in-distribution --seed 1
    PYTHONPATH=src python benchmarks/promotion_rules.py rules|grid [--out F]
    PYTHONPATH=src python benchmarks/promotion_rules.py choose [--select SEED1_FILE] [--out F]

``collect`` does what ``router_learning.py --ns 200 --rotations 5`` does for the 13 held-out
tasks of the target (open9's 11 with 200 traffic rows to spare, routellm's MMLU and GSM8K), but
keeps, for every task, rotation and correction form (``correction.FORMS``), what a promotion
rule can look at and what it would have bought: the form's cross-fitted gain on the 200 graded
requests and its paired standard error (as ``adapt`` computes them), every request's gain, the
gain at each cost weight, the gain of the whole choice of form cross-fitted again (``nested``:
the form chosen on each judge fold's other folds only), and the gap closed on the judged rows by
that form's candidate fitted on every graded request (the router ``adapt`` would promote). Per
rotation also the scores a headroom rule needs, on the same judged graded requests and as
``adapt._compare`` averages them: the current router's (``current_score``), the oracle's (per
record and cost weight the best graded model, ``oracle_score``), the best single model's (per
cost weight the one model best over all the records, then the mean over the weights,
``best_single_score``), each record's oracle-minus-current (``per_record_headroom``), and per form
the candidate's (``candidate_score``). Written to ``benchmarks/results/promotion-rules.json.gz``
(seed 0, about 70 KB; ``--seed 1 --out ...-seed1.json.gz``: other traffic and judged rows).

``rules`` reads that file and judges families of rules on it: a rule picks, per rotation, one
form's candidate or none (the unadapted router), so its two figures of the issue's targets
(in-distribution minus adapted over the 13 tasks, and the tasks routed worse than unadapted) come
without training anything; the in-distribution figures are those of the rotated run
(``benchmarks/results/router-learning-rotated.json``: they do not depend on the rule) for seed 0,
and those of ``in-distribution --seed S`` (``promotion-rules-seedS-in-distribution.json``: the
in-distribution router trained for each judged set of that seed) for another seed; without them
a rule is judged by its mean gain over the unadapted router alone. The shipped rule is reproduced
exactly (0.054, gpqa 0.00001 below): a check that both files agree. ``grid`` judges the headroom
rules of the sixth session (BENCHMARKS.md: a prior on the gain scaled by the room left to gain,
and step margins by headroom); ``choose`` picks one of them on the ``--select`` file (seed 1) by
the protocol written down before it was run (``promotion_headroom.choose``) and reports it on
``--out``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks/results/promotion-rules.json.gz"
SEED1 = REPO / "benchmarks/results/promotion-rules-seed1.json.gz"
ROTATED = REPO / "benchmarks/results/router-learning-rotated.json"
N = 200
ROTATIONS = 5
TASKS = {
    "routellm-mmlu-gsm8k": ("mmlu", "gsm8k"),
    "open9": (
        "agentverse-mgsm", "arc_challenge", "commonsense_qa", "gpqa", "gsm8k", "math", "mbpp",
        "mmlu", "natural_qa", "openbook_qa", "trivia_qa",
    ),
}  # fmt: skip
Rotation = dict[str, Any]
Rule = Callable[[Rotation], str | None]


def collect(seed: int, only: set[str] | None, out: Path) -> None:
    from benchmarks.router_learning import MAX_JUDGED, SETS
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

    bench = TrainSettings(l2_grid=(1e-4,), k_grid=(20, 80, 160), folds=2, max_iter=40)
    settings = steps.AdaptSettings()
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
            base = replace(unadapted, correction=None)
            rotations = []
            for r in range(ROTATIONS):
                order = order_of(data, task, seed, r, ROTATIONS)
                traffic = traffic_rows(data, task, N, seed, r, ROTATIONS)
                shown = {prompt_digest(data.prompts[i]) for i in traffic}
                shown |= {prompt_digest(data.prompts[i]) for i in np.flatnonzero(base_train)}
                judged = np.zeros(len(data), dtype=np.bool_)
                new = [i for i in order[N:] if prompt_digest(data.prompts[i]) not in shown]
                judged[new[:MAX_JUDGED]] = True
                test = data.subset(judged)
                records = [
                    GradedRecord.of(
                        unadapted,
                        data.prompts[i],
                        dict(zip(data.models, data.scores[i].tolist(), strict=True)),
                        task=data.tasks[i],
                    )
                    for i in traffic
                ]
                mean_costs = _mean_costs(data, traffic, facts)
                table = graded_table(base, records)
                cost = steps._costs(base, mean_costs)
                current = steps._predict(unadapted, table)
                bounds = _bounds(steps, current, table, cost, settings)
                predictions = {"unadapted": predict_table(unadapted, test, facts, quiet)}
                forms: dict[str, Any] = {}
                for form in settings.form_grid:
                    each = replace(settings, form_grid=(form,))
                    crossed = steps._cross_fitted(base, table, each, seed)
                    comparison = steps._compare(current, crossed, table, cost, each)
                    gains = _gains(steps, current, crossed, table, cost, each)
                    final = steps._fit(base, table, each, seed)
                    if final.model.correction is not None:
                        predictions[form] = predict_table(final.model, test, facts, quiet)
                    forms[form] = {
                        "gain": comparison.gain,
                        "se": comparison.standard_error,
                        "records": comparison.records,
                        "per_record": np.round(gains.mean(axis=1), 6).tolist(),
                        "per_weight": np.round(gains.mean(axis=0), 6).tolist(),
                        "fitted": final.model.correction is not None,
                        "candidate_score": comparison.candidate_score,
                    }
                    assert abs(comparison.current_score - bounds["current_score"]) < 1e-9
                nested = steps._compare(
                    current,
                    _nested(steps, base, table, cost, current, settings, seed),
                    table,
                    cost,
                    settings,
                )
                ev = evaluate(test.models, test.scores, test.costs(facts), predictions)
                gaps = {k: ev.routers[k]["gap_closed"] for k in predictions}
                for form, entry in forms.items():
                    entry["judged_gap"] = gaps.get(form, gaps["unadapted"])
                rotations.append(
                    {
                        "unadapted": gaps["unadapted"],
                        "nested_gain": nested.gain,
                        "nested_se": nested.standard_error,
                        "forms": forms,
                        **bounds,
                    }
                )
                print(
                    name, task, r, json.dumps({k: round(v, 4) for k, v in gaps.items()}), flush=True
                )
            result["tasks"][f"{name}/{task}"] = rotations
    out.write_bytes(gzip.compress(json.dumps(result).encode(), mtime=0))


def _judged(steps: Any, table: Any, cost: Any, settings: Any) -> tuple[Any, Any, Any, Any]:
    """As ``adapt._compare`` sets up: the records it judges (two graded models or more), the cost
    weights, each record's normalised costs and the judged records' table."""
    mask = table.graded
    use = mask.sum(axis=1) >= 2
    weights = np.array(settings.cost_weights if cost.any() else settings.cost_weights[:1])
    row_cost = np.where(mask, cost[None, :], 0.0)
    top = row_cost.max(axis=1, keepdims=True)
    norm = np.divide(row_cost, top, out=np.zeros_like(row_cost), where=top > 0)
    t = steps.GradedTable(table.latents[use], table.base[use], table.grades[use], mask[use])
    return use, weights, norm, t


def _gains(steps: Any, current: Any, candidate: Any, table: Any, cost: Any, settings: Any) -> Any:
    """(judged records, cost weights): each graded request's gain, as ``adapt._compare``."""
    use, weights, norm, t = _judged(steps, table, cost, settings)
    a = steps._scores(current[use], t, norm[use], cost, weights)
    b = steps._scores(candidate[use], t, norm[use], cost, weights)
    return b - a


def _bounds(steps: Any, current: Any, table: Any, cost: Any, settings: Any) -> dict[str, Any]:
    """What the current router scores on the judged graded requests (as ``adapt._compare``: the
    mean over records of the mean over cost weights), what the oracle scores there (per record and
    weight the best grade minus cost term among the record's graded models, as ``adapt._scores``
    scores a pick) and what the best single model scores (per cost weight the one model of the
    highest mean score over the records, then the mean over weights; every benchmark record has
    every model graded); each record's headroom, oracle minus current."""
    use, weights, norm, t = _judged(steps, table, cost, settings)
    now = steps._scores(current[use], t, norm[use], cost, weights)
    score = t.grades[:, None, :] - weights[None, :, None] * norm[use][:, None, :]
    assert t.graded.all(), "every benchmark record has every model graded"
    oracle = score.max(axis=2)  # (records, weights)
    single = score.mean(axis=0)  # (weights, models): each model for every record
    return {
        "current_score": float(now.mean(axis=1).mean()),
        "oracle_score": float(oracle.mean(axis=1).mean()),
        "best_single_score": float(single.max(axis=1).mean()),
        "per_record_headroom": np.round((oracle - now).mean(axis=1), 6).tolist(),
    }


def _nested(
    steps: Any, base: Any, table: Any, cost: Any, current: Any, settings: Any, seed: int
) -> Any:
    """Every graded request's quality by a candidate whose form was chosen, and which was fitted,
    on the other judge folds only (the whole choice cross-fitted)."""
    n = len(table)
    folds = np.random.default_rng(seed + 1).permutation(n) % min(settings.judge_folds, n)
    out = np.empty_like(table.base)
    for f in np.unique(folds):
        held, train = np.flatnonzero(folds == f), np.flatnonzero(folds != f)
        part = table.rows(train)

        gains = {}
        for form in settings.form_grid:
            each = replace(settings, form_grid=(form,))
            crossed = steps._cross_fitted(base, part, each, seed)
            gains[form] = float(steps._compare(current[train], crossed, part, cost, each).gain)
        form = max(settings.form_grid, key=gains.__getitem__)
        fitted = steps._fit(base, part, replace(settings, form_grid=(form,)), seed)
        out[held] = steps._predict(fitted.model, table.rows(held))
    return out


@dataclass(frozen=True)
class Verdict:
    """What a rule does over the 13 tasks of one collected file."""

    gain: float
    """Mean over tasks of adapted minus unadapted gap closed (each task: mean of its rotations)."""
    gap: float | None
    """Mean over tasks of in-distribution minus adapted (None: no in-distribution figures for the
    file's seed; the rotated run is seed 0's)."""
    worse: list[tuple[str, float]]
    """The tasks routed worse than unadapted (mean over rotations), by how much."""
    promoted: int


def in_distribution_figures(seed: int) -> dict[str, list[float]] | None:
    """Every task's in-distribution gap closed per rotation at ``seed``: seed 0's from the rotated
    run, another seed's from ``promotion_rules.py in-distribution`` (None: not measured)."""
    if seed == 0:
        rotated = json.loads(ROTATED.read_text())
        return {
            f"{name}/{task}": rotated["sets"][name][task]["curve"]["200"]["in_distribution_each"]
            for name, tasks in TASKS.items()
            for task in tasks
        }
    path = in_distribution_file(seed)
    if not path.exists():
        return None
    tasks = json.loads(path.read_text())["tasks"]
    return {key: entry["in_distribution_each"] for key, entry in tasks.items()}


def in_distribution_file(seed: int) -> Path:
    return REPO / f"benchmarks/results/promotion-rules-seed{seed}-in-distribution.json"


def judge(result: dict[str, Any], rule: Rule) -> Verdict:
    """A rule's figures of the issue's targets on a collected file (``Verdict``)."""
    rotated = in_distribution_figures(result.get("seed", 0))
    gaps, gains, worse, promoted = [], [], [], 0
    for key, rotations in result["tasks"].items():
        adapted, unadapted = [], []
        for rot in rotations:
            form = rule(rot)
            promoted += form is not None
            unadapted.append(rot["unadapted"])
            adapted.append(rot["unadapted"] if form is None else rot["forms"][form]["judged_gap"])
        if rotated is not None:
            in_dist = rotated[key]
            gaps.append(float(np.mean(in_dist) - np.mean(adapted)))
        gains.append(float(np.mean(adapted) - np.mean(unadapted)))
        if np.mean(adapted) < np.mean(unadapted) - 1e-9:
            worse.append((key, round(float(np.mean(adapted) - np.mean(unadapted)), 5)))
    gap = float(np.mean(gaps)) if rotated is not None else None
    return Verdict(float(np.mean(gains)), gap, worse, promoted)


def _short(key: str) -> str:
    """``open9/gsm8k`` -> ``gsm8k``, ``routellm-mmlu-gsm8k/gsm8k`` -> ``routellm gsm8k``."""
    name, task = key.split("/")
    return task if name == "open9" else f"routellm {task}"


def _best(rot: Rotation) -> tuple[str, dict[str, Any]]:
    best: tuple[str, dict[str, Any]] = max(rot["forms"].items(), key=lambda kv: kv[1]["gain"])
    return best


def margin(m: float, least: float = 0.0) -> Rule:
    """The shipped rule's shape: the best form by gain, promoted above m standard errors (and
    above ``least`` of gain)."""

    def rule(rot: Rotation) -> str | None:
        form, e = _best(rot)
        ok = e["records"] >= 20 and e["gain"] > max(m * e["se"], least) and e["fitted"]
        return form if ok else None

    return rule


def one_form(form: str, m: float | None) -> Rule:
    """Always that form (m None: no test at all), or that form above m standard errors."""

    def rule(rot: Rotation) -> str | None:
        e = rot["forms"][form]
        return form if e["fitted"] and (m is None or e["gain"] > m * e["se"]) else None

    return rule


def nested(m: float) -> Rule:
    def rule(rot: Rotation) -> str | None:
        form, e = _best(rot)
        ok = rot["nested_gain"] > max(m * rot["nested_se"], 0.0) and e["fitted"]
        return form if ok else None

    return rule


def every_weight(m: float, slack: float) -> Rule:
    """The shipped rule, and no cost weight's mean gain below -slack."""

    def rule(rot: Rotation) -> str | None:
        form = margin(m)(rot)
        return form if form and min(rot["forms"][form]["per_weight"]) >= -slack else None

    return rule


def signs(m: float) -> Rule:
    """The best form when more graded requests gain than lose, by m standard errors (sign test)."""

    def rule(rot: Rotation) -> str | None:
        form, e = _best(rot)
        g = np.array(e["per_record"])
        up, down = int((g > 1e-12).sum()), int((g < -1e-12).sum())
        n = up + down
        return form if n and e["fitted"] and (up - n / 2) / (np.sqrt(n) / 2) > m else None

    return rule


def rules() -> dict[str, Rule]:
    out: dict[str, Rule] = {}
    for m in (1.0, 1.5, 2.0, 2.5, 3.0):
        out[f"best form, margin {m}"] = margin(m)
    for least in (0.005, 0.01, 0.02):
        out[f"best form, margin 2, gain > {least}"] = margin(2.0, least)
    for least in (0.0, 0.01, 0.015, 0.02, 0.025):
        out[f"best form, gain > {least} (no standard error)"] = margin(0.0, least)
    for form in ("shared", "graded", "pooled"):
        for test in (None, 0.0, 1.0, 2.0):
            what = "always" if test is None else f"margin {test}"
            out[f"{form} only, {what}"] = one_form(form, test)
    for m in (1.0, 1.5, 2.0):
        out[f"whole choice cross-fitted, margin {m}"] = nested(m)
    for slack in (0.0, 0.01):
        out[f"margin 2, every cost weight >= -{slack}"] = every_weight(2.0, slack)
    for m in (1.0, 2.0):
        out[f"sign test, margin {m}"] = signs(m)
    return out


def _table(result: dict[str, Any], rules_: dict[str, Rule]) -> dict[str, Verdict]:
    out = {name: judge(result, rule) for name, rule in rules_.items()}
    with_gap = in_distribution_figures(result.get("seed", 0)) is not None
    gap_head = " in-dist. - adapted (target <= 0.05) |" if with_gap else ""
    print(f"| rule |{gap_head} adapted - unadapted | tasks worse (target 0) | promotions |")
    print("|---|" + ("---|" if with_gap else "") + "---|---|---|")
    for name, v in out.items():
        names = ", ".join(f"{_short(k)} {d:+.3f}" for k, d in v.worse)
        gap = f" {v.gap:.3f} |" if v.gap is not None else ""
        worse = f"{len(v.worse)}{f' ({names})' if names else ''}"
        print(f"| {name} |{gap} {v.gain:+.4f} | {worse} | {v.promoted} |")
    print()
    return out


def _load(path: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(gzip.decompress(path.read_bytes()))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("collect", "in-distribution", "rules", "grid", "choose"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tasks", help="collect: only these held-out tasks (comma-separated)")
    parser.add_argument("--out", type=Path, default=OUT, help="the candidates' file (.json.gz)")
    parser.add_argument(
        "--select", type=Path, default=SEED1, help="choose: the file the rule is chosen on"
    )
    args = parser.parse_args()
    if args.what == "collect":
        collect(args.seed, set(args.tasks.split(",")) if args.tasks else None, args.out)
        return
    from benchmarks import promotion_headroom as headroom

    if args.what == "in-distribution":
        only = set(args.tasks.split(",")) if args.tasks else None
        headroom.in_distribution(args.seed, only, in_distribution_file(args.seed))
        return
    result = _load(args.out)
    print(f"{args.out.name} (seed {result.get('seed', 0)})")
    if args.what == "rules":
        _table(result, rules())
        print(predictiveness(result))
    elif args.what == "grid":
        _table(result, {**headroom.reference_rules(), **headroom.new_rules()})
    else:
        print(f"choosing on {args.select.name}:")
        rules_ = headroom.new_rules()
        verdicts = {name: judge(_load(args.select), rule) for name, rule in rules_.items()}
        name = headroom.choose(verdicts)
        v = verdicts[name]
        print(f"chosen: {name} ({v.gain:+.4f} over unadapted, {len(v.worse)} worse, {v.promoted})")
        print(f"on {args.out.name}:")
        _table(result, {**headroom.reference_rules(), name: rules_[name]})
    sys.stdout.flush()


def predictiveness(result: dict[str, Any]) -> str:
    """How well a candidate's figures on the graded requests foretell what it does on the judged
    rows: correlations, and the share routing the judged rows worse (by more than 0.001 of gap)
    per band of standard errors."""
    z, gain, change = [], [], []
    for rotations in result["tasks"].values():
        for rot in rotations:
            for e in rot["forms"].values():
                if e["fitted"]:
                    z.append(e["gain"] / max(e["se"], 1e-12))
                    gain.append(e["gain"])
                    change.append(e["judged_gap"] - rot["unadapted"])
    zs, gains, changes = np.array(z), np.array(gain), np.array(change)
    lines = [
        f"{len(zs)} candidates; correlation with the change of gap closed on the judged rows:"
        f" gain {np.corrcoef(gains, changes)[0, 1]:.2f}, gain in standard errors"
        f" {np.corrcoef(zs, changes)[0, 1]:.2f}"
    ]
    for lo, hi in ((-np.inf, 0.0), (0.0, 1.0), (1.0, 2.0), (2.0, 3.0), (3.0, np.inf)):
        band = (zs > lo) & (zs <= hi)
        if band.any():
            worse = float((changes[band] < -0.001).mean())
            lines.append(f"  gain of {lo} to {hi} standard errors: {band.sum()}, {worse:.0%} worse")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
