"""The sandbox that runs a model's code with a task's tests: a best-effort fence for benchmark
code written by the organisation's own models, not a jail for hostile code.

Every run is a fresh ``python -I -S -B`` (no environment variables of Python, no site-packages,
no user site, no bytecode written) started by ``sandbox_child.py`` with

- a new, empty working directory under a private (0700) temporary folder, removed afterwards;
- a minimal environment (``PATH``, ``LANG``, ``HOME`` and ``TMPDIR`` = the working directory):
  nothing of the calling process's environment, so no secret referenced by the config;
- stdin closed, stdout and stderr written to files that the file-size limit caps;
- resource limits: CPU seconds, address space, file size, open files, no core dumps and, when
  root, processes (as ``nobody``);
- a wall-clock timeout that kills the process group;
- with ``isolate``: new network and PID namespaces (no network at all, loopback included; every
  process the code starts dies with it), and, when root, the identity ``nobody``.

What it does not stop (see docs/calibration.md, "Code tasks"): reading files that everyone may
read, writing where everyone may write (``/tmp``, ``/dev/shm``), seeing other processes' command
lines in ``/proc``, or an exploit of the kernel. Without ``isolate`` (an explicit opt-in) the code
can also use the network, and the processes it starts in a new session can outlive the run.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

from stellwerk.calibration.sandbox_child import ISOLATION_FAILED
from stellwerk.errors import SandboxError

CHILD = Path(__file__).with_name("sandbox_child.py")

Piece = tuple[str, str]
"""(file name shown in tracebacks, Python source)."""


@dataclass(frozen=True, slots=True)
class Limits:
    wall_s: float = 10.0
    cpu_s: int = 5
    memory_mb: int = 512
    file_mb: int = 8
    processes: int = 32
    """Processes and threads of ``nobody`` at once (only applied when running as root)."""
    open_files: int = 64
    output_kb: int = 64
    """How much of stdout and stderr is read back (the rest stays unread)."""


@dataclass(frozen=True, slots=True)
class Result:
    passed: bool
    detail: str
    """``passed``, ``timeout``, ``exited early``, ``killed by SIGXCPU``, or the code's last error
    line (``AssertionError``, ``NameError: name 'f' is not defined``)."""
    exit_code: int
    stdout: str
    stderr: str


@dataclass(frozen=True, slots=True)
class Sandbox:
    limits: Limits = Limits()
    isolate: bool = True
    """Network and PID namespaces; False only by the user's explicit choice."""
    root: Path | None = None
    """Where the temporary folders go (default: the system's temporary folder)."""
    python: str = sys.executable
    """The interpreter; as root the code runs as ``nobody``, who must be able to read it."""

    def run(self, pieces: Sequence[Piece]) -> Result:
        """Run the pieces in order in one namespace; passed = all ran to the end."""
        base = Path(tempfile.mkdtemp(prefix="stellwerk-code-", dir=self.root))
        try:
            return self._run_in(base, pieces)
        finally:
            _remove(base)

    def _run_in(self, base: Path, pieces: Sequence[Piece]) -> Result:
        work = base / "work"
        work.mkdir()
        if os.geteuid() == 0:
            base.chmod(0o711)  # nobody must reach its working directory (HOME, TMPDIR) by path
        nonce = secrets.token_hex(16)
        job = base / "job.json"
        job.write_text(
            json.dumps(
                {
                    "isolate": self.isolate,
                    "limits": asdict(self.limits),
                    "pieces": [list(piece) for piece in pieces],
                    "nonce": nonce,
                }
            ),
            encoding="utf-8",
        )
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(work), "TMPDIR": str(work)}
        with (base / "stdout").open("wb+") as out, (base / "stderr").open("wb+") as err:
            try:
                proc = subprocess.Popen(
                    [self.python, "-I", "-S", "-B", str(CHILD), str(job)],
                    cwd=work,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                    close_fds=True,
                )
            except OSError as exc:
                raise SandboxError(f"cannot start {self.python}: {exc}") from exc
            timed_out = False
            try:
                code = proc.wait(timeout=self.limits.wall_s)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                _kill_group(proc.pid)  # whatever it started in its group goes too
                code = proc.wait()
            stdout, stderr = _head(out, self.limits.output_kb), _head(err, self.limits.output_kb)
            ending = _tail(out, len(nonce) + 64)
        if code == ISOLATION_FAILED and self.isolate and _UNSHARE_FAILED in stderr:
            raise SandboxError(f"cannot isolate the code: {stderr.strip() or 'unshare failed'}")
        return _result(code, stdout, stderr, nonce, ending, timed_out=timed_out)


_UNSHARE_FAILED = "stellwerk-sandbox: unshare:"
"""What the child writes when it cannot isolate (a model's own exit 125 is just a failure)."""


def _result(
    code: int, stdout: str, stderr: str, nonce: str, ending: str, *, timed_out: bool
) -> Result:
    """``ending`` is the end of the output (``stdout`` only its capped head)."""
    if timed_out:
        return Result(False, "timeout", code, stdout, stderr)
    if code == 0 and ending.rstrip().endswith(nonce):
        return Result(True, "passed", code, stdout.rstrip().removesuffix(nonce), stderr)
    if code == 0:
        return Result(False, "exited early", code, stdout, stderr)
    if code < 0 or code > 128:
        number = -code if code < 0 else code - 128
        return Result(False, f"killed by {_signal_name(number)}", code, stdout, stderr)
    lines = [line for line in stderr.splitlines() if line.strip()]
    return Result(False, lines[-1].strip() if lines else f"exit {code}", code, stdout, stderr)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group is gone already
        os.killpg(pgid, signal.SIGKILL)


def _head(handle: BinaryIO, kilobytes: int) -> str:
    handle.seek(0)
    data: bytes = handle.read(kilobytes * 1024)
    return data.decode("utf-8", errors="replace")


def _tail(handle: BinaryIO, size: int) -> str:
    handle.seek(0, os.SEEK_END)
    handle.seek(max(0, handle.tell() - size))
    data: bytes = handle.read()
    return data.decode("utf-8", errors="replace")


def _remove(base: Path) -> None:
    """Remove the folder even when the code took its own permissions away."""

    def grant_and_retry(function: object, name: str, _: object) -> None:
        path = Path(name)
        path.parent.chmod(0o700)
        if path.is_symlink():
            path.unlink()
            return
        path.chmod(0o700)
        if path.is_dir():
            shutil.rmtree(path, onerror=grant_and_retry)
        else:
            path.unlink()

    shutil.rmtree(base, onerror=grant_and_retry)


PROBE = "import collections, functools, heapq, itertools, json, math, re, socket, string, typing\n"
"""Modules that benchmark code imports: the interpreter's library must be readable by the code's
user (``nobody`` when root), which an interpreter under ``/root`` (pyenv) is not."""


def probe(
    python: str = sys.executable, *, isolate: bool = True, root: Path | None = None
) -> str | None:
    """None when sandboxed runs work here; else why not (``unshare``'s error, an unreadable
    standard library)."""
    sandbox = Sandbox(Limits(wall_s=20.0), isolate=isolate, root=root, python=python)
    try:
        result = sandbox.run([("probe.py", PROBE)])
    except SandboxError as exc:
        return str(exc)
    if result.passed:
        return None
    return (
        f"{python} cannot run the sandbox's test ({result.detail}); as root the code runs as"
        " nobody, who must be able to read the interpreter: choose one with --code-python"
    )
