"""Delete usage records older than a cutoff, of all keys or of some (the retention of
``stellwerk.governance.retention`` calls these).

On PostgreSQL every monthly partition that lies entirely before the cutoff is dropped in one
statement (no row-by-row delete, no table bloat); rows of the month the cutoff falls in are deleted.
On SQLite it is one ``DELETE``. The audit log is not touched here: it is append-only.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, delete, func, or_, select, text

from stellwerk.errors import InvalidRequest
from stellwerk.ledger.partitions import existing_partitions, month_bounds
from stellwerk.ledger.tables import usage

_PARTITION = re.compile(r"^usage_y(\d{4})m(\d{2})$")


def delete_usage_before(connection: Connection, cutoff: datetime) -> int:
    """Remove every usage record with ``time < cutoff``; return how many were removed."""
    if cutoff.utcoffset() is None:
        raise InvalidRequest("retention cutoff must carry a timezone", param="cutoff")
    removed = 0
    for name in existing_partitions(connection):
        match = _PARTITION.match(name)
        if match is None:
            continue
        _, end = month_bounds((int(match.group(1)), int(match.group(2))))
        if end <= cutoff:
            removed += int(connection.execute(text(f"SELECT count(*) FROM {name}")).scalar_one())
            connection.execute(text(f"DROP TABLE {name}"))
    older = usage.c.time < cutoff
    removed += int(connection.execute(select(func.count()).where(older)).scalar_one())
    connection.execute(delete(usage).where(older))
    return removed


def delete_usage_of_keys(
    connection: Connection,
    cutoff: datetime,
    keys: Collection[str],
    *,
    and_all_but: Collection[str] | None = None,
) -> int:
    """Remove the usage records with ``time < cutoff`` of ``keys`` and, when ``and_all_but`` is
    given, of every key not in it as well; return how many were removed."""
    mine: ColumnElement[bool] = usage.c.key_id.in_(list(keys))
    if and_all_but is not None:
        mine = or_(mine, usage.c.key_id.not_in(list(and_all_but)))
    result = connection.execute(delete(usage).where(usage.c.time < cutoff, mine))
    return int(result.rowcount or 0)
