"""The router learning the organisation's traffic: its versions in the ledger and adapting it
from graded requests (above ``routing``, which knows no database, and ``ledger``, which keeps
the records)."""
