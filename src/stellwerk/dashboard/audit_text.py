"""The audit log's text as the dashboard shows it: every character a page does not show as
itself (``config.plain_text.hidden``: a mark or override that changes the direction of text, a
control character, an invisible one) written as its escape, ``\\u202e``.

No such character can be written any more (``config.plain_text`` refuses it where an
administrator types text), but an entry written before may hold one, and the log is never
rewritten: on the page, a direction override would reverse what follows it (``\\u202egpj.exe``
reads ``exe.jpg``) and an invisible character would make two names look alike. The ledger shows
a lone surrogate of such an entry the same way (``ledger.audit``, read back as ``\\ud800``).

Every target is shown the same way: its kind's label (``Model``, ``Key``, ``Use case``,
``Router`` ..., translated), then its name; the name is left out where it only repeats the kind
(a retention run's ``usage``), and a name that is a word of the program rather than a name is
translated like the kind (``(config built in code)``, the target of a config an embedding
program passed without a file: ``WORDS``). The name is a link to its page only where the
dashboard has one (a model of the catalog, a department of the config), and the link is made of
the target as the log keeps it, never of its escape (``tiny-small\\u200b`` led to a page that
answered 404); a target with no page (a model no longer configured, a name with a hidden
character) is plain text.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Final

from stellwerk.config.plain_text import hidden
from stellwerk.dashboard.labels_audit import AUDIT
from stellwerk.governance.admin import IN_CODE
from stellwerk.ledger.audit import AuditEntry

WORDS: Final = {("config", IN_CODE): "target_config_in_code"}
"""Targets (kind, name) whose name is the program's word, not a name -> the name's label."""


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One entry of the overview's audit table."""

    entry: AuditEntry
    """The entry with its text shown (``shown_entry``)."""
    page: str | None
    """The target as the log keeps it, where the dashboard has a page for it; ``None``: none."""
    kind: str
    """The label name of the target's kind (``target_model``), or the kind itself if it has none."""
    named: bool
    """Whether the name is shown after the kind (not where it only repeats the kind)."""
    name_label: str | None
    """The label name of the name where it is a word of the program (``WORDS``); ``None``: the
    name is shown as it is."""


def audit_rows(
    entries: Iterable[AuditEntry], *, models: Collection[str], departments: Collection[str]
) -> list[AuditRow]:
    """``entries`` as the table shows them, each target with its page if ``models`` (the
    catalog's ids) or ``departments`` (the config's names) has one for it."""
    pages = {"model": models, "department": departments}
    return [
        AuditRow(
            shown_entry(e),
            e.target if e.target in pages.get(e.target_kind, ()) else None,
            f"target_{e.target_kind}" if f"target_{e.target_kind}" in AUDIT else e.target_kind,
            e.target != e.target_kind,
            WORDS.get((e.target_kind, e.target)),
        )
        for e in entries
    ]


def shown_entry(entry: AuditEntry) -> AuditEntry:
    """``entry`` with its actor, target and details (names and values) shown (module docstring)."""
    return entry.with_text(shown)


def shown(text: str) -> str:
    """``text`` with each character a page does not show as itself written as its escape."""
    return "".join(f"\\u{ord(c):04x}" if hidden(c) is not None else c for c in text)
