"""Dashboard fixtures: a real gateway (real llama.cpp server, SQLite ledger) whose config carries
governance facts, an admin key, use cases and a stored key to revoke; and a real browser (Debian's
Chromium driven by Playwright). The browser needs a server (uvicorn: ``dashboard``,
``served_offline_dashboard``); HTTP clients reach the app in process (``offline_dashboard``): the
admin logged in to it (``admin``), in each page language in turn (``admin_in_language``)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from stellwerk.config import parse_config
from stellwerk.dashboard.i18n import LANGUAGES
from stellwerk.governance.key_store import KeyStore
from stellwerk.ledger.ledger import Ledger, open_ledger
from tests.dashboard.client import login
from tests.fixtures.gateway import (
    ENVIRON,
    Gateway,
    in_process,
    migrated_copy,
    raw_config,
    running_gateway,
)
from tests.fixtures.llama import LlamaBackend

if TYPE_CHECKING:
    from playwright.sync_api import Page

ADMIN_KEY = "sk-stw-test-admin-c0ffee5e1f2a3b4c5d6e"
SECRET = "dashboard-test-secret-0123456789abcdef0123"
DASHBOARD_ENV = {**ENVIRON, "STW_TEST_KEY_ADMIN": ADMIN_KEY, "STW_TEST_DASHBOARD": SECRET}


def dashboard_raw(llama_url: str, database_url: str) -> dict[str, Any]:
    raw = raw_config(llama_url, database_url)
    for model in raw["models"]:
        model.update(licence="Apache-2.0", hosting="on_prem", owner="ml-platform")
    raw["models"][2].update(risk_tier="high", model_card_url="https://models.example/large")
    raw["models"][1].update(hosting="eu_cloud", lifecycle="in_review")
    raw["models"][0].update(data_owner="legal")  # legal's consent: it may withdraw it
    raw["departments"].append(
        {
            "name": "it",
            "classification": "confidential",
            "keys": [{"id": "it-admin", "key_env": "STW_TEST_KEY_ADMIN", "role": "admin"}],
        }
    )
    raw["use_cases"] = [
        {
            "name": "contract-review",
            "department": "legal",
            "purpose": "first reading of supplier contracts",
            "risk_tier": "high",
            "classification": "confidential",
        },
        {
            "name": "paper-summaries",
            "department": "research",
            "purpose": "summaries of papers",
            "risk_tier": "limited",
        },
    ]
    raw["dashboard"] = {"session_secret_env": "STW_TEST_DASHBOARD"}
    return raw


@dataclass(frozen=True)
class DashboardGateway:
    gateway: Gateway
    stored_key_id: str  # a user key of research kept in the database (the one to revoke)
    stored_key: str

    @property
    def url(self) -> str:
        return self.gateway.url + "/dashboard"


def seed(raw: dict[str, Any]) -> tuple[str, str]:
    """One stored user key of research, made before the gateway starts (as the CLI would);
    returns its id and secret. The gateway seeds the catalog and use cases itself."""
    config = parse_config(raw)
    ledger = open_ledger(config.server.database_url)
    try:
        new = KeyStore(ledger, config).create(department="research", actor="cli:test")
    finally:
        ledger.close()
    return new.info.key_id, new.key


@pytest.fixture
def dashboard_config(
    llama_server: LlamaBackend, tmp_path: Path, ledger_template: Path
) -> dict[str, Any]:
    database_url = migrated_copy(ledger_template, tmp_path / "ledger.db")
    return dashboard_raw(llama_server.base_url, database_url)


@pytest.fixture
def dashboard(dashboard_config: dict[str, Any]) -> Iterator[DashboardGateway]:
    key_id, key = seed(dashboard_config)
    with running_gateway(dashboard_config, DASHBOARD_ENV) as gw:
        yield DashboardGateway(gw, key_id, key)


OFFLINE_BACKEND = (
    "http://127.0.0.1:9"  # discard port: nothing answers, which the health widget shows
)


@pytest.fixture
def offline_dashboard(tmp_path: Path, ledger_template: Path) -> Iterator[DashboardGateway]:
    """The dashboard over a backend that is down: enough for everything but real traffic. In
    process: for HTTP clients (``gateway.client()``), not for a browser."""
    raw = dashboard_raw(OFFLINE_BACKEND, migrated_copy(ledger_template, tmp_path / "ledger.db"))
    key_id, key = seed(raw)
    with in_process(raw, DASHBOARD_ENV) as gw:
        yield DashboardGateway(gw, key_id, key)


@pytest.fixture
def offline_ledger(offline_dashboard: DashboardGateway) -> Iterator[Ledger]:
    """The ledger of ``offline_dashboard``, opened for the test."""
    opened = offline_dashboard.gateway.ledger()
    yield opened
    opened.close()


@pytest.fixture
def admin(offline_dashboard: DashboardGateway) -> Iterator[httpx.Client]:
    """An HTTP client logged in to ``offline_dashboard`` with the admin key."""
    with login(offline_dashboard.gateway, ADMIN_KEY) as (client, answer):
        assert answer.status_code == 303
        yield client


@pytest.fixture(params=LANGUAGES)
def language(request: pytest.FixtureRequest) -> str:
    """Each page language in turn: a test that takes it runs once per language."""
    value: str = request.param
    return value


@pytest.fixture
def admin_in_language(admin: httpx.Client, language: str) -> httpx.Client:
    """``admin``, asking every page in ``language`` (the language switch's cookie)."""
    admin.cookies.set("stw_lang", language, path="/dashboard")
    return admin


@pytest.fixture
def served_offline_dashboard(tmp_path: Path) -> Iterator[DashboardGateway]:
    """``offline_dashboard`` served by uvicorn, for the browser."""
    raw = dashboard_raw(OFFLINE_BACKEND, f"sqlite:///{tmp_path / 'ledger.db'}")
    key_id, key = seed(raw)
    with running_gateway(raw, DASHBOARD_ENV) as gw:
        yield DashboardGateway(gw, key_id, key)


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def page() -> Iterator[Page]:
    if importlib.util.find_spec("playwright") is None or not CHROMIUM.exists():
        pytest.skip("browser tests need the playwright package and /usr/bin/chromium (apt)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(locale="en-GB", viewport={"width": 1400, "height": 900})
        context.set_default_timeout(15_000)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()
