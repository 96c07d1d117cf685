"""Learning curves of the router on traffic it never saw (issue 18).

    PYTHONPATH=src python benchmarks/router_learning.py [--data-dir data/routing] [--tasks a,b]
        [--sets open9,...] [--ns 0,200] [--rotations R]
        [--out FILE.json] [--plot FILE.png]   (default: benchmarks/results/router-learning.*)

For every held-out task of open9 (its 14 tasks) and of routellm-mmlu-gsm8k (its two sources:
``mmlu``, all 57 subjects, and ``gsm8k``; own split ``--resplit 0.3``), this does what
``stellwerk router eval --holdout-task T --adapt N --json`` does, for N = 0, 50, 100, 200, 500,
with the unadapted router trained once per task and reused for every N, and the in-distribution
router trained at N = 200 only (the target's point). Training uses ``BENCH`` settings (one L2
weight, two folds, three neighbour counts: about a third of the default's time); every router of
a row is trained with the same settings. An N that leaves fewer than 10 prompts to judge is
skipped; at most ``MAX_JUDGED`` rows are judged (the first in the seeded order). The JSON is written
after every task, so a run cut short keeps what it finished.

``--rotations R`` judges every point R times, rotation 0 .. R-1 of ``holdout_evaluation`` (the
seeded order turned by 1/R of the task's rows each time: other traffic, other judged rows; with
250 rows and N = 200, R = 5 judges every row once), for every task and N alike, and reports each
router's mean gap closed over the rotations, every rotation's figure (``*_each``) and the
standard error of the mean adapted-minus-unadapted difference. Rotation 0 is the one-draw run.
A small judged set makes one draw mostly noise (agentverse-mgsm at N = 200: 50 prompts).

``--in-distribution-from OLD.json`` takes the in-distribution router's figures (and the kNN
baseline's) of every (task, N, rotation) from an earlier run instead of training that router
again: neither depends on the adaptation (the same training rows, settings and judged rows give the
same router and the same figures), and training it is most of a point's time. A point the earlier
run lacks is measured in full.

``--grading shadow`` grades the traffic as the gateway's shadow grading does (two models per
request: the one the unadapted router picks at the ``auto`` route's cost weight, relative to the
reference, the model of the highest rating; ``holdout.shadow_grades``), not every model;
``--grading shadow+1`` grades one more model per request, drawn from the others (what a third answer
per graded request would teach; the gateway does not do it).

``--margin M`` adapts with that promotion margin (standard errors) instead of the shipped rule's,
to measure what the margin trades (BENCHMARKS.md).

``--redecide OLD.json`` re-decides the promotions of an earlier run with the current rule, for
when the rule changed but nothing else did: per task it trains the unadapted router again (the
same settings), adapts on the same traffic rows and takes the new decision. The routers a rule
does not touch keep their figures (unadapted, in-distribution, knn: the same training, the same
judged rows), and so does the adapted router where both rules promote (the promoted correction is
fitted on every record, whatever the rule); where the new rule promotes nothing the adapted router
is the unadapted one; where only the new rule promotes, that point is judged afresh.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
NS = (0, 50, 100, 200, 500)
MAX_JUDGED = 1000
"""Judge on at most this many rows of a held-out task (routellm's MMLU has 14,042)."""
SETS = {
    "routellm-mmlu-gsm8k": ("routellm-mmlu-gsm8k.jsonl.gz", 0.3, None),
    "open9": ("open9.jsonl.gz", None, "open9-models.json"),
}


def run(
    data_dir: Path,
    only: set[str] | None,
    out: Path,
    sets: list[str] | None = None,
    rotations: int = 1,
    ns: tuple[int, ...] = NS,
    earlier: dict[str, Any] | None = None,
    margin: float | None = None,
    grading: str = "all",
) -> dict[str, Any]:
    from stellwerk.errors import TrainingDataError
    from stellwerk.routing.adapt import AdaptSettings
    from stellwerk.training.data import load_model_facts, load_outcomes
    from stellwerk.training.holdout import as_split, holdout_evaluation, task_mask
    from stellwerk.training.train import TrainSettings, train_quality_model

    bench = TrainSettings(l2_grid=(1e-4,), k_grid=(20, 80, 160), folds=2, max_iter=40)
    adapting = AdaptSettings() if margin is None else AdaptSettings(margin=margin)
    result: dict[str, Any] = {
        "settings": "BENCH",
        "margin": adapting.margin,
        "grading": grading,
        "ns": list(ns),
        "rotations": rotations,
        "sets": {},
    }
    for name, (file, resplit, models) in SETS.items():
        if sets and name not in sets:
            continue
        data = load_outcomes(data_dir / file, resplit=resplit)
        facts_file = data_dir / models if models else REPO / "benchmarks/routellm-models.json"
        facts = load_model_facts(facts_file)
        tasks = ["mmlu", "gsm8k"] if name.startswith("routellm") else sorted(set(data.tasks))
        rows: dict[str, Any] = {}
        result["sets"][name] = rows
        for task in tasks:
            if only and task not in only:
                continue
            t0 = time.time()
            held = task_mask(data, task)
            base, _ = train_quality_model(as_split(data, ~held & ~data.is_test), facts, bench)
            row: dict[str, Any] = {"rows": int(held.sum()), "curve": {}}
            for n in ns:
                outcomes = []
                kept = _earlier_point(earlier, name, task, n, rotations)
                try:
                    for r in range(rotations):
                        outcomes.append(
                            holdout_evaluation(
                                data,
                                facts,
                                task,
                                adapt_n=n,
                                rotation=r,
                                rotations=rotations,
                                settings=bench,
                                adapt_settings=adapting,
                                grading=grading,
                                unadapted=base,
                                in_distribution=n == 200 and kept is None,
                                max_judged=MAX_JUDGED,
                            )
                        )
                except TrainingDataError as exc:
                    row["curve"][str(n)] = {"skipped": str(exc)}
                    continue
                row["curve"][str(n)] = mean_point(outcomes) | (kept or {})
                row["familiarity_auc"] = _mean(
                    [o.familiarity_auc for o in outcomes if o.familiarity_auc is not None]
                )
            row["seconds"] = round(time.time() - t0, 1)
            rows[task] = row
            print(name, task, json.dumps(row["curve"].get("200")), flush=True, file=sys.stderr)
            out.write_text(json.dumps(result, indent=1) + "\n")
    result["summary"] = summary(result)
    out.write_text(json.dumps(result, indent=1) + "\n")
    return result


def _earlier_point(
    earlier: dict[str, Any] | None, name: str, task: str, n: int, rotations: int
) -> dict[str, Any] | None:
    """The in-distribution and kNN figures of (task, N) from an earlier run of as many
    rotations (``--in-distribution-from``), or None to measure them."""
    if earlier is None or earlier.get("rotations", 1) != rotations or n != 200:
        return None
    point = earlier["sets"].get(name, {}).get(task, {}).get("curve", {}).get(str(n), {})
    if "in_distribution" not in point:
        return None
    return {k: v for k, v in point.items() if k.startswith(("in_distribution", "knn"))}


ROUTERS = (
    ("adapted", "stellwerk"),
    ("unadapted", "stellwerk:unadapted"),
    ("in_distribution", "stellwerk:in-distribution"),
    ("knn", "knn"),
)


def mean_point(outcomes: list[Any]) -> dict[str, Any]:
    """One (task, N) point: each router's gap closed, the mean over the rotations (with every
    rotation's figure when there are several), the rows judged (all rotations) and the
    adaptation's own figures."""
    out: dict[str, Any] = {}
    for key, name in ROUTERS:
        values = [
            o.evaluation.routers[name]["gap_closed"]
            for o in outcomes
            if name in o.evaluation.routers
        ]
        if not values:
            continue
        out[key] = round(float(np.mean(values)), 6)
        if len(outcomes) > 1:
            out[f"{key}_each"] = values
    if len(outcomes) > 1:  # the spread of the paired difference over the rotations
        diff = np.array(out["adapted_each"]) - np.array(out["unadapted_each"])
        out["adapted_minus_unadapted_se"] = round(float(diff.std(ddof=1) / np.sqrt(len(diff))), 6)
    out["judged"] = sum(o.judged for o in outcomes)
    promoted = [o.adaptation.promoted for o in outcomes]
    out["promoted"] = promoted[0] if len(outcomes) == 1 else sum(promoted)
    gains = [o.adaptation.comparison for o in outcomes if o.adaptation.comparison is not None]
    if gains:  # the promotion's own figures, on the traffic
        out["gain"] = round(float(np.mean([c.gain for c in gains])), 5)
        out["gain_se"] = round(float(np.mean([c.standard_error for c in gains])), 5)
    others = [o.other_tasks for o in outcomes if o.other_tasks is not None]
    if others:  # what the adaptation did to the rest of the traffic
        out["other_tasks_unadapted"] = round(float(np.mean([t.unadapted for t in others])), 6)
        out["other_tasks_adapted"] = round(float(np.mean([t.adapted for t in others])), 6)
    shares = [o.unfamiliar_share for o in outcomes]
    out["unfamiliar_share"] = {k: float(np.mean([s[k] for s in shares])) for k in shares[0]}
    return out


def redecide(data_dir: Path, old: dict[str, Any], out: Path) -> dict[str, Any]:
    from stellwerk.training.data import load_model_facts, load_outcomes
    from stellwerk.training.holdout import (
        adapt_on_traffic,
        as_split,
        holdout_evaluation,
        task_mask,
        traffic_rows,
    )
    from stellwerk.training.train import TrainSettings, train_quality_model

    bench = TrainSettings(l2_grid=(1e-4,), k_grid=(20, 80, 160), folds=2, max_iter=40)
    if old.get("rotations", 1) != 1:
        raise SystemExit("--redecide re-decides a run of one rotation only")
    result: dict[str, Any] = {**old, "redecided": True, "sets": {}}
    for name, rows in old["sets"].items():
        file, resplit, models = SETS[name]
        data = load_outcomes(data_dir / file, resplit=resplit)
        facts_file = data_dir / models if models else REPO / "benchmarks/routellm-models.json"
        facts = load_model_facts(facts_file)
        result["sets"][name] = {}
        for task, row in rows.items():
            t0 = time.time()
            held = task_mask(data, task)
            base, _ = train_quality_model(as_split(data, ~held & ~data.is_test), facts, bench)
            curve: dict[str, Any] = {}
            for n, point in row["curve"].items():
                if "adapted" not in point or n == "0":
                    curve[n] = point
                    continue
                traffic = traffic_rows(data, task, int(n))
                adaptation = adapt_on_traffic(data, facts, traffic, base)
                new = dict(point, promoted=adaptation.promoted, before=point["promoted"])
                comparison = adaptation.comparison
                if comparison is not None:
                    new["gain"] = round(comparison.gain, 5)
                    new["gain_se"] = round(comparison.standard_error, 5)
                if not adaptation.promoted:
                    new["adapted"] = point["unadapted"]
                elif not point["promoted"]:  # only the new rule promotes: judge it afresh
                    outcome = holdout_evaluation(
                        data,
                        facts,
                        task,
                        adapt_n=int(n),
                        settings=bench,
                        unadapted=base,
                        in_distribution=False,
                        max_judged=MAX_JUDGED,
                    )
                    new["adapted"] = outcome.evaluation.routers["stellwerk"]["gap_closed"]
                curve[n] = new
            result["sets"][name][task] = {**row, "curve": curve}
            result["sets"][name][task]["redecide_seconds"] = round(time.time() - t0, 1)
            print(name, task, json.dumps(curve.get("200")), flush=True, file=sys.stderr)
            out.write_text(json.dumps(result, indent=1) + "\n")
    result["summary"] = summary(result)
    out.write_text(json.dumps(result, indent=1) + "\n")
    return result


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """Per set and overall: mean gaps at N = 200 (tasks with an N = 200 point), the worst
    adapted-minus-unadapted there, and the mean familiarity AUC (every task)."""
    out: dict[str, Any] = {}
    every: list[dict[str, Any]] = []
    aucs: list[float] = []
    for name, rows in result["sets"].items():
        points = [r["curve"].get("200", {}) for r in rows.values()]
        points = [p for p in points if "adapted" in p]
        every += points
        found = [r["familiarity_auc"] for r in rows.values() if r.get("familiarity_auc")]
        aucs += found
        out[name] = _means(points) | {"familiarity_auc": _mean(found), "auc_tasks": len(found)}
    out["all"] = _means(every) | {"familiarity_auc": _mean(aucs), "auc_tasks": len(aucs)}
    return out


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else float("nan")


def _means(points: list[dict[str, Any]]) -> dict[str, Any]:
    if not points:
        return {}

    def mean(key: str) -> float:
        values = [p[key] for p in points if p.get(key) is not None]
        return round(sum(values) / len(values), 4) if values else float("nan")

    return {
        "tasks": len(points),
        "adapted_200": mean("adapted"),
        "unadapted_200": mean("unadapted"),
        "in_distribution_200": mean("in_distribution"),
        "adapted_minus_unadapted_min": round(min(p["adapted"] - p["unadapted"] for p in points), 4),
        "in_distribution_minus_adapted": round(mean("in_distribution") - mean("adapted"), 4),
        "worse_than_unadapted": sum(p["adapted"] < p["unadapted"] for p in points),
        "other_tasks_adapted_minus_unadapted": round(
            mean("other_tasks_adapted") - mean("other_tasks_unadapted"), 4
        ),
    }


def table(result: dict[str, Any]) -> str:
    """The Markdown table BENCHMARKS.md records: gap closed per held-out task and N, adapted
    (unadapted, on the same judged rows)."""
    ns = result.get("ns", NS)
    head = "| set | held-out task | rows | AUC | " + " | ".join(f"N={n}" for n in ns)
    lines = [head + " | in-dist. (N=200) |", "|---" * (len(ns) + 5) + "|"]
    for name, rows in result["sets"].items():
        for task, row in rows.items():
            cells = []
            for n in ns:
                point = row["curve"].get(str(n), {})
                cells.append(
                    f"{point['adapted']:+.2f} ({point['unadapted']:+.2f})"
                    if "adapted" in point
                    else ""
                )
            ind = row["curve"].get("200", {}).get("in_distribution")
            auc = row.get("familiarity_auc")
            lines.append(
                f"| {name} | {task} | {row['rows']} | {'' if auc is None else f'{auc:.2f}'} | "
                + " | ".join(cells)
                + f" | {'' if ind is None else f'{ind:+.2f}'} |"
            )
    return "\n".join(lines)


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    sets = result["sets"]
    fig, axes = plt.subplots(1, len(sets), figsize=(6.5 * len(sets), 4.8), squeeze=False)
    palette = plt.get_cmap("tab20")
    assert isinstance(palette, ListedColormap)  # a qualitative map: a list of colours
    for ax, (name, rows) in zip(axes[0], sets.items(), strict=True):
        ax.set_prop_cycle(color=palette.colors)
        for task, row in rows.items():
            ns = [int(n) for n, p in row["curve"].items() if "adapted" in p]
            gaps = [row["curve"][str(n)]["adapted"] for n in ns]
            (line,) = ax.plot(ns, gaps, marker="o", linewidth=1.2, label=task)
            ind = row["curve"].get("200", {}).get("in_distribution")
            if ind is not None:
                ax.plot([200], [ind], marker="*", markersize=11, color=line.get_color())
        ax.axhline(0.0, color="#888888", linewidth=0.8)
        ax.set_title(f"{name}: held-out task, adapted on N graded requests (* in-distribution)")
        ax.set_xlabel("graded requests of the held-out task (N)")
        ax.set_ylabel("gap closed on the task's other prompts")
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, default=REPO / "data" / "routing")
    parser.add_argument("--tasks", help="only these held-out tasks (comma-separated)")
    parser.add_argument(
        "--out", type=Path, default=REPO / "benchmarks/results/router-learning.json"
    )
    parser.add_argument(
        "--plot", type=Path, default=REPO / "benchmarks/results/router-learning.png"
    )
    parser.add_argument("--sets", help="only these data sets (comma-separated)")
    parser.add_argument(
        "--rotations",
        type=int,
        default=1,
        help="judge every point R times, the seeded order turned by 1/R each time (mean reported)",
    )
    parser.add_argument("--ns", help="only these N (comma-separated; default 0,50,100,200,500)")
    parser.add_argument("--plot-only", action="store_true", help="redraw from --out")
    parser.add_argument(
        "--redecide", type=Path, help="re-decide the promotions of this earlier run's JSON"
    )
    parser.add_argument(
        "--margin",
        type=float,
        help="the promotion's margin in standard errors (default: the shipped rule's, 2)",
    )
    parser.add_argument(
        "--grading",
        choices=("all", "shadow", "shadow+1"),
        default="all",
        help="grade every model of a traffic row (all) or as shadow grading does (shadow)",
    )
    parser.add_argument(
        "--in-distribution-from",
        type=Path,
        help="take the in-distribution and kNN figures from this earlier run's JSON",
    )
    args = parser.parse_args()
    if args.redecide:
        result = redecide(args.data_dir, json.loads(args.redecide.read_text()), args.out)
    elif args.plot_only:
        result = json.loads(args.out.read_text())
        result["summary"] = summary(result)
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    else:
        only = set(args.tasks.split(",")) if args.tasks else None
        sets = args.sets.split(",") if args.sets else None
        ns = tuple(int(n) for n in args.ns.split(",")) if args.ns else NS
        earlier = None
        if args.in_distribution_from:
            earlier = json.loads(args.in_distribution_from.read_text())
        result = run(
            args.data_dir,
            only,
            args.out,
            sets,
            args.rotations,
            ns,
            earlier,
            args.margin,
            args.grading,
        )
    plot(result, args.plot)
    print(table(result))
    print(json.dumps(result["summary"], indent=1))


if __name__ == "__main__":
    main()
