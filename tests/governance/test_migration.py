from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from stellwerk.ledger.ledger import Ledger
from stellwerk.ledger.tables import metadata

GOVERNANCE = {"gov_models", "gov_model_history", "gov_keys", "gov_use_cases", "gov_limits"}


def test_migration_creates_exactly_the_governance_tables(ledger: Ledger) -> None:
    with ledger.connect() as connection:
        assert set(inspect(connection).get_table_names()) >= GOVERNANCE
        context = MigrationContext.configure(connection)
        diff = compare_metadata(context, metadata)
    ours = [d for d in diff if any(name in repr(d) for name in GOVERNANCE)]
    assert ours == []
