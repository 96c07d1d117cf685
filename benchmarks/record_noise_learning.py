"""What the noise on graded records costs the learning (issue 18's measurement, noisy records).

    PYTHONPATH=src python benchmarks/record_noise_learning.py collect --noise 0.3 --out FILE
    PYTHONPATH=src python benchmarks/record_noise_learning.py judge --out FILE [FILE ...]
    PYTHONPATH=src python benchmarks/record_noise_learning.py rules
    PYTHONPATH=src python benchmarks/record_noise_learning.py rotations

``rules`` judges every promotion rule of ``promotion_rules.py`` (its own families, the headroom
rules of ``promotion_headroom.py``, the robust ones of ``promotion_robust.py``) on the three draws
collected at the default noise (0.5, base share 0.25; seeds 0, 1, 2, each in two task groups):
one is chosen on seed 1 by the headroom protocol (no task worse, then the most gain, then fewer
promotions) and reported on the other two, the rules meeting both of the issue's targets on each
draw are counted, and the nearest rules to both are listed on the noisy and the exact draws
(``promotion-rules*.json.gz``).

``rotations`` gives, on the same three draws, what the shipped rule did in each rotation: how
many rotations it promoted a candidate in, how many of those route the held-out task better and
worse than the unadapted router, and every rotation routed worse (a run of ``router eval
--holdout-task T --adapt N`` is one rotation of one draw, not the mean of five).

``collect`` runs ``promotion_rules.py collect`` (the 13 held-out tasks, N = 200 graded requests,
5 rotations, seed 0) with every graded record made as the gateway makes it with
``router.record_noise`` = ``--noise`` (``GradedRecord.of(..., noise=...)``); the noise is drawn
from a generator seeded with ``--noise-seed``, so a run is reproduced. ``judge`` reads the file
and gives the shipped promotion rule's figures (in-distribution minus adapted over the 13 tasks,
tasks routed worse than unadapted), against the noiseless 0.054 / 1 task (gpqa by 0.00001).
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def collect(
    noise: float,
    noise_seed: int,
    out: Path,
    only: set[str] | None = None,
    unit: bool = False,
    seed: int = 0,
) -> None:
    from benchmarks import promotion_rules
    from stellwerk.routing import record_noise

    if unit:  # as first built: the noisy latent vector scaled to unit length again

        def noisy_latent(
            latent: record_noise.F64, sigma: float, rng: record_noise.Noise
        ) -> tuple[float, ...]:
            if not len(latent):
                return ()
            moved = latent + rng.normal(0.0, sigma, size=len(latent))
            return tuple(float(x) for x in moved / np.linalg.norm(moved))

        record_noise.noisy_latent = noisy_latent

    noisy_records(noise, noise_seed)
    promotion_rules.collect(seed, only, out)


def noisy_records(noise: float, noise_seed: int) -> None:
    """Make every ``GradedRecord.of`` of this process keep its record as the gateway does with
    ``router.record_noise`` = ``noise``, the noise drawn from one generator seeded ``noise_seed``
    (in the order the records are made: a run of the same tasks in the same order reproduces)."""
    from stellwerk.routing import graded_record

    rng = np.random.default_rng(noise_seed)
    exact = graded_record.GradedRecord.of.__func__  # type: ignore[attr-defined]

    def of(cls: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("noise", noise)
        kwargs.setdefault("rng", rng)
        return exact(cls, *args, **kwargs)

    graded_record.GradedRecord.of = classmethod(of)  # type: ignore[method-assign,assignment]


def judge(files: list[Path]) -> None:
    """The shipped rule's figures over every task of ``files`` (task groups run apart, merged)."""
    from benchmarks import promotion_rules

    result: dict[str, Any] = {"tasks": {}}
    for file in files:
        each = json.loads(gzip.decompress(file.read_bytes()))
        result["tasks"].update(each["tasks"])
        result["seed"] = each.get("seed", 0)  # its in-distribution figures
    verdict = promotion_rules.judge(result, promotion_rules.margin(2.0))
    names = ", ".join(f"{promotion_rules._short(k)} {v:+.5f}" for k, v in verdict.worse)
    print(
        f"{len(result['tasks'])} tasks; adapted - unadapted {verdict.gain:+.3f}; in-dist. - adapted"
        f" {verdict.gap:.3f}; {len(verdict.worse)} tasks worse ({names});"
        f" {verdict.promoted} promoted"
    )


def _draw(seed: int, exact: bool = False) -> dict[str, Any]:
    """One draw's collected candidates: the default noise's (both task groups) or the exact
    records' (``promotion_rules.py collect``)."""
    tag = "" if seed == 0 else f"-seed{seed}"
    result: dict[str, Any] = {"tasks": {}, "seed": seed}
    names = (
        [f"promotion-rules{tag}.json.gz"]
        if exact
        else [f"record-noise-learning-0.5-base0.25{tag}-{half}.json.gz" for half in "ab"]
    )
    for name in names:
        each = json.loads(gzip.decompress((RESULTS / name).read_bytes()))
        result["tasks"].update(each["tasks"])
    return result


def rules() -> None:
    """Every rule on the three noisy draws: the one chosen on seed 1, who meets both targets, and
    the nearest to both on the noisy and the exact draws."""
    from benchmarks import promotion_headroom, promotion_robust, promotion_rules

    draws = {
        (kind, seed): _draw(seed, kind == "exact")
        for kind in ("noisy", "exact")
        for seed in (0, 1, 2)
    }
    every = {
        **promotion_rules.rules(),
        **promotion_headroom.reference_rules(),
        **promotion_headroom.new_rules(),
        **promotion_robust.robust_rules(),
    }
    verdicts = {
        at: {name: promotion_rules.judge(draw, rule) for name, rule in every.items()}
        for at, draw in draws.items()
    }
    chosen = promotion_headroom.choose(verdicts["noisy", 1])
    print(f"{len(every)} rules; chosen on the noisy seed 1: {chosen}")
    print("| draw | in-dist. - adapted | tasks worse | promotions | rules meeting both targets |")
    print("|---|---|---|---|---|")
    for (kind, seed), each in verdicts.items():
        v = each[chosen]
        names = ", ".join(f"{promotion_rules._short(k)} {d:+.3f}" for k, d in v.worse)
        meet = [n for n, w in each.items() if w.gap is not None and w.gap <= 0.05 and not w.worse]
        print(
            f"| {kind} seed {seed} | {v.gap:.3f} | {len(v.worse)}{f' ({names})' if names else ''}"
            f" | {v.promoted} | {len(meet)}{f' ({chr(59).join(meet)})' if meet else ''} |"
        )
    print()
    print("Nearest to both (fewest tasks worse over the six draws, then the largest gap;")
    print("cells: in-dist. - adapted; tasks worse; promotions of 65):")
    print("| rule | " + " | ".join(f"{k} {s}" for k, s in draws) + " |")
    print("|---|" + "---|" * len(draws))

    def distance(name: str) -> tuple[int, float]:
        vs = [verdicts[at][name] for at in draws]
        return sum(len(v.worse) for v in vs), max(v.gap or 0.0 for v in vs)

    for name in sorted(every, key=distance)[:12]:
        cells = [verdicts[at][name] for at in draws]
        print(
            f"| {name} | "
            + " | ".join(f"{v.gap:.3f}; {len(v.worse)}; {v.promoted}" for v in cells)
            + " |"
        )
    print()
    for seed in (0, 1, 2):
        print(f"noisy seed {seed}: {promotion_rules.predictiveness(draws['noisy', seed])}")


def rotations() -> None:
    """The shipped rule, rotation by rotation, on the three draws at the default noise."""
    from benchmarks import promotion_rules

    rule = promotion_rules.margin(2.0)
    worse: list[tuple[float, str]] = []
    runs = promoted = better = 0
    for seed in (0, 1, 2):
        for key, each in _draw(seed)["tasks"].items():
            for r, rot in enumerate(each):
                runs += 1
                form = rule(rot)
                if form is None:
                    continue
                promoted += 1
                change = rot["forms"][form]["judged_gap"] - rot["unadapted"]
                better += change > 1e-9
                if change < -1e-9:
                    worse.append((change, f"seed {seed} {promotion_rules._short(key)} r{r}"))
    print(f"{runs} rotations; promoted in {promoted}: {better} better, {len(worse)} worse")
    for change, where in sorted(worse):
        print(f"  {where}: {change:+.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("collect", "judge", "rules", "rotations"))
    parser.add_argument("--noise", type=float, default=0.0)
    parser.add_argument("--noise-seed", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0, help="collect: the traffic's draw")
    parser.add_argument("--out", type=Path, nargs="+", help="collect, judge: several merge")
    parser.add_argument("--tasks", help="collect: only these held-out tasks (comma-separated)")
    parser.add_argument("--unit", action="store_true", help="collect: unit length again (as first)")
    args = parser.parse_args()
    if args.what == "rules":
        rules()
        return
    if args.what == "rotations":
        rotations()
        return
    if not args.out:
        parser.error("--out is needed")
    if args.what == "collect":
        only = set(args.tasks.split(",")) if args.tasks else None
        collect(args.noise, args.noise_seed, args.out[0], only, args.unit, args.seed)
    else:
        judge(args.out)


if __name__ == "__main__":
    main()
