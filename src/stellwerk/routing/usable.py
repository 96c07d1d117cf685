"""Which graded records an adaptation can learn from, counted, and why the others cannot, in
plain words (``stellwerk router adapt`` says it when too few are usable or judged).

A record is usable with a latent vector (the router could read its prompt) and a grade of a model
the router was trained on (``graded_table``); it is judged (it can tell two routers apart,
``adapt.compare``) with grades of two such models or more. Feedback grades one answer, the model
that gave it; only shadow grading grades a second model of the same request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from stellwerk.routing.graded_record import GradedRecord

NAMES_SHOWN = 6
"""Model names listed at most in ``Usability.why`` (the rest counted)."""


@dataclass(frozen=True, slots=True)
class Usability:
    read: int
    unread: int
    """Records without a latent vector (the router could not read the prompt)."""
    untrained: int
    """Records with a latent vector but no grade of a model the router knows."""
    one_grade: int
    """Usable records with a grade of one known model only (no routing to judge)."""
    judged: int
    """Usable records with grades of two known models or more."""
    known: tuple[str, ...]
    """The models the router was trained on."""
    graded_unknown: tuple[str, ...]
    """The models the untrained records graded (none the router knows), by name."""

    @property
    def usable(self) -> int:
        return self.one_grade + self.judged

    def as_json(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "usable": self.usable,
            "unread": self.unread,
            "untrained": self.untrained,
            "one_grade": self.one_grade,
            "judged": self.judged,
            "graded_unknown": list(self.graded_unknown),
        }

    def why(self, min_records: int, min_judged: int, *, since: str | None = None) -> str:
        """Plain words: how many records are usable and judged, what keeps the others out, and
        what an adaptation needs; ``since``: from when the records were read (``since the
        rollback of ...``)."""
        read = f"{self.read} graded records" + (f" {since}" if since else "")
        parts = [f"{read}, of which {self.usable} are usable"]
        if self.unread:
            parts.append(
                f"{self.unread} have no reading of the prompt (the router could not read it)"
            )
        if self.untrained:
            parts.append(
                f"{self.untrained} have no grade of a model the router knows (they grade"
                f" {_names(self.graded_unknown)}; it knows {_names(self.known)}): calibrate the"
                " router on your models (stellwerk calibrate --router-out, then router.artifact),"
                ' or try the loop with models it knows (docs/router.md, "Trying the loop")'
            )
        if self.one_grade:
            parts.append(
                f"{self.one_grade} have one grade only, which teaches no routing (feedback grades"
                " the answering model alone; shadow grading, router.shadow, grades a second one)"
            )
        parts.append(f"{self.judged} have two grades or more")
        return (
            "; ".join(parts)
            + f". An adaptation needs at least {min_records} usable records and {min_judged}"
            " with two grades or more."
        )


def usability(known: Sequence[str], records: Sequence[GradedRecord]) -> Usability:
    """Count ``records`` by what an adaptation of a router trained on ``known`` can use."""
    columns = set(known)
    unread = untrained = one = judged = 0
    unknown: set[str] = set()
    for rec in records:
        if not rec.latent:
            unread += 1
            continue
        graded = sum(1 for m in rec.grades if m in columns)
        if graded == 0:
            untrained += 1
            unknown.update(rec.grades)
        elif graded == 1:
            one += 1
        else:
            judged += 1
    return Usability(
        read=len(records),
        unread=unread,
        untrained=untrained,
        one_grade=one,
        judged=judged,
        known=tuple(known),
        graded_unknown=tuple(sorted(unknown)),
    )


def _names(names: Sequence[str]) -> str:
    if not names:
        return "none"
    shown = ", ".join(names[:NAMES_SHOWN])
    rest = len(names) - NAMES_SHOWN
    return shown + (f" and {rest} more" if rest > 0 else "")
