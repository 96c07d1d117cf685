"""How long the ``stellwerk`` command takes to start: a few commands that do little besides
starting (``version``, the help pages, ``config check`` of a PostgreSQL and a SQLite config), each
run as a fresh process of ``python -m stellwerk``, for two source trees side by side (an older
commit and this checkout) in interleaved rounds, the order of the two flipped every round.

    git archive <older commit> src | tar -x -C /tmp/before
    PYTHONPATH=src python -m benchmarks.cli_start --base /tmp/before/src [--rounds 9]

Each process's wall time and its CPU time (user + system, from the kernel's accounting of the
finished child) are taken; the table holds the medians over the rounds and their ratio. On a
shared machine the wall time follows the load; the CPU time and the ratio of one run are the
figures to compare. Prints a Markdown table (BENCHMARKS.md keeps the figures we measured).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: (label, arguments after ``stellwerk``)
COMMANDS: list[tuple[str, list[str]]] = [
    ("version", ["version"]),
    ("--help", ["--help"]),
    ("keys list --help", ["keys", "list", "--help"]),
    ("route --help", ["route", "--help"]),
    ("serve --help", ["serve", "--help"]),
    # a command that works: reads the file, validates it, looks for the variables it references
    # (the service unit runs it before every start); with a PostgreSQL and a SQLite ledger, whose
    # relative path it resolves with SQLAlchemy's URL parser
    (
        "config check deploy/stellwerk.yaml",
        ["config", "check", str(ROOT / "deploy" / "stellwerk.yaml")],
    ),
    (
        "config check examples/ollama.yaml",
        ["config", "check", str(ROOT / "examples" / "ollama.yaml")],
    ),
]


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float


def start(python: str, src: Path, arguments: Sequence[str]) -> Run:
    """Run ``stellwerk ARGUMENTS`` from the tree ``src`` once; its wall and CPU seconds."""
    env = {**os.environ, "PYTHONPATH": str(src), "COLUMNS": "100", "NO_COLOR": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [python, "-m", "stellwerk", *arguments], env=env, capture_output=True, check=False
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"stellwerk {' '.join(arguments)} failed in {src}:\n{done.stderr!r}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(wall, cpu)


def measure(python: str, trees: tuple[Path, Path], rounds: int) -> dict[str, list[list[Run]]]:
    """Per command, the runs of each tree, interleaved (base and head in turn, flipped every
    round), after one unmeasured run of each (it writes the bytecode caches)."""
    runs: dict[str, list[list[Run]]] = {label: [[], []] for label, _ in COMMANDS}
    for _, arguments in COMMANDS:
        for tree in trees:
            start(python, tree, arguments)
    for number in range(rounds):
        order = (0, 1) if number % 2 == 0 else (1, 0)
        for label, arguments in COMMANDS:
            for side in order:
                runs[label][side].append(start(python, trees[side], arguments))
    return runs


def _ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def table(runs: dict[str, list[list[Run]]]) -> str:
    lines = [
        "| `stellwerk ...` | wall base (ms) | wall head (ms) | wall ratio | "
        "CPU base (ms) | CPU head (ms) | CPU ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, (base, head) in runs.items():
        wall = _ms([r.wall for r in base]), _ms([r.wall for r in head])
        cpu = _ms([r.cpu for r in base]), _ms([r.cpu for r in head])
        lines.append(
            f"| {label} | {wall[0]:.0f} | {wall[1]:.0f} | {wall[1] / wall[0]:.2f} | "
            f"{cpu[0]:.0f} | {cpu[1]:.0f} | {cpu[1] / cpu[0]:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="the older tree's src folder")
    parser.add_argument("--head", type=Path, default=ROOT / "src", help="default: this checkout")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--python", default=sys.executable, help="default: this interpreter")
    args = parser.parse_args(argv)
    for tree in (args.base, args.head):
        if not (tree / "stellwerk" / "__main__.py").is_file():
            parser.error(f"{tree} holds no stellwerk package (give the tree's src folder)")
    load = os.getloadavg()[0]
    runs = measure(args.python, (args.base.resolve(), args.head.resolve()), args.rounds)
    print(f"{args.rounds} interleaved rounds, medians; load average {load:.1f} at the start")
    print(f"base: {args.base}, head: {args.head}\n")
    print(table(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
