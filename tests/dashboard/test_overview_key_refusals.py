"""The overview's budgets card counts a department's limit refusals apart from its keys' (small31):
its column "Refused by limits" counted the refusals of a key's own budget and rate limits too, so
a department whose budget was almost untouched seemed refused by it (the department page already
told them apart, ``test_key_limits``). Real records: requests refused by the gateway, read back
from the ledger on the rendered page, English and German."""

from __future__ import annotations

import re

import httpx

from tests.dashboard.conftest import DashboardGateway
from tests.dashboard.test_key_limits import spend_a_keys_budget
from tests.dashboard.test_languages import plain

HEADERS = {
    "en": ("Refused by limits", "Department's", "Keys' own"),
    "de": ("Durch Limits abgewiesen", "Bereich", "Schlüssel"),
}


def counts(html: str, department: str) -> tuple[str, str]:
    """The budgets card's last two cells of ``department``'s row: refused by its own limits,
    refused by its keys'."""
    card = html[html.index('id="w-budgets"') :]
    card = card[: card.index("</section>")]
    row = next(r for r in card.split("<tr>") if f'/departments/{department}"' in r)
    cells = [plain(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    return cells[-2], cells[-1]


def test_the_overview_counts_a_departments_limit_refusals_apart_from_its_keys(
    offline_dashboard: DashboardGateway, admin_in_language: httpx.Client, language: str
) -> None:
    spend_a_keys_budget(offline_dashboard)  # legal: 3 by a key's own budget; research: 2 by its
    html = admin_in_language.get("/dashboard").text
    head = plain(html[html.index('id="w-budgets"') : html.index("</thead>")])
    assert re.search(r"\s+".join(map(re.escape, HEADERS[language])), head), head
    assert counts(html, "legal") == ("0", "3")
    assert counts(html, "research") == ("2", "0")
    assert counts(html, "it") == ("0", "0")
