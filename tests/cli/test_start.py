"""What a user sees of the ``stellwerk`` command before it does anything: the help lists every
command, and starting it does not load the libraries only a command's work needs (numpy,
scikit-learn, SQLAlchemy, FastAPI, ...), which took seconds on every start, ``--help`` included
(the start time itself is measured in ``benchmarks/cli_start.py``, not asserted here); and
``config check``, which the service unit runs before every start, loads only what reading a config
needs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from typer.core import TyperGroup
from typer.testing import CliRunner

from stellwerk.cli.main import build_app

#: libraries a command imports when it runs; none of them is needed to start or to print help
#: (pydantic is not among them: Typer itself converts a command's parameters through it)
HEAVY = (
    "numpy",
    "scipy",
    "sklearn",
    "sqlalchemy",
    "alembic",
    "fastapi",
    "starlette",
    "uvicorn",
    "aiohttp",
    "httpx",
    "yaml",
)

#: runs ``stellwerk ARGV`` in this process as the console script does, then prints which of
#: ``HEAVY`` it loaded
PROBE = """
import json, runpy, sys
sys.argv = ["stellwerk", *json.loads(sys.argv[1])]
try:
    runpy.run_module("stellwerk", run_name="__main__")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print(json.dumps({"code": code, "loaded": sorted(m for m in HEAVY if m in sys.modules)}))
"""


def _root() -> Any:
    return typer.main.get_command(build_app())


def _groups(command: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every command group (the root too) with the words that call it."""
    if not isinstance(command, TyperGroup):
        return []
    found = [(path, command)]
    for name, sub in command.commands.items():
        found += _groups(sub, (*path, name))
    return found


def _leaves(command: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    if not isinstance(command, TyperGroup):
        return [(path, command)]
    return [leaf for n, sub in command.commands.items() for leaf in _leaves(sub, (*path, n))]


def _stellwerk(*argv: str) -> subprocess.CompletedProcess[str]:
    """``stellwerk ARGV`` as its own process, as a user starts it."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "stellwerk", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _panel(help_text: str) -> list[str]:
    """The lines of the Commands panel of a help page."""
    panel = help_text.split("─ Commands ─", 1)[1].split("╰", 1)[0]
    return [line for line in panel.splitlines() if line.startswith("│")]


def _listed(help_text: str) -> dict[str, str]:
    """The Commands panel of a help page: each command's name and its one-line help."""
    rows = (re.match(r"│ (\S+)\s{2,}(.*?)\s*│$", line) for line in _panel(help_text))
    return {row[1]: row[2] for row in rows if row}


def test_the_help_lists_every_command_with_its_one_line_help() -> None:
    shown = _stellwerk("--help")
    assert shown.returncode == 0, shown.stderr
    listed = _listed(shown.stdout)
    root = _root()
    assert list(listed) == list(root.commands)
    for name, command in root.commands.items():
        first_line = command.get_short_help_str(limit=200).splitlines()[0]
        assert listed[name].startswith(first_line[:60]), (name, listed[name])


GROUPS = [group for group in _groups(_root()) if group[0]]
EVERY_GROUP = _groups(_root())
LEAVES = _leaves(_root())


@pytest.mark.parametrize(("path", "group"), GROUPS, ids=[" ".join(p) for p, _ in GROUPS])
def test_each_group_s_help_lists_its_commands(path: tuple[str, ...], group: Any) -> None:
    shown = CliRunner().invoke(build_app(), [*path, "--help"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert list(_listed(shown.output)) == list(group.commands)


@pytest.mark.parametrize(
    ("path", "group"), EVERY_GROUP, ids=[" ".join(p) or "stellwerk" for p, _ in EVERY_GROUP]
)
def test_each_command_s_one_line_help_takes_one_line(path: tuple[str, ...], group: Any) -> None:
    """Where the terminal is wide enough, a group's help shows each command on one line: the
    first paragraph of its docstring, so a line break inside it would show as a second line."""
    shown = CliRunner().invoke(build_app(), [*path, "--help"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert len(_panel(shown.output)) == len(group.commands), _panel(shown.output)


@pytest.mark.parametrize(("path", "command"), LEAVES, ids=[" ".join(p) for p, _ in LEAVES])
def test_each_command_s_help_is_whole(path: tuple[str, ...], command: Any) -> None:
    """Its usage line, its description and every option it takes."""
    shown = CliRunner().invoke(build_app(), [*path, "--help"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert f"Usage: stellwerk {' '.join(path)} " in shown.output
    assert command.help and command.help.split()[0] in shown.output
    for param in command.params:
        for option in param.opts:
            if option.startswith("--"):
                assert option in shown.output, (path, option)


def _loaded(argv: list[str], environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``stellwerk ARGV`` as the console script does: its exit code, what it printed (on
    stdout, on stderr) and which of ``HEAVY`` it loaded."""
    probe = PROBE.replace("HEAVY", json.dumps(HEAVY))
    done = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(argv)],
        env={**os.environ, **(environ or {}), "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    *printed, last = done.stdout.splitlines()
    return {**json.loads(last), "printed": "\n".join(printed), "stderr": done.stderr}


@pytest.mark.parametrize(
    "argv",
    [
        ["version"],
        ["--help"],
        ["keys", "list", "--help"],
        ["route", "--help"],
        ["router"],
        ["serve", "--help"],
        ["config", "check", "--help"],
    ],
    ids=" ".join,
)
def test_starting_loads_none_of_the_heavy_libraries(argv: list[str]) -> None:
    result = _loaded(argv)
    assert result["code"] in (0, 2, None), result  # ``router`` alone shows its help, code 2
    assert result["loaded"] == []


@pytest.mark.parametrize(
    ("database_url", "needed"),
    [
        # YAML reads the file; pydantic (not in HEAVY) validates it
        ("postgresql+psycopg://stellwerk@db:5432/stellwerk", ["yaml"]),
        # a relative SQLite path is resolved against the config's folder with SQLAlchemy's URL
        # parser, the one the ledger opens it with
        ("sqlite:///stellwerk.db", ["sqlalchemy", "yaml"]),
    ],
    ids=["postgresql", "sqlite"],
)
def test_config_check_loads_only_what_reading_the_config_needs(
    tmp_path: Path, database_url: str, needed: list[str]
) -> None:
    """The whole check (the file, and with ``--env`` every variable ``serve`` would need: the
    keys, a backend's token, the Redis password) without the gateway's app, the ledger's
    engine, the backends' HTTP clients or the router's numerics."""
    config = {
        "server": {
            "database_url": database_url,
            "redis_url": "redis://redis:6379/0",
            "redis_password_env": "START_REDIS_PASSWORD",
        },
        "backends": [
            {
                "name": "vllm",
                "kind": "openai",
                "base_url": "http://127.0.0.1:8000/v1",
                "api_key_env": "START_BACKEND_TOKEN",
            }
        ],
        "models": [
            {"id": "m", "backend": "vllm", "upstream": "m", "params_b": 8, "size_class": "medium"}
        ],
        "departments": [{"name": "it", "keys": [{"id": "it-1", "key_env": "START_IT_KEY"}]}],
    }
    path = tmp_path / "stellwerk.yaml"
    path.write_text(yaml.safe_dump(config))
    environ = {name: "sk-start-0123456789" for name in ("START_IT_KEY", "START_BACKEND_TOKEN")}
    missing = _loaded(["config", "check", "--env", str(path)], environ)
    assert missing["code"] == 2, missing
    assert "not set: START_REDIS_PASSWORD" in missing["stderr"]
    assert missing["loaded"] == needed
    checked = _loaded(
        ["config", "check", "--env", str(path)], {**environ, "START_REDIS_PASSWORD": "pw"}
    )
    assert checked["code"] in (0, None), checked
    assert f"{path}: valid (1 backends, 1 models, 1 departments" in checked["printed"]
    assert checked["loaded"] == needed
