"""A gateway stand-in for test_migrations: opens (and so migrates) a ledger when told to.

Usage: python -m tests.ledger.migrate_child URL NAME

Prints ``ready`` once imported, waits for a line on stdin, opens the ledger, writes 20 records
named ``NAME-...`` and prints one JSON line: the migrations this process ran, in order.
"""

from __future__ import annotations

import json
import logging
import sys

from stellwerk.ledger.ledger import open_ledger
from tests.ledger.factory import make_records

RECORDS = 20


class _Upgrades(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.ran: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Running upgrade"):
            self.ran.append(message)


def main(url: str, name: str) -> None:
    upgrades = _Upgrades()
    alembic_log = logging.getLogger("alembic.runtime.migration")
    alembic_log.setLevel(logging.INFO)
    alembic_log.addHandler(upgrades)
    print("ready", flush=True)
    sys.stdin.readline()
    ledger = open_ledger(url)
    try:
        ledger.insert_usage(make_records(RECORDS, prefix=name))
    finally:
        ledger.close()
    print(json.dumps({"ran": upgrades.ran}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
