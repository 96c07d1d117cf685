"""Calibration benchmark: how fast the graders are, and what a run costs on top of the models.

    PYTHONPATH=src python benchmarks/calibration.py [--data data/routing/open9.jsonl.gz]
        [--pairs-bank 60] [--max-tokens 16]

1. Graders: every gradable open9 reference graded against a realistic verbose answer built from
   it; microseconds per answer per grader.
2. A run: `calibrate` on the tiny llama.cpp demo models (real server) with a bank drawn from
   open9, at concurrency 1 and 2; pairs per second and the models' measured tokens per second.
   The tiny models are fast, so this shows the overhead of the run itself (streaming, grading,
   the fsync'd checkpoint), not a real model's speed.

Figures printed as a Markdown table; docs/calibration.md keeps the ones we measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from stellwerk.calibration import graders as g
from stellwerk.calibration.bank import read_bank
from stellwerk.calibration.calibrate import Request, execute, prepare
from stellwerk.calibration.plan import make_plan
from stellwerk.calibration.runner import Settings
from stellwerk.config import parse_config
from stellwerk.demo.llama_server import demo_models, running_llama_server

DEFAULT_DATA = Path(__file__).resolve().parents[1] / "data/routing/open9.jsonl.gz"


def answer_for(grader: str, reference: str) -> str:
    if grader == g.CHOICE_LETTER:
        return (
            f"Let me think about each option carefully.\n\nThe correct answer is **({reference})**."
        )
    if grader == g.FINAL_NUMBER:
        return "Step by step: ... so the result is\n#### " + g.reference_answer(reference)
    if grader == g.CONCEPT_COVERAGE:
        return "Here is a sentence: " + " and ".join(g.concepts(reference)) + "."
    return f"I believe the answer is {reference}, as far as I know."


def bench_graders(data: Path) -> list[str]:
    plan = make_plan(read_bank(data))
    graders = g.builtin_graders()
    times: dict[str, list[float]] = defaultdict(list)
    right: dict[str, int] = defaultdict(int)
    for item, name in plan.items:
        answer = answer_for(name, item.ground_truth)
        start = time.perf_counter()
        score = graders[name](answer, item.ground_truth)
        times[name].append(time.perf_counter() - start)
        right[name] += score == 1.0
    lines = ["| grader | answers | µs per answer | graded correct |", "|---|---:|---:|---:|"]
    for name, spent in sorted(times.items()):
        lines.append(
            f"| {name} | {len(spent)} | {sum(spent) / len(spent) * 1e6:.1f} |"
            f" {right[name] / len(spent):.1%} |"
        )
    return lines


def draw(data: Path, target: Path, per_task: int) -> Path:
    counts: dict[str, int] = defaultdict(int)
    lines = []
    with data.open(encoding="utf-8") as handle:  # not splitlines(): prompts hold U+2028
        for line in handle:
            row = json.loads(line)
            if len(row["prompt"]) <= 900 and counts[row["task"]] < per_task:
                counts[row["task"]] += 1
                lines.append(line)
    target.write_text("".join(lines), encoding="utf-8")
    return target


def bench_run(data: Path, per_task: int, max_tokens: int) -> list[str]:
    lines = [
        "| concurrency | pairs | seconds | pairs/s | tokens/s (median per model) |",
        "|---:|---:|---:|---:|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bank = draw(data, folder / "bank.jsonl", per_task)
        with running_llama_server(demo_models(folder), workdir=folder) as server:
            config = parse_config(
                {
                    "backends": [{"name": "llama", "kind": "openai", "base_url": server.base_url}],
                    "models": [
                        {"id": m, "backend": "llama", "upstream": m, "params_b": 1,
                         "size_class": "small", "context_length": 1024, "hosting": "on_prem"}
                        for m in ("tiny-small", "tiny-medium", "tiny-large")
                    ],
                }
            )  # fmt: skip
            for concurrency in (1, 2):
                request = Request(
                    bank=bank,
                    out=folder / f"out-{concurrency}.jsonl",
                    settings=Settings(max_tokens=max_tokens, concurrency=concurrency),
                )
                prepared = prepare(config, request)
                start = time.perf_counter()
                summary = asyncio.run(execute(prepared, {}))
                seconds = time.perf_counter() - start
                prepared.close()
                pairs = summary["asked_now"]
                speeds = ", ".join(f"{m} {f['tokens_per_s']}" for m, f in summary["models"].items())
                rate = pairs / seconds
                lines.append(f"| {concurrency} | {pairs} | {seconds:.1f} | {rate:.1f} | {speeds} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--pairs-bank", type=int, default=5, help="prompts per task in the run")
    parser.add_argument("--max-tokens", type=int, default=16)
    args = parser.parse_args()
    print("\n".join(bench_graders(args.data)))
    print()
    print("\n".join(bench_run(args.data, args.pairs_bank, args.max_tokens)))


if __name__ == "__main__":
    main()
