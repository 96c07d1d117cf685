"""Server-side dashboard sessions: a signed cookie is accepted only while its session row lives.

The cookie (``stellwerk.dashboard.session``) proves that this dashboard issued it; the row in
``dashboard_sessions`` (``stellwerk.ledger.session_tables``) says that it has not ended. Login
adds the row, logout deletes it, so a copy of the cookie is refused after logout on every replica
sharing the database. A row is found by the SHA-256 of the session's nonce: the database never
holds what the cookie carries. Expired rows are deleted at every login and logout, so the table
holds at most the sessions started within one session lifetime.

The same table holds the one-time ids of the "Done" line after an action (``dashboard/told.py``):
a row for the SHA-256 of ``told|<id>`` with no key, made when the action's redirect is answered
and deleted when its page says "Done", so a copy of the cookie that carried the id says nothing
more, on any replica. A session's nonce is never ``told|...`` (the session cookie is signed, its
nonce random), and no session has an empty key id, so such a row is never taken for a session.
It expires with the cookie and goes with the expired sessions.

The methods are synchronous (one short statement each); call them from a thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import delete, insert, or_, select

from stellwerk.dashboard.session import Session
from stellwerk.errors import AuthenticationFailed
from stellwerk.governance.keys import hash_key
from stellwerk.ledger.ledger import Ledger
from stellwerk.ledger.session_tables import dashboard_sessions as table


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _told(told_id: str) -> str:
    return hash_key(f"told|{told_id}")


class SessionStore:
    """Starts, checks and ends sessions in the ledger's database."""

    def __init__(self, ledger: Ledger, clock: Callable[[], float] = time.time) -> None:
        self._ledger = ledger
        self._clock = clock

    def start(self, session: Session) -> None:
        """Record a session just issued (and delete the expired ones)."""
        now = _at(self._clock())
        with self._ledger.begin() as connection:
            connection.execute(delete(table).where(table.c.expires_at <= now))
            connection.execute(
                insert(table).values(
                    session_sha256=hash_key(session.nonce),
                    key_id=session.key_id,
                    created_at=now,
                    expires_at=_at(session.expires),
                )
            )

    def check(self, session: Session) -> None:
        """``AuthenticationFailed`` unless ``session`` was started and has neither ended nor
        expired."""
        with self._ledger.connect() as connection:
            row = connection.execute(
                select(table.c.key_id, table.c.expires_at).where(
                    table.c.session_sha256 == hash_key(session.nonce)
                )
            ).first()
        if row is None or row.key_id != session.key_id:
            raise AuthenticationFailed(
                "this session has ended (logged out); log in again", code="login_required"
            )
        if row.expires_at <= _at(self._clock()):
            raise AuthenticationFailed("the session has expired", code="session_expired")

    def end(self, nonce: str) -> None:
        """Delete the session of ``nonce`` (logout), and the expired ones."""
        now = _at(self._clock())
        with self._ledger.begin() as connection:
            connection.execute(
                delete(table).where(
                    or_(table.c.session_sha256 == hash_key(nonce), table.c.expires_at <= now)
                )
            )

    def promise(self, told_id: str, expires: float) -> None:
        """Record the one-time id of a "Done" to be said once, until ``expires``."""
        with self._ledger.begin() as connection:
            connection.execute(
                insert(table).values(
                    session_sha256=_told(told_id),
                    key_id="",  # no session's: a session's row names its key
                    created_at=_at(self._clock()),
                    expires_at=_at(expires),
                )
            )

    def redeem(self, told_id: str) -> bool:
        """Whether the "Done" of ``told_id`` is still to be said; it is said now, so never again
        (the row is deleted: of two requests with the same id, one gets ``True``)."""
        now = _at(self._clock())
        with self._ledger.begin() as connection:
            deleted = connection.execute(
                delete(table).where(
                    table.c.session_sha256 == _told(told_id),
                    table.c.key_id == "",
                    table.c.expires_at > now,
                )
            )
        return deleted.rowcount == 1
