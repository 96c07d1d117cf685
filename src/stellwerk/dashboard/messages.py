"""An error, said in the page's language (the labels: :mod:`stellwerk.dashboard.labels_messages`).

The services the dashboard calls raise errors with English messages for the admin API and the log.
The dashboard looks each one up by its ``code`` (``msg_<code>``), else by its status and field
(``msg_<status>_<param>``), and fills in what the page is about: ``{subject}`` (the model,
department or key in the path), ``{month}``, ``{value}`` (what was typed), ``{field}`` (the field's
label) and, for a reason with a hidden character, ``{what}`` (its kind, in the page's language) and
``{character}`` (``U+202E (RIGHT-TO-LEFT OVERRIDE)``). An error without a label is said generally in
the page's language (``msg_fallback_<status>``). The English message goes with it as technical
details (folded away), as the admin API would say it.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from markupsafe import escape

from stellwerk.dashboard.amounts import AmountError
from stellwerk.dashboard.breaks import unbroken
from stellwerk.dashboard.i18n import Labels, Language
from stellwerk.dashboard.reasons import HiddenInReason
from stellwerk.errors import RequestError
from stellwerk.governance.catalog import HeldElsewhere

FIELDS = {"monthly_budget": "budget"}
"""form field -> the label of its name"""


@dataclass(frozen=True, slots=True)
class Said:
    """An error's message in the page's language; ``details``: the English original (what the
    admin API says; it may name more, such as the allowed states), ``None`` when it is the
    text."""

    text: str
    details: str | None = None


def say(exc: RequestError, request: Request, t: Labels, language: Language) -> Said:
    """``exc`` in ``language`` (its labels: ``t``; see the module docstring)."""
    if isinstance(exc, HeldElsewhere):
        return _held_elsewhere(exc, t)
    values = {
        "subject": str(request.path_params.get("subject", "")),
        "month": request.query_params.get("month", ""),
        "value": exc.value if isinstance(exc, AmountError) else "",
        "decimal": exc.readings[0] if isinstance(exc, AmountError) else "",
        "thousands": exc.readings[1] if isinstance(exc, AmountError) else "",
        "field": t[FIELDS[exc.param]] if exc.param in FIELDS else str(exc.param or ""),
    }
    if isinstance(exc, HiddenInReason):
        values |= {"what": t[f"hidden_{exc.kind}"], "character": exc.character}
    for name in (f"msg_{exc.code}", f"msg_{exc.status_code}_{exc.param}"):
        if name in t:
            return Said(t[name].format(**values), details=exc.message)
    fallback = f"msg_fallback_{exc.status_code}"
    if language == "en" or fallback not in t:
        return Said(exc.message)
    return Said(t[fallback], details=exc.message)


def _held_elsewhere(exc: HeldElsewhere, t: Labels) -> Said:
    """Consent asked on an id that serves another model's weights: the model that manages it,
    said first (not the general "choose whether to withdraw or re-grant"), its ids each on one
    line (``breaks.unbroken``: ``tiny-small``, not ``tiny-`` / ``small``)."""
    ids = {"subject": exc.model, "holder": exc.holder, "owner": exc.owner}
    text = escape(t["msg_consent_held_elsewhere"]).format(
        **{name: unbroken(value) for name, value in ids.items()}
    )
    return Said(text, details=exc.message)
