"""The LocalAI engine script that ``stellwerk init`` writes, run with bash as a user runs it: on
the GPU when GPU memory is given (LocalAI's NVIDIA CUDA image, the GPUs passed into the
container, every layer of each model offloaded), on the CPU otherwise. No Docker is installed
here: a stand-in ``docker`` on ``PATH`` records the command line it is given."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from stellwerk.cli.main import build_app

FAKE_DOCKER = """\
import json, os, sys
with open(os.environ["FAKE_DOCKER_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
"""


def _run(tmp_path: Path, memory: list[str]) -> tuple[list[list[str]], list[str]]:
    """Write the script with ``memory`` (``--gpu-memory`` or ``--ram``) and run it in
    ``tmp_path``: (the docker command lines, the model definitions it wrote)."""
    argv = ["init", "--engine", "localai", *memory, "--output", str(tmp_path / "stellwerk.yaml")]
    written = CliRunner().invoke(build_app(), [*argv, "--no-interactive"])
    assert written.exit_code == 0, written.output
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "docker"
    fake.write_text(f"#!{sys.executable}\n{FAKE_DOCKER}")
    fake.chmod(0o755)
    log = tmp_path / "docker.jsonl"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_DOCKER_LOG": str(log),
        "STELLWERK_ENGINE_KEY": "0123456789abcdef",
    }
    # the timeout only ends a script that would hang; no time is asserted
    done = subprocess.run(
        ["bash", str(tmp_path / "stellwerk-engine.sh")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    models = [p.read_text() for p in sorted((tmp_path / "models").glob("*.yaml"))]
    return calls, models


def test_localai_runs_on_the_gpu_when_gpu_memory_is_given_else_on_the_cpu(tmp_path: Path) -> None:
    for memory, image, gpus in [
        (["--gpu-memory", "16"], "localai/localai:latest-gpu-nvidia-cuda-12", True),
        (["--ram", "32"], "localai/localai:latest", False),
    ]:
        folder = tmp_path / memory[0].strip("-")
        folder.mkdir()
        calls, models = _run(folder, memory)
        (run,) = calls
        assert run[:2] == ["run", "-d"] and run[-1] == image, run
        assert (run[run.index("--gpus") + 1] == "all") if gpus else "--gpus" not in run, run
        assert models
        for definition in models:
            assert ("gpu_layers: 999" in definition) is gpus, definition
            assert ("f16: true" in definition) is gpus, definition
            assert "backend: llama-cpp" in definition
