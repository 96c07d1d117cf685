"""A model's page names what the model can do in the page's language, its thinking too."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.dashboard.client import login
from tests.dashboard.conftest import ADMIN_KEY, DASHBOARD_ENV, OFFLINE_BACKEND, dashboard_raw
from tests.fixtures.gateway import in_process, migrated_copy

_CAPABILITIES = re.compile(r"<dt>(?:Capabilities|Fähigkeiten)</dt><dd>([^<]*)</dd>")


@pytest.mark.parametrize(
    ("language", "named"),
    [
        ("en", "chat, completion, tools, JSON, thinking"),
        ("de", "Chat, Textvervollständigung, Werkzeuge, JSON, Denken"),
    ],
)
def test_a_models_page_names_its_capabilities_thinking_too(
    tmp_path: Path, ledger_template: Path, language: str, named: str
) -> None:
    raw = dashboard_raw(OFFLINE_BACKEND, migrated_copy(ledger_template, tmp_path / "ledger.db"))
    raw["models"][0]["capabilities"].append("thinking")  # tiny-small: chat ... json, thinking
    with in_process(raw, DASHBOARD_ENV) as gw, login(gw, ADMIN_KEY) as (client, _):
        client.cookies.set("stw_lang", language, path="/dashboard")
        page = client.get("/dashboard/models/tiny-small")
    assert page.status_code == 200
    assert _CAPABILITIES.findall(page.text) == [named]
