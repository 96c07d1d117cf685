"""CPU per request of two versions of Stellwerk, served side by side in one run.

A change that should not cost speed (a refactoring) is measured against the commit before it: both
source trees are served at once (``stellwerk serve``, one process each, same config, SQLite ledger)
in front of the same instant backend, and the same load runs against each in interleaved rounds
(the order rotates every round), so that the shared machine's drift hits both alike. The older
tree is taken from git (``git archive REV src``) into a temporary folder; the newer one is this
checkout unless ``--after REV`` names another commit.

    python -m benchmarks.versions --before <commit> [--after <commit>] [--rounds 5]
        [--clients 1 50] [--rates 600] [--json out]

A fixed rate (``--rates``) below what either version can serve gives both the same work per
second, so CPU per request is compared without the feedback of a saturated closed loop (where a
server that answers a little slower is also handed its requests in other batches).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path
from typing import Any

from benchmarks import gateway, machine
from benchmarks.procs import Server, stop_server
from benchmarks.results import emit, log
from benchmarks.targets import ROOT, UPSTREAM, Backend, start_instant, start_stellwerk
from benchmarks.wrk import WrkMissing, ensure_wrk


def checkout_src(rev: str, folder: Path) -> Path:
    """The ``src`` tree of commit ``rev``, unpacked below ``folder``; returns its ``src``."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", rev, "src"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    target = folder / rev
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target / "src"


def commit_of(rev: str) -> str:
    out = subprocess.run(
        ["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def summary(cells: gateway.Cells) -> list[dict[str, Any]]:
    """Per scenario and version: median requests/s and CPU ms per request over the rounds."""
    rows = []
    for scenario, by_target in cells.results.items():
        for target, rounds in by_target.items():
            cpu_ms = [r.cpu_s / r.ok * 1000 for r in rounds if r.ok]
            rows.append(
                {
                    "scenario": scenario.label,
                    "version": target,
                    "requests_per_s": statistics.median(r.rate for r in rounds),
                    "cpu_ms_per_request": statistics.median(cpu_ms) if cpu_ms else None,
                    "cpu_ms_rounds": [round(v, 4) for v in cpu_ms],
                    "errors": sum(r.errors for r in rounds),
                }
            )
    return rows


def ratios(rows: list[dict[str, Any]], before: str, after: str) -> dict[str, float]:
    """after / before of the median CPU per request, per scenario (below 1: the new is cheaper)."""
    by = {(r["scenario"], r["version"]): r["cpu_ms_per_request"] for r in rows}
    out = {}
    for scenario in dict.fromkeys(r["scenario"] for r in rows):
        old, new = by.get((scenario, before)), by.get((scenario, after))
        if old and new:
            out[scenario] = round(new / old, 3)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.versions", description=__doc__)
    parser.add_argument("--before", required=True, help="the older commit (git revision)")
    parser.add_argument("--after", help="the newer commit (default: this checkout as it is)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per cell")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 50])
    parser.add_argument("--streams", type=int, default=1, help="streaming clients (0: none)")
    parser.add_argument(
        "--rates", type=int, nargs="*", default=[], help="fixed request rates (open loop), req/s"
    )
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--no-wrk-install", action="store_true", help="never apt-get install wrk")
    args = parser.parse_args(argv)
    try:
        wrk_path: str | None = ensure_wrk(install=not args.no_wrk_install)
    except WrkMissing as exc:
        log(f"wrk unavailable ({exc}); the Python client makes the load")
        wrk_path = None
    before_name = f"before@{commit_of(args.before)}"
    after_name = f"after@{commit_of(args.after)}" if args.after else "after@checkout"
    with tempfile.TemporaryDirectory(prefix="stellwerk-versions-") as tmp:
        folder = Path(tmp)
        trees = {before_name: checkout_src(args.before, folder)}
        trees[after_name] = checkout_src(args.after, folder) if args.after else ROOT / "src"
        stack: list[Server] = []
        try:
            instant = start_instant(folder, workers=2)
            stack.append(instant)
            backend = Backend("instant", instant.url, UPSTREAM)
            servers = {}
            for name, src in trees.items():
                home = folder / name
                home.mkdir()
                servers[name] = start_stellwerk(backend, home, src=src, name="stellwerk")
                stack.append(servers[name])
            streams = (args.streams,) if args.streams else ()
            plan = gateway.Plan(
                scenarios=gateway.scenarios(args.clients, args.rates, streams),
                duration=args.duration,
                rounds=args.rounds,
                stream_count=200,
            )
            cells = gateway.Runner(servers, plan, folder, wrk_path).run("instant", log)
        finally:
            for server in reversed(stack):
                stop_server(server)
    rows = summary(cells)
    data = {
        "machine": machine.describe(),
        "load_tool": "wrk" if wrk_path else "python",
        "plan": {"rounds": args.rounds, "duration_s": args.duration},
        "rows": rows,
        "cpu_ratio_after_over_before": ratios(rows, before_name, after_name),
    }
    emit(data, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
