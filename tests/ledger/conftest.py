"""Ledger fixtures: a fresh database per test, on SQLite (a temp file) and on PostgreSQL.

PostgreSQL tests run when ``STELLWERK_TEST_POSTGRES_URL`` is set (e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); each test gets its own schema, dropped
afterwards, so that concurrent runs on a shared server do not see each other.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from stellwerk.ledger.ledger import Ledger, open_ledger
from stellwerk.ledger.scratch import scratch_schema

POSTGRES_ENV = "STELLWERK_TEST_POSTGRES_URL"


def _postgres_base() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"PostgreSQL tests skipped: set {POSTGRES_ENV} to a postgresql+psycopg:// URL")
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose connections use a fresh, empty schema (dropped after the test)."""
    with scratch_schema(_postgres_base(), prefix="stellwerk_ledger") as schema_url:
        yield schema_url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Every test using this runs once on SQLite and once on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def ledger(db_url: str) -> Iterator[Ledger]:
    opened = open_ledger(db_url)
    try:
        yield opened
    finally:
        opened.close()
