"""Catalog costs accepted from a calibration are what the gateway charges, from its next start."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pytest

from stellwerk.calibration.records import CalibrationStore, CostEntry
from stellwerk.ledger.ledger import open_ledger
from tests.fixtures.gateway import KEYS, in_process

pytestmark = pytest.mark.llama


def test_applied_costs_replace_the_configured_prices(gateway_raw: dict[str, Any]) -> None:
    ledger = open_ledger(gateway_raw["server"]["database_url"])
    try:
        CalibrationStore(ledger).apply_costs(
            [
                CostEntry(
                    model="tiny-small",
                    input_per_mtok=1000.0,
                    output_per_mtok=5000.0,
                    energy_wh_per_1k_tokens=2.5,
                    actor="cli:ops",
                )
            ]
        )
    finally:
        ledger.close()
    with in_process(gateway_raw) as gw:
        client = gw.openai(KEYS["research"], max_retries=0)
        for model in ("tiny-small", "tiny-medium"):
            client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "Hallo"}], max_tokens=3
            )
        client.close()
    ledger = gw.ledger()
    records = {r.model: r for r in ledger.recent_usage(limit=10)}
    [load] = ledger.list_audit(action="config.load")
    ledger.close()
    small, medium = records["tiny-small"], records["tiny-medium"]
    # the records name the config file the audit log says was loaded, costs applied or not
    assert small.config_hash == medium.config_hash == load.config_hash
    tokens = small.prompt_tokens, small.completion_tokens
    assert small.cost_micro == tokens[0] * 1000 + tokens[1] * 5000  # exact micro-units
    assert small.energy_wh == pytest.approx(sum(tokens) / 1000 * 2.5)
    configured = next(m for m in gateway_raw["models"] if m["id"] == "tiny-medium")["price"]
    assert medium.cost_micro == math.ceil(
        medium.prompt_tokens * Decimal(str(configured["input_per_mtok"]))
        + medium.completion_tokens * Decimal(str(configured["output_per_mtok"]))
    )
