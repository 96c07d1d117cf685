"""The labels of budgets and rate limits: the departments' (the overview's card), a department's
keys with limits of their own (:mod:`stellwerk.dashboard.key_limits`) and the overview's refusals
by them, English and German; :mod:`stellwerk.dashboard.i18n` serves them with the others."""

from __future__ import annotations

from typing import Final

LIMITS: Final[dict[str, tuple[str, str]]] = {
    "budgets_and_limits": (
        "Budgets and rate limits by department",
        "Budgets und Ratenlimits nach Bereich",
    ),
    "spent": ("Spent", "Verbraucht"),
    "requests_per_minute": ("Requests / min", "Anfragen / Min."),
    "tokens_per_minute": ("Tokens / min", "Tokens / Min."),
    "refused_by_limits": ("Refused by limits", "Durch Limits abgewiesen"),
    "rate_limits": ("Rate limits", "Ratenlimits"),
    "n_requests_per_minute": ("{n} requests per minute", "{n} Anfragen pro Minute"),
    "n_requests_per_minute_one": ("{n} request per minute", "{n} Anfrage pro Minute"),
    "n_tokens_per_minute": ("{n} tokens per minute", "{n} Tokens pro Minute"),
    "n_tokens_per_minute_one": ("{n} token per minute", "{n} Token pro Minute"),
}

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
    # the overview's budgets card: a key's limits refuse apart from its department's
    "refused_by_department_limits": ("Department's", "Bereich"),
    "refused_by_key_limits": ("Keys' own", "Schlüssel"),
    "refused_by_limits_hint": (
        "Refused by limits: the department's are its budget and rate limits; keys' own are one"
        " key's own budget or rate limit, or its open streams, which refuse while the"
        " department's may be far from spent (the department's page names the keys).",
        "Durch Limits abgewiesen: die des Bereichs sind sein Budget und seine Ratenlimits; die"
        " der Schlüssel sind das eigene Budget oder Ratenlimit eines Schlüssels oder seine"
        " offenen Streams, die abweisen, auch wenn die des Bereichs längst nicht erschöpft sind"
        " (die Seite des Bereichs nennt die Schlüssel).",
    ),
}
