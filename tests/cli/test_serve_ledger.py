"""``stellwerk serve`` opens the ledger once: before the server starts (so that a ledger it
cannot open is one error line, exit 2), and the app's start takes that one over rather than
opening it, and checking its migrations, a second time (left29: it opened it twice)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml
from fastapi import FastAPI
from sqlalchemy import Engine
from typer.testing import CliRunner

from stellwerk.cli.main import build_app
from stellwerk.gateway.app import started
from stellwerk.ledger import migrate
from stellwerk.ledger.ledger import open_ledger
from tests.fixtures.gateway import ENVIRON, KEYS, OFFLINE_BACKEND, raw_config


def _serve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> tuple[Any, list[str], list[int]]:
    """``stellwerk serve`` in this process, on a config with ``database_url``: (its result,
    the ledgers it migrated or checked, the status of ``/healthz`` while it served). In place of
    uvicorn's loop the app is started, asked once and stopped, as uvicorn does around serving."""
    raw = raw_config(OFFLINE_BACKEND + "/v1", database_url)
    path = tmp_path / "stellwerk.yaml"
    path.write_text(yaml.safe_dump(raw))
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)
    upgraded: list[str] = []
    upgrade = migrate.upgrade

    def counted(engine: Engine, revision: str = "head") -> None:
        upgraded.append(engine.url.render_as_string(hide_password=True))
        upgrade(engine, revision)

    served: list[int] = []

    async def serve(app: FastAPI) -> None:
        async with started(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
                answer = await client.get("/healthz")
                served.append(answer.status_code)

    def run(app: FastAPI, **options: Any) -> None:
        asyncio.run(serve(app))

    monkeypatch.setattr(migrate, "upgrade", counted)
    monkeypatch.setattr(uvicorn, "run", run)
    result = CliRunner().invoke(build_app(), ["serve", "--config", str(path), "--port", "0"])
    return result, upgraded, served


def test_serve_opens_and_migrates_the_ledger_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, any_db_url: str
) -> None:
    result, upgraded, served = _serve(tmp_path, monkeypatch, any_db_url)
    assert result.exit_code == 0, result.output
    assert served == [200]
    assert len(upgraded) == 1, upgraded  # it was 2: serve's check, then the app's start
    ledger = open_ledger(any_db_url)  # the one open migrated it to the newest revision
    try:
        with ledger.connect() as connection:
            assert migrate.current_revision(connection) == migrate.head_revision()
        assert ledger.recent_usage() == []
    finally:
        ledger.close()
    assert KEYS["research"] not in result.output


@pytest.mark.parametrize(
    ("url", "error", "tried"),
    [
        # named with the variables not set, before the ledger is tried (`config check --env`'s
        # list of what serve would refuse)
        (
            "sqlite:///{tmp}/nowhere/ledger.db",
            "error: server.database_url: the SQLite ledger's folder {tmp}/nowhere does not exist",
            0,
        ),
        (
            "postgresql+psycopg://postgres:secret@127.0.0.1:1/nothing",
            "error: cannot open the ledger at ",
            1,
        ),
    ],
    ids=["sqlite-folder-missing", "postgres-unreachable"],
)
def test_a_ledger_serve_cannot_open_is_one_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, error: str, tried: int
) -> None:
    result, upgraded, served = _serve(tmp_path, monkeypatch, url.format(tmp=tmp_path))
    assert result.exit_code == 2
    assert error.format(tmp=tmp_path) in " ".join(result.output.split())
    assert "Traceback" not in result.output and "secret" not in result.output
    assert served == [] and len(upgraded) == tried
