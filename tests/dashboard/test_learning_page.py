"""The router-learning page: per department the graded requests by source, the share of unfamiliar
routed traffic and the routing gain of the version in use; the router's versions with their before
and after figures and the gain; what shadow grading cost its account against that account's budget.
In both languages, free of rendering errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from html import unescape
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from stellwerk.dashboard.formats import Formatter
from stellwerk.dashboard.i18n import LANGUAGES, Language, labels
from stellwerk.dashboard.learning import DepartmentLearning, DepartmentRouting, Learning, VersionRow
from stellwerk.dashboard.web import templates
from stellwerk.ledger import learning_totals as q
from tests.dashboard.client import login
from tests.dashboard.conftest import ADMIN_KEY, DashboardGateway
from tests.dashboard.learning import learning_gateway
from tests.dashboard.test_rendering import problems


@pytest.fixture
def learning_dashboard(tmp_path: Path) -> Iterator[DashboardGateway]:
    with learning_gateway(tmp_path) as dashboard:
        yield dashboard


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def _section(html: str, name: str) -> str:
    start = html.index(f'id="{name}"')
    return _text(html[start : html.index("</section>", start)])


@pytest.fixture
def admin(learning_dashboard: DashboardGateway) -> Iterator[httpx.Client]:
    with login(learning_dashboard.gateway.url, ADMIN_KEY) as (client, answer):
        assert answer.status_code == 303
        yield client


def test_the_page_shows_grades_familiarity_versions_and_the_cost_of_shadow_grading(
    admin: httpx.Client,
) -> None:
    admin.cookies.set("stw_lang", "en", path="/dashboard")
    html = admin.get("/dashboard/learning").text
    assert problems(html) == []
    summary = _section(html, "l-summary")
    assert re.search(r"120 Graded requests .* 30 Feedback 90 Shadow grading 120 graded", summary)
    assert "1 Version in use" in summary
    assert re.search(r"\d+\.\d % gain of the version in use", summary)

    rows = _section(html, "l-departments")  # a meter's title is text too
    # research: 90 shadow grades, 10 routed requests of which 3 unfamiliar
    assert re.search(r"research 0 90 90 10 Unfamiliar 30\.0 % \(3 / 10\)", rows)
    # legal: 30 feedback grades, 5 routed, 1 of the 4 measured unfamiliar
    assert re.search(r"legal 30 0 30 5 Unfamiliar 25\.0 % \(1 / 4\)", rows)
    assert re.search(r"router-learning 0 0 0 0 not measured", rows)
    # the version in use, per department: its gain on the department's judged requests
    assert "Routing gain (version in use)" in rows
    assert re.search(r"30\.0 % \(3 / 10\) \d\.\d{3} ± \d\.\d{3} \(90 judged\)", rows)
    assert re.search(r"25\.0 % \(1 / 4\) \d\.\d{3} ± \d\.\d{3} \(30 judged\)", rows)
    assert "not measured 0 judged: too few (under 20)" in rows
    assert "Below 20 judged requests" in rows

    versions = _section(html, "l-versions")
    assert re.search(r"1 in use .* cli:test adapted 120 0\.\d{4} 0\.\d{4} \d+\.\d %", versions)

    shadow = _section(html, "l-shadow")
    assert "charged to router-learning · 25 % of routed requests, at most 6 per minute" in shadow
    assert re.search(r"\b6 Calls .* 1 Refused by the account's limits", shadow)
    assert "Account spent: €0.016 / €0.02 Budget used Budget used: 80.0 %" in shadow


def test_the_page_speaks_german(admin: httpx.Client) -> None:
    admin.cookies.set("stw_lang", "de", path="/dashboard")
    html = admin.get("/dashboard/learning").text
    assert problems(html) == []
    assert '<html lang="de">' in html
    assert "Was der Router gelernt hat" in html
    rows = _section(html, "l-departments")
    assert re.search(r"research 0 90 90 10 Unvertraut 30,0 % \(3 / 10\) \d,\d{3} ± \d,\d{3}", rows)
    assert "Routing-Gewinn (verwendete Version)" in rows
    assert "(90 beurteilt)" in rows and "0 beurteilt: zu wenige (unter 20)" in rows
    assert "Kosten der Schattenbewertung" in _section(html, "l-shadow")


@pytest.mark.parametrize("language", LANGUAGES)
def test_without_a_session_it_asks_for_a_login(
    learning_dashboard: DashboardGateway, language: str
) -> None:
    with httpx.Client(base_url=learning_dashboard.gateway.url, timeout=30) as anonymous:
        anonymous.cookies.set("stw_lang", language, path="/dashboard")
        answer = anonymous.get("/dashboard/learning")
    assert answer.status_code == 401  # the login form


def test_a_version_whose_adaptation_reports_a_routing_gain_shows_it() -> None:
    """An adaptation judged by how it routes reports the comparison's ``gain``: a column of its
    own, beside the error figures (absent while no version reports one)."""
    figures = {"records": 200, "comparison": {"current_error": 0.2, "candidate_error": 0.15}}
    routed = {"records": 300, "comparison": {**figures["comparison"], "gain": 0.042}}
    versions = [
        _version(2, routed, in_use=True),
        _version(1, figures, in_use=False),
    ]
    page = Learning("art", 2, {"shadow": 300}, versions, versions[0].gain, [], None)
    html = _render(page)
    assert problems(html) == []
    rows = _section(html, "l-versions")
    assert "Routing gain" in rows
    assert re.search(r"adapted 300 0\.2000 0\.1500 25\.0 % 0\.042", rows)
    assert re.search(r"adapted 200 0\.2000 0\.1500 25\.0 % \u2013", rows)  # a dash
    assert "Routing gain" not in _render(replace(page, versions=versions[1:]))


@pytest.mark.parametrize(
    ("language", "shown", "too_few"),
    [
        ("en", "0.214 ± 0.031 (64 judged)", "7 judged: too few (under 20)"),
        ("de", "0,214 ± 0,031 (64 beurteilt)", "7 beurteilt: zu wenige (unter 20)"),
    ],
)
def test_a_department_with_too_few_judged_requests_shows_the_count_not_a_gain(
    language: Language, shown: str, too_few: str
) -> None:
    """Per department the gain of the version in use and its judged requests; below the
    promotion's ``min_judged`` only the count (a mean of a few is noise, here a large one)."""
    gains = {
        "legal": DepartmentRouting(64, 0.2141, 0.0312, 20),
        "research": DepartmentRouting(7, 0.38, 0.2, 20),
    }
    quiet = q.Familiarity(0, 0, 0)
    departments = [
        DepartmentLearning(name, True, 0, 5, quiet, routing=gains[name]) for name in gains
    ]
    page = Learning("art", 1, {"shadow": 71}, [], None, departments, None)
    html = _render(page, language)
    assert problems(html) == []
    rows = _section(html, "l-departments")
    assert re.search(rf"legal .* {re.escape(shown)}", rows)
    assert re.search(rf"research .* {re.escape(too_few)}", rows)
    assert "0,380" not in rows and "0.380" not in rows
    # the base alone (or a version that reports no departments): no such column
    plain = [replace(d, routing=None) for d in departments]
    assert "±" not in _section(_render(replace(page, departments=plain), language), "l-departments")


def _version(id: int, details: dict[str, Any], *, in_use: bool) -> VersionRow:
    comparison = details["comparison"]
    return VersionRow(
        id=id,
        time=datetime(2026, 12, id, tzinfo=UTC),
        actor="scheduler",
        action="adapt",
        records=details["records"],
        current_error=comparison["current_error"],
        candidate_error=comparison["candidate_error"],
        rollback_to=None,
        in_use=in_use,
        routing_gain=comparison.get("gain"),
    )


def _render(page: Learning, language: Language = "en") -> str:
    admin = SimpleNamespace(role="admin", key_id="it-admin", csrf="x", home="/dashboard")
    return (
        templates()
        .get_template("learning.html")
        .render(
            lang=language,
            languages=LANGUAGES,
            t=labels(language),
            fmt=Formatter(language, currency="EUR", zone=UTC),
            path="/dashboard/learning",
            admin=admin,
            month="2026-12",
            L=page,
        )
    )
