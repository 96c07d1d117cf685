"""The CLI's whole-number options (``--limit``, ``--max-tokens``, ``--port`` ...): ASCII digits
only, as a month is read (``ledger.window``).

Typer reads an ``int`` option by its library's rule, and none of them is the digits 0 to 9:
Click's ``int()`` takes other scripts' digits (``--limit ٣``, an Arabic-Indic three, or a
fullwidth 3 was 3), the pydantic Typer of the lock takes blanks around the number, ``_``
between its digits and a fraction of zero (``' 5'``, ``5_0``, ``3.0``). Every ``int`` option
of the CLI reads its text through ``whole`` instead (``tests/cli/test_whole_number.py`` holds
them to it), by the rule of ``config.plain_number`` (an optional ``-`` and the digits 0 to 9,
nothing around them); ``least`` and ``most`` are checked here, since Typer's ``min`` and
``max`` do not apply to an option read by a parser. A refusal is a usage error (exit 2) that
Typer prefixes with the option's name: ``Invalid value for '--limit': '٣' is not a whole number
(the digits 0 to 9, no spaces)``, ``Invalid value for '--port': -1 is less than 0, the least it
may be``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic_core import PydanticCustomError


class WholeNumber:
    """The parser of an ``int`` option: ``typer.Option(parser=whole())``."""

    def __init__(self, least: int | None, most: int | None = None) -> None:
        self.least = least
        self.most = most

    def __call__(self, value: str | int) -> int:
        # a default comes as the int it is; a value given, as the text typed
        number = value if isinstance(value, int) else self._number(value)
        if self.least is not None and number < self.least:
            raise refusal(f"{number} is less than {self.least}, the least it may be")
        if self.most is not None and number > self.most:
            raise refusal(f"{number} is more than {self.most}, the most it may be")
        return number

    def _number(self, text: str) -> int:
        from stellwerk.config.plain_number import whole_problem  # the config: not at the start

        problem = whole_problem(text)
        if problem is not None:
            raise refusal(problem)
        sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
        digits = digits.lstrip("0") or "0"
        if len(digits) <= MOST_DIGITS:
            return int(sign + digits)
        # past every bound; and int() refuses a number of more than 4300 digits in its own
        # words (``sys.set_int_max_str_digits()``), so it is not asked
        said = f"{text[:12]}... ({len(text) - len(sign)} digits)"
        if sign and self.least is not None:
            raise refusal(f"{said} is less than {self.least}, the least it may be")
        if not sign and self.most is not None:
            raise refusal(f"{said} is more than {self.most}, the most it may be")
        raise refusal(f"{said} is too large a number (more than {MOST_DIGITS} digits)")


MOST_DIGITS = 100
"""The most digits (leading zeros aside) of a whole number the CLI reads: far more than any
option's bound has (a port, five; a rate limit, ten)."""


def whole(*, least: int | None = None, most: int | None = None) -> Callable[[str | int], int]:
    """The parser of a whole-number option, ``least`` the smallest it takes and ``most`` the
    largest (``None``: any)."""
    return WholeNumber(least, most)


def port_number() -> Callable[[str | int], int]:
    """The parser of a ``--port``: 0 (any free port) to 65535."""
    return WholeNumber(0, 65535)


def refusal(message: str) -> PydanticCustomError:
    """A ``ValueError`` whose text is ``message`` alone: Typer's pydantic coercion shows a custom
    error's text without pydantic's ``Value error,`` before it, Click's ``FuncParamType`` shows
    any ``ValueError``'s text; both name the option. Imported here: the CLI starts without
    pydantic."""
    from pydantic_core import PydanticCustomError

    return PydanticCustomError("whole_number", "{message}", {"message": message})
