"""What reading a chat request's body costs per request, before and after the sampling checks.

The commit ``25f7cf9`` made the OpenAI-shaped endpoints know the open-model servers' sampling
parameters (``gateway/sampling.py``: ``SamplingParams``, each checked in its range) and refuse
any other parameter unless a backend allows it (``gateway/unknown_params.py``); both run on every
request. This measures ``/v1/chat/completions``' reading of a body, ``ChatExchange(raw, ...)``
(the JSON validated into ``ChatCompletionRequest``, keys named twice refused, the unknown
parameters checked, the backend's request built), in the code before that commit and in this
checkout, on two bodies: a typical chat request (a system and a user message, ``temperature``,
``max_tokens``) and one with many sampling parameters (Open WebUI's and llama.cpp's by their
names, as a client of an open model sends them; the code before took them as unknown extras).
Two baselines in the same process and round: ``json.loads`` of the body (the floor any reading
pays) and pydantic's validation alone (``model_validate_json``).

Each code tree runs in a child process of its own (``PYTHONPATH`` its ``src``); the rounds
alternate the trees, and each round times every measure on CPU time (``time.process_time``,
what the process spent, whatever else the machine runs) over ``--number`` calls, the best of
three. The figures are medians over the rounds; ratios are taken within a round, then the
median. No assertion: the figures are in BENCHMARKS.md.

    PYTHONPATH=src python -m benchmarks.validation [--before 25f7cf9^] [--rounds 7]
        [--number 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.targets import ROOT
from benchmarks.versions import checkout_src, commit_of

#: the code before the open-model sampling parameters and the allow-list of unknown ones
BEFORE = "25f7cf9^"

_MESSAGES = [
    {"role": "system", "content": "You are a careful assistant of the legal department."},
    {
        "role": "user",
        "content": "Summarise the notice periods of this supplier contract in three sentences: "
        + "The contract runs for two years and renews itself for one year at a time. " * 4,
    },
]
TYPICAL: dict[str, Any] = {
    "model": "auto",
    "messages": _MESSAGES,
    "temperature": 0.2,
    "max_tokens": 256,
    "stream": False,
}
MANY: dict[str, Any] = {
    **TYPICAL,
    "top_p": 0.9,
    "presence_penalty": 0.1,
    "frequency_penalty": 0.1,
    "seed": 42,
    "stop": ["\n\n\n"],
    "top_k": 40,
    "min_p": 0.05,
    "typical_p": 1.0,
    "repeat_penalty": 1.1,
    "repeat_last_n": 64,
    "mirostat": 0,
    "mirostat_tau": 5.0,
    "mirostat_eta": 0.1,
    "tfs_z": 1.0,
    "min_keep": 1,
    "dry_multiplier": 0.8,
    "dry_base": 1.75,
    "dry_allowed_length": 2,
    "dry_penalty_last_n": -1,
    "dry_sequence_breakers": ["\n", ":", '"', "*"],
    "xtc_probability": 0.0,
    "xtc_threshold": 0.1,
    "dynatemp_range": 0.0,
    "dynatemp_exponent": 1.0,
    "cache_prompt": True,
}
"""A typical body with 25 sampling parameters more: those Open WebUI sends for a model's
advanced settings and llama.cpp's ``llama-server`` reads."""
BODIES = {"typical chat": TYPICAL, "many sampling parameters": MANY}
MEASURES = ("json.loads", "model_validate_json", "ChatExchange")


def _cpu_us(call: Callable[[], object], number: int) -> float:
    """CPU microseconds per call, the best of three runs of ``number`` calls."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for _ in range(number):
            call()
        best = min(best, time.process_time() - started)
    return best / number * 1e6


def _calls(raw: bytes) -> dict[str, Callable[[], object]]:
    """The measures of one body, in this process's code tree."""
    from stellwerk.gateway.openai_api import ChatExchange
    from stellwerk.gateway.openai_schema import ChatCompletionRequest

    ChatExchange(raw, "req")  # the body is read (no refusal) in this tree
    return {
        "json.loads": lambda: json.loads(raw),
        "model_validate_json": lambda: ChatCompletionRequest.model_validate_json(raw),
        "ChatExchange": lambda: ChatExchange(raw, "req"),
    }


def child(number: int) -> dict[str, dict[str, float]]:
    """One round in this process's code tree: every measure of every body."""
    found: dict[str, dict[str, float]] = {}
    for name, body in BODIES.items():
        calls = _calls(json.dumps(body).encode())
        for call in calls.values():  # warm up
            for _ in range(200):
                call()
        found[name] = {measure: _cpu_us(call, number) for measure, call in calls.items()}
    return found


def _run_child(src: Path, number: int) -> dict[str, dict[str, float]]:
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{ROOT}"}
    argv = [sys.executable, "-m", "benchmarks.validation", "--child", "--number", str(number)]
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    result: dict[str, dict[str, float]] = json.loads(done.stdout)
    return result


def _median(values: list[float]) -> float:
    return statistics.median(values)


def table(rounds: dict[str, list[dict[str, dict[str, float]]]], before: str) -> str:
    """The Markdown table: per body, each tree's medians and the ratios."""
    lines = [
        "| body | code | json.loads (µs) | model_validate_json (µs) | ChatExchange (µs) |"
        " ChatExchange / json.loads | ChatExchange, after / before |",
        "|---|---|---|---|---|---|---|",
    ]
    for body in BODIES:
        for tree in ("before", "after"):
            got = rounds[tree]
            med = {m: _median([r[body][m] for r in got]) for m in MEASURES}
            over_json = _median([r[body]["ChatExchange"] / r[body]["json.loads"] for r in got])
            ratio = ""
            if tree == "after":
                pairs = zip(rounds["after"], rounds["before"], strict=True)
                each = [a[body]["ChatExchange"] / b[body]["ChatExchange"] for a, b in pairs]
                ratio = f"{_median(each):.2f}"
            label = f"before (`{before}`)" if tree == "before" else "after (this checkout)"
            lines.append(
                f"| {body} | {label} | {med['json.loads']:.1f} | {med['model_validate_json']:.1f}"
                f" | {med['ChatExchange']:.1f} | {over_json:.1f} | {ratio} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--before", default=BEFORE, help="the code before (a git revision)")
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds per tree")
    parser.add_argument("--number", type=int, default=2000, help="calls per timing")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.number)))
        return
    before = commit_of(args.before)
    rounds: dict[str, list[dict[str, dict[str, float]]]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory(prefix="stellwerk-bench-") as tmp:
        trees = {"before": checkout_src(before, Path(tmp)), "after": ROOT / "src"}
        for index in range(args.rounds):
            order = ("before", "after") if index % 2 == 0 else ("after", "before")
            for tree in order:
                rounds[tree].append(_run_child(trees[tree], args.number))
            print(f"round {index + 1} of {args.rounds} done", file=sys.stderr, flush=True)
    load = os.getloadavg()
    print(
        f"{args.rounds} alternating rounds, {args.number} calls per timing (best of 3), CPU time;"
        f" load average at the end {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}\n"
    )
    print(table(rounds, before))


if __name__ == "__main__":
    main()
