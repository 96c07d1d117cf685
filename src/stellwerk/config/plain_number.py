"""A whole number written as text, where a person types one: a CLI option (``--limit``,
``--max-tokens``: ``cli/whole_number.py``) or a query parameter of the admin API (``GET
/admin/audit?limit=``, ``after=``). It is an optional ``-`` and the digits 0 to 9, nothing
around them, as a month is (``ledger.window``). Python's ``int()`` and pydantic's lax integer
take more, each its own share of it: other scripts' digits (an Arabic-Indic ``٣``), blanks
around the number, ``_`` between its digits, a ``+``, a fraction of zero (``3.0``); a number
written so is refused, saying how one is written, not read as another. A number out of its
bounds is refused in one set of words wherever it is refused (``below_least``, ``above_most``),
and a JSON value that is no integer where one is wanted in another (``not_whole``: the admin
API's limits and versions).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final

from stellwerk.errors import json_type

_WHOLE: Final = re.compile(r"-?[0-9]+")  # [0-9], not \d: \d takes other scripts' digits too
FORM: Final = "the digits 0 to 9, no spaces"
"""How a whole number is written, as each refusal of one says it."""


def whole_problem(text: str) -> str | None:
    """What is wrong with ``text`` as a whole number (``'٣' is not a whole number (the digits 0
    to 9, no spaces)``), or ``None``: it is one."""
    return None if _WHOLE.fullmatch(text) else f"{text!r} is not a whole number ({FORM})"


def said_number(number: object) -> str:
    """A number as a refusal shows it, cut where it is long (a number of a thousand digits stays
    a line)."""
    text = str(number)
    return text if len(text) <= 24 else f"{text[:12]}... ({len(text)} characters)"


def below_least(said: str, least: object) -> str:
    """The refusal of a number ``said`` under its bound ``least``, in the words every refusal of a
    bound uses (the CLI's options, ``cli/whole_number.py``; the admin API's and the dashboard's
    limits): ``-1 is less than 0, the least it may be``."""
    return f"{said} is less than {least}, the least it may be"


def above_most(said: str, most: object) -> str:
    """The refusal of a number ``said`` over its bound ``most`` (``below_least``'s words)."""
    return f"{said} is more than {most}, the most it may be"


def not_whole(value: object, send: str) -> str:
    """The refusal of the parsed JSON value ``value``, which is no integer, where a JSON integer
    is wanted, saying what to ``send`` instead: ``1.5 is not a whole number; send ...``, ``a
    string is not ...`` (and ``true``, ``a list`` ...), ``1E+3 is not written as an integer (no
    '.' or 'e'); ...`` (a whole number, not written as one), ``NaN is not a finite number;
    ...``."""
    if isinstance(value, bool) or not isinstance(value, float | Decimal):
        return f"{json_type(value)} is not a whole number; {send}"
    exact = Decimal(value)
    if not exact.is_finite():
        return f"{value} is not a finite number; {send}"
    if exact == exact.to_integral_value():  # 1e3, 5.0
        return f"{said_number(value)} is not written as an integer (no '.' or 'e'); {send}"
    return f"{said_number(value)} is not a whole number; {send}"
