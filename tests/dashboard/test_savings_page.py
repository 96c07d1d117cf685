"""The overview's latency row of "Savings from routing", over a real ledger, in both languages:
the routed requests against what their reference model would have taken for the same requests
(estimated from its own answered requests of the month), or "not enough data" where its requests
cannot measure that (walk4 N5: three one-token answers of the reference set against 600-token
routed ones read "3,023 % slower"; long answers of the reference against short routed ones read
"99 %" saved)."""

from __future__ import annotations

import re
from html import unescape

import httpx
import pytest

from stellwerk.dashboard.i18n import LANGUAGES
from tests.dashboard.conftest import DashboardGateway
from tests.dashboard.traffic import record, recorded_traffic, served

LATENCY = {"en": "Mean latency (estimate)", "de": "Mittlere Latenz (Schätzung)"}
NOT_ENOUGH = {"en": "not enough data", "de": "zu wenige Daten"}
ROUTED_ONLY = {"en": "Mean latency 588 ms no comparison: not enough data",
               "de": "Mittlere Latenz 588 ms kein Vergleich: zu wenige Daten"}  # fmt: skip
ONLY_COMPARISON = {"en": "mean latency is measured; only the comparison is missing",
                   "de": "ist gemessen; nur der Vergleich fehlt"}  # fmt: skip
AT_LEAST = {"en": "at least 10 answered requests", "de": "mindestens 10 eigene beantwortete"}
MEASURED = {"en": "measured on their 12 answered requests", "de": "an ihren 12 beantworteten"}
TODAYS = {"en": "(cost and energy as recorded with the request): research → tiny-large 5 of them"
                " were recorded before the ledger kept their reference: compared with their key's"
                " reference today.",
          "de": "(Kosten und Energie wie mit der Anfrage erfasst): research → tiny-large 5 davon"
                " wurden erfasst, bevor das Ledger ihre Referenz festhielt: verglichen mit der"
                " heutigen Referenz ihres Schlüssels."}  # fmt: skip
SAVED = {"en": "Mean latency (estimate) 588 ms 1,240 ms 53 %",
         "de": "Mittlere Latenz (Schätzung) 588 ms 1.240 ms 53 %"}  # fmt: skip


def _savings(admin: httpx.Client, language: str) -> str:
    admin.cookies.set("stw_lang", language, path="/dashboard")
    page = admin.get("/dashboard")
    assert page.status_code == 200
    section = page.text.split('id="w-savings"', 1)[1].split("</section>", 1)[0]
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", section)).split())


def _routed(dashboard: DashboardGateway) -> None:
    """Five routed requests of research (its reference: tiny-large), 600-token answers, 588 ms."""
    config = dashboard.gateway.config
    record(
        dashboard,
        [
            served(config, department="research", key_id="research-1", model="tiny-small",
                   completion=600, latency_ms=588.0)
            for _ in range(5)
        ],
    )  # fmt: skip


def _reference(
    dashboard: DashboardGateway, answers: list[int], ms: float, per_token: float
) -> None:
    config = dashboard.gateway.config
    record(
        dashboard,
        [
            served(config, department="legal", key_id="legal-1", model="tiny-large",
                   routed=False, prompt=500 + 100 * i, completion=c, latency_ms=ms + per_token * c)
            for i, c in enumerate(answers)
        ],
    )  # fmt: skip


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_reference_measured_on_one_token_answers_gives_no_latency_comparison(
    offline_dashboard: DashboardGateway, admin: httpx.Client, language: str
) -> None:
    """No estimate for the reference, so no comparison and nothing called an estimate; the
    routed requests' own mean latency (measured, 588 ms) is shown all the same (it was a dash)."""
    _routed(offline_dashboard)
    _reference(offline_dashboard, [1, 1, 1], 19.0, 0.0)
    widget = _savings(admin, language)
    assert ROUTED_ONLY[language] in widget
    assert LATENCY[language] not in widget  # nothing estimated, no figure after "not enough":
    assert not re.match(r"\s*\d", widget.split(NOT_ENOUGH[language])[1])
    assert ONLY_COMPARISON[language] in widget and AT_LEAST[language] in widget
    _reference(offline_dashboard, [1] * 9, 19.0, 0.0)  # twelve now, all one token long
    assert NOT_ENOUGH[language] in _savings(admin, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_latency_is_compared_with_the_references_estimate_for_the_same_requests(
    offline_dashboard: DashboardGateway, admin: httpx.Client, language: str
) -> None:
    """tiny-large takes 40 ms a request and 2 ms an answer token: 600-token answers would have
    taken it 1,240 ms, against the 588 ms they took routed (53 % saved); its own requests' mean
    (mostly short answers) would have said 360 ms, and a loss."""
    _routed(offline_dashboard)
    _reference(offline_dashboard, [1, 2, 5, 10, 20, 50, 80, 100, 150, 200, 300, 1000], 40.0, 2.0)
    widget = _savings(admin, language)
    assert SAVED[language] in widget
    assert TODAYS[language] in widget  # records that keep no reference: today's, and said so
    assert NOT_ENOUGH[language] not in widget and MEASURED[language] in widget


RECORDED = {
    "en": "7 of 8 routed requests compared, against sending each routed request to the largest"
          " model its key might use when it was made (cost and energy as recorded with the"
          " request): legal → tiny-small ; research → tiny-large , tiny-medium"
          " 2 of them were recorded before the ledger kept their reference: compared with their"
          " key's reference today. 1 routed request recorded without a reference, of a key that"
          " may use no model now, is not compared. ",
    "de": "7 von 8 gerouteten Anfragen verglichen, gegenüber jeder gerouteten Anfrage an das"
          " größte Modell, das ihr Schlüssel zur Zeit der Anfrage nutzen durfte (Kosten und"
          " Energie wie mit der Anfrage erfasst): legal → tiny-small ; research → tiny-large ,"
          " tiny-medium 2 davon wurden erfasst, bevor das Ledger ihre Referenz"
          " festhielt: verglichen mit der heutigen Referenz ihres Schlüssels. 1 ohne Referenz"
          " erfasste geroutete Anfrage eines Schlüssels ohne zulässiges Modell ist nicht"
          " verglichen. ",
}  # fmt: skip
ENERGY = {"en": "Energy 0.84 Wh 32.80 Wh 97 %", "de": "Energie 0,84 Wh 32,80 Wh 97 %"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_requests_are_compared_with_the_reference_their_records_keep(
    offline_dashboard: DashboardGateway, admin: httpx.Client, language: str
) -> None:
    """Energy follows the records' reference as cost does (3 x 5 + 2 x 8.4 + 2 x 0.5 Wh =
    32.8 Wh), the models named are the records' (tiny-medium) beside today's for the older
    requests (tiny-large), and a key that may use no model today still has the requests it
    recorded with a reference compared: only its one older request is not."""
    recorded_traffic(offline_dashboard)
    widget = _savings(admin, language)
    assert RECORDED[language] in widget
    assert ENERGY[language] in widget
