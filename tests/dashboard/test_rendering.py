"""Every page of the dashboard, in English and German, is free of rendering errors: no Python repr
(``<built-in method keys of dict object at 0x7f...>``, ``<bound method``), no ``None``, no
template syntax or unfilled placeholder, no inline style (the content security policy drops it),
and every title (a card's heading, a table's header, a fact's name, a figure's label) in sentence
case, beginning with a capital. The pages are found by following every link from the overview (so
a new page is checked without being listed here), over a ledger with served, refused and failed
traffic, a calibration record, and every action done once; the confirmation pages of every form
and the error pages are checked too."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from jinja2 import TemplateRuntimeError

from stellwerk.calibration.records import CalibrationStore, records_from_summary
from stellwerk.dashboard.i18n import LANGUAGES, labels
from stellwerk.dashboard.web import templates
from stellwerk.ledger.graded import Graded, GradedStore
from stellwerk.routing.graded_record import GradedRecord
from tests.dashboard.client import csrf_of, login, post_form
from tests.dashboard.conftest import ADMIN_KEY, DashboardGateway
from tests.dashboard.test_calibration_record import SUMMARY
from tests.dashboard.traffic import chat, record, served, wait_for_usage
from tests.fixtures.gateway import KEYS

BROKEN = [
    re.compile(r"<built-in (method|function)"),
    re.compile(r"<bound method"),
    re.compile(r"<function "),
    re.compile(r"object at 0x[0-9a-f]+"),
    re.compile(r"\bNone\b"),
    re.compile(r"\bUndefined\b"),
    re.compile(r"\{\{|\}\}|\{%|%\}"),
    re.compile(r"\{[a-z_]+\}"),  # a label's placeholder that was never filled in
    # the content security policy (style-src 'self') makes the browser drop inline styles:
    # whatever they were to show (a legend's colours) is silently not there
    re.compile(r"<style\b|\sstyle="),
]


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._form: dict[str, str] | None = None
        self._action = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])
        elif tag == "form" and a.get("method") == "post":
            self._form, self._action = {}, a.get("action", "")
        elif tag in ("input", "select") and self._form is not None and a.get("name"):
            if a.get("type") == "checkbox" and "checked" not in a:
                return  # a browser sends only the checked boxes
            self._form[a["name"]] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._form is not None:
            self.forms.append((self._action, self._form))
            self._form = None


class Titles(HTMLParser):
    """The titles a page shows: its cards' headings, table headers, fact names and figure
    labels (a heading's ``<small>`` aside is no title)."""

    TAGS = ("h2", "h3", "th", "dt")
    VOID = ("br", "img", "input", "wbr", "hr", "circle", "path", "rect")

    def __init__(self) -> None:
        super().__init__()
        self.titles: list[str] = []
        self._open: list[str] = []  # the titles being read, innermost last
        self._depth: list[int] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        if tag == "small" and self._open:
            self._skip += 1
        if tag in self.TAGS or (tag == "span" and ("class", "l") in attrs):
            self._open.append("")
            self._depth.append(0)
        elif self._depth:
            self._depth[-1] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if tag == "small" and self._skip:
            self._skip -= 1
        if not self._depth:
            return
        if self._depth[-1]:
            self._depth[-1] -= 1
            return
        self._depth.pop()
        title = " ".join(self._open.pop().split())
        if title:
            self.titles.append(title)

    def handle_data(self, data: str) -> None:
        if self._open and not self._skip:
            self._open[-1] += data


def lower_case_titles(html: str) -> list[str]:
    """The titles that begin with a small letter (sentence case: every title begins with a
    capital, in German as in English)."""
    parser = Titles()
    parser.feed(html)
    return [t for t in parser.titles if t[0].isalpha() and not t[0].isupper()]


def problems(html: str) -> list[str]:
    text = unescape(html)
    return [m.group(0) for pattern in BROKEN for m in pattern.finditer(text)]


def busy(dashboard: DashboardGateway, admin: httpx.Client) -> None:
    """Served, refused and failed traffic, a calibration record and every action done once."""
    config = dashboard.gateway.config
    record(
        dashboard,
        [
            served(config, department="research", key_id="research-1", model="tiny-small"),
            served(config, department="research", key_id="research-1", model="tiny-large"),
            served(config, department="legal", key_id="legal-1", model="tiny-small"),
            served(
                config, department="research", key_id=dashboard.stored_key_id, model="tiny-small"
            ),
            # routed, and the router found the prompt unfamiliar (the learning page's share)
            replace(
                served(config, department="legal", key_id="legal-1", model="tiny-small"),
                familiarity=0.01,
                unfamiliar=True,
            ),
        ],
    )
    assert chat(dashboard, KEYS["legal"], "tiny-large").status_code == 404  # refused, unseen
    assert chat(dashboard, KEYS["research"]).status_code >= 500  # the backend is down
    wait_for_usage(dashboard, 7)
    ledger = dashboard.gateway.ledger()
    try:
        CalibrationStore(ledger).add(records_from_summary(SUMMARY, actor="cli:ops"))
        GradedStore(ledger).add(GRADED)
    finally:
        ledger.close()
    for page, action, fields in (
        ("/dashboard/departments/research", "/dashboard/departments/research/budget",
         {"monthly_budget": "0.0005", "reason": "pilot budget"}),
        ("/dashboard/models/tiny-small", "/dashboard/models/tiny-small/consent",
         {"consent": "withdraw", "reason": "data protection review"}),
        ("/dashboard/models/tiny-small", "/dashboard/models/tiny-small/lifecycle",
         {"state": "deprecated", "reason": "superseded"}),
        ("/dashboard/departments/research",
         f"/dashboard/keys/{dashboard.stored_key_id}/revoke", {"reason": "laptop lost"}),
    ):  # fmt: skip
        assert post_form(admin, page, action, fields).status_code == 303, action


GRADED = Graded(
    request_id="graded-1",
    source="feedback",
    time=datetime.now(UTC),
    department="research",
    key_id="research-1",
    route="auto",
    base_version="test",
    model="tiny-small",
    record=GradedRecord(
        latent=(1.0,) + (0.0,) * 63, base={"tiny-small": 0.5}, grades={"tiny-small": 1.0}
    ),
)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_renders_without_errors(
    offline_dashboard: DashboardGateway, admin: httpx.Client, language: str
) -> None:
    busy(offline_dashboard, admin)
    admin.cookies.set("stw_lang", language, path="/dashboard")
    seen: dict[str, list[str]] = {}
    forms: list[tuple[str, dict[str, str]]] = []
    todo = ["/dashboard"]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        page = admin.get(path)
        assert page.status_code == 200, (path, page.status_code)
        assert f'<html lang="{language}">' in page.text
        seen[path] = problems(page.text) + lower_case_titles(page.text)
        parser = Links()
        parser.feed(page.text)
        forms += [(urljoin(path, a), f) for a, f in parser.forms]
        for href in parser.hrefs:
            target = urlsplit(urljoin(path, href))
            if target.netloc or not target.path.startswith("/dashboard"):
                continue
            if target.path.startswith(("/dashboard/lang/", "/dashboard/static/")):
                continue
            todo.append(target.path + (f"?{target.query}" if target.query else ""))
    # the overview, every department and every model, each with its month link
    assert {
        "/dashboard",
        "/dashboard/departments/legal",
        "/dashboard/models/tiny-large",
        "/dashboard/learning",
    } <= set(seen)
    assert len([p for p in seen if p.startswith("/dashboard/models/")]) >= 5
    # the confirmation page of every form, and the error pages
    token = csrf_of(admin.get("/dashboard").text)
    for action, fields in forms:
        if action.endswith("/logout"):
            continue
        half = "0.5" if language == "en" else "0,5"  # as the page's language writes it
        filled = {k: v or "a reason" for k, v in fields.items() if k != "monthly_budget"}
        if "monthly_budget" in fields and "unlimited" not in fields:  # ticked: no budget now
            filled["monthly_budget"] = fields["monthly_budget"] or half
        if "state" in fields:
            filled["state"] = fields["state"] or "retired"
        answer = admin.post(action, data={**filled, "csrf": token})
        assert answer.status_code in (200, 409), (action, answer.status_code, answer.text[:300])
        seen[f"POST {action}"] = problems(answer.text)
    for path, status in (
        ("/dashboard/models/no-such-model", 404),
        ("/dashboard/departments/nobody", 404),
        ("/dashboard/nope", 404),
        ("/dashboard?month=2026-13", 400),
    ):
        answer = admin.get(path)
        assert answer.status_code == status
        assert answer.headers["content-type"].startswith("text/html")
        assert f'<html lang="{language}">' in answer.text
        seen[path] = problems(answer.text)
    broken = {path: found for path, found in seen.items() if found}
    assert not broken, f"rendering errors in {language}: {broken}"


def test_a_template_that_prints_a_python_object_fails_loudly() -> None:
    env = templates()
    t = labels("en")
    assert env.from_string("{{ t.keys }}").render(t=t) == "Keys"  # a label, not dict.keys
    for source, value in (
        ("{{ x }}", None),
        ("{{ x }}", {}.keys),
        ("{{ x }}", object()),
        ("{{ x }}", True),
    ):
        with pytest.raises(TemplateRuntimeError, match="a template printed"):
            env.from_string(source).render(x=value)


#: a float's binary noise in a printed figure (0.30000000000000004, 0.7999999999999999)
FLOAT_NOISE = re.compile(r"\d[.,]\d*(?:0{6,}[1-9]|9{6,})")


@pytest.mark.parametrize("language", LANGUAGES)
def test_energy_figures_are_printed_without_float_noise(
    offline_dashboard: DashboardGateway, admin: httpx.Client, language: str
) -> None:
    """Records of 0.1 and 0.2 Wh (whose float sum is 0.30000000000000004): the department, the
    model, the month's total and the savings print 0.30 Wh, in the page's language."""
    config = offline_dashboard.gateway.config
    one = served(config, department="research", key_id="research-1", model="tiny-small")
    tenth = replace(one, request_id="tenth", energy_wh=0.1)
    record(offline_dashboard, [tenth, replace(one, request_id="fifth", energy_wh=0.2)])
    admin.cookies.set("stw_lang", language, path="/dashboard")
    expected = "0.30\u00a0Wh" if language == "en" else "0,30\u00a0Wh"
    for path in ("/dashboard", "/dashboard/departments/research", "/dashboard/models/tiny-small"):
        page = admin.get(path)
        assert page.status_code == 200, path
        text = unescape(page.text)
        assert expected in text, path
        assert not FLOAT_NOISE.findall(text), (path, FLOAT_NOISE.findall(text))


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "Something went wrong on the server; the gateway's log says what."),
        ("de", "Auf dem Server ist ein Fehler aufgetreten; das Protokoll des Gateways nennt ihn."),
    ],
)
def test_an_unexpected_error_is_the_dashboards_own_500_page(
    offline_dashboard: DashboardGateway, language: str, said: str
) -> None:
    """A page that fails for a reason nobody foresaw (here: a table of the ledger is gone) is
    the dashboard's error page in its language, not the API's JSON envelope."""
    from sqlalchemy import text

    ledger = offline_dashboard.gateway.ledger()
    try:
        with ledger.engine.begin() as connection:
            connection.execute(text("DROP TABLE usage_daily"))
    finally:
        ledger.close()
    with login(offline_dashboard.gateway, ADMIN_KEY) as (client, _):
        client.cookies.set("stw_lang", language, path="/dashboard")
        answer = client.get("/dashboard")
    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith("text/html")
    assert said in unescape(answer.text)
    assert problems(answer.text) == []


def test_an_old_entry_with_a_direction_override_is_shown_escaped(
    offline_dashboard: DashboardGateway, admin: httpx.Client
) -> None:
    """Text written before ``config.plain_text`` refused such characters stays in the audit log;
    the overview's audit table shows each as its escape, so an override cannot turn the rest of
    the line around (``\\u202egnp.exe`` reads ``exe.png``) nor an invisible character forge a
    look-alike name."""
    ledger = offline_dashboard.gateway.ledger()
    try:
        ledger.append_audit(
            actor="cli:ad\u200bmin",
            action="model.lifecycle",
            target_kind="model",
            target="tiny-small\u202e",
            details={"reason": "see \u202egnp.exe", "from\u2066": "approved"},
        )
    finally:
        ledger.close()
    page = admin.get("/dashboard")
    assert page.status_code == 200
    audit = unescape(page.text[page.text.index('id="w-audit"') :])
    assert [c for c in "\u202e\u200b\u2066" if c in page.text] == []
    assert "cli:ad\\u200bmin" in audit
    assert "tiny-small\\u202e" in audit
    assert "see \\u202egnp.exe" in audit and "from\\u2066: " in audit
    assert problems(page.text) == []
