"""Ledger rows as an older version of Stellwerk wrote them, which today's write functions refuse."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert

from stellwerk.ledger.ledger import open_ledger
from stellwerk.ledger.tables import audit_log

SURROGATE_REASON = "before \ud800 after"
"""A reason with a lone surrogate, which the admin API took before it refused one."""


def store_surrogate_entry(database_url: str) -> None:
    """A ``key.create`` audit entry whose reason is ``SURROGATE_REASON``, as an older version
    stored it on SQLite (``append_audit`` refuses one now, so it goes into the table itself;
    PostgreSQL never stored one)."""
    ledger = open_ledger(database_url)
    try:
        with ledger.engine.begin() as connection:
            connection.execute(
                insert(audit_log).values(
                    time=datetime.now(UTC),
                    actor="admin-1",
                    action="key.create",
                    target_kind="key",
                    target="key-0123456789ab",
                    details={"department": "legal", "reason": SURROGATE_REASON},
                )
            )
    finally:
        ledger.close()
