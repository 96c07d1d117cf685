"""The overview's audit table shows at most ``CONFIG_SHOWN`` changes of a ``config.load`` entry
and counts the rest, those the entry listed and those past its own cap, in the page's language;
and a load after an entry written before loads recorded their settings says its changes are
unknown."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from stellwerk.dashboard.audit_details import CONFIG_SHOWN, audit_details
from stellwerk.dashboard.formats import Formatter, Language
from stellwerk.dashboard.i18n import LANGUAGES, labels
from stellwerk.ledger.audit import AuditEntry


def load(details: dict[str, Any]) -> AuditEntry:
    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    return AuditEntry(1, now, "config", "config.load", "config", "/etc/stellwerk.yaml", details)


SAYS = {
    "en": (
        "Key k-0: added (role=admin)",
        "… and 18 more changes (all of them: stellwerk audit, GET /admin/audit)",
        "changes unknown: the previous load recorded no settings",
    ),
    "de": (
        "Schlüssel k-0: hinzugefügt (Rolle=Admin)",
        "… und 18 weitere Änderungen (alle: stellwerk audit, GET /admin/audit)",
        "Änderungen unbekannt: die vorige Konfiguration hat keine Einstellungen festgehalten",
    ),
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_changes_shown_are_capped_and_the_rest_counted(language: Language) -> None:
    changed = [
        {"kind": "key", "name": f"k-{n}", "change": "added", "settings": {"role": "admin"}}
        for n in range(CONFIG_SHOWN + 3)
    ]
    details = {"previous": "abc", "changed": changed, "changed_more": 15, "settings": {"key": {}}}
    t, fmt = labels(language), Formatter(language)
    lines = audit_details(load(details), t, fmt)
    assert len(lines) == 1 + CONFIG_SHOWN + 1
    assert lines[1] == SAYS[language][0]
    assert lines[-1] == SAYS[language][1]
    unknown = audit_details(load({"previous": "abc", "changes_unknown": True}), t, fmt)
    assert unknown[1:] == [SAYS[language][2]]


LONG_FROM = "p" * 175 + "… sha256:" + "a" * 16
LONG_TO = "p" * 175 + "… sha256:" + "b" * 16
SEED: dict[str, Any] = {"seed_only": True}
CHANGED: list[dict[str, Any]] = [
    {"kind": "model", "name": "m", "field": "lifecycle", "from": "proposed", "to": "approved"}
    | SEED,
    {"kind": "use_case", "name": "u", "field": "risk_tier", "from": "minimal", "to": "high"} | SEED,
    {"kind": "use_case", "name": "u", "field": "purpose", "from": LONG_FROM, "to": LONG_TO},
    {"kind": "key", "name": "k", "change": "unlisted", "settings": {"role": "admin"}},
    {"kind": "key", "change": "past_cut", "names": 1106, "listed": 500},
    {"kind": "backend", "name": "b", "field": "credentials", "from": None, "to": True},
]
WALK17 = {
    "en": [
        "Model m: lifecycle proposed → approved (config only: the catalog keeps its own state)",
        "Use case u: risk tier minimal risk → high risk (config only: the stored use case keeps"
        " its own settings)",
        "Use case u: purpose ",
        "Key k: added or changed (not among the 500 names the previous load listed) (role=admin)",
        "Key: settings changed among the 1,106 names past the 500 the previous load listed (not"
        " listed one by one)",
        "Backend b: credentials added (user:password@ or query values of the address; not shown)",
    ],
    "de": [
        "Modell m: Lebenszyklus vorgeschlagen → freigegeben (nur in der Konfiguration: der"
        " Katalog behält seinen Stand)",
        "Anwendungsfall u: Risikostufe minimales Risiko → hohes Risiko (nur in der"
        " Konfiguration: der gespeicherte Anwendungsfall behält seine Angaben)",
        "Anwendungsfall u: Zweck ",
        "Schlüssel k: hinzugefügt oder geändert (nicht unter den 500 Namen, die die vorige"
        " Konfiguration aufführt) (Rolle=Admin)",
        "Schlüssel: Einstellungen geändert unter den 1.106 Namen nach den 500, die die vorige"
        " Konfiguration aufführt (nicht einzeln aufgeführt)",
        "Backend b: Zugangsdaten hinzugefügt (user:password@ oder Werte der Abfrage in der"
        " Adresse; nicht angezeigt)",
    ],
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_what_walk_17_found_reads_right(language: Language) -> None:
    """A use case's "config only" note does not name the catalog (walk 17, 13); a change past
    the names kept and credentials added are said; a long text shows its digest, so a change
    past its head reads as one."""
    t, fmt = labels(language), Formatter(language)
    lines = audit_details(load({"previous": "abc", "changed": CHANGED}), t, fmt)[1:]
    expected = WALK17[language]
    assert lines[:2] == expected[:2] and lines[3:] == expected[3:]
    assert lines[2].startswith(expected[2]) and lines[2].endswith("… sha256:" + "b" * 16)
    assert "… sha256:" + "a" * 16 + " → " in lines[2]
