"""A model whose config does not state ``hosting`` on the dashboard (walk 15, MEDIUM-3): "needs
attention" names the missing location, the model's page and the hosting card say it is not
stated (they showed "on premises"), and the card says which classes may go there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.dashboard.client import login
from tests.dashboard.conftest import ADMIN_KEY, DASHBOARD_ENV, OFFLINE_BACKEND, dashboard_raw
from tests.fixtures.gateway import in_process, migrated_copy


def text_of(html: str, section: str) -> str:
    match = re.search(rf'<section class="card" id="{section}">(.*?)</section>', html, re.DOTALL)
    assert match is not None, section
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


@pytest.mark.parametrize(
    ("language", "stated", "where", "public"),
    [
        ("en", "not stated", "hosting location", "public"),
        ("de", "nicht angegeben", "Betriebsort", "öffentlich"),
    ],
)
def test_the_dashboard_shows_a_model_without_hosting_as_not_stated(
    tmp_path: Path, ledger_template: Path, language: str, stated: str, where: str, public: str
) -> None:
    raw = dashboard_raw(OFFLINE_BACKEND, migrated_copy(ledger_template, tmp_path / "ledger.db"))
    del raw["models"][3]["hosting"]  # tiny-embed: appended without a location
    with in_process(raw, DASHBOARD_ENV) as gw, login(gw, ADMIN_KEY) as (client, answer):
        assert answer.status_code == 303
        client.cookies.set("stw_lang", language, path="/dashboard")
        overview = client.get("/dashboard")
        assert overview.status_code == 200
        attention = text_of(overview.text, "w-compliance")
        assert re.search(rf"tiny-embed .*? {where}", attention), attention
        hosting = text_of(overview.text, "w-hosting")
        assert f"{stated} {public} tiny-embed" in hosting, hosting
        page = client.get("/dashboard/models/tiny-embed")
        assert page.status_code == 200
        assert f"{stated}" in text_of(page.text, "m-facts")
