"""A whole number written as text, where a person types one: a CLI option (``--limit``,
``--max-tokens``: ``cli/whole_number.py``) or a query parameter of the admin API (``GET
/admin/audit?limit=``, ``after=``). It is an optional ``-`` and the digits 0 to 9, nothing
around them, as a month is (``ledger.window``). Python's ``int()`` and pydantic's lax integer
take more, each its own share of it: other scripts' digits (an Arabic-Indic ``٣``), blanks
around the number, ``_`` between its digits, a ``+``, a fraction of zero (``3.0``); a number
written so is refused, saying how one is written, not read as another.
"""

from __future__ import annotations

import re
from typing import Final

_WHOLE: Final = re.compile(r"-?[0-9]+")  # [0-9], not \d: \d takes other scripts' digits too
FORM: Final = "the digits 0 to 9, no spaces"
"""How a whole number is written, as each refusal of one says it."""


def whole_problem(text: str) -> str | None:
    """What is wrong with ``text`` as a whole number (``'٣' is not a whole number (the digits 0
    to 9, no spaces)``), or ``None``: it is one."""
    return None if _WHOLE.fullmatch(text) else f"{text!r} is not a whole number ({FORM})"
