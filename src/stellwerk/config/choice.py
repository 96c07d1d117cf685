"""One of a fixed set of words, from user input (a CLI argument, an API field, a header): a role,
a lifecycle state, a classification, a report grouping. Anything else is an ``InvalidRequest``
that names what was given and what is known."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from stellwerk.errors import InvalidRequest, shown

T = TypeVar("T", bound=str)


def parse_choice(
    value: str,
    choices: Sequence[T],
    *,
    unknown: str,
    known: str,
    param: str,
    normalise: Callable[[str], str] | None = None,
) -> T:
    """The member of ``choices`` that ``value`` (after ``normalise``) equals; otherwise an
    ``InvalidRequest`` for ``param``: ``"{unknown} 'value'; {known} choice, choice, ..."`` (the
    value cut as every echo is: ``stellwerk.errors.shown``)."""
    wanted = normalise(value) if normalise is not None else value
    for choice in choices:
        if wanted == choice:
            return choice
    raise InvalidRequest(f"{unknown} {shown(value)}; {known} {', '.join(choices)}", param=param)
