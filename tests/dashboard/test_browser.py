"""The dashboard in a real browser (Debian's Chromium driven by Playwright) over real traffic:
requests sent through the gateway to the real llama.cpp server, then log in, read every widget,
perform every action and find it in the audit log, switch the language, log out, be refused."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

import httpx
import openai
import pytest

from tests.dashboard.conftest import ADMIN_KEY, DashboardGateway
from tests.fixtures.gateway import KEYS

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.llama, pytest.mark.slow]


def send_traffic(dashboard: DashboardGateway) -> int:
    """Real requests through the gateway: routed and named, both APIs, two departments."""
    gw = dashboard.gateway
    messages: Any = [{"role": "user", "content": "Wie viele Tage hat ein Schaltjahr?"}]
    sent = 0
    for department, models in (("research", ("auto", "auto", "tiny-large")), ("legal", ("auto",))):
        client = openai.OpenAI(base_url=gw.openai_url, api_key=KEYS[department], max_retries=0)
        for model in models:
            client.chat.completions.create(model=model, messages=messages, max_tokens=4)
            sent += 1
        client.close()
    httpx.post(
        gw.url + "/api/chat",
        json={"model": "tiny-small", "messages": messages, "stream": False},
        headers={"authorization": f"Bearer {KEYS['research']}"},
        timeout=60,
    ).raise_for_status()
    sent += 1
    ledger = gw.ledger()
    try:
        deadline = time.monotonic() + 30  # the writer batches, off the request path
        while ledger.count_usage() < sent and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ledger.count_usage() == sent
    finally:
        ledger.close()
    return sent


def _chat_status(dashboard: DashboardGateway, key: str) -> int:
    answer = httpx.post(
        dashboard.gateway.openai_url + "/chat/completions",
        json={
            "model": "auto",
            "max_tokens": 2,
            "messages": [{"role": "user", "content": "x"}],
        },
        headers={"authorization": f"Bearer {key}"},
        timeout=60,
    )
    return answer.status_code


def widget(page: Page, name: str) -> str:
    return page.locator(f"#w-{name}").inner_text()


def confirm(page: Page) -> None:
    """The confirmation page asks first; confirm it."""
    assert page.locator("h1").inner_text() == "Please confirm"
    page.click("button.danger")


def test_dashboard_in_a_browser(dashboard: DashboardGateway, page: Page) -> None:
    sent = send_traffic(dashboard)
    base = dashboard.url

    # not logged in: the login page, with 401
    answer = page.goto(base)
    assert answer is not None and answer.status == 401
    page.fill("input[name=key]", "sk-stw-wrong")
    page.click("button[type=submit]")
    assert "This key is unknown or revoked." in page.locator(".alert").inner_text()
    page.fill("input[name=key]", ADMIN_KEY)
    page.click("button[type=submit]")
    page.wait_for_url(base)

    # every widget, with the traffic just sent
    lifecycle = widget(page, "lifecycle")
    assert re.search(r"3\s+approved\s+tiny-small, tiny-large, tiny-embed", lifecycle)
    assert re.search(r"1\s+in review\s+tiny-medium", lifecycle)
    assert re.search(r"1\s+retired\s+tiny-retired", lifecycle)
    compliance = widget(page, "compliance")
    assert re.search(r"tiny-large\s+high risk\s+evaluation record, oversight contact", compliance)
    assert "allowed models" in compliance  # the high-risk use case lacks its model list
    use_cases = widget(page, "usecases")
    assert re.search(r"1\s+limited risk\s+paper-summaries", use_cases)
    assert re.search(r"1\s+high risk\s+contract-review", use_cases)
    hosting = widget(page, "hosting")
    assert re.search(r"EU cloud\s+public internal\s+tiny-medium", hosting)
    assert re.search(r"on premises\s+public internal confidential secret", hosting)
    usage = widget(page, "usage")
    assert re.search(r"research\s+4\b", usage) and re.search(r"legal\s+1\b", usage)
    assert f"Σ {sent} requests" in usage
    mix = page.locator("#w-mix")
    assert mix.locator("svg rect").count() >= 1
    assert "tiny-small" in mix.locator(".legend").inner_text()
    savings = widget(page, "savings")
    assert re.search(
        r"3 of \d+ routed requests compared, against sending each routed request to the largest",
        savings,
    )
    # legal may use only tiny-small: its traffic is compared with tiny-small, not tiny-large
    assert "legal → tiny-small; research → tiny-large" in savings
    assert re.search(r"Internal cost\s+€[\d.]+\s+€[\d.]+\s+-?\d+\s%", savings)
    health = widget(page, "health")
    assert re.search(rf"llamacpp openai\s+reachable\s+closed \(serving\)\s+{sent}\s+0\s%", health)
    assert "model.seed" in widget(page, "audit")

    # drill-downs
    page.click("#w-lifecycle >> text=tiny-large")
    facts = page.locator("#m-facts").inner_text()
    assert "Apache-2.0" in facts and "ml-platform" in facts
    assert re.search(r"Router's rating\s+router does not rate models", facts)  # kind: first
    model_usage = page.locator("#m-usage").inner_text()
    assert re.search(r"\n1\nRequests", "\n" + model_usage)
    page.goto(base + "/departments/research")
    assert re.search(r"\n4\nRequests", page.locator("#d-usage").inner_text())
    assert "contract-review" not in page.locator("#d-usecases").inner_text()
    assert "paper-summaries" in page.locator("#d-usecases").inner_text()

    # action 1: move a model through its lifecycle
    page.goto(base + "/models/tiny-small")
    page.select_option("select[name=state]", "deprecated")
    page.fill("#m-actions input[name=reason]", "superseded by tiny-medium")
    page.click("#m-actions button[type=submit]")
    assert "Move model tiny-small from approved to deprecated?" in page.inner_text("main")
    confirm(page)
    assert "recorded in the audit log" in page.locator(".notice").inner_text()
    assert "superseded by tiny-medium" in page.locator("#m-history").inner_text()
    assert "deprecated" in page.locator("h1").inner_text()

    # action 2: set a budget
    page.goto(base + "/departments/research")
    page.uncheck("#d-budget input[name=unlimited]")  # no budget in force: ticked
    page.fill("#d-budget input[name=monthly_budget]", "12.5")
    page.fill("#d-budget input[name=reason]", "pilot budget")
    page.click("#d-budget button[type=submit]")
    confirm(page)
    assert "/ €12.50" in page.locator("#d-budget").inner_text()

    # action 3: revoke a key (after a look at the cancel path, which changes nothing); the key
    # works until then, and is refused by the gateway right after
    assert _chat_status(dashboard, dashboard.stored_key) == 200
    keys = page.locator("#d-keys")
    row = keys.locator("tr", has_text=dashboard.stored_key_id)
    row.locator("input[name=reason]").fill("laptop lost")
    row.locator("button").click()
    page.click("text=Cancel")
    assert "active" in page.locator("#d-keys tr", has_text=dashboard.stored_key_id).inner_text()
    row = page.locator("#d-keys tr", has_text=dashboard.stored_key_id)
    row.locator("input[name=reason]").fill("laptop lost")
    row.locator("button").click()
    confirm(page)
    assert "revoked" in page.locator("#d-keys tr", has_text=dashboard.stored_key_id).inner_text()
    assert _chat_status(dashboard, dashboard.stored_key) == 401

    # each action is in the audit log, by the admin who did it
    page.goto(base)
    audit = widget(page, "audit")
    for action, target in (
        ("key.revoke", dashboard.stored_key_id),
        ("limits.set", "research"),
        ("model.lifecycle", "tiny-small"),
    ):
        pattern = rf"it-admin\s+[^\n]*{re.escape(action)}\s+\S*\s*{re.escape(target)}"
        assert re.search(pattern, audit)
    assert re.search(r"2\s+approved\s+tiny-large, tiny-embed", widget(page, "lifecycle"))

    # German
    page.click("header .langs >> text=DE")
    assert page.locator("#w-lifecycle h2").inner_text() == "Modelle nach Lebenszyklus"
    assert "Abmelden" in page.locator("header").inner_text()
    page.click("header .langs >> text=EN")

    # log out, and be refused
    page.click("text=Log out")
    page.wait_for_url(base + "/login")
    answer = page.goto(base)
    assert answer is not None and answer.status == 401
    assert page.locator("input[name=key]").count() == 1
