"""Bad input gets the right page and changes nothing: wrong keys, missing, forged or expired
sessions, forged posts, unknown models, departments and keys, illegal moves."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from stellwerk.calibration.records import CalibrationRecord, CalibrationStore
from stellwerk.config import parse_config
from stellwerk.dashboard.session import SessionCodec
from stellwerk.gateway import create_app
from stellwerk.ledger.ledger import Ledger
from stellwerk.ledger.session_tables import dashboard_sessions
from tests.dashboard.client import csrf_of, login, post_form
from tests.dashboard.conftest import (
    ADMIN_KEY,
    DASHBOARD_ENV,
    OFFLINE_BACKEND,
    SECRET,
    DashboardGateway,
    dashboard_raw,
)
from tests.fixtures.gateway import KEYS, in_process


def _audit_count(ledger: Ledger) -> int:
    return len(ledger.list_audit(limit=10_000))


def test_login_sets_a_strict_http_only_session_cookie(offline_dashboard: DashboardGateway) -> None:
    with login(offline_dashboard.gateway, ADMIN_KEY) as (client, answer):
        cookie = next(
            v for k, v in answer.headers.multi_items() if k == "set-cookie" and "stw_session" in v
        )
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=" in cookie
        assert ADMIN_KEY not in cookie
        page = client.get("/dashboard")
        assert page.status_code == 200 and "it-admin" in page.text


@pytest.mark.parametrize(
    ("key", "status", "says"),
    [
        ("sk-stw-not-a-key-we-know", 401, "This key is unknown or revoked."),
        ("", 401, "Enter an API key."),
        (KEYS["research"], 403, "role 'user'"),
    ],
)
def test_wrong_or_non_admin_keys_are_refused(
    offline_dashboard: DashboardGateway, key: str, status: int, says: str
) -> None:
    with login(offline_dashboard.gateway, key) as (client, answer):
        assert answer.status_code == status
        assert says in unescape(answer.text)
        assert "stw_session" not in client.cookies
        assert client.get("/dashboard").status_code == 401


def test_failed_logins_are_counted_as_unknown_keys_are(
    offline_dashboard: DashboardGateway,
) -> None:
    """walk28 F2: guessing the admin key at the login form was counted nowhere."""
    for _ in range(3):
        with login(offline_dashboard.gateway, "sk-guess-aaaaaaaaaaaaaaaa") as (_, answer):
            assert answer.status_code == 401
    with login(offline_dashboard.gateway, KEYS["legal"]) as (_, answer):
        assert answer.status_code == 403  # a known key of another role: not a guess
    with offline_dashboard.gateway.client() as client:
        metrics = client.get("/metrics", headers={"authorization": f"Bearer {ADMIN_KEY}"}).text
    line = (
        'stellwerk_unauthenticated_requests_total{api="dashboard",'
        'endpoint="/dashboard/login",reason="login_failed"} 3.0'
    )
    assert line in metrics


def test_a_stored_non_admin_key_is_refused(offline_dashboard: DashboardGateway) -> None:
    with login(offline_dashboard.gateway, offline_dashboard.stored_key) as (_, answer):
        assert answer.status_code == 403


def test_login_without_its_csrf_token_is_refused(offline_dashboard: DashboardGateway) -> None:
    with offline_dashboard.gateway.client() as client:
        answer = client.post("/dashboard/login", data={"key": ADMIN_KEY})
        assert answer.status_code == 403
        assert "stw_session" not in client.cookies


@pytest.mark.parametrize(
    "path", ["/dashboard", "/dashboard/models/tiny-small", "/dashboard/departments/legal"]
)
def test_pages_need_a_session(offline_dashboard: DashboardGateway, path: str) -> None:
    answer = offline_dashboard.gateway.get(path)
    assert answer.status_code == 401
    assert 'name="key"' in answer.text  # the login form


def test_forged_and_expired_sessions_are_refused(offline_dashboard: DashboardGateway) -> None:
    gateway, url = offline_dashboard.gateway, "/dashboard"
    past = SessionCodec(SECRET.encode(), lifetime_s=60, clock=lambda: time.time() - 3600)
    _, expired = past.issue("it-admin", "config")
    answer = gateway.get(url, cookies={"stw_session": expired})
    assert answer.status_code == 401 and "expired" in answer.text
    forged = SessionCodec(b"x" * 32, lifetime_s=600).issue("it-admin", "config")[1]
    assert gateway.get(url, cookies={"stw_session": forged}).status_code == 401
    # signed with the right secret, but never started by a login: knowing the secret is not enough
    unstarted = SessionCodec(SECRET.encode(), lifetime_s=600).issue("it-admin", "config")[1]
    answer = gateway.get(url, cookies={"stw_session": unstarted})
    assert answer.status_code == 401 and "has ended" in answer.text


def test_posts_without_a_valid_csrf_token_change_nothing(
    offline_dashboard: DashboardGateway, admin: httpx.Client, offline_ledger: Ledger
) -> None:
    before = _audit_count(offline_ledger)
    posts = [
        ("/dashboard/models/tiny-small/lifecycle", {"state": "deprecated", "reason": "x"}),
        ("/dashboard/departments/legal/budget", {"monthly_budget": "5", "reason": "x"}),
        (f"/dashboard/keys/{offline_dashboard.stored_key_id}/revoke", {"reason": "x"}),
        ("/dashboard/logout", {}),
    ]
    for action, fields in posts:
        for token in (None, "forged-token"):
            data = {**fields, "confirm": "yes"} | ({"csrf": token} if token else {})
            answer = admin.post(action, data=data)
            assert answer.status_code == 403, action
            assert "CSRF" in answer.text and "Nothing was changed" in answer.text
    assert _audit_count(offline_ledger) == before
    assert admin.get("/dashboard").status_code == 200  # the logout was refused too


def test_a_token_from_another_session_is_refused(
    offline_dashboard: DashboardGateway, admin: httpx.Client
) -> None:
    with login(offline_dashboard.gateway, ADMIN_KEY) as (other, _):
        foreign = csrf_of(other.get("/dashboard").text)
    answer = admin.post(
        "/dashboard/models/tiny-small/lifecycle",
        data={"state": "deprecated", "reason": "x", "confirm": "yes", "csrf": foreign},
    )
    assert answer.status_code == 403


@pytest.mark.parametrize(
    ("method", "path", "fields"),
    [
        ("GET", "/dashboard/models/no-such-model", {}),
        ("GET", "/dashboard/departments/no-such-department", {}),
        ("POST", "/dashboard/models/no-such-model/lifecycle", {"state": "approved"}),
        ("POST", "/dashboard/departments/nowhere/budget", {"monthly_budget": "1"}),
        ("POST", "/dashboard/keys/key-000000000000/revoke", {}),
    ],
)
def test_unknown_names_in_urls_are_404(
    admin: httpx.Client, offline_ledger: Ledger, method: str, path: str, fields: dict[str, str]
) -> None:
    before = _audit_count(offline_ledger)
    if method == "GET":
        answer = admin.get(path)
    else:
        token = csrf_of(admin.get("/dashboard").text)
        answer = admin.post(path, data={**fields, "reason": "r", "csrf": token, "confirm": "yes"})
    assert answer.status_code == 404
    assert "Not found" in answer.text
    # no link back to a page that is not there either: the overview only
    page = path.removesuffix("/lifecycle").removesuffix("/budget").removesuffix("/revoke")
    assert f'href="{page}"' not in answer.text and "Back to the overview" in answer.text
    assert _audit_count(offline_ledger) == before


@pytest.mark.parametrize(
    ("action", "page", "fields", "status", "says"),
    [
        (
            "/dashboard/models/tiny-retired/lifecycle",
            "/dashboard/models/tiny-retired",
            {"state": "approved", "reason": "bring it back"},
            409,
            "retired is final",
        ),
        (
            "/dashboard/models/tiny-small/lifecycle",
            "/dashboard/models/tiny-small",
            {"state": "launched", "reason": "r"},
            400,
            "unknown lifecycle state",
        ),
        (
            "/dashboard/models/tiny-small/lifecycle",
            "/dashboard/models/tiny-small",
            {"state": "deprecated", "reason": "  "},
            400,
            "give a reason",
        ),
        (
            "/dashboard/departments/legal/budget",
            "/dashboard/departments/legal",
            {"monthly_budget": "lots", "reason": "r"},
            400,
            "is not an amount as this page writes it",
        ),
        (
            "/dashboard/departments/legal/budget",
            "/dashboard/departments/legal",
            {"monthly_budget": "-5", "reason": "r"},
            400,
            "is not an amount as this page writes it",
        ),
        (
            "/dashboard/departments/legal/budget",
            "/dashboard/departments/legal",
            {"monthly_budget": "1,000,000,000,000.5", "reason": "r"},
            400,
            "1000000000000.5 is more than 1000000000000, the most it may be",
        ),
        (
            "/dashboard/departments/legal/budget",
            "/dashboard/departments/legal",
            {"monthly_budget": "Infinity", "reason": "r"},
            400,
            "is not an amount as this page writes it",
        ),
        (
            "/dashboard/departments/legal/budget",
            "/dashboard/departments/legal",
            {"monthly_budget": "1.500", "reason": "r"},
            400,
            "Monthly budget: 1.500 is ambiguous (other languages write one thousand five hundred"
            " as 1.500); write 1.5 for the decimal amount or 1,500 for thousands.",
        ),
        (
            "/dashboard/departments/legal/budget",
            "/dashboard/departments/legal",
            {"monthly_budget": "   ", "reason": "r"},
            400,
            "Monthly budget: enter an amount, or choose unlimited.",
        ),
        (  # both, from no page (a page says what it showed: budget_shown)
            "/dashboard/departments/legal/budget",
            "/dashboard/departments/legal",
            {"monthly_budget": "5", "unlimited": "yes", "reason": "r"},
            400,
            "either an amount or unlimited",
        ),
        (  # a budget of 4 shown, the box ticked and the amount changed: both changed
            "/dashboard/departments/legal/budget",
            "/dashboard/departments/legal",
            {"monthly_budget": "5", "unlimited": "yes", "budget_shown": "4", "reason": "r"},
            400,
            "either an amount or unlimited",
        ),
    ],
)
def test_bad_actions_are_refused_and_change_nothing(
    admin: httpx.Client,
    offline_ledger: Ledger,
    action: str,
    page: str,
    fields: dict[str, str],
    status: int,
    says: str,
) -> None:
    before = _audit_count(offline_ledger)
    answer = post_form(admin, page, action, fields)
    assert answer.status_code == status
    assert says in unescape(answer.text)
    # the error page leads back to the page the form was on (and to the overview)
    assert f'href="{page}"' in answer.text and 'href="/dashboard"' in answer.text
    assert _audit_count(offline_ledger) == before


def test_bad_month_is_400(admin: httpx.Client) -> None:
    answer = admin.get("/dashboard", params={"month": "2026-13"})
    assert answer.status_code == 400 and "YYYY-MM" in answer.text


@pytest.mark.parametrize("month", [" 2026-12", "\uff12\uff10\uff12\uff16-12"])
def test_a_month_with_blanks_or_other_digits_is_400(admin: httpx.Client, month: str) -> None:
    """Read as December before (walk 19, D3); the browser test is test_browser_month_form."""
    answer = admin.get("/dashboard", params={"month": month})
    assert answer.status_code == 400 and "YYYY-MM" in answer.text


@pytest.mark.parametrize("version", ["\u00b2", "\u0663"])
def test_a_form_version_in_other_digits_is_no_version(admin: httpx.Client, version: str) -> None:
    """The model's version a lifecycle form carries (hidden): ``str.isdigit`` took "²", which
    ``int`` refuses (a 500); now it is read as a form without one (the change is made)."""
    page = "/dashboard/models/tiny-small"
    fields = {"state": "deprecated", "reason": "superseded", "version": version}
    answer = post_form(admin, page, f"{page}/lifecycle", fields)
    assert answer.status_code == 303, answer.text


def test_a_revoked_admin_key_ends_its_sessions(offline_dashboard: DashboardGateway) -> None:
    gateway, admin_api = offline_dashboard.gateway, "/admin/keys"
    bearer = {"authorization": f"Bearer {ADMIN_KEY}"}
    made = gateway.post(admin_api, json={"department": "it", "role": "admin"}, headers=bearer)
    assert made.status_code == 201
    key_id, key = made.json()["key_id"], made.json()["key"]
    with login(offline_dashboard.gateway, key) as (client, answer):
        assert answer.status_code == 303
        assert client.get("/dashboard").status_code == 200
        revoked = gateway.post(
            f"{admin_api}/{key_id}/revoke", json={"reason": "left the team"}, headers=bearer
        )
        assert revoked.status_code == 200
        refused = client.get("/dashboard")
        assert refused.status_code == 401 and "no longer active" in refused.text


def test_logout_ends_the_session_also_for_a_copy_of_its_cookie(
    offline_dashboard: DashboardGateway, admin: httpx.Client, offline_ledger: Ledger
) -> None:
    token = csrf_of(admin.get("/dashboard").text)
    copied = admin.cookies["stw_session"]
    answer = admin.post("/dashboard/logout", data={"csrf": token})
    assert answer.status_code == 303
    assert "stw_session" not in admin.cookies
    assert admin.get("/dashboard").status_code == 401
    before = _audit_count(offline_ledger)
    with offline_dashboard.gateway.client() as thief:
        thief.cookies.set("stw_session", copied, path="/dashboard")
        replayed = thief.get("/dashboard")
        assert replayed.status_code == 401
        assert 'name="key"' in replayed.text and "has ended" in replayed.text
        posted = thief.post(
            "/dashboard/departments/legal/budget",
            data={"monthly_budget": "1", "reason": "x", "confirm": "yes", "csrf": token},
        )
        assert posted.status_code == 401
    assert _audit_count(offline_ledger) == before


def test_a_session_works_on_every_replica_sharing_the_database_until_logout(
    offline_dashboard: DashboardGateway,
) -> None:
    raw = dashboard_raw(OFFLINE_BACKEND, offline_dashboard.gateway.database_url)
    with (
        in_process(raw, DASHBOARD_ENV) as other,
        login(offline_dashboard.gateway, ADMIN_KEY) as (here, answer),
        other.client() as there,
    ):
        assert answer.status_code == 303
        there.cookies.set("stw_session", here.cookies["stw_session"], path="/dashboard")
        page = there.get("/dashboard")
        assert page.status_code == 200 and "it-admin" in page.text
        assert there.post("/dashboard/logout", data={"csrf": csrf_of(page.text)}).status_code == 303
        refused = here.get("/dashboard")
        assert refused.status_code == 401 and "has ended" in refused.text


def test_an_expired_session_is_refused_and_cleaned_up(
    offline_dashboard: DashboardGateway, admin: httpx.Client, offline_ledger: Ledger
) -> None:
    """The server's own expiry holds even for a cookie whose signed expiry is still ahead (a
    session shortened on the server, a clock set back); expired sessions go at the next login."""
    assert admin.get("/dashboard").status_code == 200
    past = datetime.now(UTC) - timedelta(seconds=1)
    with offline_ledger.begin() as connection:
        connection.execute(update(dashboard_sessions).values(expires_at=past))
    answer = admin.get("/dashboard")
    assert answer.status_code == 401 and "expired" in answer.text
    with login(offline_dashboard.gateway, ADMIN_KEY) as (_, fresh):
        assert fresh.status_code == 303
    with offline_ledger.connect() as connection:
        left = connection.execute(select(dashboard_sessions.c.expires_at)).scalars().all()
    assert len(left) == 1 and left[0] > datetime.now(UTC)  # only the new login's session


def test_text_from_users_is_escaped(admin: httpx.Client) -> None:
    reason = '<script>alert("x")</script>'
    answer = post_form(
        admin,
        "/dashboard/departments/legal",
        "/dashboard/departments/legal/budget",
        {"monthly_budget": "7", "reason": reason},
    )
    assert answer.status_code == 303
    page = admin.get("/dashboard").text
    assert "&lt;script&gt;alert(" in page
    assert "<script>" not in page


def test_a_backend_that_is_down_shows_as_unreachable(admin: httpx.Client) -> None:
    page = admin.get("/dashboard")
    health = page.text.split('id="w-health"')[1].split("</section>")[0]
    assert "llamacpp" in health and "unreachable" in health
    # the reason: refused, or (on a loaded machine) no answer within the probe's 250 ms
    assert "connect" in health.lower() or "no answer within" in health


def test_calibration_runs_give_the_model_its_quality_and_evaluation(
    offline_dashboard: DashboardGateway, admin: httpx.Client
) -> None:
    before = admin.get("/dashboard/models/tiny-large").text
    assert "Calibration runs" not in before and "evaluation record" in before
    opened = offline_dashboard.gateway.ledger()
    try:
        store = CalibrationStore(opened)
        store.add([_calibration("tiny-large", quality=0.702, run_id="run-1")])
        store.add([_calibration("tiny-large", quality=0.731, run_id="run-2")])
    finally:
        opened.close()
    page = admin.get("/dashboard/models/tiny-large").text
    assert "73.1\u00a0% <small>(measured by calibration" in page  # the newest run is the quality
    assert "Calibration runs" in page and "70.2\u00a0%" in page  # both runs listed
    assert "evaluation record" not in page  # the record is the model's evaluation
    assert "oversight contact" in page  # still missing


def _calibration(model: str, *, quality: float, run_id: str) -> CalibrationRecord:
    return CalibrationRecord(
        run_id=run_id,
        time=datetime.now(UTC),
        model=model,
        bank_name="bank-de-en",
        bank_sha256="0" * 64,
        pairs=40,
        answered=40,
        quality=quality,
        per_task={},
        errors={},
        skipped={},
        tokens_per_s=55.0,
        throughput_tokens_per_s=None,
        ttft_ms_p50=None,
        latency_ms_p50=850.0,
        max_tokens=256,
        actor="cli:test",
    )


def test_switching_the_language_keeps_the_month_shown(admin: httpx.Client) -> None:
    page = admin.get("/dashboard", params={"month": "2026-10"})
    assert page.status_code == 200
    link = "/dashboard/lang/de?next=/dashboard%3Fmonth%3D2026-10"
    assert link in page.text
    switched = admin.get(link)
    assert switched.status_code == 303
    assert switched.headers["location"] == "/dashboard?month=2026-10"
    german = admin.get(switched.headers["location"])
    assert german.status_code == 200 and 'lang="de"' in german.text


@pytest.mark.parametrize(
    ("sent", "goes_to"),
    [
        ("/dashboard/../../admin/keys", "/dashboard"),  # walk21 F8: a browser lands on /admin/keys
        ("/dashboard/..%2f..%2fadmin/keys", "/dashboard"),  # %2f as sent, decoded by a proxy
        ("/dashboard/%2e%2e/admin/keys", "/dashboard"),  # a browser reads %2e%2e as ..
        ("/dashboard/..", "/dashboard"),
        ("/dashboard-admin", "/dashboard"),
        ("//evil.example/", "/dashboard"),
        ("https://evil.example/dashboard", "/dashboard"),
        ("/dashboard/departments/../models", "/dashboard/departments/../models"),  # stays inside
        ("/dashboard/departments/a%2Fb", "/dashboard/departments/a%2Fb"),  # a name with a slash
    ],
)
def test_the_language_switch_never_leads_out_of_the_dashboard(
    admin: httpx.Client, sent: str, goes_to: str
) -> None:
    """``next`` is read as the browser will read the redirect: its dot segments resolved after
    percent-decoding; a page outside the dashboard is the overview instead."""
    switched = admin.get("/dashboard/lang/de", params={"next": sent})
    assert switched.status_code == 303
    assert switched.headers["location"] == goes_to
    landed = httpx.URL("http://gateway").join(goes_to).path  # where a browser goes
    assert f"{landed}/".startswith("/dashboard/"), landed


@pytest.mark.parametrize(
    ("language", "says"),
    [
        ("en", "The gateway is still starting; reload the page in a moment."),
        ("de", "Das Gateway startet noch; laden Sie die Seite gleich neu."),
    ],
)
def test_a_gateway_that_has_not_started_says_so_on_the_dashboard(
    tmp_path: Path, language: str, says: str
) -> None:
    """The app served without its start-up (its lifespan never ran), so it has no runtime yet:
    the dashboard's pages say so (503, HTML, the page's language), not a bare 500."""
    raw = dashboard_raw(OFFLINE_BACKEND, f"sqlite:///{tmp_path / 'ledger.db'}")
    app = create_app(parse_config(raw), environ=DASHBOARD_ENV)
    client = TestClient(app)  # not entered: the lifespan, which builds the runtime, never runs
    client.cookies.set("stw_lang", language)
    answer = client.get("/dashboard")
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("text/html")
    assert f'<html lang="{language}">' in answer.text and says in unescape(answer.text)
