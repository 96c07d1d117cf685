"""A real llama.cpp server (llama-cpp-python's ``python -m llama_cpp.server``) as a subprocess.

Used by ``stellwerk demo`` and by the test fixtures: write a multi-model config file, start the
server on a free loopback port, wait until ``GET /v1/models`` answers, stop it cleanly.

    with running_llama_server(demo_models(folder), workdir=folder) as server:
        httpx.get(f"{server.base_url}/v1/models")

or, where a context manager does not fit (a pytest fixture, a CLI that serves until interrupted),
``start_llama_server(...)`` and ``stop_llama_server(server)``.

llama-cpp-python is the optional extra ``stellwerk[demo]``; without it (or without its ``server``
extra) starting fails with a ``DemoBackendError`` that says how to install it.

Behaviour of that server worth knowing (see docs/backends-llamacpp.md): it holds one model in
memory at a time (asking for another alias unloads the current one and loads the other), it
serves one request at a time, and a model name it does not know is answered by the first model.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from stellwerk.demo.tiny_gguf import SIZES, write_tiny_model
from stellwerk.errors import DemoBackendError

#: Modules ``python -m llama_cpp.server`` imports: llama-cpp-python and its ``server`` extra.
_REQUIRED_MODULES = (
    "llama_cpp",
    "uvicorn",
    "sse_starlette",
    "starlette_context",
    "pydantic_settings",
)
#: Environment variables the server reads over its config file; never inherited.
_OVERRIDING_ENV = ("HOST", "PORT", "CONFIG_FILE", "MODEL")
_INSTALL_HINT = (
    "install the demo extra: pip install 'stellwerk[demo]' "
    "(llama-cpp-python[server]; it compiles llama.cpp, about 4 minutes on 2 cores)"
)
_PORT_ATTEMPTS = 3
#: Alias under which ``demo_models`` serves the small model with embeddings on.
EMBEDDING_ALIAS = "tiny-embed"
_LOG_TAIL_CHARS = 2000


@dataclass(frozen=True, slots=True)
class ServedModel:
    """One model of the server: the GGUF file and the alias clients name it by."""

    alias: str
    path: Path
    n_ctx: int = 1024
    embedding: bool = False


@dataclass(frozen=True, slots=True)
class LlamaServer:
    """A running server; ``base_url`` has no ``/v1`` suffix (``http://127.0.0.1:PORT``)."""

    base_url: str
    models: tuple[ServedModel, ...]
    process: subprocess.Popen[bytes]
    config_path: Path
    log_path: Path

    @property
    def aliases(self) -> tuple[str, ...]:
        return tuple(model.alias for model in self.models)

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])


def demo_models(folder: Path, *, n_ctx: int = 1024) -> list[ServedModel]:
    """Write the three demo sizes into ``folder`` and describe them for the server.

    Aliases: ``tiny-small``, ``tiny-medium``, ``tiny-large`` (chat) and ``tiny-embed`` (the small
    file loaded with embeddings on, for ``/v1/embeddings``). The first one is the server's
    default, which also answers for model names the server does not know.
    """
    served = [
        ServedModel(spec.name, write_tiny_model(spec, folder / f"{spec.name}.gguf"), n_ctx)
        for spec in SIZES.values()
    ]
    served.append(ServedModel(EMBEDDING_ALIAS, served[0].path, n_ctx, embedding=True))
    return served


def check_installed() -> None:
    """Raise ``DemoBackendError`` if llama-cpp-python or its server extra is missing."""
    missing = [name for name in _REQUIRED_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise DemoBackendError(
            f"the llama.cpp server is not available (missing Python modules: "
            f"{', '.join(missing)}): {_INSTALL_HINT}"
        )


def server_config(
    models: Sequence[ServedModel],
    *,
    host: str,
    port: int,
    threads: int = 1,
    interrupt_requests: bool = False,
) -> dict[str, object]:
    """The ``--config_file`` content for llama-cpp-python's server (pure; tested on its own)."""
    if not models:
        raise DemoBackendError("the llama.cpp server needs at least one model")
    aliases = [model.alias for model in models]
    duplicates = sorted({alias for alias in aliases if aliases.count(alias) > 1})
    if duplicates:
        raise DemoBackendError(f"model aliases must be unique, repeated: {', '.join(duplicates)}")
    return {
        "host": host,
        "port": port,
        # True would end a running stream as soon as another request waits: never for a gateway.
        "interrupt_requests": interrupt_requests,
        "models": [
            {
                "model": str(model.path),
                "model_alias": model.alias,
                "n_ctx": model.n_ctx,
                "n_batch": min(512, model.n_ctx),
                "n_threads": threads,
                "n_threads_batch": threads,
                "embedding": model.embedding,
                "verbose": False,
            }
            for model in models
        ],
    }


def start_llama_server(
    models: Sequence[ServedModel],
    *,
    workdir: Path,
    port: int | None = None,
    host: str = "127.0.0.1",
    threads: int = 1,
    interrupt_requests: bool = False,
    startup_timeout_s: float = 60.0,
    python: str | None = None,
) -> LlamaServer:
    """Start the server and return once it answers ``GET /v1/models``.

    ``port=None`` picks a free port (and tries another if it was taken meanwhile). The config
    file and the server's log go into ``workdir``. ``python`` is the interpreter that runs the
    server (default: this one). Raises ``DemoBackendError`` if llama-cpp-python is not installed,
    a model file is missing, or the server does not come up; the message carries the log's end.
    """
    if python is None:
        check_installed()
    for model in models:
        if not model.path.is_file():
            raise DemoBackendError(f"model {model.alias!r}: no such GGUF file: {model.path}")
    workdir.mkdir(parents=True, exist_ok=True)
    attempts = 1 if port is not None else _PORT_ATTEMPTS
    for attempt in range(1, attempts + 1):
        chosen = port if port is not None else free_port(host)
        config = server_config(
            models, host=host, port=chosen, threads=threads, interrupt_requests=interrupt_requests
        )
        server = _launch(config, models, workdir, python or sys.executable)
        try:
            exit_code = _wait_until_ready(server, startup_timeout_s)
        except BaseException:
            stop_llama_server(server)
            raise
        if exit_code is None:
            return server
        if attempt < attempts and _port_in_use(server.log_path):
            continue
        raise DemoBackendError(
            f"the llama.cpp server exited with code {exit_code} before it answered; "
            f"its log ({server.log_path}) ends with:\n{_log_tail(server.log_path)}"
        )
    raise AssertionError("unreachable: the last attempt returns or raises")


def stop_llama_server(server: LlamaServer, *, timeout_s: float = 10.0) -> int:
    """Stop the server: SIGTERM, then SIGKILL after ``timeout_s``. Returns its exit code."""
    process = server.process
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout_s)
    return process.returncode


@contextmanager
def running_llama_server(
    models: Sequence[ServedModel],
    *,
    workdir: Path,
    port: int | None = None,
    host: str = "127.0.0.1",
    threads: int = 1,
    interrupt_requests: bool = False,
    startup_timeout_s: float = 60.0,
) -> Iterator[LlamaServer]:
    """``start_llama_server`` ... ``stop_llama_server`` as a context manager."""
    server = start_llama_server(
        models,
        workdir=workdir,
        port=port,
        host=host,
        threads=threads,
        interrupt_requests=interrupt_requests,
        startup_timeout_s=startup_timeout_s,
    )
    try:
        yield server
    finally:
        stop_llama_server(server)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _launch(
    config: dict[str, object], models: Sequence[ServedModel], workdir: Path, python: str
) -> LlamaServer:
    port = config["port"]
    config_path = workdir / f"llama-server-{port}.json"
    config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    log_path = workdir / f"llama-server-{port}.log"
    env = {key: value for key, value in os.environ.items() if key not in _OVERRIDING_ENV}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [python, "-m", "llama_cpp.server", "--config_file", str(config_path)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
        )
    return LlamaServer(
        base_url=f"http://{config['host']}:{port}",
        models=tuple(models),
        process=process,
        config_path=config_path,
        log_path=log_path,
    )


def _wait_until_ready(server: LlamaServer, timeout_s: float) -> int | None:
    """None once the server answers; its exit code if it ended before that."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2.0) as client:
        while True:
            code = server.process.poll()
            if code is not None:
                return code
            try:
                if client.get(f"{server.base_url}/v1/models").status_code == 200:
                    return None
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise DemoBackendError(
                    f"the llama.cpp server did not answer within {timeout_s:g} s at "
                    f"{server.base_url}; its log ({server.log_path}) ends with:\n"
                    f"{_log_tail(server.log_path)}"
                )
            time.sleep(0.05)


def _log_tail(log_path: Path) -> str:
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"<log unreadable: {exc.strerror}>"
    return text[-_LOG_TAIL_CHARS:].strip() or "<empty>"


def _port_in_use(log_path: Path) -> bool:
    return "address already in use" in _log_tail(log_path).lower()
