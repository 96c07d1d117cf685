"""The router's CPU per routed request, in two versions of the code side by side: the decision
(``LearnedRouter.decide``, which reads the prompt: features, quality model) before the answer, and
the record noise after it (``Evidence.noised``, whose sensitivity reads every word again), on the
open9 test prompts grouped by length, at the default ``router.record_noise`` 0.5 with a record key.

    PYTHONPATH=src python -m benchmarks.prompt_reading --before REV [--rounds 7] [--prompts 150]

Each round runs one child process per version (this checkout's ``src`` and ``git archive REV
src``), in alternating order; each times every prompt of a group once per pass and keeps its best
of three passes (``time.process_time``). Medians over the rounds; the ratio is after / before
within each round, then its median. The readings are compared too: both versions must give the
same decision, the same evidence and, from the same seed, the same noised evidence.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.targets import ROOT
from benchmarks.versions import checkout_src, commit_of

BUCKETS = ((0, 500), (500, 2000), (2000, 10**9))
NOISE = 0.5

_CHILD = r"""
import hashlib, json, sys, time
import numpy as np
from benchmarks.routing import prompts
from stellwerk.routing.base import Candidate, RouteRequest
from stellwerk.routing.loader import load_learned

count, buckets, noise = json.loads(sys.argv[1])
router = load_learned()
key = b"k" * 32
texts = sorted(prompts(count * 4), key=len)
cands = tuple(
    Candidate(m, 8.0, "medium", 0.1 * (i + 1), 0.2 * (i + 1), 32768)
    for i, m in enumerate(router.model.models)
)

def best(run, items):
    times = []
    for _ in range(3):
        start = time.process_time()
        for item in items:
            run(item)
        times.append((time.process_time() - start) / len(items))
    return min(times) * 1e3

out = []
for low, high in buckets:
    chosen = [t for t in texts if low <= len(t) < high][:count]
    if not chosen:
        continue
    requests = [RouteRequest(t, len(t) // 4, cands, 0.5, keep_evidence=True) for t in chosen]
    decided = [router.decide(r) for r in requests]
    held = [(d.evidence, t) for d, t in zip(decided, chosen)]
    digest = hashlib.sha256()
    for i, (evidence, text) in enumerate(held):
        kept = evidence.noised(router.model, text, noise, np.random.default_rng(i), key=key)
        digest.update(repr((decided[i].ranking, decided[i].reason, evidence, kept)).encode())
    out.append({
        "bucket": [low, high],
        "prompts": len(chosen),
        "mean_chars": sum(map(len, chosen)) / len(chosen),
        "decide_ms": best(router.decide, requests),
        "noised_ms": best(lambda h: h[0].noised(router.model, h[1], noise, key=key), held),
        "readings_sha256": digest.hexdigest(),
    })
print(json.dumps(out))
"""


def run_child(src: Path, count: int) -> list[dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(ROOT)])}
    argv = [sys.executable, "-c", _CHILD, json.dumps([count, BUCKETS, NOISE])]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    found: list[dict[str, Any]] = json.loads(done.stdout)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.prompt_reading", description=__doc__
    )
    parser.add_argument("--before", required=True, help="the older commit (git revision)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--prompts", type=int, default=150, help="prompts per length group")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    before = f"before@{commit_of(args.before)}"
    rounds: dict[str, list[list[dict[str, Any]]]] = {before: [], "after": []}
    with tempfile.TemporaryDirectory(prefix="stellwerk-reading-") as tmp:
        trees = {before: checkout_src(args.before, Path(tmp)), "after": ROOT / "src"}
        for number in range(args.rounds):
            order = list(trees) if number % 2 == 0 else list(reversed(trees))
            for name in order:
                rounds[name].append(run_child(trees[name], args.prompts))
            print(f"round {number + 1}/{args.rounds} done", file=sys.stderr)
    rows = []
    for index, first in enumerate(rounds[before][0]):
        row: dict[str, Any] = {
            "bucket": first["bucket"],
            "prompts": first["prompts"],
            "mean_chars": round(first["mean_chars"]),
            "same_readings": len(
                {r[index]["readings_sha256"] for version in rounds.values() for r in version}
            )
            == 1,
        }
        for part in ("decide_ms", "noised_ms"):
            old = [r[index][part] for r in rounds[before]]
            new = [r[index][part] for r in rounds["after"]]
            row[part] = {
                "before": round(statistics.median(old), 4),
                "after": round(statistics.median(new), 4),
                "ratio": round(statistics.median(n / o for n, o in zip(new, old, strict=True)), 3),
            }
        old_sum = [r[index]["decide_ms"] + r[index]["noised_ms"] for r in rounds[before]]
        new_sum = [r[index]["decide_ms"] + r[index]["noised_ms"] for r in rounds["after"]]
        row["both_ratio"] = round(
            statistics.median(n / o for n, o in zip(new_sum, old_sum, strict=True)), 3
        )
        rows.append(row)
    data = {"before": before, "rounds": args.rounds, "rows": rows, "raw": rounds}
    text = json.dumps(data, indent=2)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
