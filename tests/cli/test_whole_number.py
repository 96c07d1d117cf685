"""Every whole-number option of the CLI takes the digits 0 to 9 only (``cli/whole_number.py``):
other scripts' digits (``--limit ٣``, a fullwidth 3), blanks around, ``_`` between digits or a
fraction of zero were read as numbers; now each is a usage error naming the option."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Annotated, get_args, get_origin

import pytest
import typer

from stellwerk.cli.main import build_app
from tests.cli.test_governance_cmd import run


def options_of(
    app: typer.Typer, kinds: tuple[object, ...], path: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    """(command path..., option) of every option of ``app``'s commands whose type is one of
    ``kinds``, read from their signatures as Typer reads them."""
    for command in app.registered_commands:
        assert command.callback is not None
        name = command.name or command.callback.__name__.replace("_", "-")
        for parameter in inspect.signature(command.callback, eval_str=True).parameters.values():
            if get_origin(parameter.annotation) is not Annotated:
                continue
            kind, info = get_args(parameter.annotation)[:2]
            if kind in kinds and isinstance(info, typer.models.OptionInfo):
                # in Annotated, Typer reads a first positional "--name" as a declaration
                given = [info.default, *(info.param_decls or ())]
                declared = [d for d in given if isinstance(d, str) and d.startswith("--")]
                option = declared[0] if declared else "--" + parameter.name.replace("_", "-")
                yield (*path, name, option)
    for group in app.registered_groups:
        assert group.typer_instance is not None and group.name is not None
        yield from options_of(group.typer_instance, kinds, (*path, group.name))


OPTIONS = sorted(options_of(build_app(), (int, int | None)))


def flat(text: str) -> str:
    """A usage error's text without its panel: one line, single spaces."""
    return " ".join(text.replace("│", " ").split())


@pytest.mark.parametrize("option", OPTIONS, ids=" ".join)
@pytest.mark.parametrize(
    "text",
    ["\uff13", "\u0663", " 5", "5_0", "3.0"],
    ids=["fullwidth", "arabic", "blank", "_", ".0"],
)
def test_a_whole_number_option_takes_ascii_digits_only(option: tuple[str, ...], text: str) -> None:
    assert {("audit", "--limit"), ("route", "--max-tokens"), ("serve", "--port")} <= set(OPTIONS)
    *command, name = option
    # arguments no command takes: were the number read, the command would not run (serve and
    # demo would start) but end with a usage error of its own
    code, out, err = run(*command, name, text, "surplus-1", "surplus-2")
    assert (code, out) == (2, "")
    assert f"Invalid value for '{name}': {text!r} is not a whole number" in flat(err)
    assert "(the digits 0 to 9, no spaces)" in flat(err)


@pytest.mark.parametrize(
    ("option", "text", "least"),
    [
        (("route", "x", "--max-tokens"), "0", 1),
        (("router", "eval", "--rotations"), "0", 1),
        (("router", "eval", "--rotation"), "-1", 0),
        (("router", "rollback", "--to"), "-1", 0),
        (("serve", "--port"), "-1", 0),
        (("demo", "--port"), "-1", 0),
        (("calibrate", "--limit"), "0", 1),
        (("calibrate", "--concurrency"), "-2", 1),
        (("calibrate", "--max-tokens"), "0", 1),
        (("audit", "--limit"), "0", 1),  # walk27 F15: said "limit must be between 1 and 10000"
        (("audit", "--limit"), "-1", 1),
    ],
)
def test_a_number_below_the_least_is_refused_naming_it(
    option: tuple[str, ...], text: str, least: int
) -> None:
    *command, name = option
    code, out, err = run(*command, name, text, "surplus-1", "surplus-2")
    assert (code, out) == (2, "")
    assert f"Invalid value for '{name}': {text} is less than {least}, the least it may be" in flat(
        err
    )


def test_an_audit_limit_above_10000_is_refused_naming_the_most() -> None:
    """walk27 F15: ``audit --limit 10001`` said ``limit must be between 1 and 10000, got
    10001``, not the words docs/cli.md gives every whole-number option."""
    code, out, err = run("audit", "--limit", "10001", "surplus-1", "surplus-2")
    assert (code, out) == (2, "")
    assert "Invalid value for '--limit': 10001 is more than 10000, the most it may be" in flat(err)
    from stellwerk.cli import audit_cmd
    from stellwerk.ledger import audit_read

    assert audit_cmd.MAX_LIMIT == audit_read.MAX_LIMIT  # the CLI's bound is the ledger's


@pytest.mark.parametrize("command", [("serve",), ("demo",)])
def test_a_port_above_65535_is_refused_naming_the_most(command: tuple[str, ...]) -> None:
    """``serve --port -1`` ended in uvicorn's ``[Errno -8] Servname not supported``."""
    code, out, err = run(*command, "--port", "65536", "surplus-1", "surplus-2")
    assert (code, out) == (2, "")
    assert "Invalid value for '--port': 65536 is more than 65535, the most it may be" in flat(err)


@pytest.mark.parametrize(
    ("option", "text", "said"),
    [
        (("serve", "--port"), "9" * 5000, "is more than 65535, the most it may be"),
        (("calibrate", "--limit"), "-" + "9" * 5000, "is less than 1, the least it may be"),
        (("calibrate", "--concurrency"), "9" * 5000, "is too large a number (more than 100"),
        (("calibrate", "--max-tokens"), "9" * 5000, "is too large a number (more than 100"),
        (("router", "eval", "--seed"), "9" * 5000, "is too large a number (more than 100"),
    ],
)
def test_a_number_of_thousands_of_digits_is_refused_in_the_options_words(
    option: tuple[str, ...], text: str, said: str
) -> None:
    """Past 4300 digits, Python's ``int()`` refused it in its own words (``Exceeds the limit
    (4300 digits) ... use sys.set_int_max_str_digits()``)."""
    *command, name = option
    code, out, err = run(*command, name, text, "surplus-1", "surplus-2")
    assert (code, out) == (2, "")
    digits = len(text.lstrip("-"))
    assert f"Invalid value for '{name}': {text[:12]}... ({digits} digits) {said}" in flat(err)
    assert "4300" not in err and "set_int_max_str_digits" not in err


def test_leading_zeros_do_not_count_as_digits() -> None:
    code, out, err = run("serve", "--port", "0" * 4999 + "9" * 6, "surplus-1", "surplus-2")
    assert (code, out) == (2, "")
    assert "Invalid value for '--port': 999999 is more than 65535, the most it may be" in flat(err)
