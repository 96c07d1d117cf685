"""The servers a benchmark compares, each started as its own process on loopback:

* the instant backend (``benchmarks/instant_backend.py``) or the real llama.cpp server;
* Stellwerk: ``stellwerk serve --config FILE`` (one process, uvloop + httptools), SQLite ledger
  in the run's temp folder, router ``first``, one named model;
* LiteLLM's proxy from PyPI in its own virtualenv (one worker, no database), same backend.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from benchmarks.procs import Server, free_port, start_server

ROOT = Path(__file__).resolve().parent.parent
LITELLM_VERSION = "1.106.2"
LITELLM_HOME = Path("/root/.cache/stellwerk")
#: The model name clients ask for, at every target; the backend knows it as ``UPSTREAM``.
MODEL = "bench-model"
UPSTREAM = "bench-upstream"
#: The key clients send: Stellwerk and LiteLLM check it, the backend ignores it.
API_KEY = "sk-bench-0123456789abcdef0123456789abcdef"


@dataclass(frozen=True)
class Backend:
    """Where the targets send their requests: base URL without ``/v1`` and the model name."""

    name: str
    url: str
    upstream: str


def start_instant(log_dir: Path, workers: int) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "benchmarks.instant_backend", "--port", str(port)]
    argv += ["--workers", str(workers)]
    return start_server(
        "instant", argv, port=port, ready_path="/v1/models", log_dir=log_dir, cwd=ROOT
    )


def stellwerk_config(backend: Backend, folder: Path, port: int) -> Path:
    config = {
        "server": {
            "host": "127.0.0.1",
            "port": port,
            "database_url": f"sqlite:///{folder / 'ledger.db'}",
            # one key makes all the load: its in-flight cap (32) must not refuse the 50 clients
            "limits": {"max_in_flight_per_key": 1024},
        },
        "backends": [{"name": backend.name, "kind": "openai", "base_url": backend.url + "/v1"}],
        "models": [
            {
                "id": MODEL,
                "backend": backend.name,
                "upstream": backend.upstream,
                "params_b": 1,
                "size_class": "small",
                "hosting": "on_prem",
            }
        ],
        "departments": [
            {
                "name": "bench",
                "keys": [
                    {"id": "bench-1", "key_sha256": hashlib.sha256(API_KEY.encode()).hexdigest()}
                ],
            }
        ],
        "router": {"kind": "first"},
    }
    path = folder / "stellwerk.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def start_stellwerk(
    backend: Backend, folder: Path, src: Path = ROOT / "src", name: str = "stellwerk"
) -> Server:
    """``stellwerk serve`` from the source tree ``src`` (this checkout's by default)."""
    port = free_port()
    config = stellwerk_config(backend, folder, port)
    argv = [sys.executable, "-m", "stellwerk", "serve", "--config", str(config)]
    argv += ["--log-level", "warning"]
    env = {"PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])}
    return start_server(
        name, argv, port=port, ready_path="/healthz", log_dir=folder, env=env, cwd=folder
    )


def litellm_python(install: bool = True) -> Path | None:
    """The python of LiteLLM's own virtualenv, created (pip install) when missing and allowed."""
    venv = LITELLM_HOME / f"litellm-{LITELLM_VERSION}"
    python = venv / "bin" / "python"
    if (venv / "bin" / "litellm").exists():
        return python
    if not install:
        return None
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", f"litellm[proxy]=={LITELLM_VERSION}"],
        check=True,
    )
    return python


def litellm_config(backend: Backend, folder: Path) -> Path:
    config = {
        "model_list": [
            {
                "model_name": MODEL,
                "litellm_params": {
                    "model": f"openai/{backend.upstream}",
                    "api_base": backend.url + "/v1",
                    "api_key": "sk-unused",
                },
            }
        ],
        "litellm_settings": {"telemetry": False, "drop_params": True},
    }
    path = folder / "litellm.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def start_litellm(backend: Backend, folder: Path, python: Path) -> Server:
    port = free_port()
    config = litellm_config(backend, folder)
    argv = [str(python.parent / "litellm"), "--config", str(config), "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--num_workers", "1"]
    env: dict[str, str | None] = {
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no fetch from GitHub at start-up
        "LITELLM_LOG": "ERROR",
        "LITELLM_TELEMETRY": "False",
        "LITELLM_MASTER_KEY": API_KEY,  # it authenticates the same key, as Stellwerk does
        "DATABASE_URL": None,
        "PYTHONPATH": None,
    }
    return start_server(
        "litellm",
        argv,
        port=port,
        ready_path="/health/liveliness",
        log_dir=folder,
        env=env,
        cwd=folder,
        timeout_s=180,
    )


#: The demo's small tiny model: the alias the real llama.cpp server knows.
LLAMA_MODEL = "tiny-small"


def start_llama(folder: Path) -> Server:
    """The real llama.cpp server (llama-cpp-python) on the demo's tiny generated models."""
    from stellwerk.demo.llama_server import demo_models, start_llama_server

    served = start_llama_server(demo_models(folder), workdir=folder)
    return Server("direct", served.base_url, served.process, served.log_path)
