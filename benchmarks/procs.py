"""Server processes of a benchmark: start on a free loopback port, wait until they answer, read
their CPU time and memory from ``/proc`` (the process and all its descendants), stop them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


class ServerFailed(RuntimeError):
    """A benchmarked server did not start; the message ends with the tail of its log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (worker processes, the proxy's uvicorn ...)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, ()))
    return found


def cpu_times(pids: Sequence[int]) -> tuple[float, float]:
    """(user, system) CPU seconds used so far by these processes."""
    user = system = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        user, system = user + int(fields[11]), system + int(fields[12])
    return user / _TICKS, system / _TICKS


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds used so far by these processes."""
    return sum(cpu_times(pids))


def rss_bytes(pids: Sequence[int]) -> int:
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
        except OSError:
            continue
    return total


@dataclass
class Server:
    """A running server process (tree) under test."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    memory: list[tuple[float, int]] = field(default_factory=list)  # (unix time, RSS bytes)

    @property
    def pids(self) -> list[int]:
        return descendants(self.process.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.pids)

    def rss(self) -> int:
        return rss_bytes(self.pids)


def start_server(
    name: str,
    argv: Sequence[str],
    *,
    port: int,
    ready_path: str,
    log_dir: Path,
    env: Mapping[str, str | None] | None = None,
    timeout_s: float = 120,
    cwd: Path | None = None,
) -> Server:
    """Start ``argv`` and wait until ``GET http://127.0.0.1:port{ready_path}`` answers < 500.

    ``env`` is added to this process's environment; a ``None`` value removes the variable."""
    log_path = log_dir / f"{name}.log"
    merged: dict[str, str | None] = {**os.environ, **(env or {})}
    environ = {k: v for k, v in merged.items() if v is not None}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environ,
            cwd=cwd,
            start_new_session=True,
        )
    server = Server(name, f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise ServerFailed(f"{name} exited with {process.returncode}:\n{_tail(log_path)}")
        try:
            response = httpx.get(server.url + ready_path, timeout=2, trust_env=False)
            if response.status_code < 500:
                return server
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            stop_server(server)
            raise ServerFailed(f"{name} did not answer in {timeout_s:.0f} s:\n{_tail(log_path)}")
        time.sleep(0.2)


def stop_server(server: Server, timeout_s: float = 15) -> None:
    """SIGTERM the process group (the server and its workers), SIGKILL if it lingers."""
    if server.process.poll() is not None:
        return
    pid = server.process.pid

    def send(sig: signal.Signals) -> None:
        try:
            if os.getpgid(pid) == pid:  # our own session: the server and its workers
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        except ProcessLookupError:
            pass

    send(signal.SIGTERM)
    try:
        server.process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        server.process.wait(timeout_s)


@contextmanager
def sampling_memory(servers: Sequence[Server], interval_s: float = 0.5) -> Iterator[None]:
    """Record each server's RSS every ``interval_s`` while the block runs (a daemon thread)."""
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            now = time.time()
            for server in servers:
                server.memory.append((now, server.rss()))
            stop.wait(interval_s)

    thread = threading.Thread(target=sample, name="bench-memory", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)


def _tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"
