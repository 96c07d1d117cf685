"""How the router knows each model, read in a real browser: a gateway with the shipped learned
router, calibrated on tiny-large, with a benchmark score for tiny-medium and nothing but its size
for tiny-small."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from stellwerk.calibration.fit import save_placed
from stellwerk.calibration.placement import Placement
from stellwerk.routing.artifact import load_artifact
from stellwerk.routing.loader import shipped_artifact
from tests.dashboard.browser import log_in
from tests.dashboard.conftest import (
    DASHBOARD_ENV,
    OFFLINE_BACKEND,
    DashboardGateway,
    dashboard_raw,
    seed,
)
from tests.fixtures.gateway import running_gateway

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.slow]


@pytest.fixture
def learned_dashboard(tmp_path: Path) -> Iterator[DashboardGateway]:
    """The dashboard of a gateway routing with a calibrated copy of the shipped router (over a
    backend that is down: the page needs no traffic)."""
    artifact = tmp_path / "router"
    save_placed(
        load_artifact(shipped_artifact()),
        {"tiny-large": Placement(offset=0.4, slope=1.0, prompts=40, mean_score=0.6)},
        artifact,
        priors={"tiny-large": 0.3},
        data_sha256="test",
    )
    raw = dashboard_raw(OFFLINE_BACKEND, f"sqlite:///{tmp_path / 'ledger.db'}")
    raw["router"] = {"kind": "learned", "artifact": str(artifact)}
    raw["models"][1]["benchmark_score"] = 0.55
    key_id, key = seed(raw)
    with running_gateway(raw, DASHBOARD_ENV) as gw:
        yield DashboardGateway(gw, key_id, key)


def rating(page: Page, base: str, model: str) -> str:
    page.goto(f"{base}/models/{model}")
    return page.locator("#m-router").inner_text()


def test_each_model_page_says_how_the_router_knows_the_model(
    learned_dashboard: DashboardGateway, page: Page
) -> None:
    base = learned_dashboard.url
    log_in(page, learned_dashboard)

    # the overview groups the models: measured ones apart from guessed ones
    overview = page.locator("#w-router").inner_text()
    assert re.search(r"1\s+measured\s+calibrated\s+tiny-large \(40 prompts\)", overview)
    assert re.search(r"1\s+guessed\s+placed by benchmark score\s+tiny-medium", overview)
    assert re.search(r"1\s+guessed\s+placed by size \(family unknown\)\s+tiny-small\n", overview)
    # an embedding model is never a route's candidate: not rated, neither measured nor guessed
    assert re.search(r"1\s+not routed \(no chat\)\s+tiny-embed", overview)
    assert "tiny-retired" not in overview  # the router never sees a retired model

    assert rating(page, base, "tiny-large") == "calibrated (40 prompts) measured"
    assert rating(page, base, "tiny-medium") == "placed by benchmark score guessed"
    assert rating(page, base, "tiny-embed") == "not routed (no chat)"
    assert rating(page, base, "tiny-small") == "placed by size (family unknown) guessed"

    page.click("header .langs >> text=DE")
    assert page.locator("#m-router").inner_text() == (
        "eingeordnet nach Größe (Familie unbekannt) geschätzt"
    )
    assert rating(page, base, "tiny-large") == "kalibriert (40 Prompts) gemessen"
