"""The labels of a department's keys with limits of their own
(:mod:`stellwerk.dashboard.key_limits`), English and German; :mod:`stellwerk.dashboard.i18n` serves
them with the others."""

from __future__ import annotations

from typing import Final

KEY_LIMITS: Final[dict[str, tuple[str, str]]] = {
    "key_limits": ("Keys' own limits", "Eigene Limits der Schlüssel"),
    "key_limits_hint": (
        "A key with limits of its own is held to them and to its department's: a request is"
        " refused by whichever is spent first, and counted under its reason beside.",
        "Ein Schlüssel mit eigenen Limits hält sie und die seines Bereichs ein: eine Anfrage"
        " wird von dem abgewiesen, das zuerst erschöpft ist, und nebenan unter ihrem Grund"
        " gezählt.",
    ),
    "no_key_limits": (
        "No key has limits of its own: the department's apply to all its keys.",
        "Kein Schlüssel hat eigene Limits: für alle gelten die des Bereichs.",
    ),
    "key_budget": ("Own monthly budget", "Eigenes Monatsbudget"),
}
