"""A scratch PostgreSQL schema for one run: fresh, empty, dropped afterwards.

For runs that share a PostgreSQL server and must neither see nor leave anything there (the test
suite, the benchmarks, a trial of a migration against a copy of production's server)::

    with scratch_schema("postgresql+psycopg://postgres@db/stellwerk") as url:
        ledger = open_ledger(url)  # migrates the empty schema to the newest revision

The URL it gives sets the connections' ``search_path`` to the new schema, so everything the
ledger creates lands there; the schema and all in it are dropped when the block ends.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from stellwerk.errors import LedgerError
from stellwerk.ledger.engine import safe_url

_PREFIX = re.compile(r"[a-z_][a-z0-9_]{0,40}")


@contextmanager
def scratch_schema(url: str, *, prefix: str = "stellwerk_scratch") -> Iterator[str]:
    """A URL on the PostgreSQL server of ``url`` (driven by psycopg) whose connections use a new,
    empty schema named ``{prefix}_{12 random hex digits}``; the schema is dropped on exit."""
    if not _PREFIX.fullmatch(prefix):
        raise LedgerError(
            f"scratch schema prefix {prefix!r} is not a lower-case identifier of at most 41 "
            "characters (letters, digits, _)"
        )
    base = make_url(url).set(drivername="postgresql+psycopg")
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    try:
        with admin.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
    except SQLAlchemyError as exc:
        admin.dispose()
        raise LedgerError(
            f"cannot create a scratch schema on {safe_url(base)}: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}"
        ) from exc
    try:
        yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
