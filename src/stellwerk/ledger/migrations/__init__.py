"""Alembic migrations of the ledger; run by :func:`stellwerk.ledger.migrate.upgrade`."""
