"""Router benchmarks: decision latency, artifact size, and the quality targets of issue 3.

    PYTHONPATH=src python benchmarks/router.py latency            # shipped router, 9 candidates
    PYTHONPATH=src python benchmarks/router.py quality [--data-dir DIR]

``latency`` pins the process to one core and times ``LearnedRouter.decide`` (features included)
on the open9 test prompts (or synthetic prompts of mixed length when the data is absent).
``quality`` runs ``stellwerk router eval`` on open9, on open9 leaving each model out in turn,
and on routellm-mmlu-gsm8k with its own split (``--resplit 0.3``), and prints the table that
BENCHMARKS.md records. Timings are never asserted in tests; they are written down here.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import cast

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO / "data" / "routing"


def latency(data_dir: Path, rounds: int) -> dict[str, float]:
    from stellwerk.routing.base import Candidate, RouteRequest
    from stellwerk.routing.loader import load_learned, shipped_artifact
    from stellwerk.training.data import load_outcomes

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    router = load_learned()
    cands = tuple(
        Candidate(f"model-{i}", p, "medium", 0.1 * (1 + i), 0.1 * (1 + i), 8192)
        for i, p in enumerate((1, 3, 7, 8, 9, 14, 32, 49, 70))
    )
    path = data_dir / "open9.jsonl.gz"
    if path.is_file():
        prompts = list(load_outcomes(path).test().prompts)
    else:
        prompts = [("word " * n) + "?" for n in (5, 50, 500, 5000)] * 125
    for p in prompts[:50]:  # warm up
        router.decide(RouteRequest(p, math.ceil(len(p) / 4), cands, 0.5))
    times, cpu = [], []
    for _ in range(rounds):
        for p in prompts:
            request = RouteRequest(p, math.ceil(len(p) / 4), cands, 0.5)
            t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
            router.decide(request)
            cpu.append((time.thread_time_ns() - c0) / 1e6)
            times.append((time.perf_counter_ns() - t0) / 1e6)
    times.sort()
    cpu.sort()
    size = sum(f.stat().st_size for f in shipped_artifact().iterdir())
    return {
        "decisions": len(times),
        "p50_ms": round(statistics.median(times), 3),
        "p99_ms": round(times[int(0.99 * (len(times) - 1))], 3),
        "max_ms": round(times[-1], 3),
        "cpu_p50_ms": round(statistics.median(cpu), 3),
        "cpu_p99_ms": round(cpu[int(0.99 * (len(cpu) - 1))], 3),
        "load_average_1m": round(os.getloadavg()[0], 1),
        "artifact_bytes": size,
    }


def _eval(args: list[str]) -> dict[str, object]:
    from typer.testing import CliRunner

    from stellwerk.cli.main import build_app

    result = CliRunner().invoke(build_app(), ["router", "eval", *args, "--json"])
    if result.exit_code != 0:
        raise SystemExit(result.output)
    return cast(dict[str, object], json.loads(result.stdout))


def quality(data_dir: Path, holdouts: bool) -> dict[str, object]:
    open9 = str(data_dir / "open9.jsonl.gz")
    out: dict[str, object] = {"open9": _eval(["--data", open9])}
    out["routellm"] = _eval(
        [
            "--data",
            str(data_dir / "routellm-mmlu-gsm8k.jsonl.gz"),
            "--resplit",
            "0.3",
            "--models",
            str(REPO / "benchmarks" / "routellm-models.json"),
        ]
    )
    if holdouts:
        models = json.loads((data_dir / "open9-models.json").read_text())
        out["holdout"] = {m: _eval(["--data", open9, "--holdout-model", m]) for m in models}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["latency", "quality"])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--holdouts", action="store_true", help="also leave each model out")
    parser.add_argument("--out", type=Path, help="write the JSON result here too")
    args = parser.parse_args()
    result = (
        latency(args.data_dir, args.rounds)
        if args.what == "latency"
        else quality(args.data_dir, args.holdouts)
    )
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
