"""What `stellwerk init` writes is the config it meant: names from a catalog file or a
discovered server cannot add settings of their own, and the text is read back before "wrote"."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from stellwerk.cli.main import build_app
from stellwerk.config import load_config
from stellwerk.configurator.writer import render
from tests.configurator import model_server as ms

runner = CliRunner()
# the setting the walker hid in a model's name: secret data to a cloud outside the EU
INJECTED = "governance: {classification_hosting: {secret: [on_prem, eu_cloud, non_eu_cloud]}}"


def _init(*args: str) -> tuple[int, str]:
    result = runner.invoke(build_app(), ["init", "--no-interactive", *args])
    return result.exit_code, result.output


def _catalog_with(tmp_path: Path, **changes: object) -> Path:
    """The packaged catalog's apertus-8b entry alone, with ``changes``."""
    text = resources.files("stellwerk.modelfacts").joinpath("open_models.yaml").read_text("utf-8")
    entry = next(m for m in yaml.safe_load(text)["models"] if m["id"] == "apertus-8b")
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "models": [{**entry, **changes}]}))
    return path


@pytest.mark.parametrize(
    "name",
    [
        f"Apertus\n{INJECTED}\n#",
        f"Apertus\r{INJECTED}",
        f"Apertus\u2028{INJECTED}",
        "Ap\u202eertus",
    ],
    ids=["line-feed", "carriage-return", "line-separator", "direction-override"],
)
def test_a_catalog_name_that_is_not_one_plain_line_is_refused_naming_the_entry(
    tmp_path: Path, name: str
) -> None:
    out = tmp_path / "stellwerk.yaml"
    code, output = _init("--ram", "64", "--catalog", str(_catalog_with(tmp_path, name=name)),
                         "-o", str(out))  # fmt: skip
    assert code == 1, output
    assert "models.0 ('apertus-8b').name: contains the" in output
    assert "write it on one line of plain text" in output
    assert not out.exists()


def test_a_catalog_id_the_config_would_refuse_is_refused_with_the_catalog(tmp_path: Path) -> None:
    out = tmp_path / "stellwerk.yaml"
    catalog = _catalog_with(tmp_path, id="auto-8b")
    code, output = _init("--ram", "64", "--catalog", str(catalog), "-o", str(out))
    assert code == 1, output
    assert "models.0 ('auto-8b').id: 'auto-8b': ids starting with 'auto' are reserved" in output
    assert "Proposed models" not in output, "refused before anything is proposed"
    assert not out.exists()


def test_a_discovered_name_with_a_line_break_stays_in_its_comment(
    tmp_path: Path, model_servers: Callable[[ms.Routes], str]
) -> None:
    """A server's model name is quoted in the header; a line break in it is written as its
    escape, so the file holds no setting the name carried, and names the model as served."""
    name = f"odd\n{INJECTED}\n#:7b"
    url = model_servers({"/api/tags": (200, ms.ollama_tags((name, "7B", "Q4_K_M")))})
    out = tmp_path / "stellwerk.yaml"
    code, output = _init("--discover", url, "-o", str(out))
    assert code == 0, output
    config = load_config(out)
    assert config.governance.classification_hosting["secret"] == ("on_prem",)
    assert [m.upstream for m in config.models] == [name]
    text = out.read_text()
    assert "# odd\\u000agovernance: {classification_hosting:" in text
    assert yaml.safe_load(text).keys() == {
        "server", "backends", "models", "departments", "use_cases",
    }  # fmt: skip


def test_a_header_line_stays_one_comment_line_whatever_break_it_holds() -> None:
    """YAML (as PyYAML reads it) also ends a line at U+0085, U+2028 and U+2029."""
    for brk in ("\n", "\r", "\u0085", "\u2028", "\u2029"):
        text = render({"server": {"port": 8080}}, [f"name{brk}{INJECTED}"])
        assert yaml.safe_load(text) == {"server": {"port": 8080}}
        assert text.startswith(f"# name\\u{ord(brk):04x}governance:")


@pytest.mark.parametrize("host", ["gpu box", "h\nrm -rf ~", "h'; reboot; '", "::1", ""])
def test_an_engine_host_that_is_no_host_is_refused_before_anything_is_written(
    tmp_path: Path, host: str
) -> None:
    """The host goes into the engine script's commands: a line break in it was a command."""
    out = tmp_path / "stellwerk.yaml"
    code, output = _init("--ram", "64", "--engine-host", host, "-o", str(out))
    assert code == 1, output
    assert "--engine-host: " in output and "is not a host name or an IP address" in output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("host", ["ollama", "10.0.0.7", "[::1]", "gpu-1.internal"])
def test_an_engine_host_is_taken_as_given(tmp_path: Path, host: str) -> None:
    out = tmp_path / "stellwerk.yaml"
    code, output = _init("--ram", "64", "--engine-host", host, "-o", str(out))
    assert code == 0, output
    assert load_config(out).backends[0].base_url == f"http://{host}:11434"


@pytest.mark.parametrize("host", ["999.1.1.1", "10.0.0.256", "010.0.0.7", "10.0.7", "1.2.3.4.5"])
def test_an_engine_host_of_numbers_that_is_no_ipv4_address_is_refused(
    tmp_path: Path, host: str
) -> None:
    """Walk 20 (F12): ``999.1.1.1`` was written into the engine script and the config."""
    out = tmp_path / "stellwerk.yaml"
    code, output = _init("--ram", "64", "--engine-host", host, "-o", str(out))
    assert code == 1, output
    assert f"--engine-host: {host!r} is not an IPv4 address (four numbers from 0 to 255" in output
    assert list(tmp_path.iterdir()) == []
