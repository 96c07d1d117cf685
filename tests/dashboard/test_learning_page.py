"""The router-learning page: per department the graded requests by source, the share of unfamiliar
routed traffic (in a neutral colour) and the routing gain of the version in use; the router's
versions with their before and after figures and the gain; its adaptation runs, promoted or not and
why not; what shadow grading cost its account against that account's budget. In both languages,
free of rendering errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest

from stellwerk.dashboard.adaptations import adaptation_run
from stellwerk.dashboard.charts import NEUTRAL
from stellwerk.dashboard.formats import Formatter
from stellwerk.dashboard.i18n import LANGUAGES, Language, labels
from stellwerk.dashboard.learning import (
    DepartmentLearning,
    DepartmentRouting,
    Learning,
    ShadowCost,
    VersionRow,
)
from stellwerk.dashboard.visitor import Admin
from stellwerk.dashboard.web import Page, templates
from stellwerk.ledger import learning_totals as q
from stellwerk.ledger.audit import AuditEntry
from stellwerk.routing.adapt import Comparison, DepartmentGain
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
    assert "120 Graded requests 30 Feedback grades 90 Shadow grades 120 Grades kept" in summary
    assert "1 Version in use" in summary
    # the routing gain its promotion was decided on, not the share of the error it removed
    assert "1.000 ± 0.000 Routing gain of the version in use" in summary

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
    assert "not measured none judged" in rows  # none of its requests: not "too few"
    assert "Below 20 judged requests" in rows

    versions = _section(html, "l-versions")
    assert re.search(r"1 in use .* cli:test adapted 120 0\.\d{4} 0\.\d{4} \d+\.\d %", versions)

    # every adaptation run, newest first, from the audit log: promoted or not, and why not
    runs = _section(html, "l-runs")
    assert "Adaptation runs the newest 10, any month" in runs
    assert re.search(
        r"cli:test not promoted routes no better 120 120 120 0\.000 ± 0\.000 shared"
        r" .* cli:test promoted as version 1 120 120 120 1\.000 ± 0\.000 shared"
        r" .* cli:test not promoted too few judged \(under 20\) 12 12 12 1\.000 ± 0\.000 graded",
        runs,
    )
    assert "at least 20 requests were judged, its gain exceeds 2 times its standard error" in runs

    shadow = _section(html, "l-shadow")
    # walk10 finding 4: which requests the share is of, and the rate per process, half of it
    # kept for unfamiliar prompts (it read "25 % of routed requests, at most 6 per minute")
    assert (
        "charged to router-learning Grades unfamiliar prompts first, and 25 % of the routed"
        " requests with familiar prompts · at most 6 per minute per gateway process, half of"
        " them kept for unfamiliar prompts Only routed chat requests that are not streamed"
    ) in shadow
    assert "with several replicas, their rates add up" in shadow
    assert re.search(r"\b6 Calls .* 1 Refused by the account's limits", shadow)
    assert "Account spent: €0.016 / €0.02 Budget used Budget used: 80.0 %" in shadow


def test_the_page_speaks_german(admin: httpx.Client) -> None:
    admin.cookies.set("stw_lang", "de", path="/dashboard")
    html = admin.get("/dashboard/learning").text
    assert problems(html) == []
    assert '<html lang="de">' in html
    assert "Was der Router gelernt hat" in html
    rows = _section(html, "l-departments")
    assert re.search(r"research 0 90 90 10 Ungewohnt 30,0 % \(3 / 10\) \d,\d{3} ± \d,\d{3}", rows)
    assert "Routing-Gewinn (verwendete Version)" in rows
    assert "(90 beurteilt)" in rows and "keine beurteilt" in rows
    # the hints say what the English says, in German words (not "eine von jeder")
    assert "zählt in beiden Spalten je einmal" in rows
    assert "(bezogen auf die Anfragen, deren Vertrautheit er gemessen hat)" in rows
    assert "Anpassungsläufe die letzten 10, aus allen Monaten" in _section(html, "l-runs")
    shadow = _section(html, "l-shadow")
    assert "Kosten der Schattenbewertung" in shadow
    assert (
        "zulasten von router-learning Bewertet ungewohnte Prompts zuerst und 25 % der gerouteten"
        " Anfragen mit gewohnten Prompts · höchstens 6 pro Minute je Gateway-Prozess, die Hälfte"
        " davon für ungewohnte Prompts reserviert"
    ) in shadow
    assert "bei mehreren Replikaten addieren sie sich" in shadow
    assert "Verbrauch des Kontos: 0,016 € / 0,02 €" in shadow


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
    compared = {"current_error": 0.2, "candidate_error": 0.15}
    figures = {"records": 200, "comparison": compared}
    routed = {"records": 300, "comparison": {**compared, "gain": 0.042}}
    versions = [
        _version(2, routed, in_use=True),
        _version(1, figures, in_use=False),
    ]
    page = Learning("art", 2, {"shadow": 300}, versions, versions[0], [], None)
    html = _render(page)
    assert problems(html) == []
    rows = _section(html, "l-versions")
    assert "Routing gain" in rows
    assert re.search(r"adapted 300 0\.2000 0\.1500 25\.0 % 0\.042", rows)
    assert re.search(r"adapted 200 0\.2000 0\.1500 25\.0 % \u2013", rows)  # a dash
    without = _render(replace(page, versions=versions[1:], promotion=versions[1]))
    assert "Routing gain" not in _section(without, "l-versions")
    # the card on top: the routing gain of the promotion in use, a dash where it reports none
    summary = _section(html, "l-summary")
    assert "0.042 Routing gain of the version in use" in summary
    assert "\u2013 Routing gain of the version in use" in _section(without, "l-summary")


@pytest.fixture
def rolled_back(tmp_path: Path) -> Iterator[httpx.Client]:
    """An admin's client of the dashboard over a ledger whose version in use, version 2's
    correction, was restored by a rollback to a rollback (``learning.rolled_back``)."""
    with (
        learning_gateway(tmp_path, rollbacks=True) as dashboard,
        login(dashboard.gateway.url, ADMIN_KEY) as (client, answer),
    ):
        assert answer.status_code == 303
        yield client


@pytest.mark.parametrize(
    ("language", "words"),
    [
        (
            "en",
            {
                "l-summary": [
                    "2 Version in use · restored by version 6",
                    "0.025 ± 0.012 Routing gain of the version in use",
                    "Learning uses the graded requests since the rollback of",
                    "(3 so far)",
                ],
                "l-departments": [
                    "Routing gain (version in use)",
                    "0.031 ± 0.014 (61 judged)",
                    "0.058 ± 0.022 (35 judged)",
                ],
                "l-versions": [
                    "6 2026",
                    "rolled back to 4",
                    "2 in use",
                    "adapted 120 0.0964 0.1002 -3.9 % 0.025",
                    "Error removed: the share of that error the new version removed (below 0",
                ],
            },
        ),
        (
            "de",
            {
                "l-summary": [
                    "2 Version in Verwendung · wiederhergestellt durch Version 6",
                    "0,025 ± 0,012 Routing-Gewinn der verwendeten Version",
                    "seit dem Zurücksetzen am",
                    "(bisher 3)",
                ],
                "l-departments": ["0,031 ± 0,014 (61 beurteilt)", "0,058 ± 0,022 (35 beurteilt)"],
                "l-versions": ["2 in Verwendung", "angepasst 120 0,0964 0,1002 -3,9 % 0,025"],
            },
        ),
    ],
)
def test_after_rollbacks_the_page_shows_the_figures_of_the_correction_in_use(
    rolled_back: httpx.Client, language: str, words: dict[str, list[str]]
) -> None:
    """Version 2 routed better (0.025 ± 0.012) while its squared error grew by 3.9 %; rolled
    back to the base and to it twice, the second time through a rollback (version 6 to 4, 4 to
    2): the page shows version 2 in use, its routing gain on top and per department."""
    rolled_back.cookies.set("stw_lang", language, path="/dashboard")
    html = rolled_back.get("/dashboard/learning").text
    assert problems(html) == []
    missing = {
        name: [w for w in said if w not in _section(html, name)] for name, said in words.items()
    }
    assert missing == {name: [] for name in words}, _section(html, "l-summary")
    assert "3,9 % Routing" not in html and "-3.9 % Routing" not in html


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "Shipped router in use: adaptation rolled back (version 3)"),
        ("de", "Ausgelieferter Router in Verwendung: Anpassung zurückgesetzt (Version 3)"),
    ],
)
def test_a_rollback_to_the_base_says_so(language: Language, text: str) -> None:
    page = Learning("art", 0, {}, [], None, [], None, restored_by=3)
    summary = _section(_render(page, language), "l-summary")
    assert text in summary and "\u2013 " in summary, summary


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
        DepartmentLearning(name, True, 0, 5, 5, quiet, routing=gains[name]) for name in gains
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
    admin = Admin(key_id="it-admin", nonce="n", csrf="x")  # an admin: every page, every form
    return (
        templates()
        .get_template("learning.html")
        .render(
            **Page(
                language,
                labels(language),
                Formatter(language, currency="EUR", zone=UTC),
                "/dashboard/learning",
            ).vars(),
            admin=admin,
            month="2026-12",
            L=page,
        )
    )


def _run(id: int, details: dict[str, Any]) -> AuditEntry:
    """A ``router.adapt`` audit entry as ``adapt_stored`` writes it (the keys sorted, as read)."""
    time = datetime(2026, 12, 6, 9, id, tzinfo=UTC)
    return AuditEntry(id, time, "schedule:gw-1", "router.adapt", "router", "art", details)


def _adapted(comparison: Comparison | None, **figures: Any) -> dict[str, Any]:
    details = {
        "promoted": False,
        "read": 120,
        "records": 90,
        "k": None,
        "tau": None,
        "form": None,
        "form_gains": None,
        "comparison": None if comparison is None else comparison.as_json(),
        "version": None,
        **figures,
    }
    return dict(sorted((k, v) for k, v in details.items() if not (k == "read" and v is None)))


def _compared(
    gain: float, se: float, records: int = 60, **departments: DepartmentGain
) -> Comparison:
    return Comparison(
        records=records,
        grades=3 * records,
        current_score=0.5,
        candidate_score=0.5 + gain,
        standard_error=se,
        current_error=0.2,
        candidate_error=0.18,
        min_records=20,
        margin=2.0,
        departments=departments,
    )


RUNS = [
    # promoted
    _run(5, _adapted(_compared(0.09, 0.02), promoted=True, form="pooled", version=4)),
    # a gain, but not above twice its standard error; two forms tie: the first of FORMS is taken
    _run(
        4,
        _adapted(
            _compared(0.03, 0.02),
            form_gains={"graded": [0.03, 0.02], "pooled": [0.01, 0.02], "shared": [0.03, 0.02]},
        ),
    ),
    # better on the whole, paid for by one department
    _run(
        3,
        _adapted(
            _compared(
                0.06,
                0.01,
                legal=DepartmentGain(25, -0.08, 0.02),
                research=DepartmentGain(35, 0.15, 0.02),
            ),
            form_gains={"graded": [0.06, 0.01], "shared": [0.02, 0.01]},
        ),
    ),
    # better, but fitted on every record no correction beat the base; audited before runs
    # counted the records they read
    _run(2, _adapted(_compared(0.05, 0.01), form_gains={"shared": [0.05, 0.01]}, read=None)),
    # fitted, but no record had grades of two models: nothing judged, so no gain and no form
    _run(
        1,
        _adapted(
            _compared(0.0, 0.0, records=0),
            form_gains={"graded": [0.0, 0.0], "pooled": [0.0, 0.0], "shared": [0.0, 0.0]},
        ),
    ),
    # too few records to fit anything: most of those read were graded for untrained models
    _run(0, _adapted(None, read=40, records=5)),
]


@pytest.mark.parametrize(
    ("language", "rows"),
    [
        (
            "en",
            [
                "promoted as version 4 120 90 60 0.090 ± 0.020 pooled",
                "not promoted gain under the margin (needed over 0.040) 120 90 60 0.030 ± 0.020"
                " shared",
                "not promoted routes worse for legal 120 90 60 0.060 ± 0.010 graded",
                "not promoted fitted on every record, no correction beat the base \u2013 90 60"
                " 0.050 ± 0.010 shared",
                "not promoted too few judged (under 20) 120 90 0 \u2013 \u2013",
                "not promoted too few usable records to fit 40 5 \u2013 \u2013 \u2013",
            ],
        ),
        (
            "de",
            [
                "übernommen als Version 4 120 90 60 0,090 ± 0,020 pooled",
                "nicht übernommen Gewinn unter der Schwelle (nötig: über 0,040) 120 90 60 0,030"
                " ± 0,020 shared",
                "nicht übernommen routet schlechter für legal 120 90 60 0,060 ± 0,010 graded",
                "nicht übernommen auf allen Datensätzen angepasst, war keine Korrektur besser als"
                " die Basis \u2013 90 60 0,050 ± 0,010 shared",
                "nicht übernommen zu wenige beurteilt (unter 20) 120 90 0 \u2013 \u2013",
                "nicht übernommen zu wenige verwendbare Bewertungen zum Anpassen 40 5 \u2013 \u2013"
                " \u2013",
            ],
        ),
    ],
)
def test_an_adaptation_run_that_promoted_nothing_says_why(
    language: Language, rows: list[str]
) -> None:
    """Each reason of ``adapt.Comparison.better`` read back from a run's audit figures, beside the
    records read and judged, the gain ± standard error and the form whose candidate routed best."""
    runs = tuple(adaptation_run(entry) for entry in RUNS)
    page = Learning("art", 4, {"shadow": 90}, [], None, [], None, runs=runs)
    html = _render(page, language)
    assert problems(html) == []
    table = html[html.index('id="l-runs"') :]
    shown = [_text(row).strip() for row in re.findall(r"<tr\b.*?</tr>", table, re.S)][1:]
    assert [row.split(" UTC ", 1)[1] for row in shown] == [f"schedule:gw-1 {row}" for row in rows]
    assert html.count('class="promoted"') == 1


def test_a_run_shows_the_reasons_and_the_form_it_wrote_itself() -> None:
    """A run writes why it promoted nothing and which form routed best (``Adaptation.as_json``);
    the page shows those, not what the figures would say to a later reading of the rule (here a
    gain of 0.03 ± 0.02 would read "under the margin", form "shared")."""
    written = _adapted(
        _compared(0.03, 0.02),
        form_gains={"pooled": [0.02, 0.02], "shared": [0.03, 0.02]},
        reasons=["no_gain"],
        best_form="pooled",
    )
    run = adaptation_run(_run(0, written))
    assert run.reasons == ("no_gain",)
    assert run.form == "pooled"
    row = _section(_render(Learning("art", 0, {}, [], None, [], None, runs=(run,))), "l-runs")
    assert "routes no better" in _text(row) and "pooled" in _text(row)
    assert "margin" not in _text(row)


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "No adaptation has run yet: the router has not tried to learn"),
        ("de", "Noch kein Anpassungslauf: der Router hat noch nicht zu lernen versucht"),
    ],
)
def test_a_router_that_never_adapted_says_so(language: Language, text: str) -> None:
    page = Learning("art", 0, {}, [], None, [], None)
    assert text in _section(_render(page, language), "l-runs")


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "Shipped router in use: not adapted, no adaptation promoted"),
        ("de", "Ausgelieferter Router in Verwendung: nicht angepasst, keine Anpassung übernommen"),
    ],
)
def test_without_a_promoted_adaptation_the_shipped_router_is_in_use_not_version_0(
    language: Language, text: str
) -> None:
    summary = _section(_render(Learning("art", 0, {}, [], None, [], None), language), "l-summary")
    assert text in summary and "0 Version" not in summary, summary


def test_a_high_unfamiliar_share_is_not_drawn_as_good() -> None:
    """The unfamiliar share has no limit: its meter is neutral at any share, where a budget's
    is green below 80 %."""
    shares = [q.Familiarity(100, 100, n) for n in (5, 71, 100)]
    departments = [DepartmentLearning(f"d{i}", True, 0, 0, 0, f) for i, f in enumerate(shares)]
    html = _render(Learning("art", 0, {}, [], None, departments, None))
    cells = re.findall(r'<td class="unfamiliar">.*?</td>', html)
    fills = [re.findall(r'fill="(#[0-9a-f]{6})"', cell) for cell in cells]
    assert fills == [[NEUTRAL]] * 3
    assert "71.0 %" in _section(html, "l-departments")


@pytest.mark.parametrize(
    ("language", "row", "said"),
    [
        ("en", "legal 3 6 6 8", "Feedback and shadow grades count grades"),
        ("de", "legal 3 6 6 8", "Rückmeldungen und Schattenbewertungen zählen Bewertungen"),
    ],
)
def test_a_request_graded_by_feedback_and_shadow_grading_is_one_graded_request(
    language: Language, row: str, said: str
) -> None:
    """Six requests shadow-graded, three of them given feedback too: nine grades, six graded
    requests (not more than the eight routed), and the page says which columns count grades."""
    legal = DepartmentLearning("legal", True, 3, 6, 6, q.Familiarity(8, 0, 0))
    html = _render(Learning("art", 0, {}, [], None, [legal], None), language)
    assert problems(html) == []
    assert row in _section(html, "l-departments") and said in _section(html, "l-departments")
    summary = _section(html, "l-summary")  # the month's graded requests, then the grades
    assert re.search(r"\b6 (Graded requests|Bewertete Anfragen) 3 \D+ 6 ", summary)


@pytest.mark.parametrize(
    ("language", "stops", "unlimited"),
    [
        ("en", "Shadow grading stops while the account's monthly budget is spent.", "unlimited"),
        (
            "de",
            "Die Schattenbewertung ruht, solange das Monatsbudget des Kontos aufgebraucht ist.",
            "unbegrenzt",
        ),
    ],
)
def test_only_an_account_with_a_budget_is_said_to_stop_when_it_is_spent(
    language: Language, stops: str, unlimited: str
) -> None:
    spend = q.ShadowSpend(requests=6, errors=1, tokens=600, cost_micro=16_000)
    budgeted = ShadowCost(
        "router-learning", 0.25, 6, spend, Decimal("0.016"), Decimal("0.02"), refused=1
    )
    page = Learning("art", 0, {}, [], None, [], budgeted)
    assert stops in _section(_render(page, language), "l-shadow")
    unbudgeted = replace(page, shadow=replace(budgeted, budget=None))
    without = _section(_render(unbudgeted, language), "l-shadow")
    assert stops not in without and f"/ {unlimited}" in without


@pytest.mark.parametrize(
    ("language", "words"),
    [
        (
            "en",
            [
                "router adapted",
                "promoted: no",
                "not promoted because: too few judged",
                "usable records: 12",
                "records read: 12",
                "compared with version: base router (as trained, no correction)",
                "comparison: judged=",
                "routing gain per form: shared=",
                "new version: 1",
            ],
        ),
        (
            "de",
            [
                "Router angepasst",
                "übernommen: nein",
                "nicht übernommen, weil: zu wenige beurteilt",
                "verwendbare Bewertungen: 12",
                "gelesene Bewertungen: 12",
                "verglichen mit Version: Basis-Router (wie trainiert, ohne Korrektur)",
                "Vergleich: beurteilt=",
                "Routing-Gewinn je Form: shared=",
                "neue Version: 1",
            ],
        ),
    ],
)
def test_the_overview_words_what_an_adaptation_run_wrote(
    admin: httpx.Client, language: str, words: list[str]
) -> None:
    """The overview's latest audit events show a ``router.adapt`` entry's details in the page's
    language, its reasons worded, never the keys and codes the run wrote."""
    admin.cookies.set("stw_lang", language, path="/dashboard")
    audit = _section(admin.get("/dashboard").text, "w-audit")
    missing = [w for w in words if w not in audit]
    assert not missing, audit
    codes = ["compared_with", "newest_record", "cost_weights", "form_gains", "best_form"]
    codes += ["too_few_judged", "no_gain", "min_records", "standard_error", "current_score"]
    assert [c for c in codes if c in audit] == []


@pytest.mark.parametrize(
    ("language", "row"),
    [
        ("en", "2 in use 2026-12-02 00:00 UTC cli:ops rolled back to base router (as trained, no"),
        ("de", "2 in Verwendung 02.12.2026 00:00 UTC cli:ops zurückgesetzt auf Basis-Router (wie"),
    ],
)
def test_a_rollback_to_the_base_names_the_base_not_an_outcome(language: Language, row: str) -> None:
    """walk24 9: "rolled back to base router, not adapted" read as if the rollback had failed to
    adapt something; the row says what version 0 is."""
    back = VersionRow(
        id=2,
        time=datetime(2026, 12, 2, tzinfo=UTC),
        actor="cli:ops",
        action="rollback",
        records=None,
        current_error=None,
        candidate_error=None,
        rollback_to=0,
        in_use=True,
    )
    versions = _section(
        _render(Learning("art", 0, {}, [back], None, [], None), language), "l-versions"
    )
    assert row in versions, versions
    assert "router, not adapted" not in versions and "Router, nicht angepasst" not in versions


def test_the_audit_log_shows_a_rollbacks_reason(rolled_back: httpx.Client) -> None:
    """walk29: a rollback kept no reason; the overview's audit table shows it as for the other
    governance changes."""
    overview = " ".join(_text(rolled_back.get("/dashboard").text).split())
    assert "router rolled back" in overview, overview
    assert "reason: the gain was noise" in overview, overview
