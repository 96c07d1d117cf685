"""Retention removes exactly the usage older than the cutoff; on PostgreSQL whole months go."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stellwerk.errors import InvalidRequest
from stellwerk.ledger.ledger import Ledger
from stellwerk.ledger.partitions import existing_partitions
from tests.ledger.factory import make_record, make_records


def test_delete_before_cutoff_keeps_the_rest(ledger: Ledger) -> None:
    records = make_records(3000)  # November 2026 into January 2027
    ledger.insert_usage(records)
    cutoff = datetime(2026, 12, 15, tzinfo=UTC)
    older = sum(1 for r in records if r.time < cutoff)
    assert ledger.delete_usage_before(cutoff) == older
    assert ledger.count_usage() == len(records) - older
    assert min(r.time for r in ledger.recent_usage(limit=10_000)) >= cutoff
    if ledger.dialect == "postgresql":
        with ledger.connect() as connection:
            assert "usage_y2026m11" not in existing_partitions(connection)
    # a late record for a dropped month is still accepted (its partition is made again)
    late = make_record(1, prefix="late", time=datetime(2026, 11, 20, tzinfo=UTC))
    ledger.insert_usage([late])
    assert ledger.count_usage() == len(records) - older + 1


def test_naive_cutoff_is_refused(ledger: Ledger) -> None:
    ledger.insert_usage(make_records(3))
    with pytest.raises(InvalidRequest, match="timezone"):
        ledger.delete_usage_before(datetime(2026, 12, 1))
    assert ledger.count_usage() == 3
