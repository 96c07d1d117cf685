"""Every command's ``--help`` says what its source says, as a reader wants it: each paragraph
one line the terminal wraps (no line broken where the docstring's source was), names in single
backticks (no reST ````--env````), and every option with its help whole and its default shown
(rich read ``[default: 50]`` in an option's help as markup and dropped it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner

from stellwerk.cli.help_text import plain
from stellwerk.cli.main import build_app

WIDTH = 1000  # wide enough that no help line wraps


def _commands() -> Iterator[tuple[list[str], object]]:
    def walk(command: object, path: list[str]) -> Iterator[tuple[list[str], object]]:
        yield path, command
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield from walk(sub, [*path, name])

    yield from walk(typer.main.get_command(build_app()), [])


COMMANDS = list(_commands())


def _help(path: list[str]) -> str:
    result = CliRunner().invoke(
        build_app(), [*path, "--help"], env={"COLUMNS": str(WIDTH)}, terminal_width=WIDTH
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_the_walk_sees_every_command() -> None:
    paths = {" ".join(path) for path, _ in COMMANDS}
    assert {"", "audit", "config check", "keys list", "router adapt", "report usage"} <= paths


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_help_shows_its_paragraphs_whole_and_every_default(
    path: list[str], command: object
) -> None:
    shown = _help(path)
    assert "``" not in shown
    lines = [line.strip(" │") for line in shown.splitlines()]
    help_text = getattr(command, "help", None) or ""
    for paragraph in help_text.replace("\\[", "[").split("\n\n"):
        assert _flat(paragraph) in lines, paragraph  # one line, as a paragraph
    for param in getattr(command, "params", []):
        if param.name == "help" or getattr(param, "hidden", False):
            continue
        names = {*param.opts, param.name}
        row = next(line for line in lines if line.lstrip("* ").split(" ")[0] in names)
        if getattr(param, "help", None):
            assert _flat(param.help) in _flat(row), (param.name, row)
        flag_alone = getattr(param, "is_flag", False) and not getattr(param, "secondary_opts", [])
        if param.default is not None and param.show_default is not False and not flag_alone:
            assert "[default: " in row, (param.name, row)


def test_the_audit_limit_shows_its_default() -> None:
    row = next(line for line in _help(["audit"]).splitlines() if "--limit" in line)
    assert "How many entries, newest first. [default: 50]" in row


@pytest.mark.parametrize(
    ("docstring", "shown"),
    [
        ("One line.\n\n    Two lines\n    of one.", "One line.\n\nTwo lines of one."),
        ("With ``--env`` an error.", "With `--env` an error."),
        ("Writes [default: 5] as written.", "Writes \\[default: 5] as written."),
    ],
)  # fmt: skip
def test_a_docstring_is_told_plainly(docstring: str, shown: str) -> None:
    assert plain(docstring) == shown
