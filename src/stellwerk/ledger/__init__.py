"""Ledger: usage records and the audit log, on SQLite or PostgreSQL."""
