"""``python -m benchmarks``: set everything up on loopback, measure, write BENCHMARKS.md and plots.

    python -m benchmarks --quick     # seconds: instant backend, 1 round, no LiteLLM install
    python -m benchmarks --full      # minutes: both backends, 3 rounds, LiteLLM, profile, router,
                                     # ledger; writes BENCHMARKS.md and benchmarks/results/

Run it from the repository root with the project's environment (``src`` is put on the path).
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import client_cost, gateway, ledger_rate, machine, profile, report, routing, targets
from benchmarks.procs import Server, ServerFailed, sampling_memory, stop_server
from benchmarks.wrk import WrkMissing, ensure_wrk
from stellwerk.errors import StellwerkError

ROOT = targets.ROOT


@dataclass(frozen=True)
class Mode:
    name: str
    concurrency: tuple[int, ...]
    rates: tuple[int, ...]
    duration: float
    rounds: int
    stream_count: int
    llama: bool
    profile_s: float
    soak_s: float
    router_calls: int
    ledger_writes: int
    client_requests: int


QUICK = Mode("quick", (1, 10), (100,), 1.0, 1, 20, False, 0, 0, 300, 2_000, 200)
FULL = Mode("full", (1, 10, 50, 200), (100, 500), 2.0, 3, 100, True, 8, 30, 3_000, 10_000, 1_000)


def _llama_plan(plan: gateway.Plan) -> gateway.Plan:
    """The real model server answers one request at a time, in milliseconds: a few clients,
    short answers, no fixed rates."""
    closed = [s for s in plan.scenarios if s.kind == "closed" and s.level <= 10]
    return gateway.Plan(
        scenarios=[*closed, gateway.Scenario("stream", 1)],
        duration=plan.duration,
        rounds=max(1, plan.rounds - 1),
        stream_count=max(10, plan.stream_count // 5),
        max_tokens=8,
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="a few seconds (the CI smoke run)")
    mode.add_argument("--full", action="store_true", help="the published run (a few minutes)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default by mode)")
    parser.add_argument("--duration", type=float, help="seconds per cell (default by mode)")
    parser.add_argument("--soak", type=float, help="seconds of Stellwerk alone at a fixed rate")
    parser.add_argument("--soak-rate", type=int, default=500, help="requests/s of the soak")
    parser.add_argument(
        "--litellm",
        choices=["auto", "install", "skip"],
        default=None,
        help="auto: use it if installed; install: create its venv when missing (default in "
        "--full); skip",
    )
    parser.add_argument("--no-llama", action="store_true", help="skip the llama.cpp backend")
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy profile")
    parser.add_argument(
        "--only",
        choices=["gateway", "router", "ledger"],
        action="append",
        help="run only these parts (repeatable)",
    )
    parser.add_argument("--backend-workers", type=int, default=2, help="instant backend processes")
    parser.add_argument("--report", type=Path, help="Markdown file to write (default by mode)")
    parser.add_argument("--results", type=Path, help="folder for plots and raw JSON")
    parser.add_argument("--no-wrk-install", action="store_true", help="never apt-get install wrk")
    parser.add_argument(
        "--render", type=Path, help="only rewrite the report from a saved results.json"
    )
    return parser.parse_args(argv)


def _log(message: str) -> None:
    print(time.strftime("%H:%M:%S"), message, file=sys.stderr, flush=True)


@contextmanager
def _servers(stack: list[Server]) -> Iterator[list[Server]]:
    try:
        yield stack
    finally:
        for server in reversed(stack):
            stop_server(server)


def gateway_part(
    mode: Mode,
    args: argparse.Namespace,
    folder: Path,
    litellm: Path | None,
    data: dict[str, Any],
    results: Path,
) -> None:
    try:
        wrk_path: str | None = ensure_wrk(install=not args.no_wrk_install)
    except WrkMissing as exc:
        _log(f"wrk unavailable ({exc}); closed-loop load uses the Python client")
        wrk_path = None
    data["load_tool"] = "wrk " + ("4.1" if wrk_path else "missing: Python client")
    plan = gateway.Plan(
        scenarios=gateway.scenarios(mode.concurrency, mode.rates, (1,)),
        duration=args.duration or mode.duration,
        rounds=args.rounds or mode.rounds,
        stream_count=mode.stream_count,
    )
    data["plan"] = {"duration_s": plan.duration, "rounds": plan.rounds}
    data["backends"] = {}
    backends: list[tuple[str, Callable[[Path], Server], str]] = [
        ("instant", lambda d: targets.start_instant(d, args.backend_workers), targets.UPSTREAM)
    ]
    if mode.llama and not args.no_llama:
        backends.append(("llama.cpp", targets.start_llama, targets.LLAMA_MODEL))
    for name, start, upstream in backends:
        sub = folder / name.replace(".", "")
        sub.mkdir()
        backend_plan = plan if name == "instant" else _llama_plan(plan)
        with _servers([]) as running:
            try:
                direct = start(sub)
            except (ServerFailed, OSError, RuntimeError, StellwerkError) as exc:
                _log(f"{name}: backend did not start ({exc}); skipped")
                data["backends"][name] = {"skipped": str(exc).splitlines()[0]}
                continue
            running.append(direct)
            spec = targets.Backend(name.replace(".", ""), direct.url, upstream)
            servers = {"direct": direct, "stellwerk": targets.start_stellwerk(spec, sub)}
            running.append(servers["stellwerk"])
            if litellm is not None:
                try:
                    servers["litellm"] = targets.start_litellm(spec, sub, litellm)
                    running.append(servers["litellm"])
                except ServerFailed as exc:
                    _log(f"{name}: LiteLLM did not start, measured without it: {exc}")
            _log(f"{name}: targets up: {', '.join(servers)}")
            started = time.time()
            runner = gateway.Runner(servers, backend_plan, sub, wrk_path)
            with sampling_memory(list(servers.values())):
                cells = runner.run(name, _log)
                extra: dict[str, Any] = {}
                if name == "instant":
                    extra = _profile_and_soak(mode, args, runner, servers["stellwerk"], results)
                    _log("HTTP client cost per request")
                    extra["client_cost"] = client_cost.run(direct.url, mode.client_requests, _log)
            extra["soak"] = _soak_data(extra.get("soak"), servers["stellwerk"], started)
            data["backends"][name] = backend_data(cells, servers, started, extra)


def _profile_and_soak(
    mode: Mode, args: argparse.Namespace, runner: gateway.Runner, server: Server, results: Path
) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if mode.profile_s and not args.no_profile:
        clients = 50
        _log(f"profiling Stellwerk for {mode.profile_s:.0f} s under {clients} clients")
        found = profile.profile_under_load(
            server.process.pid,
            mode.profile_s,
            results / "profile-stellwerk.txt",
            lambda seconds: runner.load(server, clients, seconds),
        )
        if found is not None:
            found["clients"] = clients
        extra["profile"] = found
        gateway.settle(server)
    soak_s = args.soak if args.soak is not None else mode.soak_s
    if soak_s > 0:
        rate = args.soak_rate
        _log(f"soak: Stellwerk at {rate} req/s for {soak_s:.0f} s")
        begin = time.time()
        result = runner.soak(server, rate, soak_s)
        extra["soak"] = {"rate": rate, "seconds": soak_s, "begin": begin, "end": time.time()}
        extra["soak"].update(ok=result.ok, errors=result.errors, p99=result.p99)
    return extra


def _soak_data(
    soak: dict[str, Any] | None, server: Server, started: float
) -> dict[str, Any] | None:
    """The soak's memory trend: RSS at start and end, least-squares slope in MiB per minute."""
    if not soak:
        return None
    points = [(t, rss) for t, rss in server.memory if soak["begin"] <= t <= soak["end"]]
    if len(points) < 2:
        return None
    mean_t = sum(t for t, _ in points) / len(points)
    mean_r = sum(r for _, r in points) / len(points)
    num = sum((t - mean_t) * (r - mean_r) for t, r in points)
    den = sum((t - mean_t) ** 2 for t, _ in points) or 1.0
    return {
        **soak,
        "from_s": soak["begin"] - started,
        "to_s": soak["end"] - started,
        "rss_start": points[0][1],
        "rss_end": points[-1][1],
        "slope_mib_per_min": num / den * 60 / 2**20,
    }


def backend_data(
    cells: gateway.Cells, servers: dict[str, Server], started: float, extra: dict[str, Any]
) -> dict[str, Any]:
    return {
        "targets": list(servers),
        "cells": cells.as_data(),
        "memory": {
            name: [(round(t - started, 2), rss) for t, rss in server.memory]
            for name, server in servers.items()
        },
        "peak_rss": {
            name: max((rss for _, rss in server.memory), default=0)
            for name, server in servers.items()
        },
        **extra,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    mode = FULL if args.full else QUICK
    parts = set(args.only or ["gateway", "router", "ledger"])
    results = args.results or (ROOT / "benchmarks" / "results" / ("quick" if mode is QUICK else ""))
    report_path = args.report or (
        results / "BENCHMARKS.md" if mode is QUICK else ROOT / "BENCHMARKS.md"
    )
    results.mkdir(parents=True, exist_ok=True)
    if args.render:
        report.write(report_path, results, json.loads(args.render.read_text()))
        _log(f"wrote {report_path} from {args.render}")
        return 0
    litellm_choice = args.litellm or ("install" if mode is FULL else "auto")
    data: dict[str, Any] = {
        "mode": mode.name,
        "command": "python -m benchmarks " + shlex.join(sys.argv[1:] if argv is None else argv),
        "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine.describe(),
    }
    litellm: Path | None = None
    if "gateway" in parts and litellm_choice != "skip":
        try:
            litellm = targets.litellm_python(install=litellm_choice == "install")
        except (OSError, RuntimeError, subprocess.CalledProcessError) as exc:
            _log(f"LiteLLM unavailable: {exc}")
    data["litellm"] = targets.LITELLM_VERSION if litellm else None
    with tempfile.TemporaryDirectory(prefix="stellwerk-bench-") as tmp:
        folder = Path(tmp)
        if "gateway" in parts:
            gateway_part(mode, args, folder, litellm, data, results)
        if "router" in parts:
            _log("router: decision latency")
            data["router"] = routing.run(mode.router_calls, _log, team=mode is FULL)
        if "ledger" in parts:
            _log("ledger: write rate")
            data["ledger"] = ledger_rate.run(mode.ledger_writes, folder, _log)
    (results / "results.json").write_text(json.dumps(data, indent=1, default=str))
    report.write(report_path, results, data)
    _log(f"wrote {report_path} and {results}")
    return 0
