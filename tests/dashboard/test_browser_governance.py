"""What a CIO asks first, in a real browser (Debian's Chromium driven by Playwright): budgets and
rate limits per department, refusals counted with their reason (not as errors, not as dash
rows), savings against the model each department may use, money with its currency, times in the
operator's zone, German audit details, and consent withdrawn and re-granted in the UI, by an
admin and by the data owner's owner key (who sees nothing but its models' consent)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from stellwerk.dashboard.formats import DASH
from stellwerk.ledger.audit import TargetKind
from tests.dashboard.browser import log_in, speak
from tests.dashboard.client import csrf_of, login
from tests.dashboard.conftest import (
    ADMIN_KEY,
    DASHBOARD_ENV,
    OFFLINE_BACKEND,
    DashboardGateway,
    dashboard_raw,
    seed,
)
from tests.dashboard.traffic import chat, record, served, wait_for_usage
from tests.fixtures.gateway import KEYS, running_gateway

if TYPE_CHECKING:
    from playwright.sync_api import Page


def set_limits(dashboard: DashboardGateway, department: str, **limits: Any) -> None:
    answer = httpx.put(
        f"{dashboard.gateway.url}/admin/limits/department/{department}",
        json={**limits, "reason": "test limits"},
        headers={"authorization": f"Bearer {ADMIN_KEY}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text


def text(page: Page, selector: str) -> str:
    return page.locator(selector).inner_text()


def test_overview_shows_budgets_limits_refusals_and_fair_savings(
    served_offline_dashboard: DashboardGateway, page: Page, tmp_path: Path
) -> None:
    dashboard = served_offline_dashboard
    set_limits(dashboard, "research", requests_per_minute=1, monthly_budget=0.0005)
    config = dashboard.gateway.config
    record(
        dashboard,
        [
            served(config, department="research", key_id="research-1", model="tiny-small"),
            served(config, department="legal", key_id="legal-1", model="tiny-small"),
            served(config, department="legal", key_id="legal-1", model="tiny-small"),
        ],
    )
    assert chat(dashboard, KEYS["legal"], "tiny-large").status_code == 404  # not on its list
    assert chat(dashboard, KEYS["research"]).status_code >= 500  # admitted; backend is down
    assert chat(dashboard, KEYS["research"]).status_code == 429  # 1 request per minute
    wait_for_usage(dashboard, 6)
    log_in(page, dashboard)

    budgets = text(page, "#w-budgets")
    # the month's total is the departments' sum: 0.000161 + 2 x 0.000161 = 0.000483, shown with
    # the rows' decimals, so that they add up (walk27 F14: it read €0.00048 beside €0.00016 and
    # €0.00032)
    assert "€0.000483" in text(page, "p.total")
    # research spent 0.000161 of 0.0005 (a budget that read "0.00" before; the charge is exact,
    # rounded up to the micro-unit once), 1 request/minute
    assert re.search(r"research\s+€0\.000161\s+€0\.0005\s+32\.2\s%\s+1\s+unlimited\s+1", budgets)
    legal = rf"legal\s+€0\.000322\s+unlimited\s+{DASH}\s+unlimited\s+unlimited\s+0"
    assert re.search(legal, budgets)

    refusals = text(page, "#w-refusals")
    assert re.search(r"rate limit reached\s+rate_limited\s+1\s+research: 1", refusals)
    assert re.search(r"unknown model\s+model_not_found\s+1\s+legal: 1", refusals)  # as told
    usage = text(page, "#w-usage")  # requests, tokens, cost, energy, refused, errors
    assert re.search(r"legal\s+3\s+\S+\s+€0\.000322\s+[\d.]+\sWh\s+1\s+0", usage)
    assert re.search(r"research\s+3\s+\S+\s+€0\.000161\s+[\d.]+\sWh\s+1\s+1", usage)

    # legal may use only tiny-small: its routed requests are compared with tiny-small
    savings = text(page, "#w-savings")
    assert "legal → tiny-small" in savings and "research → tiny-large" in savings
    assert "Times in" in text(page, "footer") and "amounts in EUR" in text(page, "footer")
    # the references answered nothing of their own: no comparison of latency, but the routed
    # requests' mean (measured; research's failed request took what it took) is shown, and
    # nothing is called an estimate
    page.set_viewport_size({"width": 1280, "height": 900})
    for language, row, missing in (
        ("en", r"Mean latency\t[\d,]+ ms\tno comparison: not enough data", "only the comparison"),
        ("de", r"Mittlere Latenz\t[\d.]+ ms\tkein Vergleich: zu wenige Daten", "nur der Vergleich"),
    ):
        speak(page, dashboard, language)
        page.goto(dashboard.url)
        page.locator("#w-savings").screenshot(path=str(tmp_path / f"{language}-1280-savings.png"))
        latency = page.locator("#w-savings tbody tr").last.inner_text().replace("\u00a0", " ")
        assert re.fullmatch(row, latency), latency
        assert missing in text(page, "#w-savings")
    speak(page, dashboard, "en")

    page.goto(dashboard.url + "/departments/legal")
    rows = page.locator("#d-usage table tbody tr")
    first_cells = [rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())]
    assert DASH not in first_cells and "refused (no model chosen)" in first_cells
    assert re.search(r"unknown model\s+model_not_found\s+1\s+legal-1: 1",
                     text(page, "#d-refusals"))  # fmt: skip
    assert text(page, "#d-keys h2") == "Keys"


@pytest.fixture
def berlin_dashboard(tmp_path: Any) -> Iterator[DashboardGateway]:
    raw = dashboard_raw(OFFLINE_BACKEND, f"sqlite:///{tmp_path / 'ledger.db'}")
    raw["dashboard"]["timezone"] = "Europe/Berlin"
    key_id, key = seed(raw)
    with running_gateway(raw, DASHBOARD_ENV) as gw:
        yield DashboardGateway(gw, key_id, key)


def test_german_pages_translate_the_audit_and_show_times_in_the_operators_zone(
    berlin_dashboard: DashboardGateway, page: Page
) -> None:
    dashboard = berlin_dashboard
    log_in(page, dashboard)
    page.goto(dashboard.url + "/departments/research")
    page.uncheck("#d-budget input[name=unlimited]")  # no budget in force: ticked
    page.fill("#d-budget input[name=monthly_budget]", "0.0005")
    page.fill("#d-budget input[name=reason]", "pilot budget")
    page.click("#d-budget button[type=submit]")
    assert "€0.0005" in text(page, "main")  # the confirmation names the amount
    page.click("button.danger")
    assert "€0.0005" in text(page, "#d-budget")

    page.click("header .langs >> text=DE")
    page.goto(dashboard.url)
    assert text(page, "footer") == "Zeiten in Europe/Berlin · Beträge in EUR"
    audit = text(page, "#w-audit")
    row = page.locator("#w-audit tr", has_text="limits.set").inner_text()
    assert "Limits gesetzt" in row and "Begründung: pilot budget" in row
    assert "Monatsbudget=0,0005\u00a0€" in row
    assert re.search(r"\d\d\.\d\d\.\d{4} \d\d:\d\d CES?T", row)  # Berlin time, not UTC
    seeded = page.locator("#w-audit tr", has_text="model.seed")
    owned = seeded.filter(has_text="Modell tiny-small").first.inner_text()
    assert "Modell erfasst" in owned and "Einwilligung: ja" in owned
    # a model without a data owner has no consent: the seeding records none (null)
    plain = seeded.filter(has_text="Modell tiny-retired").first.inner_text()
    assert "Modell erfasst" in plain and "Einwilligung" not in plain
    assert "reason" not in audit and "UTC" not in audit
    assert "0,0005\u00a0€" in text(page, "#w-budgets")


AUDITED: list[tuple[TargetKind, str, str]] = [
    ("model", "tiny-small", "tiny-small"),  # (kind, target as the log keeps it, as shown)
    ("model", "tiny-small\u200b", "tiny-small\\u200b"),
    ("department", "legal", "legal"),
    ("department", "le\u200bgal", "le\\u200bgal"),
    ("model", "retired-long-ago", "retired-long-ago"),  # a model no longer configured
    ("key", "key-0a1b2c", "key-0a1b2c"),
    ("use_case", "contracts", "contracts"),
    ("router", "0888f00d", "0888f00d"),
    ("usage", "usage", ""),  # a retention run: the kind alone
]
KINDS = {
    "en": {"model": "Model", "department": "Department", "key": "Key", "use_case": "Use case",
           "router": "Router", "usage": "Usage records"},
    "de": {"model": "Modell", "department": "Bereich", "key": "Schlüssel",
           "use_case": "Anwendungsfall", "router": "Router", "usage": "Nutzungsdaten"},
}  # fmt: skip


def test_an_audit_target_is_its_kind_and_name_linked_to_its_page_or_no_link(
    served_offline_dashboard: DashboardGateway, page: Page, tmp_path: Path
) -> None:
    """Every target reads the same way, its kind's label then its name, in both languages (the
    table prefixed some kinds, in lower case, and showed models bare). A target with a hidden
    character (an entry written before such characters were refused) is shown escaped, and its
    link was made of the escape: ``/models/tiny-small%5Cu200b``, a 404. A name is a link only
    where the dashboard has its page, and the link reaches that page."""
    dashboard = served_offline_dashboard
    ledger = dashboard.gateway.ledger()
    try:
        for kind, target, _ in AUDITED:
            ledger.append_audit(
                actor="cli:walk", action="test.note", target_kind=kind, target=target, details={}
            )
    finally:
        ledger.close()
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, dashboard)
    for language, kinds in KINDS.items():
        speak(page, dashboard, language)
        page.goto(dashboard.url)
        page.locator("#w-audit").screenshot(path=str(tmp_path / f"{language}-1280-audit.png"))
        cells = page.locator("#w-audit tr", has_text="cli:walk").locator("td.target")
        assert cells.count() == len(AUDITED)
        shown = [cells.nth(i).inner_text() for i in range(cells.count())]
        expected = [f"{kinds[kind]} {name}".strip() for kind, _, name in reversed(AUDITED)]
        assert shown == expected  # newest first
        linked = {}
        for i in range(cells.count()):
            link = cells.nth(i).locator("a")
            if link.count():
                linked[link.inner_text()] = link.get_attribute("href")
        assert set(linked) == {"tiny-small", "legal"}
        for name, href in linked.items():
            assert href is not None
            answer = page.goto(dashboard.gateway.url + href)
            assert answer is not None and answer.status == 200, href
            assert text(page, "h1").startswith(name)


def test_consent_is_withdrawn_and_regranted_in_the_ui_and_the_gateway_obeys(
    served_offline_dashboard: DashboardGateway, page: Page
) -> None:
    dashboard = served_offline_dashboard
    assert chat(dashboard, KEYS["legal"]).status_code >= 500  # admitted (backend down)
    log_in(page, dashboard)
    page.goto(dashboard.url + "/models/tiny-small")
    consent = page.locator("#m-consent")
    assert "legal" in consent.inner_text() and "granted" in consent.inner_text()
    consent.locator("input[name=reason]").fill("data protection review")
    consent.locator("button[type=submit]").click()
    assert "Withdraw the consent of legal for model tiny-small?" in text(page, "main")
    page.click("button.danger")
    assert "recorded in the audit log" in text(page, ".notice")
    assert text(page, "#m-consent-state") == "withdrawn"
    assert "data protection review" in text(page, "#m-history")
    # legal may use only tiny-small, whose consent is now withdrawn: refused
    refused = chat(dashboard, KEYS["legal"])
    # withdrawn: no longer a model legal sees, so counted, not named (the model page says why)
    assert refused.status_code == 403 and "other models are not available" in refused.text
    assert "tiny-small" not in refused.text

    page.locator("#m-consent input[name=reason]").fill("review done")
    page.locator("#m-consent button[type=submit]").click()
    assert "Re-grant the consent of legal for model tiny-small?" in text(page, "main")
    page.click("button.danger")
    assert text(page, "#m-consent-state") == "granted"
    assert chat(dashboard, KEYS["legal"]).status_code >= 500  # admitted again
    page.goto(dashboard.url)
    assert re.search(r"it-admin\s+consent changed\s+model\.consent", text(page, "#w-audit"))

    page.goto(dashboard.url + "/models/tiny-large")  # no data owner: nothing to change
    assert "no data owner" in text(page, "#m-consent")


def owner_key(dashboard: DashboardGateway, department: str) -> str:
    answer = httpx.post(
        f"{dashboard.gateway.url}/admin/keys",
        json={"department": department, "role": "owner"},
        headers={"authorization": f"Bearer {ADMIN_KEY}"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    key: str = answer.json()["key"]
    return key


def test_the_data_owner_changes_consent_in_the_ui_and_sees_nothing_else(
    served_offline_dashboard: DashboardGateway, page: Page
) -> None:
    dashboard = served_offline_dashboard
    legal_owner = owner_key(dashboard, "legal")
    page.goto(dashboard.url + "/login")
    page.fill("input[name=key]", legal_owner)
    page.click("button[type=submit]")
    page.wait_for_url(dashboard.url + "/consent")  # an owner's home is the consent page
    rows = page.locator("#c-models tbody tr")
    assert rows.count() == 1 and "tiny-small" in rows.first.inner_text()  # legal's models only
    row = page.locator("#c-tiny-small")
    assert "granted" in row.inner_text()
    row.locator("input[name=reason]").fill("Widerspruch der Betroffenen")
    row.locator("button").click()
    assert "Withdraw the consent of legal for model tiny-small?" in text(page, "main")
    page.click("button.danger")
    page.wait_for_url(dashboard.url + "/consent")
    assert "recorded in the audit log" in text(page, ".notice")
    assert "withdrawn" in text(page, "#c-tiny-small")
    refused = chat(dashboard, KEYS["legal"])
    # withdrawn: no longer a model legal sees, so counted, not named (the model page says why)
    assert refused.status_code == 403 and "other models are not available" in refused.text
    assert "tiny-small" not in refused.text

    # nothing else: not the overview, not a model page, not another owner's model
    for path in ("", "/models/tiny-small", "/departments/legal"):
        answer = page.goto(dashboard.url + path)
        assert answer is not None and answer.status == 403, path
        assert "may only manage the consent of its department's models" in text(page, ".alert")

    # an owner key of another department may not touch legal's consent
    research_owner = owner_key(dashboard, "research")
    with login(dashboard.gateway.url, research_owner) as (client, logged_in):
        assert logged_in.headers["location"] == "/dashboard/consent"
        assert "tiny-small" not in client.get("/dashboard/consent").text
        forbidden = client.post(
            "/dashboard/models/tiny-small/consent",
            data={
                "consent": "grant",
                "reason": "x",
                "csrf": csrf_of(client.get("/dashboard/consent").text),
            },
        )
        assert forbidden.status_code == 403 and "Nothing was changed" in forbidden.text
    ledger = dashboard.gateway.ledger()
    try:
        entries = ledger.list_audit(action="model.consent")
    finally:
        ledger.close()
    assert [(e.actor, e.details["to"]) for e in entries] == [(entries[0].actor, "withdrawn")]
    assert entries[0].actor.startswith("key-")  # the legal owner key, not an admin
