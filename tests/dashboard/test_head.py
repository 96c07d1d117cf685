"""A head key on the dashboard (the real app, in process): a department head logs in and lands on
its department's page, which it sees whole (usage, budget, its keys' own limits and spend,
refusals, keys, use cases) with a note that the key may only read, in both languages, and with
no form but its logout and no link to a page it may not open. Any other page is a 403 that
names nothing it asked for (another department's page is the same answer whether that
department exists or not), but a path below its own page is no page, a 404 as an admin's; the
overview leads it to its own page; an action it posts anyway,
with a valid CSRF token of its own session, is a 403 that changes nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import httpx
import pytest

from stellwerk.dashboard.department_path import canonical
from stellwerk.dashboard.i18n import Labels, labels
from stellwerk.dashboard.visitor import Admin
from stellwerk.ledger.ledger import Ledger
from tests.dashboard.client import login
from tests.dashboard.conftest import ADMIN_KEY, DashboardGateway
from tests.dashboard.roles import made_key, refused_unchanged, speaking
from tests.dashboard.traffic import chat, record, served, wait_for_usage
from tests.fixtures.gateway import KEYS, Gateway, bearer

HOME = "/dashboard/departments/research"
_POSTED = re.compile(r'<form method="post" action="([^"]+)"')
_LINKS = re.compile(r'href="([^"?]*)')
_KEY_LIMITS = re.compile(r'<table class="key-limits">.*?</table>', re.S)
_MODEL_LINK = re.compile(r'<a href="/dashboard/models/[^"]*">(.*?)</a>')


def make_head(gateway: Gateway, department: str = "research") -> str:
    """A head key of ``department``, made by the admin through the admin API (stored)."""
    return made_key(gateway, "head", department, "department head")


@pytest.fixture
def head(offline_dashboard: DashboardGateway) -> Iterator[httpx.Client]:
    """An HTTP client logged in to ``offline_dashboard`` with a head key of research."""
    with login(offline_dashboard.gateway, make_head(offline_dashboard.gateway)) as (client, to):
        assert to.status_code == 303 and to.headers["location"] == HOME, to.text
        yield client


def traffic(dashboard: DashboardGateway) -> None:
    """Served requests of both departments (legal's far more), a refusal of each (a model in
    review, asked for by name), and limits of legal's and of research's stored key."""
    config = dashboard.gateway.config
    record(
        dashboard,
        [
            served(config, department="research", key_id="research-1", model="tiny-small"),
            served(
                config, department="legal", key_id="legal-1", model="tiny-small", prompt=900_000
            ),
        ],
    )
    for key in (KEYS["research"], KEYS["legal"]):
        assert chat(dashboard, key, "tiny-medium").status_code == 404  # in review: unseen
    wait_for_usage(dashboard, 4)
    for kind, scope in (("key", dashboard.stored_key_id), ("department", "legal")):
        limited = dashboard.gateway.put(
            f"/admin/limits/{kind}/{scope}",
            json={"monthly_budget": 7, "requests_per_minute": 13, "reason": "r"},
            headers=bearer(ADMIN_KEY),
        )
        assert limited.status_code == 200, limited.text


def test_a_head_sees_its_departments_page_whole_and_nothing_of_another(
    offline_dashboard: DashboardGateway, head: httpx.Client, admin: httpx.Client, language: str
) -> None:
    traffic(offline_dashboard)
    t = speaking(language, head, admin)
    seen, admins = head.get(HOME), admin.get(HOME)
    assert seen.status_code == 200 and admins.status_code == 200
    text = unescape(seen.text)
    assert t["head_note"].format(department="research") in text
    assert _POSTED.findall(seen.text) == ["/dashboard/logout"]
    for heading in re.findall(r"<h[123][^>]*>([^<]+)", admins.text):
        assert heading in seen.text, heading  # the same cards and tables as an admin's
    # its figures, keys and use cases, as the admin sees them on this page
    for card in ("d-usage", "d-refusals"):
        unlinked = _MODEL_LINK.sub(r"\1", _card(admins.text, card))  # the model's name, unlinked
        assert _card(seen.text, card) == unlinked, card
    limits = _KEY_LIMITS.search(seen.text)
    assert limits is not None and offline_dashboard.stored_key_id in limits.group(0)
    assert limits.group(0) in admins.text  # its keys' own limits and spend
    assert offline_dashboard.stored_key_id in text and "paper-summaries" in text
    assert t["no_refusals"] not in _card(seen.text, "d-refusals")  # research's refusal
    # nothing of another department, and no way to a page it may not open
    assert "legal" not in seen.text and "contract-review" not in seen.text
    links = set(_LINKS.findall(seen.text))
    assert links == {
        HOME,
        "/dashboard/static/dashboard.css",
        "/dashboard/static/favicon.svg",
        "/dashboard/lang/en",
        "/dashboard/lang/de",
    }, links


def _card(html: str, card: str) -> str:
    match = re.search(rf'<section class="[^"]*" id="{card}">.*?</section>', html, re.S)
    assert match is not None, card
    return match.group(0)


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/departments/legal",
        "/dashboard/departments/it",
        "/dashboard/departments/no-such-department",
        "/dashboard/departments/legal?month=2026-11",
        "/dashboard/models/tiny-small",
        "/dashboard/models/no-such-model",
        "/dashboard/learning",
        "/dashboard/consent",
    ],
)
def test_a_head_opens_no_other_page(head: httpx.Client, path: str, language: str) -> None:
    t = speaking(language, head)
    refused = head.get(path)
    assert refused.status_code == 403, refused.text
    said = unescape(refused.text)
    assert t["msg_head_only"] in said and f'<a href="{HOME}">{t["back_department"]}</a>' in said


def test_another_departments_page_is_the_same_403_whether_it_exists_or_not(
    head: httpx.Client,
) -> None:
    mains = {
        name: _main(head.get(f"/dashboard/departments/{name}"))
        for name in ("legal", "it", "no-such-department", "legal/", "Research-x")
    }
    assert len(set(mains.values())) == 1, mains
    assert "legal" not in mains["legal"]


@pytest.mark.parametrize("asked", ["research/", "research//", "research/?month=2026-11"])
def test_its_own_page_with_a_slash_too_many_leads_to_its_page(
    head: httpx.Client, admin: httpx.Client, asked: str
) -> None:
    """A bookmarked or typed URL of its own page with a slash at the end answered the 403 of
    another department's page (walk 17, 9); it leads to the page, the month kept, as an
    admin's does (which answered ``unknown department 'research/'`` before)."""
    query = asked.partition("?")[2]
    canonical = HOME + ("?" + query if query else "")
    for client in (head, admin):
        to = client.get(f"/dashboard/departments/{asked}")
        assert (to.status_code, to.headers.get("location")) == (307, canonical), to.text
        assert client.get(canonical).status_code == 200


@pytest.mark.parametrize("asked", ["RESEARCH", "Research", "RESEARCH/"])
def test_its_own_department_in_another_case_is_no_such_page_not_another_departments(
    head: httpx.Client, admin: httpx.Client, asked: str, language: str
) -> None:
    """Department names are case-sensitive, so ``RESEARCH`` is not research's page: a 404 that
    says so and leads to its page, not the 403 telling it that it looks at another department
    (walk 17, 9). The answer is the same whether a department ``RESEARCH`` exists or not."""
    t, said = _no_such_page(head, admin, asked, language)
    assert t["msg_head_other_case"] in said
    assert "department names are case-sensitive" in said  # the details, in English
    # an admin's: an unknown department, as before (no redirect: research is another name)
    admins = admin.get(f"/dashboard/departments/{asked}")
    assert admins.status_code == 404 and "location" not in admins.headers


@pytest.mark.parametrize("asked", ["research/extra", "/research", "/research/", "research/x/"])
def test_a_path_below_or_around_its_own_page_is_no_such_page_as_for_an_admin(
    head: httpx.Client, admin: httpx.Client, asked: str, language: str
) -> None:
    """A path below its own page, or its name with slashes before it, is no page: an admin reads
    a 404, and the head read the 403 saying that an admin or viewer key would see it (walk 18,
    4). It reads the 404 too, with the way to its page."""
    t, said = _no_such_page(head, admin, asked, language)
    assert t["msg_page_not_found"] in said
    assert admin.get(f"/dashboard/departments/{asked}").status_code == 404


def _no_such_page(
    head: httpx.Client, admin: httpx.Client, asked: str, language: str
) -> tuple[Labels, str]:
    """The 404 page the head reads for the department ``asked`` (both clients asking in
    ``language``), which is not the 403 of another department's page and leads to its own; its
    labels and text."""
    t = speaking(language, head, admin)
    answer = head.get(f"/dashboard/departments/{asked}")
    assert answer.status_code == 404, answer.text
    said = unescape(answer.text)
    assert t["msg_head_only"] not in said
    assert f'<a href="{HOME}">{t["back_department"]}</a>' in said
    return t, said


def _main(answer: httpx.Response) -> str:
    assert answer.status_code == 403, answer.text
    match = re.search(r"<main>.*</main>", answer.text, re.S)
    assert match is not None
    return match.group(0)


def test_the_overview_leads_a_head_to_its_departments_page(head: httpx.Client) -> None:
    assert head.get("/dashboard").headers["location"] == HOME
    to = head.get("/dashboard?month=2026-11")
    assert (to.status_code, to.headers["location"]) == (303, HOME + "?month=2026-11")
    assert head.get(to.headers["location"]).status_code == 200


@pytest.mark.parametrize(
    ("action", "fields"),
    [
        ("/dashboard/departments/research/budget", {"monthly_budget": "5000", "reason": "x"}),
        ("/dashboard/departments/legal/budget", {"monthly_budget": "1", "reason": "x"}),
        ("/dashboard/keys/{stored}/revoke", {"reason": "x"}),
        ("/dashboard/models/tiny-small/lifecycle", {"state": "deprecated", "reason": "x"}),
        ("/dashboard/models/tiny-small/consent", {"consent": "withdraw", "reason": "x"}),
    ],
)
def test_a_heads_forged_action_is_refused_and_changes_nothing(
    offline_dashboard: DashboardGateway,
    head: httpx.Client,
    admin: httpx.Client,
    offline_ledger: Ledger,
    action: str,
    fields: dict[str, str],
) -> None:
    refused_unchanged(
        head,
        admin,
        offline_ledger,
        action.format(stored=offline_dashboard.stored_key_id),
        fields,
        form_page=HOME,
        pages=(HOME, "/dashboard/departments/legal"),
        says=labels("en")["msg_head_read_only"],
    )


@pytest.mark.parametrize(
    ("role", "names", "asked", "to"),
    [
        ("head", ["research", "legal"], "research/", HOME),
        ("head", ["research", "research/"], "research/", HOME),  # sent on all the same
        ("head", ["research", "legal"], "legal/", None),  # another's: its 403, existing or not
        ("head", ["research", "legal/"], "legal/", None),
        ("admin", ["research", "legal"], "research/", HOME),
        ("admin", ["research", "research/"], "research/", None),  # a department of its own
        ("admin", ["research", "legal"], "no-such/", None),  # unknown: the 404 names it
        ("admin", ["research", "legal"], "research", None),
    ],
)
def test_which_name_with_a_slash_too_many_leads_where(
    role: str, names: list[str], asked: str, to: str | None
) -> None:
    """``department_path.canonical`` over names the test gateway's config does not hold: a
    name may end in a slash, so ``research/`` may be a department of its own; an admin reads
    it, a head of research is sent on to its own page whether it exists or not, so that the
    answer tells it nothing of it."""
    visitor = Admin(key_id="k", nonce="n", csrf="c", role=role, department="research")
    assert canonical(visitor, names, asked) == to
