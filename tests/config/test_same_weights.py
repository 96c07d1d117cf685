"""Which catalog ids serve the same weights (stellwerk.config.weights): the same server and the
same upstream name, however the config spells them; ``stellwerk config check`` and ``stellwerk
serve`` warn, naming the ids and the facts, when their data owner or lifecycle differs, and
refuse the config (as ``create_app`` does) when their hosting differs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from stellwerk.cli.main import build_app
from stellwerk.config import StellwerkConfig, parse_config
from stellwerk.config.weights import same_weights
from stellwerk.errors import ConfigError
from stellwerk.gateway import create_app
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
        (_at("http://127.0.0.1:18151", "e"), _at("http://[::ffff:127.0.0.1]:18151", "e")),
        (_at("http://10.0.0.7:8000", "e"), _at("http://[::FFFF:a00:7]:8000", "e")),
        (_at("http://127.0.0.1:18151", "e"), _at("http://0x7f.0.0.1:18151", "e")),
        (_at("http://localhost:18151", "e"), _at("http://0177.000.0.01:18151", "e")),
        (_at("http://127.0.0.1:18151", "e"), _at("http://127.1:18151", "e")),
        (_at("http://10.0.0.7:8000", "e"), _at("http://167772167:8000", "e")),
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
        "ipv4-mapped-ipv6-loopback",
        "ipv4-mapped-ipv6-hex",
        "inet-aton-hex",
        "inet-aton-octal",
        "inet-aton-short",
        "inet-aton-one-number",
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
        (_at("http://10.0.0.7:8000", "e"), _at("http://[::ffff:a00:8]:8000", "e")),
        (_at("http://0.0.250.206:8000", "e"), _at("http://face:8000", "e")),
        (_at("http://0.0.0.1:8000", "e"), _at("http://1e:8000", "e")),
    ],
    ids=[
        "name",
        "port",
        "host",
        "ollama-tag",
        "other-loopback-address",
        "path",
        "ipv6",
        "other-ipv4-mapped-address",
        "hex-looking-name",
        "number-looking-name",
    ],
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


@pytest.mark.parametrize(
    "spelt",
    [
        "http://localhost.:18151//./v1",
        "http://[::ffff:127.0.0.1]:18151/v1",
        "http://0x7f.0.0.1:18151/v1",
    ],
    ids=["localhost-dot-path", "ipv4-mapped-ipv6", "inet-aton-hex"],
)
def test_config_check_sees_one_server_through_another_spelling_of_its_address(
    tmp_path: Path, spelt: str
) -> None:
    """The walkers' cases: the second id's backend names the same server as ``localhost`` with a
    ``/./`` in its path, as an IPv4-mapped IPv6 address, or in hex (walk18); consent was escaped
    that way, and no warning was given."""
    first = {**OPENAI_BACKEND, "name": "a", "base_url": "http://127.0.0.1:18151/v1"}
    second = {**OPENAI_BACKEND, "name": "b", "base_url": spelt}
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
    path = _aliased(tmp_path, lifecycle="retired")  # a rename: the old id retired
    text = path.read_text() + f"server:\n  database_url: sqlite:///{tmp_path}\n"
    path.write_text(text)
    answer = CliRunner().invoke(build_app(), ["serve", "--config", str(path)])
    assert answer.exit_code == 2, answer.output
    assert (
        "warning: models mistral-3-8b and expert-copy serve the same weights ('ministral-3:8b'"
        " at http://127.0.0.1:11434) but their governance differs: lifecycle (mistral-3-8b:"
        " approved, expert-copy: retired)"
    ) in answer.stderr
    assert "error:" in answer.stderr


#: the same weights as MINIMAL's model, through a second backend entry for its server
SAME_SERVER = {"name": "ollama-2", "kind": "ollama", "base_url": "http://127.0.0.1:11434/"}


def _split(hosting: str | None) -> dict[str, Any]:
    """MINIMAL's model (on premises) and a second id of its weights, through another backend
    entry of the same server, with ``hosting`` (None: not stated)."""
    expert = {**STATED, "data_owner": "it"}
    upstream = "registry.ollama.ai/library/ministral-3:8b"  # Ollama's long name of the same
    copy = {**expert, "id": "expert-copy", "backend": "ollama-2", "upstream": upstream}
    del copy["hosting"]
    if hosting is not None:
        copy["hosting"] = hosting
    return {**MINIMAL, "backends": [*MINIMAL["backends"], SAME_SERVER], "models": [expert, copy]}


SPLIT = {
    "eu_cloud": (
        "models.0.hosting, models.1.hosting: models mistral-3-8b (on_prem) and expert-copy"
        " (eu_cloud) serve the same weights ('ministral-3:8b' at http://127.0.0.1:11434)"
        " but state different hosting. One server is in one place: through the id with the"
        " more trusted hosting, data that the other's hosting forbids would reach these"
        " weights. Give them the same hosting, or point them at different servers"
        " (docs/config.md, Models that serve the same weights)"
    ),
    None: (
        "models.0.hosting, models.1.hosting: models mistral-3-8b (on_prem) and expert-copy"
        " (not stated) serve the same weights ('ministral-3:8b' at"
        " http://127.0.0.1:11434) but state different hosting (expert-copy states none: the"
        " least trusted location). One server is in one place"
    ),
}


@pytest.mark.parametrize("hosting", list(SPLIT), ids=["stated", "unstated"])
def test_config_check_refuses_ids_of_the_same_weights_with_different_hosting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hosting: str | None
) -> None:
    """One server is in one place: two locations stated for it (or one stated, one left to the
    least trusted) make the config invalid, named with both ids, both values and the fix."""
    monkeypatch.setenv("IT_KEY", "sk-it-0123456789")
    path = write(tmp_path, _split(hosting))
    answer = CliRunner().invoke(build_app(), ["config", "check", str(path)])
    assert answer.exit_code == 2, answer.output
    assert "valid (" not in answer.stdout
    assert answer.stderr.startswith(f"error: {path}: invalid config:\n  {SPLIT[hosting]}"), (
        answer.stderr
    )
    agreed = write(tmp_path, _split("on_prem"))
    answer = CliRunner().invoke(build_app(), ["config", "check", str(agreed)])
    assert answer.exit_code == 0 and "warning" not in answer.output, answer.output


def test_serve_refuses_ids_of_the_same_weights_with_different_hosting_at_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused at load, before the ledger: the ledger named here (a folder) would end the start
    with its own error line after it, not with the server running."""
    monkeypatch.setenv("IT_KEY", "sk-it-0123456789")
    raw = {**_split("eu_cloud"), "server": {"database_url": f"sqlite:///{tmp_path}"}}
    path = write(tmp_path, raw)
    answer = CliRunner().invoke(build_app(), ["serve", "--config", str(path)])
    assert answer.exit_code == 2, answer.output
    assert answer.stderr.startswith(f"error: {path}: invalid config:\n  {SPLIT['eu_cloud']}"), (
        answer.stderr
    )
    assert "ledger" not in answer.stderr


def test_create_app_refuses_a_config_built_in_code_with_different_hosting() -> None:
    """A config validated by the model alone (``StellwerkConfig.model_validate``, as code that
    embeds the gateway may build one) has not been through ``parse_config``: the app refuses
    it when it is built, not at its start."""
    config = StellwerkConfig.model_validate(_split("non_eu_cloud"))
    with pytest.raises(ConfigError) as refused:
        create_app(config, environ={"IT_KEY": "sk-it-0123456789"})
    assert str(refused.value).startswith(
        "<config>: invalid config:\n  models.0.hosting, models.1.hosting: models mistral-3-8b"
        " (on_prem) and expert-copy (non_eu_cloud) serve the same weights"
    ), refused.value


def test_every_group_that_states_different_hosting_is_named_and_unstated_alike_is_valid() -> None:
    """Three ids of one server's weights, two of them agreeing, and a second pair: each group is
    one line. Ids that all leave hosting unstated agree (the least trusted location for all)."""
    models = [
        {**STATED, "id": "a", "hosting": "on_prem"},
        {**STATED, "id": "b", "hosting": "on_prem"},
        {**STATED, "id": "c", "hosting": "eu_cloud"},
        {**STATED, "id": "d", "upstream": "other", "hosting": "eu_cloud"},
        {**STATED, "id": "e", "upstream": "other"},
    ]
    del models[4]["hosting"]
    with pytest.raises(ConfigError) as refused:
        parse_config({**MINIMAL, "models": models}, source="s.yaml")
    lines = str(refused.value).splitlines()
    assert lines[0] == "s.yaml: invalid config:"
    assert lines[1].startswith(
        "  models.0.hosting, models.1.hosting, models.2.hosting: models a (on_prem), b (on_prem)"
        " and c (eu_cloud) serve the same weights ('ministral-3:8b' at http://127.0.0.1:11434)"
        " but state different hosting. One server"
    ), lines[1]
    assert lines[2].startswith(
        "  models.3.hosting, models.4.hosting: models d (eu_cloud) and e (not stated) serve the"
        " same weights ('other:latest' at http://127.0.0.1:11434) but state different hosting"
        " (e states none: the least trusted location)."
    ), lines[2]
    assert len(lines) == 3
    unstated = [{**m, "hosting": None} for m in models[3:]]
    assert len(parse_config({**MINIMAL, "models": unstated}).models) == 2
