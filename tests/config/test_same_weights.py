"""Which catalog ids serve the same weights (stellwerk.config.weights): the same server and the
same upstream name, however the config spells them; ``stellwerk config check`` and ``stellwerk
serve`` warn, naming the ids and the facts, when their governance differs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from stellwerk.cli.main import build_app
from stellwerk.config import parse_config
from stellwerk.config.weights import same_weights
from tests.config.test_config import MINIMAL, OPENAI_BACKEND, STATED, write


def _two(first: dict[str, Any], second: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """``same_weights`` of a config of two models, each on a backend of its own."""
    backends = [{"name": f"b{i}", **b} for i, b in enumerate((first, second))]
    models = [
        {**STATED, "id": f"m{i}", "backend": f"b{i}", "upstream": b["upstream"]}
        for i, b in enumerate((first, second))
    ]
    for backend in backends:
        del backend["upstream"]
    return dict(same_weights(parse_config({**MINIMAL, "backends": backends, "models": models})))


def _at(url: str, upstream: str, kind: str = "openai") -> dict[str, Any]:
    return {"kind": kind, "base_url": url, "upstream": upstream}


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (_at("http://gpu-1:8000", "expert"), _at("http://gpu-1:8000/v1", "expert")),
        (_at("http://GPU-1:8000/v1/", "expert"), _at("http://gpu-1:8000", "expert")),
        (_at("http://gpu-1", "expert"), _at("http://gpu-1:80", "expert")),
        (
            _at("http://o:11434", "expert", "ollama"),
            _at("http://o:11434", "expert:latest", "ollama"),
        ),
        (
            _at("http://o:11434", "registry.ollama.ai/library/expert:latest", "ollama"),
            _at("http://o:11434", "expert", "ollama"),
        ),
        (_at("http://127.0.0.1:18151/v1", "e"), _at("http://127.0.0.1:18151/./v1", "e")),
        (_at("http://127.0.0.1:18151/v1", "e"), _at("http://127.0.0.1:18151//v1", "e")),
        (_at("http://h:8000/api/v1", "e"), _at("http://h:8000/api/x/../v1", "e")),
        (_at("http://127.0.0.1:18151/v1", "e"), _at("http://127.0.0.1.:18151/v1", "e")),
        (_at("http://gpu-1:8000", "e"), _at("http://GPU-1.:8000/", "e")),
        (_at("http://127.0.0.1:18151/v1", "e"), _at("http://localhost:18151/v1", "e")),
        (_at("http://localhost:18151", "e"), _at("http://[::1]:18151", "e")),
        (_at("http://LOCALHOST.:18151", "e"), _at("http://127.0.0.1:18151", "e")),
        (_at("http://[FD00::1]:8000", "e"), _at("http://[fd00:0:0:0:0:0:0:1]:8000", "e")),
        (_at("http://o:11434", "e", "ollama"), _at("http://o:11434/./", "e:latest", "ollama")),
    ],
    ids=[
        "v1",
        "case-and-slash",
        "default-port",
        "ollama-tag",
        "ollama-registry",
        "dot-segment",
        "double-slash",
        "dot-dot-segment",
        "trailing-host-dot",
        "name-case-and-dot",
        "localhost-and-127",
        "localhost-and-ipv6-loopback",
        "localhost-dot-case",
        "ipv6-case-and-long-form",
        "ollama-dot-path",
    ],
)
def test_two_backends_of_one_server_serving_one_name_are_the_same_weights(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    assert _two(first, second) == {"m0": ("m1",), "m1": ("m0",)}


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (_at("http://gpu-1:8000", "expert"), _at("http://gpu-1:8000", "expert-2")),
        (_at("http://gpu-1:8000", "expert"), _at("http://gpu-1:8001", "expert")),
        (_at("http://gpu-1:8000", "expert"), _at("http://gpu-2:8000", "expert")),
        (_at("http://o:11434", "expert:8b", "ollama"), _at("http://o:11434", "expert", "ollama")),
        (_at("http://127.0.0.1:8000", "e"), _at("http://127.0.0.2:8000", "e")),
        (_at("http://h:8000/a/v1", "e"), _at("http://h:8000/b/v1", "e")),
        (_at("http://[fd00::1]:8000", "e"), _at("http://[fd00::2]:8000", "e")),
    ],
    ids=["name", "port", "host", "ollama-tag", "other-loopback-address", "path", "ipv6"],
)
def test_another_server_or_name_is_other_weights(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    assert _two(first, second) == {}


def _aliased(tmp_path: Path, **facts: Any) -> Path:
    """MINIMAL with a second id of its model's weights, ``facts`` changed on the second."""
    expert = {**STATED, "data_owner": "it"}
    raw = {**MINIMAL, "models": [expert, {**expert, "id": "expert-copy", **facts}]}
    return write(tmp_path, raw)


def test_config_check_warns_of_ids_of_the_same_weights_whose_governance_differs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IT_KEY", "sk-it-0123456789")
    path = _aliased(tmp_path, data_owner=None, lifecycle="proposed")
    answer = CliRunner().invoke(build_app(), ["config", "check", str(path)])
    assert answer.exit_code == 0, answer.output  # a warning: the file is valid
    assert ": valid (1 backends, 2 models" in answer.stdout
    (warning,) = [line for line in answer.stderr.splitlines() if "same weights" in line]
    assert warning.startswith(
        "warning: models mistral-3-8b and expert-copy serve the same weights ('ministral-3:8b'"
        " at http://127.0.0.1:11434) but their governance differs: data_owner (mistral-3-8b:"
        " it, expert-copy: none); lifecycle (mistral-3-8b: approved, expert-copy: proposed)."
        " A data owner's withdrawal of consent holds for all of them"
    ), warning
    same = CliRunner().invoke(build_app(), ["config", "check", str(_aliased(tmp_path))])
    assert same.exit_code == 0 and "warning" not in same.output, same.output


def test_config_check_sees_one_server_through_another_spelling_of_its_address(
    tmp_path: Path,
) -> None:
    """The walker's case: the second id's backend names the same server as ``localhost`` with a
    ``/./`` in its path; consent was escaped that way, and no warning was given."""
    first = {**OPENAI_BACKEND, "name": "a", "base_url": "http://127.0.0.1:18151/v1"}
    second = {**OPENAI_BACKEND, "name": "b", "base_url": "http://localhost.:18151//./v1"}
    expert = {**STATED, "backend": "a", "data_owner": "it"}
    models = [expert, {**STATED, "id": "expert-copy", "backend": "b"}]
    path = write(tmp_path, {**MINIMAL, "backends": [first, second], "models": models})
    answer = CliRunner().invoke(
        build_app(), ["config", "check", str(path)], env={"IT_KEY": "sk-it-0123456789"}
    )
    assert answer.exit_code == 0, answer.output
    assert (
        "warning: models mistral-3-8b and expert-copy serve the same weights ('ministral-3:8b'"
        " at http://127.0.0.1:18151) but their governance differs: data_owner (mistral-3-8b:"
        " it, expert-copy: none)"
    ) in answer.stderr, answer.stderr


def test_serve_warns_at_start_of_ids_of_the_same_weights_whose_governance_differs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The warning comes before the ledger is opened: a ledger that cannot be opened (here a
    folder) ends the start after it, with no server."""
    monkeypatch.setenv("IT_KEY", "sk-it-0123456789")
    path = _aliased(tmp_path, hosting="non_eu_cloud")
    text = path.read_text() + f"server:\n  database_url: sqlite:///{tmp_path}\n"
    path.write_text(text)
    answer = CliRunner().invoke(build_app(), ["serve", "--config", str(path)])
    assert answer.exit_code == 2, answer.output
    assert (
        "warning: models mistral-3-8b and expert-copy serve the same weights ('ministral-3:8b'"
        " at http://127.0.0.1:11434) but their governance differs: hosting (mistral-3-8b:"
        " on_prem, expert-copy: non_eu_cloud)"
    ) in answer.stderr
    assert "error:" in answer.stderr
