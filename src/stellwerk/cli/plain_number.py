"""The CLI's options that take a number with decimals (``--timeout``, ``--code-timeout``,
``--record-noise``, ``--resplit``, ``--gpu-memory``, ``--ram``): the digits 0 to 9 and at most
one ``.``, an optional ``-`` before them, nothing around them.

Typer reads a ``float`` option by Python's ``float()``, which takes far more than a person means
by a number: ``nan``, ``inf``, ``1_0`` (ten), ``1e3``, blanks around it; ``--record-noise nan``
was refused in pydantic's words (``Input should be greater than or equal to 0``), ``--resplit
inf`` and ``--timeout 1_0`` were read. Every ``float`` option of the CLI reads its text through
``plain`` instead (``tests/cli/test_plain_number.py`` holds them to it), which also checks its
range, since Typer's ``min`` and ``max`` do not apply to an option read by a parser. A refusal is
a usage error (exit 2) naming the option, as a whole-number option's (``cli/whole_number.py``):
``Invalid value for '--timeout': 'nan' is not a plain number (the digits 0 to 9 and at most one
'.', no spaces)``, ``Invalid value for '--timeout': 0 is not more than 0, as it must be``.
``init --size MODEL=BILLIONS`` reads its number by the same rule (``is_plain``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Final

from stellwerk.cli.whole_number import refusal

_PLAIN: Final = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")  # [0-9]: ASCII digits only
FORM: Final = "the digits 0 to 9 and at most one '.', no spaces"


def is_plain(text: str) -> bool:
    """Whether ``text`` is a number written plainly (``FORM``)."""
    return _PLAIN.fullmatch(text) is not None


class PlainNumber:
    """The parser of a ``float`` option: ``typer.Option(parser=plain(...))``; ``least`` and
    ``most`` are bounds it may take, ``above`` and ``below`` bounds it must stay off."""

    def __init__(
        self,
        least: float | None,
        above: float | None,
        most: float | None,
        below: float | None,
    ) -> None:
        self.least, self.above, self.most, self.below = least, above, most, below

    def __call__(self, value: str | float) -> float:
        # a default comes as the number it is; a value given, as the text typed
        if isinstance(value, (int, float)):
            return float(value)
        if not is_plain(value):
            raise refusal(f"{value!r} is not a plain number ({FORM})")
        number = float(value)  # float() reads any number of digits (int() stops at 4300)
        said = value if len(value) <= 24 else f"{value[:12]}... ({len(value)} characters)"
        if not math.isfinite(number):  # hundreds of digits
            raise refusal(f"{said} is too large a number")
        if self.least is not None and number < self.least:
            raise refusal(f"{said} is less than {self.least:g}, the least it may be")
        if self.above is not None and number <= self.above:
            raise refusal(f"{said} is not more than {self.above:g}, as it must be")
        if self.most is not None and number > self.most:
            raise refusal(f"{said} is more than {self.most:g}, the most it may be")
        if self.below is not None and number >= self.below:
            raise refusal(f"{said} is not less than {self.below:g}, as it must be")
        return number


def plain(
    *,
    least: float | None = None,
    above: float | None = None,
    most: float | None = None,
    below: float | None = None,
) -> Callable[[str | float], float]:
    """The parser of a number option: at least ``least``, more than ``above``, at most ``most``,
    less than ``below`` (``None``: no such bound)."""
    return PlainNumber(least, above, most, below)


def prompt_number(text: str, option: str, *, default: str | None = None) -> float:
    """A number asked on a terminal, read by the rule of the ``option`` it stands for: an answer
    that is not a plain number is named in that option's words (``--ram: 'abc' is not a plain
    number ...``, as the other answers' refusals are) and asked again. Typer's own ``float``
    prompt would take ``nan`` and ``1e3`` and refuse ``abc`` in pydantic's words."""
    import typer

    read = plain()
    while True:
        answer: str = typer.prompt(text, default=default)
        try:
            return read(answer.strip())
        except ValueError as exc:
            typer.echo(f"  {option}: {exc}", err=True)
