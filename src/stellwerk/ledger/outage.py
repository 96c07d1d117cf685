"""When the ledger's database cannot be reached: which of SQLAlchemy's errors say so, and the 503
(``LedgerUnavailable``) they become for what reads or changes the ledger on a request (the admin
API, the dashboard). The answer names the ledger only, never the database's own error (it names
the server's address); the log gets that, in one line, for an outage is expected, not a bug.

    a connection refused, reset or lost; a server shutting down  OperationalError
    a connection closed under the driver                          InterfaceError
    no free pooled connection in time                             sqlalchemy's TimeoutError
    any error after which the pool dropped the connection         connection_invalidated

Any other database error (a constraint, a type, SQL the database refuses) is a bug: a 500.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from stellwerk.errors import LedgerUnavailable

log = logging.getLogger("stellwerk.ledger")

#: What a client is told: which state failed, and to come back.
MESSAGE = "ledger: the database cannot be reached; try again shortly"


def unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the ledger's database cannot be reached now (the table above)."""
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
