"""What a user sees is in the page's language: the login page, error pages (also for paths the
dashboard does not have), the lifecycle states in a confirmation, every refusal reason, the audit
log's config built in code and a use case's change, the status of a key of the config file, the
data owner's role on the consent page; and the budget form reads amounts as the page's language
writes them, and shows the budget in force the same way."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from html import unescape
from pathlib import Path

import httpx
import pytest

from stellwerk.dashboard.i18n import label_keys
from stellwerk.errors import RequestError
from tests.dashboard.client import csrf_of, login, post_form
from tests.dashboard.conftest import ADMIN_KEY, DashboardGateway
from tests.dashboard.traffic import record, served, two_refusals

SRC = Path(__file__).parents[2] / "src" / "stellwerk"


def text_of(answer: httpx.Response) -> str:
    """The page's visible text, roughly: tags dropped, entities read."""
    return plain(answer.text)


def plain(html: str) -> str:
    """A piece of HTML as text, roughly: tags dropped (a ``span`` and a ``<wbr>``, which add
    no space to a line, without one: an id kept whole, ``tiny-small``), entities read."""
    inline = re.sub(r"</?span\b[^>]*>|<wbr>", "", html)
    return unescape(re.sub(r"<[^>]+>", " ", inline))


def test_the_first_visit_shows_the_login_form_without_an_error(
    offline_dashboard: DashboardGateway,
) -> None:
    with offline_dashboard.gateway.client(timeout=30) as client:
        client.cookies.set("stw_lang", "de", path="/dashboard")
        for path in ("/dashboard", "/dashboard/login"):
            answer = client.get(path)
            assert 'role="alert"' not in answer.text
            assert "Anmelden" in answer.text and "not logged in" not in answer.text


@pytest.mark.parametrize(
    ("key", "says_en", "says_de"),
    [
        ("sk-stw-not-a-key-we-know", "This key is unknown or revoked.", "unbekannt oder gesperrt"),
        ("", "Enter an API key.", "Bitte einen API-Schlüssel eingeben."),
    ],
)
def test_a_failed_login_says_why_in_the_page_language(
    offline_dashboard: DashboardGateway, key: str, says_en: str, says_de: str
) -> None:
    with offline_dashboard.gateway.client(timeout=30) as client:
        client.cookies.set("stw_lang", "de", path="/dashboard")
        form = client.get("/dashboard/login")
        answer = client.post("/dashboard/login", data={"csrf": csrf_of(form.text), "key": key})
        assert answer.status_code == 401
        assert says_de in text_of(answer) and "unknown API key" not in answer.text


@pytest.mark.parametrize(
    ("path", "status", "en", "de"),
    [
        ("/dashboard/nope", 404, "There is no such page", "Diese Seite gibt es im Dashboard nicht"),
        ("/dashboard//models/x", 404, "There is no such page", "Diese Seite gibt es"),
        ("/dashboard/keys/x/revoke", 404, "There is no such page", "Diese Seite gibt es"),
        ("/dashboard/models/nope", 404, "Unknown model nope.", "Unbekanntes Modell nope."),
        ("/dashboard/departments/nope", 404, "Unknown department nope.", "Unbekannter Bereich"),
        ("/dashboard?month=2026-13", 400, "2026-13” is not a month", "2026-13“ ist kein Monat"),
        (
            "/dashboard?month=9999-12",
            400,
            "9999-12 is outside the months the dashboard can show, 0001-01 to 9999-11.",
            "9999-12 liegt außerhalb der Monate, die das Dashboard zeigen kann: 0001-01 bis",
        ),
    ],
)
def test_error_pages_are_html_in_the_page_language(
    admin_in_language: httpx.Client, language: str, path: str, status: int, en: str, de: str
) -> None:
    answer = admin_in_language.get(path)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("text/html")
    assert f'<html lang="{language}">' in answer.text
    shown = text_of(answer)
    assert (en if language == "en" else de) in shown
    if language == "de":
        # the English original is there only as folded technical details
        assert "Technische Details (Englisch)" in shown


def test_the_lifecycle_confirmation_names_the_states_in_the_page_language(
    admin_in_language: httpx.Client, language: str
) -> None:
    token = csrf_of(admin_in_language.get("/dashboard/models/tiny-small").text)
    answer = admin_in_language.post(
        "/dashboard/models/tiny-small/lifecycle",
        data={"state": "deprecated", "reason": "superseded", "csrf": token},
    )
    assert answer.status_code == 200
    expected = {
        "en": "Move model tiny-small from approved to deprecated?",
        "de": "Modell tiny-small von freigegeben auf abgekündigt ändern?",
    }
    assert expected[language] in text_of(answer)


def _codes_in_source() -> set[str]:
    """Every error code the gateway can write into a usage record: the classes' own and those
    given where an error is raised."""
    codes = {cls.code for cls in _subclasses(RequestError)}
    codes.add("client_disconnected")  # the 499 of a client that hung up (gateway.stream_end)
    for path in SRC.rglob("*.py"):
        if "dashboard" in path.parts:
            continue  # the dashboard's own (login, session) are never a usage record
        # ``recorded``: what the record keeps where it says more than the code (a key's limit)
        found = re.findall(r'(?:code|recorded)="([a-z_0-9]+)"', path.read_text(encoding="utf-8"))
        codes |= set(found)
    return codes


def _subclasses(cls: type[RequestError]) -> Iterator[type[RequestError]]:
    yield cls
    for sub in cls.__subclasses__():
        yield from _subclasses(sub)


def test_every_refusal_reason_has_a_label() -> None:
    missing = {c for c in _codes_in_source() if f"refusal_{c}" not in label_keys()}
    assert not missing, f"refusal reasons shown only by their code: {sorted(missing)}"


def test_refusals_are_labelled_also_without_a_department(
    offline_dashboard: DashboardGateway, admin_in_language: httpx.Client, language: str
) -> None:
    two_refusals(offline_dashboard)
    shown = text_of(admin_in_language.get("/dashboard"))
    refusals = shown[shown.index({"en": "Refusals, by reason", "de": "Abweisungen"}[language]) :]
    nobody = {"en": "no department (refused", "de": "kein Bereich (abgewiesen"}[language]
    assert nobody in refusals
    label = {"en": "no, unknown or revoked API key", "de": "gesperrter API-Schlüssel"}[language]
    assert label in refusals
    twice = {"en": "a JSON key named twice", "de": "JSON-Schlüssel im Body doppelt"}[language]
    assert twice in refusals


@pytest.mark.parametrize(
    ("language", "typed", "shown", "stored"),
    [
        ("en", "1,500", "€1,500.00", "1500"),
        ("de", "1.500", "1.500,00\u00a0€", "1500"),
        ("en", "1,000.50", "€1,000.50", "1000.5"),
        ("de", "1.000,50", "1.000,50\u00a0€", "1000.5"),
        ("de", "0,0005", "0,0005\u00a0€", "0.0005"),
        # a whole part of zeros is no thousands group: a tenth of a cent
        ("en", "0.001", "€0.001", "0.001"),
        ("de", "0,001", "0,001\u00a0€", "0.001"),
    ],
)
def test_the_budget_form_reads_amounts_as_the_page_writes_them(
    offline_dashboard: DashboardGateway,
    admin_in_language: httpx.Client,
    language: str,
    typed: str,
    shown: str,
    stored: str,
) -> None:
    page, action = "/dashboard/departments/legal", "/dashboard/departments/legal/budget"
    token = csrf_of(admin_in_language.get(page).text)
    asked = admin_in_language.post(
        action, data={"monthly_budget": typed, "reason": "r", "csrf": token}
    )
    assert asked.status_code == 200 and shown in text_of(asked)
    done = post_form(admin_in_language, page, action, {"monthly_budget": typed, "reason": "r"})
    assert done.status_code == 303
    assert _legal_budget(offline_dashboard) == Decimal(stored)


def test_unlimited_is_an_explicit_choice(
    offline_dashboard: DashboardGateway, admin_in_language: httpx.Client, language: str
) -> None:
    page, action = "/dashboard/departments/legal", "/dashboard/departments/legal/budget"
    assert (
        post_form(
            admin_in_language, page, action, {"monthly_budget": "5", "reason": "r"}
        ).status_code
        == 303
    )
    blank = post_form(admin_in_language, page, action, {"monthly_budget": "  ", "reason": "r"})
    assert blank.status_code == 400 and _legal_budget(offline_dashboard) == Decimal(5)
    token = csrf_of(admin_in_language.get(page).text)
    asked = admin_in_language.post(action, data={"unlimited": "yes", "reason": "r", "csrf": token})
    says = {"en": "Remove the monthly budget of legal", "de": "Monatsbudget von legal aufheben"}
    assert says[language] in text_of(asked) and "∞" not in asked.text
    done = post_form(admin_in_language, page, action, {"unlimited": "yes", "reason": "r"})
    assert done.status_code == 303 and _legal_budget(offline_dashboard) is None


def _legal_budget(dashboard: DashboardGateway) -> Decimal | None:
    answer = dashboard.gateway.get(
        "/admin/limits", headers={"authorization": f"Bearer {ADMIN_KEY}"}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    budget = answer.json()["departments"]["legal"]["monthly_budget"]
    return None if budget is None else Decimal(str(budget))


@pytest.mark.parametrize(
    ("reason", "character"),
    [
        ("walk3 \u202eevil", "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
        ("walk3 \u200bzero", "U+200B (ZERO WIDTH SPACE)"),
        ("walk3 soft\u00adhyphen", "U+00AD (SOFT HYPHEN)"),
    ],
)
def test_a_reason_with_a_hidden_character_is_refused_naming_the_character(
    offline_dashboard: DashboardGateway,
    admin_in_language: httpx.Client,
    language: str,
    reason: str,
    character: str,
) -> None:
    """The headline names the character, in the page's language, not a length limit the
    12-character reason does not break."""
    page, action = "/dashboard/departments/legal", "/dashboard/departments/legal/budget"
    refused = post_form(admin_in_language, page, action, {"monthly_budget": "5", "reason": reason})
    assert refused.status_code == 400
    says = {"en": "The reason contains the ", "de": "Die Begründung enthält das "}[language]
    shown = text_of(refused)
    assert says in shown and character in shown, shown
    assert "1,000" not in shown and "1.000" not in shown


def test_a_long_reason_with_a_hidden_character_is_refused_for_its_length(
    admin_in_language: httpx.Client, language: str
) -> None:
    """The rule checks a reason's length first: a reason of 1,001 characters holding U+202E is
    refused for its length, and the page says so, as its technical details do (it said "contains
    U+202E" over details that said "longer than 1000 characters")."""
    page, action = "/dashboard/departments/legal", "/dashboard/departments/legal/budget"
    reason = "\u202e" + "x" * 1000
    refused = post_form(admin_in_language, page, action, {"monthly_budget": "5", "reason": reason})
    assert refused.status_code == 400
    shown = " ".join(text_of(refused).split())
    says = {
        "en": "Give a reason of at most 1,000 characters",
        "de": "Bitte eine Begründung mit höchstens 1.000 Zeichen angeben",
    }
    assert says[language] in shown and "longer than 1000 characters" in shown, shown
    assert "U+202E" not in shown


def test_a_models_capabilities_are_in_the_page_language(
    admin_in_language: httpx.Client, language: str
) -> None:
    shown = " ".join(text_of(admin_in_language.get("/dashboard/models/tiny-small")).split())
    says = {"en": "Capabilities chat, completion", "de": "Fähigkeiten Chat, Textvervollständigung"}
    assert says[language] in shown, shown


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("de;q=0, en", "en"),
        ("de;q=0,en;q=0.1", "en"),
        ("en;q=0.5, de;q=0.9", "de"),
        ("de;q=0.5, en;q=0.9", "en"),
        ("fr, de;q=0.1", "de"),
        ("fr, en;q=0.1", "en"),
        ("*", "en"),
        ("en;q=0, *", "de"),
    ],
)
def test_the_browsers_languages_are_weighed(
    offline_dashboard: DashboardGateway, accept: str, expected: str
) -> None:
    """Without the language switch's cookie the page is in the language the browser rates
    highest; ``q=0`` refuses one."""
    with offline_dashboard.gateway.client(timeout=30) as client:
        answer = client.get("/dashboard/login", headers={"accept-language": accept})
        assert f'<html lang="{expected}">' in answer.text


def test_a_count_of_one_is_singular_on_the_pages(
    offline_dashboard: DashboardGateway, admin_in_language: httpx.Client, language: str
) -> None:
    """One request, one request per minute, one token per minute: no "1 requests"."""
    config = offline_dashboard.gateway.config
    record(
        offline_dashboard,
        [served(config, department="research", key_id="research-1", model="tiny-small")],
    )
    with offline_dashboard.gateway.client(ADMIN_KEY, timeout=30) as client:
        limits = {"requests_per_minute": 1, "tokens_per_minute": 1, "reason": "one"}
        assert client.put("/admin/limits/department/research", json=limits).status_code == 200
    overview = " ".join(text_of(admin_in_language.get("/dashboard")).split())
    department = " ".join(text_of(admin_in_language.get("/dashboard/departments/research")).split())
    says = {
        "en": (
            ["Σ 1 request ·", "· 0 refused · 0 failed", "1 of 1 routed request compared"],
            ["1 request per minute · 1 token per minute"],
        ),
        "de": (
            [
                "Σ 1 Anfrage ·",
                "· 0 abgewiesen · 0 fehlgeschlagen",
                "1 von 1 gerouteten Anfrage verglichen",
            ],
            ["1 Anfrage pro Minute · 1 Token pro Minute"],
        ),
    }[language]
    for said in says[0]:
        assert said in overview, overview
    for said in says[1]:
        assert said in department, department


def test_the_audit_logs_config_built_in_code_is_in_the_page_language(
    admin_in_language: httpx.Client, language: str
) -> None:
    """The config of the tests is built in code: its ``config.load`` entry's target read
    "Konfiguration (config built in code)" on the German overview."""
    overview = " ".join(text_of(admin_in_language.get("/dashboard")).split())
    says = {"en": "Config (built in code)", "de": "Konfiguration (im Programmcode erstellt)"}
    assert says[language] in overview, overview
    assert language == "en" or "config built in code" not in overview


def test_a_key_of_the_config_file_shows_its_status(
    admin_in_language: httpx.Client, language: str
) -> None:
    """legal-1 comes from the config file: its row said where it was made, its Status was
    empty; it is active as long as the file has it, and is changed there."""
    page = admin_in_language.get("/dashboard/departments/legal").text
    row = re.search(r"<tr[^>]*><td[^>]*><code>legal-1</code>.*?</tr>", page, re.DOTALL)
    assert row is not None
    cells = [" ".join(plain(c).split()) for c in re.findall(r"<td[^>]*>(.*?)</td>", row[0])]
    says = {
        "en": ["config file", "active", "change or revoke it in the config file"],
        "de": ["Konfigurationsdatei", "aktiv", "in der Konfigurationsdatei ändern oder sperren"],
    }
    assert cells[-3:] == says[language], cells


def test_the_budget_field_shows_the_budget_as_the_page_writes_amounts(
    offline_dashboard: DashboardGateway, admin_in_language: httpx.Client, language: str
) -> None:
    """The page writes ``12,50 €``; its field showed ``12,5``."""
    with offline_dashboard.gateway.client(ADMIN_KEY, timeout=30) as client:
        limits = {"monthly_budget": "12.5", "reason": "walk8"}
        assert client.put("/admin/limits/department/legal", json=limits).status_code == 200
    page = admin_in_language.get("/dashboard/departments/legal")
    field = re.search(r'<input [^>]*name="monthly_budget"[^>]*>', page.text)
    assert field is not None
    shown, written = {"en": ("12.50", "€12.50"), "de": ("12,50", "12,50\u00a0€")}[language]
    assert f'value="{shown}"' in field[0] and written in text_of(page)


def test_a_refusal_count_stands_apart_from_its_key(
    offline_dashboard: DashboardGateway, admin_in_language: httpx.Client
) -> None:
    """The refusals by key read "research-1 1", as if the count were part of the id."""
    two_refusals(offline_dashboard)
    page = admin_in_language.get("/dashboard/departments/research").text
    card = re.search(r'<section class="card" id="d-refusals">.*?</section>', page, re.DOTALL)
    assert card is not None
    refusals = " ".join(plain(card[0]).split())
    assert "research-1: 1" in refusals and "research-1 1" not in refusals, refusals


def test_a_use_cases_change_reads_from_old_to_new(
    offline_dashboard: DashboardGateway, admin_in_language: httpx.Client, language: str
) -> None:
    """The audit card read "classification=from=confidential, to=secret"."""
    change = {"classification": "secret", "reason": "walk8"}
    with offline_dashboard.gateway.client(ADMIN_KEY, timeout=30) as client:
        assert client.put("/admin/use-cases/contract-review", json=change).status_code == 200
    overview = " ".join(text_of(admin_in_language.get("/dashboard")).split())
    says = {
        "en": "classification: confidential → secret",
        "de": "Schutzklasse: vertraulich → geheim",
    }
    assert says[language] in overview, overview
    assert "from=" not in overview and "von=" not in overview


def test_the_consent_page_names_the_owner_role_in_the_page_language(
    admin_in_language: httpx.Client, language: str
) -> None:
    """The German page said "mit der Rolle owner"; the keys table calls it "Verantwortliche"."""
    page = " ".join(text_of(admin_in_language.get("/dashboard/consent")).split())
    says = {"en": "the data owner's owner keys", "de": "mit der Rolle „Verantwortliche“"}
    assert says[language] in page, page
    assert language == "en" or "owner" not in page


def test_an_owner_whose_department_owns_no_model_is_told_so(
    offline_dashboard: DashboardGateway, language: str
) -> None:
    """research's owner key, while tiny-small names legal as its data owner: the page said "No
    model names a data owner here" (walk 15, LOW-5), which the model of legal belies."""
    made = offline_dashboard.gateway.post(
        "/admin/keys",
        json={"department": "research", "role": "owner"},
        headers={"authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert made.status_code == 201, made.text
    with login(offline_dashboard.gateway, made.json()["key"]) as (owner, answer):
        assert answer.status_code == 303
        owner.cookies.set("stw_lang", language, path="/dashboard")
        page = " ".join(text_of(owner.get("/dashboard/consent")).split())
    says = {
        "en": "No model names research as its data owner.",
        "de": "Kein Modell nennt research als seinen Datenverantwortlichen.",
    }
    assert says[language] in page, page


def test_the_login_page_says_that_data_owners_log_in_too(
    offline_dashboard: DashboardGateway,
) -> None:
    """A data owner told to withdraw consent on the dashboard must not read that the login is
    for admins only (owner keys log in, to the consent page); nor a controller with a viewer
    key, nor a department head with a head key."""
    with offline_dashboard.gateway.client(timeout=30) as client:
        english = client.get("/dashboard/login").text
        client.cookies.set("stw_lang", "de", path="/dashboard")
        german = client.get("/dashboard/login").text
    assert "Admin, viewer, head or data-owner key" in english
    assert "owner role of a department" in english
    assert "the viewer role (sees everything, changes nothing)" in english
    assert "the head role of a department (sees its department" in english
    assert "Admin-, Lese-, Bereichsleitungs- oder Verantwortlichen-Schlüssel" in german
    assert "„Verantwortliche“" in german
    assert "Rolle Lesezugriff (sieht alles, ändert nichts)" in german
    assert "Rolle Bereichsleitung eines Bereichs (sieht die Seite seines Bereichs" in german
