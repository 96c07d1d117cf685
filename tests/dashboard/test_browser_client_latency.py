"""A model's page gives its clients' latency, in a real browser (Chromium driven by Playwright), in
English and German: shadow grading's own calls of the model (key ``shadow``: the reference's
answers cut short, the judge's verdicts of 16 tokens, quick) were counted in its p50 and p95, so
a model graded in the shadow looked far quicker than its clients found it. Its usage tiles still
count them (they are usage, charged to shadow grading's account)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from stellwerk.config.governance import SHADOW_KEY_ID
from stellwerk.dashboard.formats import Formatter, Language
from stellwerk.dashboard.i18n import labels
from stellwerk.ledger.record import UsageRecord
from tests.dashboard.browser import log_in, speak
from tests.dashboard.conftest import DashboardGateway
from tests.ledger.factory import make_record

if TYPE_CHECKING:
    from playwright.sync_api import Page

MODEL = "tiny-small"


def _call(index: int, prefix: str, latency_ms: float, key_id: str) -> UsageRecord:
    record = make_record(index, prefix=prefix, key_id=key_id, department="research")
    return replace(
        record,
        time=datetime.now(UTC) - timedelta(seconds=index),  # this month's page
        model=MODEL,
        requested_model=MODEL,
        backend="llamacpp",
        status=200,
        error_kind=None,
        latency_ms=latency_ms,
    )


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_model_pages_latency_is_its_clients_without_shadow_grading(
    served_offline_dashboard: DashboardGateway, page: Page, language: Language
) -> None:
    t, fmt = labels(language), Formatter(language)
    clients = [_call(i, "client", 2000.0, "research-key") for i in range(10)]
    shadow = [_call(i, "shadow", 100.0, SHADOW_KEY_ID) for i in range(30)]
    ledger = served_offline_dashboard.gateway.ledger()
    try:
        ledger.insert_usage(clients + shadow)
    finally:
        ledger.close()
    speak(page, served_offline_dashboard, language)
    log_in(page, served_offline_dashboard)
    page.goto(f"{served_offline_dashboard.url}/models/{MODEL}")

    found = {}
    for tile in page.locator("#m-usage .kpis > div").all():
        label = tile.locator(".l")
        found[label.inner_text()] = (tile.locator(".k").inner_text(), label.get_attribute("title"))
    quick = fmt.ms(114.0)  # the edge of the shadow calls' bucket: what the page said
    for percentile in ("p50", "p95"):
        figure, note = found[f"{t['client_latency']} {percentile}"]
        assert figure == fmt.ms(2068.0) != quick  # the edge of the clients' bucket
        assert note == t["client_latency_note"]
    assert found[t["requests"]][0] == fmt.number(40)  # still usage of the model
