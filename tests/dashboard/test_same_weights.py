"""Ids that serve the same weights on the dashboard: the test config's ``tiny-retired`` serves
``tiny-small``'s weights (same server, same upstream) under a retired id without a data owner,
and ``tiny-small`` is legal's. The model pages name each other; once legal withdraws consent,
``tiny-retired``'s page says it is refused for it; legal's consent page says which other ids its
consent holds for; "Needs attention" lists ids of the same weights whose governance differs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stellwerk.dashboard.i18n import labels
from tests.dashboard.client import login, post_form
from tests.dashboard.conftest import ADMIN_KEY, DASHBOARD_ENV, OFFLINE_BACKEND, dashboard_raw
from tests.fixtures.gateway import in_process, migrated_copy

OWNER_KEY = "sk-stw-test-owner-0b9d8e7f6a5c4b3a2918"


def text_of(html: str, element: str) -> str:
    match = re.search(rf'id="{element}"[^>]*>(.*?)</(?:section|dd|ul)>', html, re.DOTALL)
    assert match is not None, element
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


@pytest.mark.parametrize(
    ("language", "same", "refused", "served_as", "differ"),
    [
        (
            "en",
            "Same weights as",
            "refused: consent withdrawn on tiny-small , which serves the same weights",
            "also served as tiny-retired: the consent holds for every one of them",
            "tiny-small , tiny-retired serve the same weights, but differ in: State, Data owner",
        ),
        (
            "de",
            "Gleiche Gewichte wie",
            "abgelehnt: Einwilligung für tiny-small widerrufen, das dieselben Gewichte"
            " bereitstellt",
            "auch bereitgestellt als tiny-retired: die Einwilligung gilt für jedes davon",
            "tiny-small , tiny-retired stellen dieselben Gewichte bereit, unterscheiden sich aber"
            " in: Status, Datenverantwortlich",
        ),
    ],
)
def test_the_dashboard_shows_the_ids_of_the_same_weights_and_the_withdrawal_they_share(
    tmp_path: Path,
    ledger_template: Path,
    language: str,
    same: str,
    refused: str,
    served_as: str,
    differ: str,
) -> None:
    raw = dashboard_raw(OFFLINE_BACKEND, migrated_copy(ledger_template, tmp_path / "ledger.db"))
    (legal,) = [d for d in raw["departments"] if d["name"] == "legal"]
    legal["keys"].append({"id": "legal-owner", "key_env": "STW_TEST_KEY_OWNER", "role": "owner"})
    env = {**DASHBOARD_ENV, "STW_TEST_KEY_OWNER": OWNER_KEY}
    with in_process(raw, env) as gw, login(gw, ADMIN_KEY) as (admin, answer):
        assert answer.status_code == 303
        admin.cookies.set("stw_lang", language, path="/dashboard")
        before = admin.get("/dashboard/models/tiny-retired").text
        with login(gw, OWNER_KEY) as (owner, _):
            owner.cookies.set("stw_lang", language, path="/dashboard")
            done = post_form(
                owner,
                "/dashboard/consent",
                "/dashboard/models/tiny-small/consent",
                {"consent": "withdraw", "reason": "data contract ended"},
            )
            assert done.status_code == 303, done.text
            consent_page = owner.get("/dashboard/consent").text
        after = admin.get("/dashboard/models/tiny-retired").text
        small = admin.get("/dashboard/models/tiny-small").text
        overview = admin.get("/dashboard").text
    assert same in before and text_of(before, "m-same-weights") == "tiny-small"
    assert 'id="m-withdrawn-on"' not in before and 'id="m-refused"' not in before
    assert text_of(small, "m-same-weights") == "tiny-retired"
    assert refused in text_of(after, "m-consent-state"), text_of(after, "m-consent-state")
    assert 'id="m-refused"' in after  # the badge beside its name
    assert served_as in " ".join(re.sub(r"<[^>]+>", " ", consent_page).split())
    needs = text_of(overview, "w-same-weights")
    assert needs.endswith(differ), needs  # consent is not a difference: it holds for both


def test_the_consent_form_on_another_id_of_the_weights_points_to_the_id_that_holds_it(
    tmp_path: Path, ledger_template: Path
) -> None:
    """The admin asking to withdraw on ``tiny-retired`` is told that it serves tiny-small's
    weights, whose consent legal manages there, rather than "has no data owner"."""
    raw = dashboard_raw(OFFLINE_BACKEND, migrated_copy(ledger_template, tmp_path / "ledger.db"))
    with in_process(raw, DASHBOARD_ENV) as gw, login(gw, ADMIN_KEY) as (admin, _):
        asked = post_form(
            admin,
            "/dashboard/models/tiny-retired",
            "/dashboard/models/tiny-retired/consent",
            {"consent": "withdraw", "reason": "data contract ended"},
        )
    assert asked.status_code == 400, asked.text[:500]
    text = " ".join(re.sub(r"<[^>]+>", " ", asked.text).split())
    assert (
        "model &#39;tiny-retired&#39; serves the weights of model &#39;tiny-small&#39; (data"
        " owner &#39;legal&#39;)" in text
    ), text[:2000]
    assert "a withdrawal there holds for both" in text


def _alert(html: str) -> str:
    """The text of the error page's message (before its folded technical details)."""
    match = re.search(r'<p class="alert" role="alert">(.*?)</p>', html, re.DOTALL)
    assert match is not None, html[:2000]
    return " ".join(re.sub(r"<[^>]+>", "", match.group(1)).replace("&#39;", "'").split())


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize(
    ("key", "page"),
    [(ADMIN_KEY, "/dashboard/models/tiny-retired"), (OWNER_KEY, "/dashboard/consent")],
    ids=["admin", "owner"],
)
def test_consent_asked_on_another_id_of_the_weights_says_first_where_it_is_managed(
    tmp_path: Path, ledger_template: Path, language: str, key: str, page: str
) -> None:
    """The error page's message is the pointer to tiny-small (in the page's language), not the
    general "choose whether to withdraw or re-grant" (an admin) or "only its department's
    models" (legal's owner key, whose weights they are: as the admin API answers it)."""
    raw = dashboard_raw(OFFLINE_BACKEND, migrated_copy(ledger_template, tmp_path / "ledger.db"))
    (legal,) = [d for d in raw["departments"] if d["name"] == "legal"]
    legal["keys"].append({"id": "legal-owner", "key_env": "STW_TEST_KEY_OWNER", "role": "owner"})
    env = {**DASHBOARD_ENV, "STW_TEST_KEY_OWNER": OWNER_KEY}
    t = labels("de" if language == "de" else "en")
    with in_process(raw, env) as gw, login(gw, key) as (client, _):
        client.cookies.set("stw_lang", language, path="/dashboard")
        asked = post_form(
            client,
            page,
            "/dashboard/models/tiny-retired/consent",
            {"consent": "withdraw", "reason": "data contract ended"},
        )
    assert asked.status_code == 400, asked.text[:500]
    said = t["msg_consent_held_elsewhere"].format(
        subject="tiny-retired", holder="tiny-small", owner="legal"
    )
    assert _alert(asked.text) == said
    assert t["msg_400_consent"] not in asked.text
