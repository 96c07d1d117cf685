"""The code sandbox, with real processes: what the model's code can and cannot do."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stellwerk.calibration.sandbox import Limits, Sandbox, probe
from tests.calibration.conftest import sandbox_python


@pytest.fixture(scope="module")
def python() -> str:
    return sandbox_python()


@pytest.fixture(scope="module")
def isolation(python: str) -> str | None:
    """None where network namespaces work (Linux as root, or with user namespaces)."""
    return probe(python)


@pytest.fixture
def isolated(isolation: str | None, python: str, tmp_path: Path) -> Sandbox:
    if isolation is not None:
        pytest.skip(f"no network isolation here: {isolation}")
    limits = Limits(wall_s=20.0, cpu_s=2, memory_mb=256)
    return Sandbox(limits, isolate=True, root=tmp_path, python=python)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP server on 127.0.0.1 that the code tries to reach."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        server.setblocking(False)
        yield server


def _accepted(server: socket.socket) -> bool:
    try:
        conn, _ = server.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


@pytest.mark.parametrize(
    ("solution", "passed"),
    [("def add(a, b):\n    return a + b\n", True), ("def add(a, b):\n    return a - b\n", False)],
)
def test_the_tests_decide(isolated: Sandbox, solution: str, passed: bool) -> None:
    result = isolated.run([("answer.py", solution), ("tests.py", "assert add(2, 3) == 5\n")])
    assert result.passed is passed
    assert result.detail == ("passed" if passed else "AssertionError")


def test_code_that_exits_before_the_tests_does_not_pass(isolated: Sandbox) -> None:
    result = isolated.run([("answer.py", "import sys\nsys.exit(0)\n"), ("tests.py", "assert 0\n")])
    assert not result.passed and result.detail == "exited early"


def test_a_main_block_does_not_run(isolated: Sandbox) -> None:
    solution = "def f():\n    return 1\nif __name__ == '__main__':\n    input()\n"
    assert isolated.run([("answer.py", solution), ("tests.py", "assert f() == 1\n")]).passed


@pytest.mark.parametrize(
    "endless", ["while True:\n    pass\n", "import time\nwhile True:\n    time.sleep(1)\n"]
)
def test_an_endless_program_is_killed_and_fails(
    tmp_path: Path, python: str, isolation: str | None, endless: str
) -> None:
    limits = Limits(wall_s=3.0, cpu_s=1)
    sandbox = Sandbox(limits, isolate=isolation is None, root=tmp_path, python=python)
    result = sandbox.run([("answer.py", endless)])
    assert not result.passed
    assert result.detail in ("timeout", "killed by SIGKILL", "killed by SIGXCPU")
    assert list(tmp_path.iterdir()) == []


def test_a_memory_bomb_is_stopped(isolated: Sandbox) -> None:
    result = isolated.run([("answer.py", "hog = bytearray(4 * 1024**3)\n")])
    assert not result.passed and result.detail == "MemoryError"


def test_output_is_capped(isolated: Sandbox) -> None:
    result = isolated.run([("answer.py", "print('x' * 64 * 1024**2)\n")])
    assert not result.passed and "File too large" in result.detail
    assert len(result.stdout) <= Limits().output_kb * 1024


def test_the_network_is_unreachable(isolated: Sandbox, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=5).close()\n"
    result = isolated.run([("answer.py", code)])
    assert not result.passed and "unreachable" in result.detail
    assert not _accepted(listener)


def test_without_isolation_the_network_is_reachable(
    tmp_path: Path, python: str, listener: socket.socket
) -> None:
    """What --run-code-without-network-isolation gives up (and proof the test above can fail)."""
    port = listener.getsockname()[1]
    code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=5).close()\n"
    result = Sandbox(isolate=False, root=tmp_path, python=python).run([("answer.py", code)])
    assert result.passed and _accepted(listener)


def test_the_code_sees_no_secret_of_the_parent(
    isolated: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "s3cr3t-calibration-value"
    monkeypatch.setenv("STELLWERK_TEST_SECRET", secret)
    code = (
        "import os\n"
        "print(dict(os.environ))\n"
        "try:\n"
        f"    print(open('/proc/{os.getpid()}/environ', 'rb').read())\n"
        "except OSError as exc:\n"
        "    print('refused', exc)\n"
    )
    result = isolated.run([("answer.py", code)])
    assert result.passed
    assert secret not in result.stdout and "STELLWERK_TEST_SECRET" not in result.stdout
    if os.geteuid() == 0:  # the code runs as nobody: another user's process stays closed
        assert "refused" in result.stdout


def test_files_stay_in_the_temporary_folder_which_is_removed(
    isolated: Sandbox, tmp_path: Path
) -> None:
    code = (
        "import os\n"
        "os.makedirs('deep/er', exist_ok=True)\n"
        "with open('deep/er/out.txt', 'w') as f:\n"
        "    f.write('data')\n"
        "os.chmod('deep', 0)\n"  # even a folder without permissions goes
        "print(os.path.abspath('deep'))\n"
    )
    result = isolated.run([("answer.py", code)])
    assert result.passed
    written = Path(result.stdout.strip())
    assert written.is_relative_to(tmp_path)
    assert not written.exists() and list(tmp_path.iterdir()) == []


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_code_that_leaves_its_process_group_still_dies_at_the_timeout(
    tmp_path: Path, python: str, isolation: str | None
) -> None:
    if isolation is not None:
        pytest.skip(f"no network isolation here: {isolation}")
    sandbox = Sandbox(Limits(wall_s=2.0), isolate=True, root=tmp_path, python=python)
    result = sandbox.run([("answer.py", "import os, time\nos.setsid()\ntime.sleep(60)\n")])
    assert not result.passed and result.detail == "timeout"
    # the run's command line names its folder under tmp_path: nothing of it may be left
    for _ in range(50):
        if not _processes_mentioning(str(tmp_path)):
            break
        time.sleep(0.1)
    assert _processes_mentioning(str(tmp_path)) == []


def test_a_passing_answer_with_much_output_passes(isolated: Sandbox) -> None:
    code = "print('x' * 200_000)\ndef add(a, b):\n    return a + b\n"
    result = isolated.run([("answer.py", code), ("tests.py", "assert add(2, 3) == 5\n")])
    assert result.passed, result.detail


def test_the_model_exiting_with_125_is_a_failure_not_a_broken_sandbox(isolated: Sandbox) -> None:
    result = isolated.run([("answer.py", "import sys\nsys.exit(125)\n")])
    assert not result.passed and result.exit_code == 125


def test_temporary_files_go_to_the_run_folder(isolation: str | None, python: str) -> None:
    if isolation is not None:
        pytest.skip(f"no network isolation here: {isolation}")
    # the system's temporary folder as root (pytest's own is closed to ``nobody``)
    sandbox = Sandbox(Limits(wall_s=20.0), isolate=True, python=python)
    code = (
        "import os, tempfile\n"
        "folder = tempfile.gettempdir()\n"
        "assert os.access(folder, os.W_OK), folder\n"
        "print(tempfile.mkstemp()[1])\n"
    )
    result = sandbox.run([("answer.py", code)])
    assert result.passed, result.detail
    made = Path(result.stdout.strip())
    assert made.parent.name == "work" and made.parent.parent.name.startswith("stellwerk-code-")
    assert not made.parent.parent.exists()
