"""In a real browser (Debian's Chromium driven by Playwright), at the widths of an office screen:
an amount and its unit (``0,00016 €``, ``0,12 Wh``, ``47 ms``, ``32,2 %``) never break over two
lines, in a figure tile, a table or a sentence, a figure never spills out of its tile and a table
never runs past its card (the model page's departments did, by a few pixels; the overview's
backends, with a backend down, by 60; the keys table with a key to revoke, by 60 in German); the
reason field of a table row (revoke a key, grant or withdraw a consent) shows its whole
placeholder, in both languages, and its button is inside the card, also beside a key's use case
named with 102 characters (which pushed every revoke button out of view: it breaks inside its
cell now); an id (``it-admin``, ``tiny-medium``, a key's id) never breaks at its hyphen, in the
audit table nor in a card's list of models, and a config's path in the audit table breaks after
its slashes, not inside a word. German is the tighter
language (longer words, the currency after the number), so the amounts are read in German at
1280 pixels. Screenshots go to the test's temporary directory (``--basetemp`` to keep them)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from stellwerk.dashboard.breaks import LONG
from tests.dashboard.browser import log_in, speak
from tests.dashboard.conftest import ADMIN_KEY, DashboardGateway
from tests.dashboard.traffic import record, served

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.slow]

AMOUNT = r"\d[\d.,]*\s(?:€|k?Wh|ms|%)"
"""An amount with its unit as the German pages write it (JavaScript's ``\\s`` takes the no-break
space too)."""

ID = r"[\w:]+(?:-[\w:]+)+"
"""A name with hyphens (``it-admin``, ``tiny-medium``, ``key-30cd4ffe5017``)."""

ON_LINES = """({pattern, within}) => {
  const re = new RegExp(pattern, "g");
  const found = [];
  for (const root of document.querySelectorAll(within)) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.parentElement.closest("svg")) continue;  // a chart's text never wraps
      for (const match of node.data.matchAll(re)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const boxes = [...range.getClientRects()].filter((box) => box.width > 0);
        found.push({text: match[0], lines: new Set(boxes.map((box) => Math.round(box.top))).size});
      }
    }
  }
  return found;
}"""
"""Each match of ``pattern`` in the elements ``within`` selects, with the lines it takes."""

FIGURES_IN_TILES = """() => [...document.querySelectorAll(".kpis .k")].map((figure) => {
  const range = document.createRange();
  range.selectNodeContents(figure);
  const text = range.getBoundingClientRect();
  const tile = figure.parentElement;
  const style = getComputedStyle(tile);
  const inner = tile.getBoundingClientRect().right - parseFloat(style.paddingRight);
  return {text: figure.textContent, inside: text.right <= inner + 0.5};
})"""

TABLES_IN_CARDS = """() => [...document.querySelectorAll("main .card table")].map((table) => {
  const card = table.closest(".card");
  const style = getComputedStyle(card);
  const inner = card.getBoundingClientRect().right - parseFloat(style.borderRightWidth)
    - parseFloat(style.paddingRight);
  return {card: card.id, over: table.getBoundingClientRect().right - inner};
})"""

PLACEHOLDERS = """() => {
  const pen = document.createElement("canvas").getContext("2d");
  return [...document.querySelectorAll("td input[placeholder]")].map((field) => {
    const style = getComputedStyle(field);
    pen.font = style.font;
    const room = field.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const button = field.parentElement.querySelector("button").getBoundingClientRect();
    const box = field.getBoundingClientRect();
    return {placeholder: field.placeholder, needs: pen.measureText(field.placeholder).width,
            room: room, beside: button.top < box.bottom && button.left >= box.right};
  });
}"""


BUTTONS_IN_CARDS = """() => [...document.querySelectorAll("main .card td button")].map((button) => {
  const card = button.closest(".card");
  const style = getComputedStyle(card);
  const inner = card.getBoundingClientRect().right - parseFloat(style.borderRightWidth)
    - parseFloat(style.paddingRight);
  return {button: button.textContent, over: button.getBoundingClientRect().right - inner};
})"""

ADMIN = {"authorization": f"Bearer {ADMIN_KEY}"}
LONG_USE_CASE = "contracts-review-for-the-legal-department-" + "x" * 60
"""A use case's name of 102 characters (the limit is 128), as a newcomer named one."""
WORD = r"[^\s/.]+"
"""A word of a path (``stellwerk`` of ``/srv/stellwerk/stellwerk.yaml``)."""


def make_keys(dashboard: DashboardGateway, *keys: dict[str, str]) -> list[str]:
    """Keys made through the admin API (each with its revoke form on the department page); their
    ids."""
    made = []
    for key in keys:
        answer = httpx.post(
            dashboard.gateway.url + "/admin/keys", json=key, headers=ADMIN, timeout=30
        )
        assert answer.status_code in (200, 201), answer.text
        made.append(answer.json()["key_id"])
    return made


def test_an_amount_and_its_currency_sit_on_one_line_in_german_at_1280_px(
    served_offline_dashboard: DashboardGateway, page: Page, tmp_path: Path
) -> None:
    dashboard = served_offline_dashboard
    config = dashboard.gateway.config
    # small amounts, as a pilot's month has them: 0,00016 € a request, thousandths of a Wh
    record(
        dashboard,
        [
            served(config, department="legal", key_id="legal-1", model="tiny-small"),
            served(config, department="research", key_id="research-1", model="tiny-large"),
        ],
    )
    page.set_viewport_size({"width": 1280, "height": 900})
    speak(page, dashboard, "de")
    log_in(page, dashboard)
    seen: list[dict[str, Any]] = []
    for path in ("", "/departments/legal", "/departments/research", "/models/tiny-small"):
        page.goto(dashboard.url + path)
        page.screenshot(path=str(tmp_path / f"de-1280{path.replace('/', '-')}.png"), full_page=True)
        amounts = page.evaluate(ON_LINES, {"pattern": AMOUNT, "within": "main"})
        assert [a for a in amounts if a["lines"] != 1] == [], path
        assert [f for f in page.evaluate(FIGURES_IN_TILES) if not f["inside"]] == [], path
        assert [t for t in page.evaluate(TABLES_IN_CARDS) if t["over"] > 0.5] == [], path
        seen += amounts
    texts = {a["text"] for a in seen}
    # the cost tile of a department and of a model, and the other units, were all read
    assert "0,00016\u00a0€" in texts, texts
    assert any(t.endswith("Wh") for t in texts) and any(t.endswith("ms") for t in texts), texts
    assert any(t.endswith("%") for t in texts), texts


@pytest.mark.parametrize(("language", "cost"), [("en", "€0.000047"), ("de", "0,000047\u00a0€")])
def test_the_model_pages_departments_fit_their_card_with_six_decimal_costs(
    served_offline_dashboard: DashboardGateway, page: Page, tmp_path: Path, language: str, cost: str
) -> None:
    """A department whose cost on a model is millionths shows six decimals (``0,000047 €``): the
    model page's departments table ran a few pixels past its half-width card at 1280 px in German
    (and tens of pixels with thousands of tokens or millionths of a Wh): it has a card of the page's
    width now."""
    dashboard = served_offline_dashboard
    config = dashboard.gateway.config
    record(
        dashboard,
        [
            replace(served(config, department=d, key_id=k, model="tiny-small"), cost_micro=47)
            for d, k in (("legal", "legal-1"), ("research", "research-1"))
        ],
    )
    page.set_viewport_size({"width": 1280, "height": 900})
    speak(page, dashboard, language)
    log_in(page, dashboard)
    page.goto(dashboard.url + "/models/tiny-small")
    page.screenshot(path=str(tmp_path / f"{language}-1280-models-tiny-small.png"), full_page=True)
    departments = page.locator("#m-departments table")
    assert departments.locator("td", has_text=cost).count() == 2
    tables = page.evaluate(TABLES_IN_CARDS)
    assert "m-departments" in {t["card"] for t in tables}
    assert [t for t in tables if t["over"] > 0.5] == []
    assert [f for f in page.evaluate(FIGURES_IN_TILES) if not f["inside"]] == []
    assert [
        a for a in page.evaluate(ON_LINES, {"pattern": AMOUNT, "within": "main"}) if a["lines"] != 1
    ] == []


def test_a_rows_reason_field_shows_its_whole_placeholder(
    served_offline_dashboard: DashboardGateway, page: Page, tmp_path: Path
) -> None:
    """The placeholder of the revoke field (research's stored key) and of the consent field
    (tiny-small, whose data owner is legal) is its label: "Begründung (für das Audit-Protokoll)"
    was cut to "Begründung (für das Auc"; the field now fits it, its button beside it."""
    dashboard = served_offline_dashboard
    log_in(page, dashboard)
    for language in ("en", "de"):
        speak(page, dashboard, language)
        for width in (1280, 1400):
            page.set_viewport_size({"width": width, "height": 900})
            for path in ("/departments/research", "/consent"):
                page.goto(dashboard.url + path)
                name = f"{language}-{width}{path.replace('/', '-')}.png"
                page.screenshot(path=str(tmp_path / name), full_page=True)
                fields = page.evaluate(PLACEHOLDERS)
                assert fields, (language, width, path)  # a revoke field, a consent field
                for field in fields:
                    assert field["needs"] <= field["room"], (language, width, path, field)
                    assert field["beside"], (language, width, path, field)


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("use_case", ["contract-review", LONG_USE_CASE], ids=["ordinary", "long"])
def test_the_keys_table_fits_its_card_with_keys_to_revoke(
    served_offline_dashboard: DashboardGateway,
    page: Page,
    tmp_path: Path,
    language: str,
    use_case: str,
) -> None:
    """legal's keys made through the admin API, of the roles owner ("Verantwortliche") and
    metrics ("Metriken"), and one of a use case: each row has a revoke form, and the table ran
    60 px past its card in German at 1280 px, its "Sperren" button cut off at the card's edge;
    with a use case named with 102 characters, 300 px in both languages, every key's reason
    field and button out of view. The name breaks inside its cell now (as in the use cases'
    table), the button goes under the field where the row lacks the room, the field still shows
    its whole placeholder, and the ids stay whole."""
    dashboard = served_offline_dashboard
    if use_case == LONG_USE_CASE:
        answer = dashboard.gateway.post(
            "/admin/use-cases",
            json={"name": use_case, "department": "legal", "classification": "secret",
                  "reason": "walk8"},
            headers=ADMIN,
            timeout=30,
        )  # fmt: skip
        assert answer.status_code == 201, answer.text
    made = make_keys(
        dashboard,
        {"department": "legal", "role": "owner"},
        {"department": "legal", "role": "metrics"},
        {"department": "legal", "use_case": use_case},
    )
    page.set_viewport_size({"width": 1280, "height": 900})
    speak(page, dashboard, language)
    log_in(page, dashboard)
    page.goto(dashboard.url + "/departments/legal")
    name = f"{language}-1280-departments-legal-{len(use_case)}.png"
    page.screenshot(path=str(tmp_path / name), full_page=True)
    for key_id in made:
        assert page.locator("#d-keys tr", has_text=key_id).locator("form button").count() == 1
    assert page.locator("#d-keys td", has_text=use_case).count() == 1
    tables = page.evaluate(TABLES_IN_CARDS)
    assert "d-keys" in {t["card"] for t in tables}
    assert [t for t in tables if t["over"] > 0.5] == []
    buttons = page.evaluate(BUTTONS_IN_CARDS)
    assert len(buttons) == len(made)
    assert [b for b in buttons if b["over"] > 0.5] == []
    fields = page.evaluate(PLACEHOLDERS)
    assert len(fields) == len(made)
    assert [f for f in fields if f["needs"] > f["room"]] == []
    ids = page.evaluate(ON_LINES, {"pattern": ID, "within": "#d-keys tbody"})
    assert {*made, "legal-1"} <= {i["text"] for i in ids}, ids
    assert [i for i in ids if i["lines"] != 1 and len(i["text"]) < LONG] == []


@pytest.mark.parametrize("language", ["en", "de"])
def test_an_id_in_the_audit_table_never_breaks_at_its_hyphen(
    served_offline_dashboard: DashboardGateway, page: Page, tmp_path: Path, language: str
) -> None:
    """The overview's audit table at 1280 px: the actor "it-admin" took two lines ("it-" and
    "admin"), so did a key's id and a model's ("tiny-", "medium") in the target; each stays on
    one line now, and the table still fits its card."""
    dashboard = served_offline_dashboard
    made = make_keys(dashboard, {"department": "legal", "role": "owner"})
    page.set_viewport_size({"width": 1280, "height": 900})
    speak(page, dashboard, language)
    log_in(page, dashboard)
    page.screenshot(path=str(tmp_path / f"{language}-1280-overview.png"), full_page=True)
    within = "#w-audit td:nth-child(2), #w-audit td.target"
    ids = page.evaluate(ON_LINES, {"pattern": ID, "within": within})
    assert {"it-admin", "tiny-medium", *made} <= {i["text"] for i in ids}, ids
    assert [i for i in ids if i["lines"] != 1] == []
    assert [t for t in page.evaluate(TABLES_IN_CARDS) if t["over"] > 0.5] == []


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_model_id_in_a_card_and_a_path_in_the_audit_table_break_only_where_they_may(
    served_offline_dashboard: DashboardGateway, page: Page, tmp_path: Path, language: str
) -> None:
    """The German overview broke "tiny-" / "large" in the hosting card's list of models (the
    department page's usage by model, the router card likewise), and the audit table broke a
    config's path inside "stellwerk": a model id stays whole, a path breaks after its slashes."""
    dashboard = served_offline_dashboard
    config = dashboard.gateway.config
    record(
        dashboard,
        [
            served(config, department="legal", key_id="legal-1", model=m)
            for m in ("tiny-small", "tiny-medium", "tiny-large")
        ],
    )
    path = "/srv/stellwerk/deployments/production/stellwerk.yaml"
    ledger = dashboard.gateway.ledger()
    try:
        ledger.append_audit(
            actor="cli:walk", action="config.load", target_kind="config", target=path, details={}
        )
    finally:
        ledger.close()
    page.set_viewport_size({"width": 1280, "height": 900})
    speak(page, dashboard, language)
    log_in(page, dashboard)
    for where in ("", "/departments/legal"):
        page.goto(dashboard.url + where)
        name = f"{language}-1280{where.replace('/', '-') or '-overview'}.png"
        page.screenshot(path=str(tmp_path / name), full_page=True)
        ids = page.evaluate(ON_LINES, {"pattern": ID, "within": "main"})
        assert {"tiny-small", "tiny-medium", "tiny-large"} <= {i["text"] for i in ids}, where
        assert [i for i in ids if i["lines"] != 1 and len(i["text"]) < LONG] == [], where
        assert [t for t in page.evaluate(TABLES_IN_CARDS) if t["over"] > 0.5] == [], where
    page.goto(dashboard.url)
    target = page.locator("#w-audit td.target", has_text="production")
    assert target.count() == 1
    lines = target.evaluate(
        """cell => { const range = document.createRange(); range.selectNodeContents(cell);
        return new Set([...range.getClientRects()].map((box) => Math.round(box.top))).size; }"""
    )
    assert lines > 1  # the path is wider than its cell ...
    words = page.evaluate(ON_LINES, {"pattern": WORD, "within": "#w-audit td.target"})
    assert {"srv", "stellwerk", "deployments", "production", "yaml"} <= {w["text"] for w in words}
    assert [w for w in words if w["lines"] != 1] == []  # ... and breaks between its words


@pytest.mark.parametrize("language", ["en", "de"])
def test_ids_in_audit_details_and_the_model_history_never_break_at_their_hyphen(
    served_offline_dashboard: DashboardGateway, page: Page, tmp_path: Path, language: str
) -> None:
    """The German audit card split a use case's change "zulässige Modelle: tiny-small, tiny-" /
    "medium → tiny-small", and the model page's lifecycle history broke the owner key that
    withdrew a consent ("key-" / "c95889a6d849"): each id stays on one line, the line breaks
    between its words, and the tables still fit their cards."""
    dashboard = served_offline_dashboard
    url = dashboard.gateway.url
    use_case = {
        "name": "uc-pub",
        "department": "research",
        "classification": "public",
        "allowed_models": ["tiny-large", "tiny-medium", "tiny-small"],
        "reason": "walk",
    }
    made = httpx.post(url + "/admin/use-cases", json=use_case, headers=ADMIN, timeout=30)
    assert made.status_code == 201, made.text
    change = {"classification": "confidential", "allowed_models": ["tiny-small"], "reason": "r"}
    changed = httpx.put(url + "/admin/use-cases/uc-pub", json=change, headers=ADMIN, timeout=30)
    assert changed.status_code == 200, changed.text
    owner = {"department": "legal", "role": "owner"}
    key = httpx.post(url + "/admin/keys", json=owner, headers=ADMIN, timeout=30).json()
    withdrawn = httpx.post(
        url + "/admin/models/tiny-small/consent",
        json={"consent": False, "reason": "licence review"},
        headers={"authorization": f"Bearer {key['key']}"},
        timeout=30,
    )
    assert withdrawn.status_code == 200, withdrawn.text
    page.set_viewport_size({"width": 1280, "height": 900})
    speak(page, dashboard, language)
    log_in(page, dashboard)
    page.screenshot(path=str(tmp_path / f"{language}-1280-overview.png"), full_page=True)
    ids = page.evaluate(ON_LINES, {"pattern": ID, "within": "#w-audit td.details"})
    assert {"tiny-small", "tiny-medium"} <= {i["text"] for i in ids}, ids
    assert [i for i in ids if i["lines"] != 1] == []
    assert [t for t in page.evaluate(TABLES_IN_CARDS) if t["over"] > 0.5] == []

    page.goto(dashboard.url + "/models/tiny-small")
    page.screenshot(path=str(tmp_path / f"{language}-1280-model.png"), full_page=True)
    ids = page.evaluate(ON_LINES, {"pattern": ID, "within": "#m-history td"})
    assert key["key_id"] in {i["text"] for i in ids}, ids
    assert [i for i in ids if i["lines"] != 1] == []
    assert [t for t in page.evaluate(TABLES_IN_CARDS) if t["over"] > 0.5] == []


LABELS_IN_CHARTS = """() => [...document.querySelectorAll("svg.chart text.lbl")].map((label) => {
  const chart = label.closest("svg").getBoundingClientRect();
  const box = label.getBoundingClientRect();
  return {text: label.textContent, left: box.left - chart.left, right: chart.right - box.right};
})"""
"""Each bar label of the page's charts, with its room left of it inside its chart (below 0: cut)."""


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_long_model_id_keeps_its_first_letter_in_a_bar_chart(
    served_offline_dashboard: DashboardGateway, page: Page, tmp_path: Path, language: str
) -> None:
    """A model id clipped to 20 characters of wide letters (``llama-3.1-nemotron-…``) ran out of
    the department page's usage-by-model chart on the left and lost its "l" (walk 10); a label
    that long is fitted to the room left of its bar."""
    dashboard = served_offline_dashboard
    config = dashboard.gateway.config
    wide = "llama-3.1-nemotron-51b-instruct"
    one = served(config, department="research", key_id="research-1", model="tiny-small")
    record(dashboard, [replace(one, model=wide, request_id=one.request_id + "-wide"), one])
    page.set_viewport_size({"width": 1280, "height": 900})
    speak(page, dashboard, language)
    log_in(page, dashboard)
    page.goto(dashboard.url + "/departments/research")
    page.screenshot(path=str(tmp_path / f"{language}-1280-department-research.png"), full_page=True)
    labels = page.evaluate(LABELS_IN_CHARTS)
    assert any(label["text"].startswith("llama-3.1-") for label in labels), labels
    assert [label for label in labels if label["left"] < 0] == []
