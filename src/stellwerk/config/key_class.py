"""A key's data class, the one rule for config keys and database keys: the highest of its own
``classification``, its use case's and its department's. A key's own class may raise the class
of its use case and department, never lower it: a key made with a lower one is refused (the
config at load, ``stellwerk keys create`` and ``POST /admin/keys`` when it is made), and a use
case raised later raises its keys' requests at once, whatever class a key was made with.

Pure and here, below ``governance`` and ``policy``, because the config's check at load needs it
as much as the key store and the request's principal do.
"""

from __future__ import annotations

from typing import Final, get_args

from stellwerk.config.base import Classification
from stellwerk.config.governance import DepartmentConfig, UseCaseConfig

ORDER: Final[tuple[Classification, ...]] = get_args(Classification)
"""The classes from the least to the most sensitive."""

NO_FACTS: Final[Classification] = "internal"
"""The class of a key with no own class, no use case and no department known (a database key of
a department no longer in the config)."""


def highest(*values: Classification | None) -> Classification | None:
    """The most sensitive of the classes given (``None`` when none is)."""
    present = [v for v in values if v is not None]
    return max(present, key=ORDER.index) if present else None


def key_class(
    own: Classification | None,
    use_case: UseCaseConfig | None,
    department: DepartmentConfig | None,
) -> Classification:
    """The class a key's requests run under by default: the highest of its own, its use case's
    and its department's."""
    floor = highest(
        own,
        use_case.classification if use_case is not None else None,
        department.classification if department is not None else None,
    )
    return floor if floor is not None else NO_FACTS


def lowered_class(
    own: Classification | None,
    use_case: UseCaseConfig | None,
    department: DepartmentConfig | None,
) -> str | None:
    """Why a key's own class is refused: it is below its use case's or its department's class
    (``None``: it is not). Names both classes and whose the higher one is."""
    if own is None:
        return None
    floors = [
        (f"use case {use_case.name!r}", use_case.classification) if use_case else None,
        (f"department {department.name!r}", department.classification) if department else None,
    ]
    known = [f for f in floors if f is not None]
    floor = highest(*(c for _, c in known))
    if floor is None or ORDER.index(own) >= ORDER.index(floor):
        return None
    whose = " and ".join(name for name, c in known if c == floor)
    return (
        f"{own} is below the classification {floor} of {whose}; a key's own classification may"
        f" raise its use case's and department's, never lower it (leave it out and the key's"
        f" requests run as {floor})"
    )
