"""Set up (or reuse) the virtual environment the README's commands run in; stdlib only.

The environment lives outside the checkout, keyed by the hash of requirements.lock and the Python
version, so CI and later sessions reuse it. Every package is installed with pip's hash checking
from requirements.lock. llama-cpp-python ships only as source and takes minutes to compile, so its
verified source archive is compiled once into a wheel kept beside the environments, keyed by the
archive's hash, and reused by the next environment.

Prints the environment's path on the last line of stdout.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
CACHE = Path(os.environ.get("STELLWERK_CACHE", Path.home() / ".cache" / "stellwerk"))
COMPILED = "llama-cpp-python"


def log(message: str) -> None:
    print(f"[bootstrap] {message}", file=sys.stderr, flush=True)


def run(*args: str | Path, env: dict[str, str] | None = None) -> None:
    subprocess.run([str(a) for a in args], check=True, env=env, stdout=sys.stderr)


def split_lock(text: str) -> tuple[str, str]:
    """(lock without the compiled package, the compiled package's own block)."""
    blocks = re.split(r"\n(?=\S)", text)
    rest = [b for b in blocks if not b.startswith(COMPILED + "==")]
    own = [b for b in blocks if b.startswith(COMPILED + "==")]
    return "\n".join(rest) + "\n", "\n".join(own) + "\n"


def compiled_wheel(python: Path, block: str) -> Path:
    """The wheel of the compiled package, built once from its hash-checked source archive."""
    key = hashlib.sha256(block.encode()).hexdigest()[:16]
    wheels = CACHE / "wheels" / f"{COMPILED}-{key}"
    found = sorted(wheels.glob("*.whl"))
    if found:
        return found[0]
    log(f"compiling {COMPILED} once (a few minutes on 2 cores); kept in {wheels}")
    with tempfile.TemporaryDirectory() as tmp:
        req = Path(tmp) / "req.txt"
        req.write_text(block)
        src = Path(tmp) / "src"
        run(
            python,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            "--require-hashes",
            "-r",
            req,
            "-d",
            src,
        )
        out = Path(tmp) / "wheel"
        env = {**os.environ, "CMAKE_BUILD_PARALLEL_LEVEL": str(os.cpu_count() or 2)}
        archive = next(src.iterdir())
        run(python, "-m", "pip", "wheel", "--no-deps", archive, "-w", out, env=env)
        wheels.mkdir(parents=True, exist_ok=True)
        for wheel in out.glob("*.whl"):
            shutil.copy2(wheel, wheels / wheel.name)
    return sorted(wheels.glob("*.whl"))[0]


def main() -> None:
    text = LOCK.read_text()
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    key = hashlib.sha256((text + version).encode()).hexdigest()[:12]
    venv = Path(os.environ.get("STELLWERK_VENV", CACHE / f"venv-{key}"))
    venv.parent.mkdir(parents=True, exist_ok=True)
    with (venv.parent / f"{venv.name}.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another checkout's ./run may be setting it up now
        set_up(venv, text, key)
    print(venv)


def set_up(venv: Path, text: str, key: str) -> None:
    """The virtual environment at ``venv`` made from the lock file (once) and this checkout
    installed in it (every time: the shared venv runs the checkout that set it up last)."""
    python = venv / "bin" / "python"
    if not (venv / ".complete").exists():
        log(f"creating {venv}")
        shutil.rmtree(venv, ignore_errors=True)
        run(sys.executable, "-m", "venv", venv)
        rest, own = split_lock(text)
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
            handle.write(rest)
        run(
            python, "-m", "pip", "install", "-q", "--no-deps", "--require-hashes", "-r", handle.name
        )
        Path(handle.name).unlink()
        if own.strip():
            wheel = compiled_wheel(python, own)
            run(python, "-m", "pip", "install", "-q", "--no-deps", wheel)
        (venv / ".complete").write_text(key + "\n")
    run(python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e", ROOT)


if __name__ == "__main__":
    main()
