"""Every option of the CLI that takes a number with decimals takes it written plainly
(``cli/plain_number.py``): Typer read it by Python's ``float()``, so ``nan``, ``inf``, ``1_0``
(ten), ``1e3`` or blanks around it were numbers, and a bound was said in pydantic's words."""

from __future__ import annotations

import pytest

from stellwerk.cli.main import build_app
from tests.cli.test_governance_cmd import run
from tests.cli.test_whole_number import flat, options_of

OPTIONS = sorted(options_of(build_app(), (float, float | None)))
# arguments no command takes: were the number read, the command would not run but end with a
# usage error of its own
SURPLUS = ("surplus-1", "surplus-2")


def test_the_number_options_are_found() -> None:
    assert set(OPTIONS) == {
        ("calibrate", "--timeout"),
        ("calibrate", "--code-timeout"),
        ("init", "--gpu-memory"),
        ("init", "--ram"),
        ("router", "eval", "--record-noise"),
        ("router", "eval", "--resplit"),
        ("router", "train", "--resplit"),
    }


@pytest.mark.parametrize("option", OPTIONS, ids=" ".join)
@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "1_0", "1e3", " 5", "5 ", "\u0663", "0x1"])
def test_a_number_option_takes_a_plain_number_only(option: tuple[str, ...], text: str) -> None:
    *command, name = option
    code, out, err = run(*command, name, text, *SURPLUS)
    assert (code, out) == (2, "")
    said = f"Invalid value for '{name}': {text!r} is not a plain number (the digits 0 to 9 and"
    assert said in flat(err), err


@pytest.mark.parametrize(
    ("option", "text", "said"),
    [
        (("calibrate", "--timeout"), "0", "0 is not more than 0, as it must be"),
        (("calibrate", "--code-timeout"), "-1.5", "-1.5 is not more than 0, as it must be"),
        (("router", "eval", "--record-noise"), "-0.5", "-0.5 is less than 0, the least it may be"),
        (("router", "eval", "--record-noise"), "10.5", "10.5 is more than 10, the most it may be"),
        (("router", "train", "--resplit"), "1", "1 is not less than 1, as it must be"),
        (("router", "train", "--resplit"), "0.0", "0.0 is not more than 0, as it must be"),
        (("calibrate", "--timeout"), "9" * 400, "(400 characters) is too large a number"),
        (("router", "eval", "--record-noise"), "1" * 30, "(30 characters) is more than 10, the"),
    ],
)
def test_a_number_out_of_its_range_is_refused_saying_why(
    option: tuple[str, ...], text: str, said: str
) -> None:
    *command, name = option
    code, out, err = run(*command, name, text, *SURPLUS)
    assert (code, out) == (2, "")
    assert f"Invalid value for '{name}': " in flat(err) and said in flat(err), err


@pytest.mark.parametrize(("option", "text"), [(("router", "eval", "--record-noise"), "0.25")])
def test_a_number_in_range_is_read(option: tuple[str, ...], text: str) -> None:
    """Read, so the command goes on to its own check (``--record-noise`` needs ``--adapt``)."""
    *command, name = option
    code, _, err = run(*command, "--data", "x.jsonl", name, text)
    assert code == 1 and "--record-noise needs --adapt" in err, err


def test_a_size_of_init_is_a_plain_number() -> None:
    """``--size m=1_0`` was a model of ten billion parameters."""
    code, _, err = run("init", "--discover", "http://127.0.0.1:9", "--size", "m=1_0")
    assert code == 1 and "--size: 'm=1_0' is not MODEL=BILLIONS" in err, err
