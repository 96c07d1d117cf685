"""When the ledger's database cannot be reached: which of SQLAlchemy's errors say so, and the 503
(``LedgerUnavailable``) they become for what reads or changes the ledger on a request (the admin
API, the dashboard). The answer names the ledger only, never the database's own error (it names
the server's address); the log gets that, in one line, for an outage is expected, not a bug.
A background loop that reads the ledger (the governance snapshot, the router's versions, the
answer lengths) logs an outage once each way (``OutageLog``), not a traceback every round.

    a connection refused, reset or lost; a server shutting down  OperationalError
    a connection closed under the driver                          InterfaceError
    no free pooled connection in time                             sqlalchemy's TimeoutError
    any error after which the pool dropped the connection         connection_invalidated

Any other database error (a constraint, a type, SQL the database refuses, a table SQLite does
not have) is a bug: a 500.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from stellwerk.errors import LedgerUnavailable

log = logging.getLogger("stellwerk.ledger")

#: What a client is told: which state failed, and to come back.
MESSAGE = "ledger: the database cannot be reached; try again shortly"


#: SQLite's words for a schema that is not the ledger's (an OperationalError there, as an outage
#: is; PostgreSQL's is a ProgrammingError): a bug or a wrong file, a 500 that says so in the log
_SCHEMA_WORDS = ("no such table", "no such column")


def unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the ledger's database cannot be reached now (the table above)."""
    if isinstance(exc, OperationalError) and any(w in str(exc.orig) for w in _SCHEMA_WORDS):
        return False
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def unavailable(exc: BaseException, where: str) -> LedgerUnavailable | None:
    """The 503 of ``exc`` raised while serving ``where`` (``GET /admin/keys``), logged here
    with the database's own error; ``None`` when ``exc`` is no outage (a bug)."""
    if not unreachable(exc):
        return None
    log.warning("%s: the ledger's database failed (%s); answered 503", where, describe(exc))
    error = LedgerUnavailable(MESSAGE)
    error.__cause__ = exc
    return error


def describe(exc: BaseException) -> str:
    """``exc`` in one line: its type and the first line of its message."""
    lines = str(exc).splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


class OutageLog:
    """The log of one background loop's reads of the ledger (``what`` names it): an outage is
    one WARNING when it begins (the database's error) and one INFO when the database answers
    again, the rounds between at DEBUG; a failure that is no outage is for the caller to log."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._failing = False

    def failed(self, exc: BaseException) -> bool:
        """Whether ``exc`` is an outage (logged here); ``False``: a bug, for the caller."""
        if not unreachable(exc):
            return False
        if not self._failing:
            log.warning(
                "%s: the ledger's database failed (%s); keeping what was read, trying again",
                self.what,
                describe(exc),
            )
        log.debug("%s: the ledger's database failed", self.what, exc_info=exc)
        self._failing = True
        return True

    def answered(self) -> None:
        """A read succeeded."""
        if self._failing:
            log.info("%s: the ledger's database answers again", self.what)
        self._failing = False
