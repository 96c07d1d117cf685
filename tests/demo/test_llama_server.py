"""Starting and stopping the real llama.cpp server, and its failures, each with a clear error."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import httpx
import pytest

from stellwerk.demo.llama_server import (
    ServedModel,
    running_llama_server,
    server_config,
    start_llama_server,
)
from stellwerk.demo.tiny_gguf import SIZES, write_tiny_model
from stellwerk.errors import DemoBackendError
from tests.fixtures.llama import require_llama


@pytest.fixture
def small_model(tmp_path: Path) -> ServedModel:
    return ServedModel("only", write_tiny_model(SIZES["small"], tmp_path / "small.gguf"), 256)


@pytest.fixture
def installed(request: pytest.FixtureRequest) -> None:
    """Skip (or fail with --llama-required) when llama-cpp-python is missing."""
    require_llama(request.config)


def test_config_names_every_model_with_one_thread(small_model: ServedModel) -> None:
    embed = ServedModel("embed", small_model.path, 512, embedding=True)
    config = server_config([small_model, embed], host="127.0.0.1", port=8123)
    assert config["port"] == 8123
    assert config["interrupt_requests"] is False
    models = config["models"]
    assert isinstance(models, list)
    assert [(m["model_alias"], m["n_ctx"], m["embedding"]) for m in models] == [
        ("only", 256, False),
        ("embed", 512, True),
    ]
    assert {(m["n_threads"], m["n_threads_batch"]) for m in models} == {(1, 1)}


def test_config_refuses_repeated_aliases_and_no_models(small_model: ServedModel) -> None:
    with pytest.raises(DemoBackendError, match="repeated: only"):
        server_config([small_model, small_model], host="127.0.0.1", port=1)
    with pytest.raises(DemoBackendError, match="at least one model"):
        server_config([], host="127.0.0.1", port=1)


def test_missing_llama_cpp_python_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, small_model: ServedModel, tmp_path: Path
) -> None:
    # A None entry in sys.modules is how Python marks a module as not importable.
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    with pytest.raises(DemoBackendError, match=r"missing Python modules: llama_cpp") as caught:
        start_llama_server([small_model], workdir=tmp_path / "run")
    assert "pip install 'stellwerk[demo]'" in str(caught.value)
    assert not (tmp_path / "run").exists()


def test_missing_model_file_is_named(tmp_path: Path) -> None:
    ghost = ServedModel("ghost", tmp_path / "nowhere.gguf")
    with pytest.raises(DemoBackendError, match=r"model 'ghost': no such GGUF file: .*nowhere"):
        start_llama_server([ghost], workdir=tmp_path, python=sys.executable)


@pytest.mark.llama
def test_server_answers_then_stops_and_frees_the_port(
    installed: None, small_model: ServedModel, tmp_path: Path
) -> None:
    with running_llama_server([small_model], workdir=tmp_path) as server:
        models = httpx.get(f"{server.base_url}/v1/models").json()
        assert [entry["id"] for entry in models["data"]] == ["only"]
        assert server.base_url == f"http://127.0.0.1:{server.port}"
    assert server.process.returncode is not None
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.base_url}/v1/models")


@pytest.mark.llama
def test_a_file_that_is_no_gguf_fails_with_the_server_log(installed: None, tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"this is not a model")
    with pytest.raises(DemoBackendError, match="exited with code") as caught:
        start_llama_server([ServedModel("broken", broken)], workdir=tmp_path)
    message = str(caught.value)
    assert "llama-server-" in message  # names the log file
    assert "broken.gguf" in message  # the log tail shows what the server tried to load


@pytest.mark.llama
def test_a_port_in_use_is_reported(
    installed: None, small_model: ServedModel, tmp_path: Path
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(DemoBackendError, match=r"(?i)address already in use"):
            start_llama_server([small_model], workdir=tmp_path, port=port)
