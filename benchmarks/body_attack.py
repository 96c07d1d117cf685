"""The memory attack of issue 15: 64 MiB bodies, no key, to every endpoint that takes a body, all
at once; the gateway's peak resident memory, before the fix and after, in one run.

Each code tree (``--before``: a git revision, by default the main of when issue 15 was filed;
after: this checkout) is served by ``python -m stellwerk serve`` with the default
``server.max_body_bytes`` (4 MiB), its backend a closed port (no model is reached). Then one
client per endpoint sends its 64 MiB (a JSON-looking body, announced with a ``content-length``,
or, on a fresh server, in 1 MiB chunks without one, so the server must count while it reads) and
reads the answer. The peak is the kernel's high-water mark of the server's resident memory
(``VmHWM``), so no sampling can miss it. Short: under a minute on a loaded 2-core machine.

    python -m benchmarks.body_attack [--before REV] [--report BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from benchmarks.procs import ServerFailed, free_port, start_server, stop_server
from benchmarks.report import _replace_block
from benchmarks.targets import ROOT

#: main when issue 15 was filed
BEFORE = "dc882eb"
BODY_MIB = 64
ENDPOINTS = (
    "/v1/chat/completions",
    "/v1/embeddings",
    "/api/chat",
    "/api/generate",
    "/api/embed",
    "/api/show",
    "/admin/keys",
    "/admin/use-cases",
    "/dashboard/login",
)
KEY_ENV = "STW_BENCH_ATTACK_KEY"


MODES = ("announced", "chunked")


@dataclass(frozen=True)
class Result:
    tree: str
    mode: str
    idle_mb: float
    peak_mb: float
    statuses: dict[str, str]
    seconds: float


def _config(port: int, database: Path) -> str:
    return f"""
server: {{port: {port}, database_url: "sqlite:///{database}"}}
backends: [{{name: closed, kind: openai, base_url: "http://127.0.0.1:9"}}]
models:
  - {{id: m, backend: closed, upstream: m, params_b: 1, size_class: small, hosting: on_prem}}
departments:
  - {{name: it, keys: [{{id: it-admin, key_env: {KEY_ENV}, role: admin}}]}}
router: {{kind: first}}
"""


def _status_of(path: Path, pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid``, in kB."""
    fields = {}
    for line in (path / str(pid) / "status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


def _attack(url: str, path: str, mode: str, statuses: dict[str, str]) -> None:
    """Send a 64 MiB body to ``path`` without a key; note the answer's status (or what broke)."""
    host, port = url.removeprefix("http://").split(":")
    size = BODY_MIB * 1024 * 1024
    framing = "transfer-encoding: chunked" if mode == "chunked" else f"content-length: {size}"
    head = (
        f"POST {path} HTTP/1.1\r\nhost: gateway\r\ncontent-type: application/json\r\n"
        f"{framing}\r\n\r\n"
    ).encode()
    piece = b'{"model":"' + b"x" * (1024 * 1024 - 10)
    if mode == "chunked":
        piece = b"%x\r\n%s\r\n" % (len(piece), piece)
    try:
        with socket.create_connection((host, int(port)), timeout=60) as sock:
            sock.sendall(head)
            try:
                for _ in range(BODY_MIB):
                    sock.sendall(piece)
                if mode == "chunked":
                    sock.sendall(b"0\r\n\r\n")
            except OSError:
                pass  # the server stopped reading: its answer is waiting
            answer = sock.recv(4096)
        statuses[path] = answer.split(b" ", 2)[1].decode() if answer else "closed"
    except OSError as exc:
        statuses[path] = type(exc).__name__


def measure(tree: str, mode: str, src: Path, work: Path) -> Result:
    port = free_port()
    config = work / f"{tree}-{mode}.yaml"
    config.write_text(_config(port, work / f"{tree}-{mode}.db"))
    argv = [sys.executable, "-m", "stellwerk", "serve", "--config", str(config)]
    env = {"PYTHONPATH": str(src), KEY_ENV: "sk-stw-bench-attack-0f3c9a7e5d1b2468"}
    server = start_server(tree, argv, port=port, ready_path="/healthz", log_dir=work, env=env)
    try:
        pid = server.process.pid
        idle = _status_of(Path("/proc"), pid)["VmRSS"]
        statuses: dict[str, str] = {}
        started = time.monotonic()
        threads = [
            threading.Thread(target=_attack, args=(server.url, path, mode, statuses))
            for path in ENDPOINTS
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
        seconds = time.monotonic() - started
        peak = _status_of(Path("/proc"), pid)["VmHWM"]
    finally:
        stop_server(server)
    return Result(tree, mode, idle / 1024, peak / 1024, statuses, seconds)


def _checkout(revision: str, into: Path) -> Path:
    """The ``src`` folder of ``revision``, extracted from git (no worktree, nothing changed)."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", revision, "src"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def table(results: list[Result], before: str) -> list[str]:
    lines = [
        f"{len(ENDPOINTS)} clients at once, each a {BODY_MIB} MiB body without a key to one of "
        f"{', '.join(f'`{p}`' for p in ENDPOINTS)}; `server.max_body_bytes` at its default "
        "(4 MiB); the body announced with its length, or sent in chunks without one (a fresh "
        "server each). Peak: the kernel's high-water mark of the gateway's resident memory "
        "(VmHWM).",
        "",
        "| code | body | idle RSS | peak RSS under the attack | peak - idle | took | answers |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        counts: dict[str, int] = {}
        for status in r.statuses.values():
            counts[status] = counts.get(status, 0) + 1
        answers = ", ".join(f"{n}x {s}" for s, n in sorted(counts.items()))
        name = f"before (`{before}`)" if r.tree == "before" else "after (this branch)"
        lines.append(
            f"| {name} | {r.mode} | {r.idle_mb:.0f} MB | {r.peak_mb:.0f} MB | "
            f"{r.peak_mb - r.idle_mb:.0f} MB | {r.seconds:.1f} s | {answers} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default=BEFORE, help="git revision of the code before")
    parser.add_argument("--report", type=Path, help="write the table into this BENCHMARKS.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="stw-body-attack-") as tmp:
        work = Path(tmp)
        try:
            before = _checkout(args.before, work / "before")
            results = [
                measure(tree, mode, src, work)
                for mode in MODES
                for tree, src in (("before", before), ("after", ROOT / "src"))
            ]
        except ServerFailed as exc:
            print(exc, file=sys.stderr)
            return 1
    lines = table(results, args.before)
    print("\n".join(lines))
    if args.report:
        text = args.report.read_text(encoding="utf-8")
        args.report.write_text(_replace_block(text, "body_attack", lines), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
