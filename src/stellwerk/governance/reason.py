"""The reason given for a governance change: every change asks for one, and it goes into the
audit log. One rule for the CLI, the admin API and the dashboard: surrounding blank space is
dropped, and what is left must be 1 to ``MAX_REASON`` characters long.
"""

from __future__ import annotations

from typing import Final

from stellwerk.errors import InvalidRequest

MAX_REASON: Final = 1000


def audit_reason(reason: str) -> str:
    """``reason`` without surrounding blank space; an ``InvalidRequest`` when that leaves
    nothing or more than ``MAX_REASON`` characters."""
    cleaned = reason.strip()
    if not cleaned:
        raise InvalidRequest("give a reason: it goes into the audit log", param="reason")
    if len(cleaned) > MAX_REASON:
        raise InvalidRequest(f"the reason is longer than {MAX_REASON} characters", param="reason")
    return cleaned
