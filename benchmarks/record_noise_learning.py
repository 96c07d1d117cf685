"""What the noise on graded records costs the learning (issue 18's measurement, noisy records).

    PYTHONPATH=src python benchmarks/record_noise_learning.py collect --noise 0.3 --out FILE
    PYTHONPATH=src python benchmarks/record_noise_learning.py judge --out FILE [FILE ...]

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


def collect(
    noise: float,
    noise_seed: int,
    out: Path,
    only: set[str] | None = None,
    unit: bool = False,
    seed: int = 0,
) -> None:
    from benchmarks import promotion_rules
    from stellwerk.routing import graded_record, record_noise

    if unit:  # as first built: the noisy latent vector scaled to unit length again

        def noisy_latent(latent: Any, sigma: float, rng: np.random.Generator) -> Any:
            if not len(latent):
                return ()
            moved = latent + rng.normal(0.0, sigma, size=len(latent))
            return tuple(float(x) for x in moved / np.linalg.norm(moved))

        record_noise.noisy_latent = noisy_latent

    rng = np.random.default_rng(noise_seed)
    exact = graded_record.GradedRecord.of.__func__  # type: ignore[attr-defined]

    def of(cls: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("noise", noise)
        kwargs.setdefault("rng", rng)
        return exact(cls, *args, **kwargs)

    graded_record.GradedRecord.of = classmethod(of)  # type: ignore[method-assign,assignment]
    promotion_rules.collect(seed, only, out)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("collect", "judge"))
    parser.add_argument("--noise", type=float, default=0.0)
    parser.add_argument("--noise-seed", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0, help="collect: the traffic's draw")
    parser.add_argument("--out", type=Path, required=True, nargs="+", help="judge: several merge")
    parser.add_argument("--tasks", help="collect: only these held-out tasks (comma-separated)")
    parser.add_argument("--unit", action="store_true", help="collect: unit length again (as first)")
    args = parser.parse_args()
    if args.what == "collect":
        only = set(args.tasks.split(",")) if args.tasks else None
        collect(args.noise, args.noise_seed, args.out[0], only, args.unit, args.seed)
    else:
        judge(args.out)


if __name__ == "__main__":
    main()
