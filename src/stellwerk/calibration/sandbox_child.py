"""The first program of a sandboxed run, started as ``python -I -S -B sandbox_child.py JOB``.

It runs before any of the model's code, in a fresh interpreter, and imports only the standard
library (never ``stellwerk``: ``-I -S`` leaves site-packages out). In order:

1. read the job (JSON: pieces of code, limits, a nonce) and delete the file;
2. with ``isolate``: ``unshare`` a new network namespace (no interface is up, not even loopback)
   and a new PID namespace (plus a user namespace when not root), then fork: the child is PID 1
   of the new namespace, and when it ends the kernel kills every process left in it; the child
   also dies when this process dies (``PR_SET_PDEATHSIG``, armed again after giving up root,
   which clears it). Exit 125 when ``unshare`` fails;
3. set the resource limits (soft = hard, so the code cannot raise them) and, when root, give up
   root for ``nobody`` (65534) after handing it the working directory;
4. run the pieces in order in one namespace whose ``__name__`` is not ``"__main__"`` (a model's
   ``if __name__ == "__main__":`` block does not run), then print the nonce. The parent counts a
   run as passed only on exit status 0 with the nonce as the last output, so code that exits
   early (``sys.exit(0)`` before the tests) does not pass.
"""

from __future__ import annotations

import builtins
import ctypes
import json
import os
import resource
import signal
import sys
from pathlib import Path
from typing import Any

ISOLATION_FAILED = 125
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
NOBODY = 65534


def die_with_parent(libc: ctypes.CDLL) -> None:
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def isolate(libc: ctypes.CDLL) -> None:
    """New network and PID namespaces; the caller continues as PID 1 of the new one."""
    flags = CLONE_NEWNET | CLONE_NEWPID | (0 if os.geteuid() == 0 else CLONE_NEWUSER)
    if libc.unshare(flags) != 0:
        err = ctypes.get_errno()
        sys.stderr.write(f"stellwerk-sandbox: unshare: {os.strerror(err)}\n")
        os._exit(ISOLATION_FAILED)
    pid = os.fork()
    if pid:  # the parent stays outside and relays how PID 1 ended
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        os._exit(code if code >= 0 else 128 - code)
    die_with_parent(libc)


def confine(limits: dict[str, int]) -> None:
    """Resource limits, then (as root) the identity of ``nobody``."""
    cpu = limits["cpu_s"]
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    memory = limits["memory_mb"] * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    size = limits["file_mb"] * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["open_files"], limits["open_files"]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if os.geteuid() == 0:
        os.chown(".", NOBODY, NOBODY)
        resource.setrlimit(resource.RLIMIT_NPROC, (limits["processes"], limits["processes"]))
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)


def run(pieces: list[list[str]], nonce: str) -> None:
    namespace: dict[str, Any] = {"__name__": "__sandbox__", "__builtins__": builtins}
    for name, source in pieces:
        exec(compile(source, name, "exec"), namespace)  # running it is the point
    sys.stdout.write(f"\n{nonce}\n")
    sys.stdout.flush()


def main() -> None:
    job_file = Path(sys.argv[1])
    job = json.loads(job_file.read_text(encoding="utf-8"))
    job_file.unlink()
    libc = ctypes.CDLL(None, use_errno=True)
    if job["isolate"]:
        isolate(libc)
    confine(job["limits"])
    if job["isolate"]:
        die_with_parent(libc)  # setuid cleared it; the code has not run yet
    run(job["pieces"], job["nonce"])


if __name__ == "__main__":
    main()
