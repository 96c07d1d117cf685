"""A scratch PostgreSQL schema: empty when given, migrated by opening a ledger, gone afterwards."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from stellwerk.errors import LedgerError
from stellwerk.ledger import migrate
from stellwerk.ledger.ledger import open_ledger
from stellwerk.ledger.scratch import scratch_schema
from tests.fixtures.databases import POSTGRES_ENV


def _schema_of(url: str) -> str:
    options = str(make_url(url).query["options"])
    return options.removeprefix("-csearch_path=")


def _schemas(base: str) -> set[str]:
    engine = create_engine(make_url(base).set(drivername="postgresql+psycopg"))
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT schema_name FROM information_schema.schemata"))
            return {row[0] for row in rows}
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_scratch_schema_is_empty_then_migrated_then_dropped() -> None:
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests skipped: set {POSTGRES_ENV}")
    with scratch_schema(base, prefix="stellwerk_scratch_test") as url:
        schema = _schema_of(url)
        assert schema.startswith("stellwerk_scratch_test_")
        assert schema in _schemas(base)
        empty = create_engine(url)
        try:
            assert inspect(empty).get_table_names() == []
        finally:
            empty.dispose()
        ledger = open_ledger(url)
        try:
            assert inspect(ledger.engine).get_table_names(schema=schema) != []
            with ledger.connect() as connection:
                assert migrate.current_revision(connection) == migrate.head_revision()
        finally:
            ledger.close()
    assert schema not in _schemas(base)


@pytest.mark.parametrize("prefix", ["", "Bench", "bench; DROP TABLE usage", "x" * 42])
def test_a_prefix_that_is_not_an_identifier_is_refused(prefix: str) -> None:
    with (
        pytest.raises(LedgerError, match="not a lower-case identifier"),
        scratch_schema("postgresql+psycopg://nobody@127.0.0.1:1/none", prefix=prefix),
    ):
        pass


def test_an_unreachable_server_is_named_without_its_password() -> None:
    with (
        pytest.raises(
            LedgerError, match=r"cannot create a scratch schema on .*127\.0\.0\.1:1"
        ) as info,
        scratch_schema("postgresql+psycopg://user:secret@127.0.0.1:1/none"),
    ):
        pass
    assert "secret" not in str(info.value)
