"""Machine instructions per request of two versions of Stellwerk, counted by callgrind.

``benchmarks.versions`` measures CPU seconds per request side by side; on a shared 2-core
machine its rounds scatter by 20 % and more, so a difference of a few per cent needs many
rounds to show or to rule out. Instructions do not scatter that way: valgrind's callgrind counts
what the process executes (every thread of it, C and Python alike), whatever else the machine
does. Each version is served by ``stellwerk serve`` under ``valgrind --tool=callgrind`` (same
config, SQLite ledger, the same instant backend); counting is switched on only while wrk's load
runs (``callgrind_control -i on``), after a warm-up, and the count of each load is dumped and
divided by the requests wrk saw answered. Under callgrind a request takes some 50 times longer
than without, so the load saturates the server; both versions meet the same load.

Instructions are not time (a cache miss costs more than an add), but a change that makes the
same work cost more instructions per request is seen at once, and the dumps say where:
``callgrind_annotate FILE`` lists the C functions (the interpreter, SQLite, the HTTP parser,
the garbage collector) with their counts.

    python -m benchmarks.instructions --before <commit> [--after <commit>] [--rounds 2]
        [--clients 1 50] [--duration 30] [--keep DIR] [--json out]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import gateway, machine, wrk
from benchmarks.procs import Server, free_port, start_server, stop_server
from benchmarks.results import emit, log
from benchmarks.targets import API_KEY, ROOT, UPSTREAM, Backend, start_instant, stellwerk_config
from benchmarks.versions import checkout_src, commit_of

_TOTALS = re.compile(rb"^totals:\s*(\d+)", re.MULTILINE)


@dataclass(frozen=True)
class Counted:
    """One load against one version: requests answered and instructions executed."""

    version: str
    clients: int
    round: int
    requests: int
    instructions: int
    seconds: float
    idle_per_second: float
    """The version's instructions per second without load (its timers), measured apart."""

    @property
    def per_request(self) -> float:
        """Instructions per request, the idle rate over the load's seconds taken out."""
        if not self.requests:
            return float("nan")
        return (self.instructions - self.idle_per_second * self.seconds) / self.requests


def start_counted(backend: Backend, folder: Path, src: Path, name: str) -> Server:
    """``stellwerk serve`` from ``src`` under callgrind, counting switched off."""
    port = free_port()
    config = stellwerk_config(backend, folder, port)
    argv = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={folder / 'callgrind.out.%p'}",
        sys.executable,
        "-m",
        "stellwerk",
        "serve",
        "--config",
        str(config),
        "--log-level",
        "warning",
    ]
    env = {"PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])}
    return start_server(
        name,
        argv,
        port=port,
        ready_path="/healthz",
        log_dir=folder,
        env=env,
        cwd=folder,
        timeout_s=600,
    )


def _control(pid: int, *args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True)


def count_load(
    server: Server, folder: Path, script: Path, wrk_path: str, clients: int, duration: float
) -> tuple[int, int, float]:
    """Requests answered, instructions executed and seconds passed while wrk loads ``server``
    with ``clients`` connections for ``duration`` seconds."""
    pid = server.process.pid
    _clear(folder, pid)
    started = time.monotonic()
    _control(pid, "--instr=on")
    result = wrk.run(
        wrk_path,
        server.url + "/v1/chat/completions",
        script,
        clients=clients,
        duration=duration,
        timeout_s=60,
    )
    _control(pid, "--instr=off")
    elapsed = time.monotonic() - started
    return result.ok, _dumped(folder, server), elapsed


def count_idle(server: Server, folder: Path, duration: float) -> float:
    """Instructions per second ``server`` executes with no request: its timers and background
    tasks (subtracted from a load's count, since under callgrind a load lasts far longer)."""
    pid = server.process.pid
    _clear(folder, pid)
    started = time.monotonic()
    _control(pid, "--instr=on")
    time.sleep(duration)
    _control(pid, "--instr=off")
    elapsed = time.monotonic() - started
    return _dumped(folder, server) / elapsed


def _clear(folder: Path, pid: int) -> None:
    for old in folder.glob(f"callgrind.out.{pid}.*"):
        old.unlink()


def _dumped(folder: Path, server: Server) -> int:
    pid = server.process.pid
    _control(pid, "--dump=counted")
    dumps = list(folder.glob(f"callgrind.out.{pid}.*"))
    if not dumps:
        raise RuntimeError(f"callgrind wrote no dump for {server.name}")
    return sum(_totals(p.read_bytes()) for p in dumps)


def _totals(dump: bytes) -> int:
    found = _TOTALS.search(dump)
    if found is None:
        raise RuntimeError("callgrind dump without a totals line")
    return int(found.group(1))


def summary(counted: list[Counted], before: str, after: str) -> list[dict[str, Any]]:
    """Per client count: each version's instructions per request (every round) and after/before."""
    rows = []
    for clients in dict.fromkeys(c.clients for c in counted):
        per = {
            version: [
                c.per_request for c in counted if c.clients == clients and c.version == version
            ]
            for version in (before, after)
        }
        means = {v: sum(x) / len(x) for v, x in per.items() if x}
        rows.append(
            {
                "clients": clients,
                "instructions_per_request": {v: [round(x) for x in xs] for v, xs in per.items()},
                "idle_instructions_per_s": {
                    v: round(next(c.idle_per_second for c in counted if c.version == v))
                    for v in (before, after)
                },
                "requests": {
                    v: [c.requests for c in counted if c.clients == clients and c.version == v]
                    for v in (before, after)
                },
                "after_over_before": round(means[after] / means[before], 4)
                if before in means and after in means
                else None,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.instructions", description=__doc__)
    parser.add_argument("--before", required=True, help="the older commit (git revision)")
    parser.add_argument("--after", help="the newer commit (default: this checkout as it is)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load per cell")
    parser.add_argument("--warmup", type=float, default=15.0, help="seconds of uncounted load")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of idle counting")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 50])
    parser.add_argument("--keep", type=Path, help="copy the callgrind dumps into this folder")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        parser.error("valgrind (with callgrind_control) is not installed: apt-get install valgrind")
    wrk_path = wrk.ensure_wrk(install=True)
    before = f"before@{commit_of(args.before)}"
    after = f"after@{commit_of(args.after)}" if args.after else "after@checkout"
    counted: list[Counted] = []
    with tempfile.TemporaryDirectory(prefix="stellwerk-instructions-") as tmp:
        folder = Path(tmp)
        trees = {before: checkout_src(args.before, folder)}
        trees[after] = checkout_src(args.after, folder) if args.after else ROOT / "src"
        script = wrk.write_script(
            folder, gateway.chat_body(stream=False, max_tokens=16), f"Bearer {API_KEY}"
        )
        stack: list[Server] = []
        try:
            instant = start_instant(folder, workers=2)
            stack.append(instant)
            backend = Backend("instant", instant.url, UPSTREAM)
            servers: dict[str, Server] = {}
            for name, src in trees.items():
                home = folder / name
                home.mkdir()
                log(f"starting {name} under callgrind")
                servers[name] = start_counted(backend, home, src, name)
                stack.append(servers[name])
                wrk.run(
                    wrk_path,
                    servers[name].url + "/v1/chat/completions",
                    script,
                    clients=max(args.clients),
                    duration=args.warmup,
                    timeout_s=60,
                )
            idle = {name: count_idle(s, folder / name, args.idle) for name, s in servers.items()}
            for name, rate in idle.items():
                log(f"{name} idle: {rate:,.0f} instructions per second")
            for round_ in range(args.rounds):
                order = list(servers) if round_ % 2 == 0 else list(reversed(servers))
                for clients in args.clients:
                    for name in order:
                        home = folder / name
                        ok, instructions, seconds = count_load(
                            servers[name], home, script, wrk_path, clients, args.duration
                        )
                        cell = Counted(name, clients, round_, ok, instructions, seconds, idle[name])
                        counted.append(cell)
                        log(
                            f"round {round_} {clients:>3} clients {name}: {ok} requests, "
                            f"{cell.per_request:,.0f} instructions per request"
                        )
                        if args.keep:
                            args.keep.mkdir(parents=True, exist_ok=True)
                            for dump in home.glob("callgrind.out.*.*"):
                                target = f"{name}-c{clients}-r{round_}.callgrind"
                                shutil.copy(dump, args.keep / target)
        finally:
            for server in reversed(stack):
                stop_server(server)
    data = {
        "machine": machine.describe(),
        "tool": "valgrind --tool=callgrind (instructions of every thread of the server)",
        "plan": {"rounds": args.rounds, "duration_s": args.duration, "warmup_s": args.warmup},
        "rows": summary(counted, before, after),
    }
    emit(data, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
