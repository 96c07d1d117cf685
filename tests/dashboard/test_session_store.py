"""The server's side of dashboard sessions, on SQLite and PostgreSQL: a session lives from login
to logout or expiry, and ended or expired ones are refused and cleaned up."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from stellwerk.dashboard.session import SessionCodec
from stellwerk.dashboard.session_store import SessionStore
from stellwerk.errors import AuthenticationFailed
from stellwerk.ledger.ledger import Ledger
from stellwerk.ledger.session_tables import dashboard_sessions
from tests.dashboard.test_session import SECRET, Clock


def _rows(ledger: Ledger) -> int:
    with ledger.connect() as connection:
        return int(
            connection.execute(select(func.count()).select_from(dashboard_sessions)).scalar_one()
        )


def test_a_session_lives_from_login_to_logout_or_expiry(ledger: Ledger) -> None:
    clock = Clock(1_000_000.0)
    codec = SessionCodec(SECRET, lifetime_s=600, clock=clock)
    store = SessionStore(ledger, clock=clock)
    ended, _ = codec.issue("it-admin", "config")
    expiring, _ = codec.issue("it-admin", "config")
    store.start(ended)
    store.start(expiring)
    store.check(ended)
    store.end(ended.nonce)
    with pytest.raises(AuthenticationFailed, match="has ended"):
        store.check(ended)
    with pytest.raises(AuthenticationFailed, match="has ended"):  # never started
        store.check(codec.issue("it-admin", "config")[0])
    clock.now += 600
    with pytest.raises(AuthenticationFailed, match="expired"):
        store.check(expiring)
    assert _rows(ledger) == 1  # the expired session's row is still there
    fresh = codec.issue("it-admin", "config")[0]
    store.start(fresh)  # the next login removes the expired one
    assert _rows(ledger) == 1
    store.check(fresh)  # and the one row left is the new session's


def test_a_done_is_redeemed_once_and_not_after_it_expires(ledger: Ledger) -> None:
    """The one-time id of an action's "Done" (``dashboard/told.py``): said once, on every
    replica sharing the database, and gone with the expired sessions."""
    clock = Clock(1_000_000.0)
    store = SessionStore(ledger, clock=clock)
    store.promise("said", clock.now + 120)
    store.promise("late", clock.now + 120)
    assert store.redeem("said") is True
    assert store.redeem("said") is False  # a copy of the cookie, sent again
    assert store.redeem("never-promised") is False
    clock.now += 120
    assert store.redeem("late") is False
    session = SessionCodec(SECRET, lifetime_s=600, clock=clock).issue("it-admin", "config")[0]
    store.start(session)  # a login removes the expired one-time id with the expired sessions
    assert _rows(ledger) == 1
