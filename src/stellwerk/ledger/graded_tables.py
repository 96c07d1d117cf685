"""The router's learning tables: graded requests and the router versions made from them.

``graded_records``: one row per graded request (``source`` ``feedback`` from an application, or
``shadow``), at most one per request and source. It holds what the router learns from and never
the prompt or the answer (docs/router.md, "What is kept"): the prompt's latent vector, the base
router's predicted quality of each trained model, the prompt statistics, the grades and the
task label if the caller gave one. ``base_version`` names the router artifact that read the
prompt: records belong to it.

``router_versions``: append-only, one row per promotion or rollback of a correction on top of a
base artifact; the gateway uses the newest row of its artifact (``correction`` null: the base
alone). The migration ``0800_router_learning`` creates both.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, LargeBinary, Table, Text, UniqueConstraint

from stellwerk.ledger.tables import metadata
from stellwerk.ledger.types import UTCDateTime, json_type

graded_records = Table(
    "graded_records",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("time", UTCDateTime(), nullable=False),
    Column("department", Text, nullable=False),
    Column("key_id", Text, nullable=False),
    Column("route", Text, nullable=False),
    Column("base_version", Text, nullable=False),
    Column("model", Text, nullable=False),
    Column("task", Text),
    Column("latent", json_type(), nullable=False),
    Column("base", json_type(), nullable=False),
    Column("stats", json_type(), nullable=False),
    Column("grades", json_type(), nullable=False),
    UniqueConstraint("request_id", "source"),
    Index("ix_graded_records_base_version_id", "base_version", "id"),
)

router_versions = Table(
    "router_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", UTCDateTime(), nullable=False),
    Column("base_version", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("correction", LargeBinary),
    Column("details", json_type(), nullable=False),
    Index("ix_router_versions_base_version_id", "base_version", "id"),
)
