"""The dashboard's sessions, kept in the ledger's database so that every replica sees them.

One row per logged-in browser, made at login and deleted at logout: a session cookie is accepted
only while its row exists and has not expired, so logging out ends the session everywhere, also
for a copy of the cookie. ``session_sha256`` is the SHA-256 of the session's random nonce (the
cookie carries the nonce; the database never does). Expired rows are deleted at every login and
logout. The migration ``0600_dashboard_sessions`` creates the table.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Table, Text

from stellwerk.ledger.tables import metadata
from stellwerk.ledger.types import UTCDateTime

dashboard_sessions = Table(
    "dashboard_sessions",
    metadata,
    Column("session_sha256", Text, primary_key=True),
    Column("key_id", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Index("ix_dashboard_sessions_expires_at", "expires_at"),
)
