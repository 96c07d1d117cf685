"""The audit log's ``config.load`` entry names the config file the gateway was started with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from stellwerk.config import load_config
from stellwerk.gateway import create_app
from stellwerk.governance.admin import IN_CODE
from stellwerk.ledger.ledger import open_ledger
from tests.fixtures.gateway import ENVIRON, in_process
from tests.fixtures.inprocess import app_in_thread

pytestmark = pytest.mark.llama


def _loads(database_url: str) -> list[tuple[str, str]]:
    ledger = open_ledger(database_url)
    try:
        return [(e.target_kind, e.target) for e in ledger.list_audit(action="config.load")]
    finally:
        ledger.close()


def test_the_audit_names_the_file_served(gateway_raw: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "examples" / "governance.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(gateway_raw), encoding="utf-8")
    config = load_config(path)
    with app_in_thread(create_app(config, environ=ENVIRON)):
        pass
    assert _loads(config.server.database_url) == [("config", str(path.resolve()))]


def test_a_config_built_in_code_is_audited_as_such(gateway_raw: dict[str, Any]) -> None:
    with in_process(gateway_raw) as gw:
        pass
    assert _loads(gw.database_url) == [("config", IN_CODE)]
