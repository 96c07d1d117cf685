"""Opening a ledger migrates it: from nothing, from an older revision, and twice in a row."""

from __future__ import annotations

import ast
import json
import os
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, Table, create_engine, event, inspect, text
from sqlalchemy.engine import make_url

from stellwerk.errors import LedgerError
from stellwerk.ledger import migrate
from stellwerk.ledger.engine import build_engine
from stellwerk.ledger.ledger import open_ledger
from stellwerk.ledger.migration_lock import lock_path
from stellwerk.ledger.partitions import ensure_partitions, existing_partitions, month_of, with_next
from stellwerk.ledger.record import UsageRecord
from stellwerk.ledger.rows import record_to_row
from stellwerk.ledger.tables import metadata
from tests.ledger.factory import make_records
from tests.ledger.migrate_child import RECORDS

ROOT = Path(__file__).resolve().parents[2]


def test_open_creates_tables_at_head(any_db_url: str) -> None:
    ledger = open_ledger(any_db_url)
    try:
        names = set(inspect(ledger.engine).get_table_names())
        assert {"usage", "audit_log", migrate.VERSION_TABLE} <= names
        with ledger.connect() as connection:
            assert migrate.current_revision(connection) == migrate.head_revision()
    finally:
        ledger.close()


def test_open_twice_keeps_data_and_changes_nothing(any_db_url: str) -> None:
    first = open_ledger(any_db_url)
    first.insert_usage(make_records(5))
    first.append_audit(actor="config", action="reload", target_kind="config", target="x.yaml")
    first.close()
    second = open_ledger(any_db_url)
    try:
        assert second.count_usage() == 5
        assert len(second.list_audit()) == 1
        with second.connect() as connection:
            assert migrate.current_revision(connection) == migrate.head_revision()
    finally:
        second.close()


def test_tables_module_matches_the_migrations(any_db_url: str) -> None:
    """Someone who changes tables.py without a migration (or the reverse) fails here."""
    ledger = open_ledger(any_db_url)
    try:
        ledger.insert_usage(make_records(3))  # makes a partition on PostgreSQL: must be ignored
        with ledger.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={"include_object": _not_partition, "compare_type": True},
            )
            differences = [
                diff for diff in compare_metadata(context, metadata) if not _version_table(diff)
            ]
        assert differences == []
    finally:
        ledger.close()


def _not_partition(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    return not (type_ == "table" and name is not None and name.startswith("usage_y"))


def _version_table(diff: object) -> bool:
    return (
        isinstance(diff, tuple)
        and diff[0] == "remove_table"
        and (diff[1].name == migrate.VERSION_TABLE)
    )


def test_database_at_older_revision_is_upgraded_with_its_data(any_db_url: str) -> None:
    engine = build_engine(any_db_url)
    migrate.upgrade(engine, "0001_usage")
    assert "audit_log" not in inspect(engine).get_table_names()
    insert_old_usage(engine, make_records(4))  # as 0001 stored them: cost a float
    engine.dispose()

    upgraded = open_ledger(any_db_url)
    try:
        assert upgraded.count_usage() == 4
        assert [r.request_id for r in upgraded.recent_usage(limit=10)] == [
            r.request_id for r in reversed(make_records(4))
        ]
        entry = upgraded.append_audit(
            actor="cli:ops", action="upgrade", target_kind="config", target="db"
        )
        assert upgraded.list_audit() == [entry]
    finally:
        upgraded.close()


def insert_old_usage(engine: Engine, records: list[UsageRecord]) -> None:
    """Write records the way revisions before 0700 did: ``cost`` a float of currency units."""
    table = Table("usage", MetaData(), autoload_with=engine)
    rows = []
    for record in records:
        row = record_to_row(record)
        row["cost"] = row.pop("cost_micro") / 1e6
        rows.append(row)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            ensure_partitions(connection, with_next(month_of(r.time) for r in records))
        connection.execute(table.insert(), rows)


def test_money_becomes_exact_micro_units_without_loss(any_db_url: str) -> None:
    """0700: float costs, rollups and budgets become integer micro-units, nothing lost; the
    rollup trigger keeps working on the new column."""
    engine = build_engine(any_db_url)
    migrate.upgrade(engine, "0600_dashboard_sessions")
    records = make_records(40)
    insert_old_usage(engine, records)
    with engine.begin() as connection:
        # the float a cost of 94 micro-units came out as (0.000094 is not a binary fraction)
        connection.execute(
            text("UPDATE usage SET cost = :cost WHERE request_id = :id"),
            {"cost": 94 * 1e-6 * 1.0000000000000002, "id": records[0].request_id},
        )
        limits = Table("gov_limits", MetaData(), autoload_with=engine)
        common = {"scope_kind": "department", "version": 1, "updated_by": "t"}
        now = datetime(2026, 11, 1, tzinfo=UTC)
        connection.execute(
            limits.insert(),
            [
                {**common, "scope": "a", "monthly_budget": 250.5, "updated_at": now},
                {**common, "scope": "b", "monthly_budget": 0.0005, "updated_at": now},
                {**common, "scope": "c", "monthly_budget": 1e303, "updated_at": now},
                {**common, "scope": "d", "monthly_budget": None, "updated_at": now},
            ],
        )
    engine.dispose()
    expected = {r.request_id: r.cost_micro for r in records}
    expected[records[0].request_id] = 94
    ledger = open_ledger(any_db_url)
    try:
        stored = {r.request_id: r.cost_micro for r in ledger.recent_usage(limit=100)}
        assert stored == expected
        assert ledger.recent_usage(limit=100)[-1].cost == Decimal("0.000094")
        more = make_records(3, start=100)
        ledger.insert_usage(more)  # the trigger now sums cost_micro
        with ledger.connect() as connection:
            daily = connection.execute(text("SELECT sum(cost_micro) FROM usage_daily")).scalar()
            rows = connection.execute(text("SELECT scope, monthly_budget_micro FROM gov_limits"))
            budgets = {scope: value for scope, value in rows}
        # the rollups were summed before the UPDATE above, from the records' own costs
        assert daily == sum(r.cost_micro for r in records + more)
        assert budgets == {"a": 250_500_000, "b": 500, "c": 10**18, "d": None}
    finally:
        ledger.close()


def test_database_from_a_newer_version_is_refused(any_db_url: str) -> None:
    open_ledger(any_db_url).close()
    engine = build_engine(any_db_url)
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE {migrate.VERSION_TABLE} SET version_num = '9999_future'"))
    engine.dispose()
    with pytest.raises(LedgerError, match=r"9999_future.*newer version"):
        open_ledger(any_db_url)


def test_sqlite_runs_in_wal_mode_with_normal_sync(sqlite_url: str, tmp_path: Path) -> None:
    ledger = open_ledger(sqlite_url)
    try:
        with ledger.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 5000
    finally:
        ledger.close()
    # The file is an ordinary SQLite database that other tools can read.
    with sqlite3.connect(tmp_path / "ledger.db") as plain:
        assert plain.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "not a valid URL"),
        ("postgresql+psycopg://u:secret@db:abc/ledger", "not a valid URL"),
        ("postgresql+psycopg://u:sec/ret@db:abc/ledger", "not a valid URL"),
        ("postgresql+psycopg://u:sec@ret@db:abc/ledger", "not a valid URL"),
        ("mysql://user:secret@db/ledger", "unsupported database 'mysql'"),
        ("sqlite:////nonexistent-dir/sub/ledger.db", "cannot open the ledger"),
        ("postgresql+psycopg://postgres:secret@127.0.0.1:1/nothing", "cannot open the ledger"),
    ],
)
def test_bad_url_gives_a_clear_error_without_the_password(url: str, message: str) -> None:
    with pytest.raises(LedgerError, match=message) as caught:
        open_ledger(url)
    assert "secret" not in str(caught.value) and "ret" not in str(caught.value).split("@")[0]


def test_in_memory_sqlite_works_for_quick_tools() -> None:
    ledger = open_ledger("sqlite://")
    try:
        ledger.insert_usage(make_records(2))
        assert ledger.count_usage() == 2
    finally:
        ledger.close()


@pytest.mark.postgres
def test_postgres_usage_is_partitioned_by_month(pg_schema_url: str) -> None:
    ledger = open_ledger(pg_schema_url)
    try:
        records = make_records(3000)  # 37 minutes apart: November 2026 into January 2027
        ledger.insert_usage(records[:1000])
        ledger.insert_usage(records[1000:])
        with ledger.connect() as connection:
            kind = connection.execute(
                text("SELECT relkind FROM pg_class WHERE oid = to_regclass('usage')")
            ).scalar()
            partitions = existing_partitions(connection)
            per_partition = {
                name: int(connection.execute(text(f"SELECT count(*) FROM {name}")).scalar_one())
                for name in partitions
            }
        assert kind == "p"
        # and the month after the last one, made ahead of time
        assert partitions == [
            "usage_y2026m11",
            "usage_y2026m12",
            "usage_y2027m01",
            "usage_y2027m02",
        ]
        assert sum(per_partition.values()) == 3000 == ledger.count_usage()
        assert per_partition["usage_y2027m02"] == 0
        november = sum(1 for r in records if r.time.month == 11)
        assert per_partition["usage_y2026m11"] == november
    finally:
        ledger.close()


@pytest.mark.postgres
def test_postgres_replicas_migrating_at_once_all_succeed(pg_schema_url: str) -> None:
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            open_ledger(pg_schema_url).close()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    engine = create_engine(pg_schema_url)
    with engine.connect() as connection:
        assert migrate.current_revision(connection) == migrate.head_revision()
    engine.dispose()


PROCESSES = 4


def test_processes_migrating_one_fresh_database_at_once_all_succeed(any_db_url: str) -> None:
    """Gateway processes started together on a new ledger: every one opens it, the migrations
    run once in all, and every process's records are there afterwards."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.ledger.migrate_child", any_db_url, f"p{n}"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(PROCESSES)
    ]
    try:
        for child in children:  # all imported and waiting ...
            assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        for child in children:  # ... then all told to go at once
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        outputs = [child.communicate(timeout=120) for child in children]
    finally:
        for child in children:
            child.kill()
            child.wait()
    for child, (_, errors) in zip(children, outputs, strict=True):
        assert child.returncode == 0, errors
    ran = [line for out, _ in outputs for line in json.loads(out.splitlines()[-1])["ran"]]
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    assert len(ran) == len(list(scripts.walk_revisions()))  # each migration ran exactly once
    ledger = open_ledger(any_db_url)
    try:
        with ledger.connect() as connection:
            versions = connection.execute(
                text(f"SELECT version_num FROM {migrate.VERSION_TABLE}")
            ).all()
        assert versions == [(migrate.head_revision(),)]
        stored = {r.request_id for r in ledger.recent_usage(limit=10 * PROCESSES * RECORDS)}
        expected = {
            r.request_id for n in range(PROCESSES) for r in make_records(RECORDS, prefix=f"p{n}")
        }
        assert stored == expected
    finally:
        ledger.close()


@pytest.mark.parametrize(
    ("months", "expected"),
    [
        ([(2026, 11)], {(2026, 11), (2026, 12)}),
        ([(2026, 12)], {(2026, 12), (2027, 1)}),
        ([(2026, 1), (2026, 2)], {(2026, 1), (2026, 2), (2026, 3)}),
    ],
)
def test_partitions_are_made_a_month_ahead(
    months: list[tuple[int, int]], expected: set[tuple[int, int]]
) -> None:
    assert with_next(months) == expected


@pytest.mark.parametrize(
    ("url", "lock"),
    [
        ("sqlite:////var/lib/stellwerk/ledger.db", "/var/lib/stellwerk"),
        ("sqlite:///ledger.db", "."),
        ("sqlite:///file:/srv/l.db?mode=rwc&uri=true", "/srv"),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("sqlite:///file:shared?mode=memory&cache=shared&uri=true", None),
    ],
)
def test_sqlite_migration_locks_the_folder_of_the_database(url: str, lock: str | None) -> None:
    path = lock_path(make_url(url))
    assert (None if path is None else str(path)) == lock


def test_opening_a_sqlite_ledger_leaves_no_lock_file(tmp_path: Path) -> None:
    ledger = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    ledger.close()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("ledger.db-")) == [
        "ledger.db"
    ]


def test_an_sqlite_upgrade_that_fails_halfway_leaves_nothing_behind(tmp_path: Path) -> None:
    """The last migration fails after every earlier one ran (as a killed process would stop):
    the database is left empty, not half-made, and the next start migrates it cleanly."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    engine = build_engine(url)

    def fail_at_the_last_migration(
        conn: object, cursor: object, statement: str, *args: object
    ) -> None:
        if statement.lstrip().upper().startswith("CREATE TABLE DASHBOARD_SESSIONS"):
            raise RuntimeError("killed")

    event.listen(engine, "before_cursor_execute", fail_at_the_last_migration)
    with pytest.raises(RuntimeError, match="killed"):
        migrate.upgrade(engine)
    event.remove(engine, "before_cursor_execute", fail_at_the_last_migration)
    assert inspect(engine).get_table_names() == []
    engine.dispose()

    ledger = open_ledger(url)  # the next start
    try:
        with ledger.connect() as connection:
            assert migrate.current_revision(connection) == migrate.head_revision()
    finally:
        ledger.close()


def test_migrations_import_no_stellwerk_code() -> None:
    """A migration carries the SQL and types it ran: one that called the ledger's code would
    build something else after that code changed."""
    versions = migrate.MIGRATIONS_DIR / "versions"
    found = {}
    for script in sorted(versions.glob("*.py")):
        tree = ast.parse(script.read_text(encoding="utf-8"))
        names = [
            node.module if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        ]
        found[script.name] = sorted({n for n in names if n and n.split(".")[0] == "stellwerk"})
    assert len(found) >= 10
    assert {name: imported for name, imported in found.items() if imported} == {}


_TRIGGERS = {
    "sqlite": {
        "audit_log_no_delete",
        "audit_log_no_update",
        "calibration_records_no_delete",
        "calibration_records_no_update",
        "catalog_costs_no_delete",
        "catalog_costs_no_update",
        "router_versions_no_delete",
        "router_versions_no_update",
        "usage_rollup",
    },
    "postgresql": {
        "audit_log_no_change",
        "audit_log_no_truncate",
        "calibration_records_no_change",
        "catalog_costs_no_change",
        "router_versions_no_change",
        "usage_rollup",
    },
}


def test_an_empty_database_migrated_to_head_has_every_trigger(any_db_url: str) -> None:
    """base -> head on an empty database: the append-only guards and the one rollup trigger,
    nothing more (the tables and indexes are compared with the metadata above)."""
    engine = build_engine(any_db_url)
    migrate.upgrade(engine)
    with engine.connect() as connection:
        dialect = connection.dialect.name
        if dialect == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        else:
            query = (
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
                " AND tgrelid::regclass::text NOT LIKE 'usage_y%'"
                " AND tgrelid IN (SELECT oid FROM pg_class"
                " WHERE relnamespace = to_regnamespace(current_schema()))"
            )
        names = {str(row[0]) for row in connection.execute(text(query))}
    engine.dispose()
    assert names == _TRIGGERS[dialect]
