"""Every table has one owner, the only package whose code reads or writes it (docs/architecture.md,
"The database"): another package asks the owner's functions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import Table

from stellwerk.ledger import governance_tables, graded_tables, rollup_tables, session_tables, tables

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "stellwerk"
TABLE_MODULES = {
    f"stellwerk.ledger.{m.__name__.rpartition('.')[2]}": m
    for m in (tables, governance_tables, graded_tables, rollup_tables, session_tables)
}
OWNERS = {
    "usage": "ledger",
    "usage_daily": "ledger",
    "usage_latency_daily": "ledger",
    "audit_log": "ledger",
    "graded_records": "ledger",
    "router_versions": "ledger",
    "gov_models": "governance",
    "gov_model_history": "governance",
    "gov_keys": "governance",
    "gov_key_requests": "governance",
    "gov_use_cases": "governance",
    "gov_limits": "governance",
    "calibration_records": "calibration",
    "catalog_costs": "calibration",
    "dashboard_sessions": "dashboard",
}


def _uses() -> list[tuple[str, str, str]]:
    """(part, module path, table) for every table a module outside the ledger imports."""
    found: list[tuple[str, str, str]] = []
    for path in sorted(SRC.rglob("*.py")):
        part = path.relative_to(SRC).parts[0]
        if part == "ledger":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or node.module is None:
                continue
            if node.module == "stellwerk.ledger":  # a whole table module
                named = {f"stellwerk.ledger.{a.name}" for a in node.names}
                for module in named & TABLE_MODULES.keys():
                    found += [
                        (part, str(path.relative_to(ROOT)), t.name)
                        for t in _tables(TABLE_MODULES[module])
                    ]
            elif node.module in TABLE_MODULES:
                imported = TABLE_MODULES[node.module]
                for alias in node.names:
                    value = getattr(imported, alias.name, None)
                    if isinstance(value, Table):
                        found.append((part, str(path.relative_to(ROOT)), value.name))
    return found


def _tables(module: object) -> list[Table]:
    return [v for v in vars(module).values() if isinstance(v, Table)]


def test_every_table_has_an_owner() -> None:
    assert set(tables.metadata.tables) == set(OWNERS)


@pytest.mark.parametrize(("part", "path", "table"), _uses())
def test_only_the_owner_uses_a_table(part: str, path: str, table: str) -> None:
    assert part == OWNERS[table], f"{path} uses {table}, which belongs to {OWNERS[table]}"


def test_the_owners_are_documented() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = [table for table in OWNERS if f"`{table}`" not in text]
    assert not missing, f"docs/architecture.md does not name {missing}"
