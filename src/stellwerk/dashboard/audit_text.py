"""The audit log's text as the dashboard shows it: every character a page does not show as
itself (``config.plain_text.hidden``: a mark or override that changes the direction of text, a
control character, an invisible one) written as its escape, ``\\u202e``.

No such character can be written any more (``config.plain_text`` refuses it where an
administrator types text), but an entry written before may hold one, and the log is never
rewritten: on the page, a direction override would reverse what follows it (``\\u202egpj.exe``
reads ``exe.jpg``) and an invisible character would make two names look alike. The ledger shows
a lone surrogate of such an entry the same way (``ledger.audit``, read back as ``\\ud800``).
"""

from __future__ import annotations

from stellwerk.config.plain_text import hidden
from stellwerk.ledger.audit import AuditEntry


def shown_entry(entry: AuditEntry) -> AuditEntry:
    """``entry`` with its actor, target and details (names and values) shown (module docstring)."""
    return entry.with_text(shown)


def shown(text: str) -> str:
    """``text`` with each character a page does not show as itself written as its escape."""
    return "".join(f"\\u{ord(c):04x}" if hidden(c) is not None else c for c in text)
