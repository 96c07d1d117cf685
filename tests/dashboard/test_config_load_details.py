"""The overview's audit table shows at most ``CONFIG_SHOWN`` changes of a ``config.load`` entry
and counts the rest, those the entry listed and those past its own cap, in the page's language;
and a load after an entry of an older version says its changes are unknown."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from stellwerk.dashboard.audit_details import CONFIG_SHOWN, audit_details
from stellwerk.dashboard.formats import Formatter
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
def test_the_changes_shown_are_capped_and_the_rest_counted(language: str) -> None:
    changed = [
        {"kind": "key", "name": f"k-{n}", "change": "added", "settings": {"role": "admin"}}
        for n in range(CONFIG_SHOWN + 3)
    ]
    details = {"previous": "abc", "changed": changed, "changed_more": 15, "settings": {"key": {}}}
    t, fmt = labels(language), Formatter(language)  # type: ignore[arg-type]
    lines = audit_details(load(details), t, fmt)
    assert len(lines) == 1 + CONFIG_SHOWN + 1
    assert lines[1] == SAYS[language][0]
    assert lines[-1] == SAYS[language][1]
    unknown = audit_details(load({"previous": "abc", "changes_unknown": True}), t, fmt)
    assert unknown[1:] == [SAYS[language][2]]
