"""Governance fixtures: a fresh ledger per test, on SQLite and on PostgreSQL
(see ``tests/fixtures/databases.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stellwerk.ledger.ledger import Ledger, open_ledger


@pytest.fixture
def ledger(any_db_url: str) -> Iterator[Ledger]:
    opened = open_ledger(any_db_url)
    try:
        yield opened
    finally:
        opened.close()
