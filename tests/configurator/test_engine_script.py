"""The Ollama engine script that ``stellwerk init`` writes, run with bash as a user runs it.

No Ollama is installed here: a stand-in ``ollama`` on ``PATH`` records every call and does what
the real command does on the network, on a free port standing for Ollama's 11434: ``list`` asks
the server (``GET /api/tags``) and fails unless an Ollama answers, ``serve`` binds the port (or
fails, "address already in use", as the real one does) and answers there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from threading import Thread

import pytest
from typer.testing import CliRunner

from stellwerk.cli.main import build_app
from stellwerk.config import load_config
from tests.fixtures.gateway import free_port

FAKE_OLLAMA = """\
import json, os, sys, urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

port = int(os.environ["FAKE_OLLAMA_PORT"])
with open(os.environ["FAKE_OLLAMA_LOG"], "a") as log:
    call = {"argv": sys.argv[1:], "OLLAMA_HOST": os.environ.get("OLLAMA_HOST"),
            "OLLAMA_CONTEXT_LENGTH": os.environ.get("OLLAMA_CONTEXT_LENGTH")}
    log.write(json.dumps(call) + "\\n")
command = sys.argv[1]
if command == "list":
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/tags", timeout=5)
    except OSError:
        print("Error: could not connect to ollama server", file=sys.stderr)
        sys.exit(1)
elif command == "serve":
    class Tags(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"models": []}')
            self.server.answered = True
        def log_message(self, *args):
            pass
    try:
        server = HTTPServer(("127.0.0.1", port), Tags)
    except OSError:
        print(f"Error: listen tcp 127.0.0.1:{port}: bind: address already in use",
              file=sys.stderr)
        sys.exit(1)
    server.answered = False
    while not server.answered:  # the script's wait ends when this server has answered once
        server.handle_request()
"""


class _Answer(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.end_headers()
        self.wfile.write(b'{"models": []}')

    def log_message(self, *args: object) -> None:
        pass


class _NotOllama(_Answer):
    status = 404


@pytest.fixture
def script(tmp_path: Path) -> Path:
    out = tmp_path / "stellwerk.yaml"
    argv = ["init", "--engine", "ollama", "--gpu-memory", "24", "--context", "16384"]
    result = CliRunner().invoke(build_app(), [*argv, "--output", str(out), "--no-interactive"])
    assert result.exit_code == 0, result.output
    return tmp_path / "stellwerk-engine.sh"


@pytest.fixture
def port() -> int:
    return free_port()


def _serving(port: int, handler: type[BaseHTTPRequestHandler]) -> Iterator[None]:
    server = HTTPServer(("127.0.0.1", port), handler)
    Thread(target=server.serve_forever, daemon=True).start()
    yield
    server.shutdown()
    server.server_close()


@pytest.fixture
def ollama_running(port: int) -> Iterator[None]:
    """An Ollama already running on the port (the Linux installer's system service)."""
    yield from _serving(port, _Answer)


@pytest.fixture
def other_server(port: int) -> Iterator[None]:
    """Something that is not Ollama holding the port."""
    yield from _serving(port, _NotOllama)


def _run(script: Path, port: int) -> tuple[subprocess.CompletedProcess[str], list[dict[str, str]]]:
    bin_dir = script.parent / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "ollama"
    fake.write_text(f"#!{sys.executable}\n{FAKE_OLLAMA}")
    fake.chmod(0o755)
    log = script.parent / "calls.jsonl"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_OLLAMA_PORT": str(port),
        "FAKE_OLLAMA_LOG": str(log),
        "OLLAMA_HOST": "elsewhere:1",  # a user's own setting does not send the pulls elsewhere
    }
    # the timeout only ends a script that would wait forever; no time is asserted
    done = subprocess.run(
        ["bash", str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return done, calls


def _commands(calls: list[dict[str, str]]) -> list[str]:
    return [call["argv"][0] for call in calls]


@pytest.mark.usefixtures("ollama_running")
def test_a_running_ollama_is_used_not_started_again(script: Path, port: int) -> None:
    """An Ollama service answering already: a second ``ollama serve`` would fail ("address
    already in use"); the script pulls into the running one and says what it expects of it."""
    done, calls = _run(script, port)
    assert done.returncode == 0, done.stderr
    assert "serve" not in _commands(calls)
    assert _commands(calls)[0] == "list"
    assert {c["OLLAMA_HOST"] for c in calls} == {"127.0.0.1:11434"}
    pulls = [c["argv"][1] for c in calls if c["argv"][0] == "pull"]
    written = load_config(script.with_name("stellwerk.yaml")).models
    assert pulls == [m.upstream for m in written]
    assert "using the Ollama server already running on port 11434" in done.stderr
    assert "OLLAMA_CONTEXT_LENGTH=16384" in done.stderr
    assert "address already in use" not in done.stderr


def test_without_a_running_ollama_the_script_starts_one(script: Path, port: int) -> None:
    done, calls = _run(script, port)
    assert done.returncode == 0, done.stderr
    (serve,) = [c for c in calls if c["argv"][0] == "serve"]
    assert serve["OLLAMA_HOST"] == "127.0.0.1:11434"
    assert serve["OLLAMA_CONTEXT_LENGTH"] == "16384"
    order = _commands(calls)
    assert order.index("serve") < order.index("pull")
    assert "already running" not in done.stderr


@pytest.mark.usefixtures("other_server")
def test_a_server_that_stops_before_it_answers_stops_the_script(script: Path, port: int) -> None:
    """The port held by something that is not Ollama: ``ollama serve`` fails; the script said
    nothing and waited for it forever."""
    done, calls = _run(script, port)
    assert done.returncode == 1
    assert "ollama serve stopped before it answered on port 11434" in done.stderr
    assert "pull" not in _commands(calls)
