"""German and English labels (numbers and times: :mod:`stellwerk.dashboard.formats`).

The page's language is :mod:`stellwerk.dashboard.language`'s choice (re-exported here). A
label missing in German falls back to English; a test checks that both languages have every label.
A count (a label with ``{n}``) has a form for exactly one, ``<name>_one``; :func:`counted` picks
it.

Templates read labels from :class:`Labels` as ``t.name``, ``t['name']`` or ``t(value)`` (the
label of a value such as a lifecycle state, else the value itself). ``Labels`` has no public
attribute, so no label can be shadowed by one (``t.keys`` of a plain dict is its ``keys`` method),
and an unknown label is an error when the page renders (the templates are strict).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from stellwerk.dashboard.formats import DASH, Formatter, Language
from stellwerk.dashboard.labels_audit import AUDIT
from stellwerk.dashboard.labels_consent import CONSENT
from stellwerk.dashboard.labels_learning import LEARNING
from stellwerk.dashboard.labels_limits import KEY_LIMITS, LIMITS
from stellwerk.dashboard.labels_messages import MESSAGES, REFUSALS
from stellwerk.dashboard.labels_roles import ROLES
from stellwerk.dashboard.labels_values import VALUES
from stellwerk.dashboard.language import COOKIE, LANGUAGES, choose

__all__ = [
    "COOKIE",
    "DASH",
    "LANGUAGES",
    "Labels",
    "Language",
    "choose",
    "counted",
    "label_keys",
    "labels",
]


_LABELS: Final[dict[str, tuple[str, str]]] = {
    # (English, German)
    "title": ("Stellwerk governance", "Stellwerk Governance"),
    "overview": ("Overview", "Übersicht"),
    "login": ("Log in", "Anmelden"),
    "logout": ("Log out", "Abmelden"),
    "logged_in_as": ("Logged in as", "Angemeldet als"),
    "language": ("Language", "Sprache"),
    "month": ("Month", "Monat"),
    "show_month": ("Show the month chosen", "Gewählten Monat anzeigen"),
    "models_by_state": ("Models by lifecycle state", "Modelle nach Lebenszyklus"),
    "non_compliant": ("Needs attention", "Handlungsbedarf"),
    "all_compliant": (
        "Every model and use case carries the facts its risk tier requires.",
        "Alle Modelle und Anwendungsfälle haben die für ihre Risikostufe nötigen Angaben.",
    ),
    "missing": ("missing", "fehlt"),
    "missing_facts": ("Missing facts", "Fehlende Angaben"),
    "use_cases_by_tier": ("Use cases by risk tier", "Anwendungsfälle nach Risikostufe"),
    "no_use_cases": ("No use cases registered.", "Keine Anwendungsfälle erfasst."),
    "hosting": ("Hosting locations", "Betriebsorte"),
    "hosted": ("Hosting", "Betriebsort"),
    "may_serve": ("May serve", "Zulässig für"),
    "usage_by_department": (
        "Usage and internal cost by department",
        "Nutzung und interne Kosten nach Bereich",
    ),
    "routing_mix": ("Routing mix", "Routing-Verteilung"),
    "by_day_model": (
        "share of the routed requests (model: auto…) per day, by model",
        "Anteil der gerouteten Anfragen (model: auto…) je Tag und Modell",
    ),
    "mix_left_out": (
        "Not counted, as the router did not choose their model",
        "Nicht gezählt, da der Router ihr Modell nicht gewählt hat",
    ),
    "mix_named": ("{n} requests that named a model", "{n} Anfragen mit benanntem Modell"),
    "mix_named_one": ("{n} request that named a model", "{n} Anfrage mit benanntem Modell"),
    "mix_shadow": ("{n} shadow-grading calls", "{n} Aufrufe der Schattenbewertung"),
    "mix_shadow_one": ("{n} shadow-grading call", "{n} Aufruf der Schattenbewertung"),
    "by_size": ("by size class", "nach Größenklasse"),
    "savings": ("Savings from routing", "Einsparung durch Routing"),
    "savings_against": (
        "against sending each routed request to the largest model its key might use when it"
        " was made (cost and energy as recorded with the request)",
        "gegenüber jeder gerouteten Anfrage an das größte Modell, das ihr Schlüssel zur Zeit"
        " der Anfrage nutzen durfte (Kosten und Energie wie mit der Anfrage erfasst)",
    ),
    "savings_compared_today": (
        "{n} of them were recorded before the ledger kept their reference: compared with"
        " their key's reference today.",
        "{n} davon wurden erfasst, bevor das Ledger ihre Referenz festhielt: verglichen mit"
        " der heutigen Referenz ihres Schlüssels.",
    ),
    "savings_compared_today_one": (
        "{n} of them was recorded before the ledger kept its reference: compared with its"
        " key's reference today.",
        "{n} davon wurde erfasst, bevor das Ledger ihre Referenz festhielt: verglichen mit"
        " der heutigen Referenz ihres Schlüssels.",
    ),
    "no_routed": ("No routed requests this month.", "Diesen Monat keine gerouteten Anfragen."),
    "no_baseline_latency": (
        "no comparison: not enough data",
        "kein Vergleich: zu wenige Daten",
    ),
    "backend_health": ("Backend health", "Zustand der Backends"),
    "audit": ("Latest audit events", "Letzte Audit-Ereignisse"),
    "no_audit": ("No audit events yet.", "Noch keine Audit-Ereignisse."),
    "no_usage": ("No usage in this month.", "Keine Nutzung in diesem Monat."),
    "department": ("Department", "Bereich"),
    "departments": ("Departments", "Bereiche"),
    "model": ("Model", "Modell"),
    "models": ("Models", "Modelle"),
    "requests": ("Requests", "Anfragen"),
    # counts inside a sentence or a line of figures (sentence case: no capital mid-sentence);
    # a label with {n} is a count: its form for 1 is <name>_one, chosen by ``counted``
    "n_requests": ("{n} requests", "{n} Anfragen"),
    "n_requests_one": ("{n} request", "{n} Anfrage"),
    "n_refused": ("{n} refused", "{n} abgewiesen"),
    "n_refused_one": ("{n} refused", "{n} abgewiesen"),
    "n_failed": ("{n} failed", "{n} fehlgeschlagen"),
    "n_failed_one": ("{n} failed", "{n} fehlgeschlagen"),
    "requests_word": ("requests", "Anfragen"),
    "tokens_word": ("tokens", "Tokens"),
    "errors_word": ("errors", "Fehler"),
    "what_unlimited": ("{what} unlimited", "{what} unbegrenzt"),
    # failed: a backend down, failing or too slow, a stream cut short (a 5xx); never a refusal.
    # A soft hyphen: the German header may break ("Fehl-geschlagen") so that the usage and health
    # tables fit their half-width cards at 1280 px
    "failed": ("Failed", "Fehl\u00adgeschlagen"),
    "tokens": ("Tokens", "Tokens"),
    "cost": ("Internal cost", "Interne Kosten"),
    "energy": ("Energy", "Energie"),
    "latency": ("Latency", "Latenz"),
    # a model page's p50 and p95: the clients' requests, shadow grading's own calls left out
    "client_latency": ("Client latency", "Client-Latenz"),
    "client_latency_note": (
        "The clients' requests only: shadow grading's own calls (answers cut short, verdicts of"
        " a few tokens) are left out",
        "Nur die Anfragen der Clients: die eigenen Aufrufe der Schattenbewertung (gekürzte"
        " Antworten, Urteile aus wenigen Tokens) zählen nicht mit",
    ),
    "latency_mean": ("Mean latency", "Mittlere Latenz"),
    "share": ("Share", "Anteil"),
    "size_class": ("Size class", "Größenklasse"),
    "actual": ("With routing", "Mit Routing"),
    "baseline": ("Largest permitted model", "Größtes zulässiges Modell"),
    "saved": ("Saved", "Gespart"),
    "state": ("State", "Status"),
    "backend": ("Backend", "Backend"),
    "reachable": ("reachable", "erreichbar"),
    "unreachable": ("unreachable", "nicht erreichbar"),
    "last_hour": ("last hour", "letzte Stunde"),
    "circuit": ("Circuit", "Schutzschalter"),
    "circuit_closed": ("closed (serving)", "geschlossen (in Betrieb)"),
    "circuit_half_open": ("half open (trying)", "halb offen (Probe)"),
    "circuit_open": ("open (skipped)", "offen (umgangen)"),
    "time": ("Time", "Zeit"),
    "actor": ("Who", "Wer"),
    "action": ("Action", "Aktion"),
    "target": ("Target", "Ziel"),
    "details": ("Details", "Details"),
    "facts": ("Facts", "Angaben"),
    "params": ("parameters", "Parameter"),
    "context": ("Context length", "Kontextlänge"),
    "capabilities": ("Capabilities", "Fähigkeiten"),
    "languages": ("Languages", "Sprachen"),
    "licence": ("Licence", "Lizenz"),
    "openness": ("Openness", "Offenheit"),
    "owner": ("Owner", "Verantwortlich"),
    "risk_tier": ("Risk tier", "Risikostufe"),
    "classification": ("Classification", "Schutzklasse"),
    "price": ("Price per 1M tokens (in/out)", "Preis je 1 Mio. Tokens (ein/aus)"),
    "energy_per_1k": ("Energy per 1k tokens", "Energie je 1.000 Tokens"),
    "model_card": ("Model card", "Modellkarte"),
    "evaluation": ("Evaluation", "Evaluierung"),
    "oversight": ("Oversight contact", "Aufsicht"),
    "data_owner": ("Data owner", "Datenverantwortlich"),
    "compliance": ("Compliance", "Konformität"),
    "compliant": ("compliant", "konform"),
    "history": ("Lifecycle history", "Verlauf des Lebenszyklus"),
    "no_history": ("No changes since it was registered.", "Keine Änderungen seit der Erfassung."),
    "quality": ("Quality", "Qualität"),
    "quality_benchmark": ("benchmark score from the catalog", "Benchmark-Wert aus dem Katalog"),
    "quality_calibrated": ("measured by calibration", "gemessen durch Kalibrierung"),
    "evaluation_record": ("Evaluation record (calibration)", "Evaluierungsnachweis (Kalibrierung)"),
    "calibrations": ("Calibration runs", "Kalibrierläufe"),
    "bank": ("Prompt bank", "Prompt-Sammlung"),
    "answered": ("Answered", "Beantwortet"),
    "task": ("Task", "Aufgabe"),
    "grader": ("Grader", "Bewertung"),
    "prompts": ("Prompts", "Prompts"),
    "tokens_per_s": ("Tokens per second", "Tokens pro Sekunde"),
    "ttft": ("Time to first token", "Zeit bis zum ersten Token"),
    "skipped_prompts": ("Skipped", "Übersprungen"),
    "no_evaluation_record": (
        "No calibration run yet: stellwerk calibrate measures the model on a prompt bank.",
        "Noch keine Kalibrierung: stellwerk calibrate misst das Modell an einer Prompt-Sammlung.",
    ),
    "no_quality": (
        "no calibration run and no benchmark score yet",
        "noch keine Kalibrierung und kein Benchmark-Wert",
    ),
    "routing_share": ("Share of routed requests", "Anteil an gerouteten Anfragen"),
    "router_knowledge": (
        "How the router rates the models",
        "Wie der Router die Modelle einschätzt",
    ),
    "router_rating": ("Router's rating", "Einschätzung des Routers"),
    "measured": ("measured", "gemessen"),
    "guessed": ("guessed", "geschätzt"),
    "knows_trained": ("trained on outcome data", "trainiert auf Ergebnisdaten"),
    "knows_calibrated": ("calibrated", "kalibriert"),
    "n_prompts": ("{n} prompts", "{n} Prompts"),
    "n_prompts_one": ("{n} prompt", "{n} Prompt"),
    "knows_benchmark": ("placed by benchmark score", "eingeordnet nach Benchmark-Wert"),
    "knows_family": ("placed by size and family", "eingeordnet nach Größe und Familie"),
    "knows_size": ("placed by size (family unknown)", "eingeordnet nach Größe (Familie unbekannt)"),
    "knows_average": (
        "placed as the average trained model (no size to go by)",
        "eingeordnet wie ein durchschnittliches trainiertes Modell (ohne Größe)",
    ),
    "knows_unrated": ("router does not rate models", "Router bewertet keine Modelle"),
    "knows_not_routed": ("not routed (no chat)", "nicht geroutet (kein Chat)"),
    "usage_this_month": ("Usage this month", "Nutzung in diesem Monat"),
    "requests_per_day": ("Requests per day", "Anfragen je Tag"),
    "move_lifecycle": ("Move through the lifecycle", "Lebenszyklus ändern"),
    "move_to": ("Move to", "Ändern auf"),
    "reason": ("Reason (goes into the audit log)", "Begründung (für das Audit-Protokoll)"),
    "reason_header": ("Reason", "Begründung"),  # a table's header: the form's label says more
    "final_state": ("This state is final.", "Dieser Status ist endgültig."),
    "continue": ("Continue", "Weiter"),
    "confirm": ("Confirm", "Bestätigen"),
    "cancel": ("Cancel", "Abbrechen"),
    "confirm_title": ("Please confirm", "Bitte bestätigen"),
    "confirm_lifecycle": (
        "Move model {model} from {old} to {new}?",
        "Modell {model} von {old} auf {new} ändern?",
    ),
    "confirm_budget": (
        "Set the monthly budget of {department} to {budget}?",
        "Monatsbudget von {department} auf {budget} setzen?",
    ),
    "confirm_revoke": (
        "Revoke key {key} of {department}? Its next request is refused.",
        "Schlüssel {key} von {department} sperren? Die nächste Anfrage wird abgewiesen.",
    ),
    "done": ("Done; recorded in the audit log.", "Erledigt und im Audit-Protokoll vermerkt."),
    "n_not_acknowledged": (
        "{n} replicas did not confirm the change within 2 s: they apply it at their next poll"
        " (governance.refresh_seconds) and may act on the old state until then.",
        "{n} Replikate haben die Änderung nicht binnen 2 s bestätigt: sie übernehmen sie bei"
        " ihrer nächsten Abfrage (governance.refresh_seconds) und können bis dahin nach dem alten"
        " Stand handeln.",
    ),
    "n_not_acknowledged_one": (
        "{n} replica did not confirm the change within 2 s: it applies it at its next poll"
        " (governance.refresh_seconds) and may act on the old state until then.",
        "{n} Replikat hat die Änderung nicht binnen 2 s bestätigt: es übernimmt sie bei seiner"
        " nächsten Abfrage (governance.refresh_seconds) und kann bis dahin nach dem alten Stand"
        " handeln.",
    ),
    "budget": ("Monthly budget", "Monatsbudget"),
    "budget_used": ("Budget used", "Budget verbraucht"),
    "unlimited": ("unlimited", "unbegrenzt"),
    "any_permitted_model": ("any permitted model", "jedes zulässige Modell"),
    "capability_chat": ("chat", "Chat"),
    "capability_completion": ("completion", "Textvervollständigung"),
    "capability_tools": ("tools", "Werkzeuge"),
    "capability_vision": ("vision", "Bilder"),
    "capability_embeddings": ("embeddings", "Embeddings"),
    "capability_json": ("JSON", "JSON"),
    "capability_thinking": ("thinking", "Denken"),
    "set_budget": ("Set the monthly budget", "Monatsbudget festlegen"),
    "budget_hint": ("e.g. 1,500.25", "z. B. 1.500,25"),
    "budget_unlimited": ("unlimited (no monthly budget)", "unbegrenzt (kein Monatsbudget)"),
    "confirm_budget_unlimited": (
        "Remove the monthly budget of {department} (unlimited)?",
        "Monatsbudget von {department} aufheben (unbegrenzt)?",
    ),
    "keys": ("Keys", "Schlüssel"),
    "key": ("Key", "Schlüssel"),
    "role": ("Role", "Rolle"),
    "use_case": ("Use case", "Anwendungsfall"),
    "use_cases": ("Use cases", "Anwendungsfälle"),
    "purpose": ("Purpose", "Zweck"),
    "created": ("Created", "Erstellt"),
    "status": ("Status", "Status"),
    "active": ("active", "aktiv"),
    "revoked": ("revoked", "gesperrt"),
    "revoke": ("Revoke", "Sperren"),
    # a key of the config file: made there, active while it is there, changed or revoked there
    "in_config_file": ("config file", "Konfigurationsdatei"),
    "change_in_config": (
        "change or revoke it in the config file",
        "in der Konfigurationsdatei ändern oder sperren",
    ),
    "no_keys": ("No keys.", "Keine Schlüssel."),
    "own_class": ("own", "eigene"),
    "keys_class_hint": (
        "Classification: the class a key's requests run under without a header, the highest of"
        " the key's own, its use case's and its department's. A request may raise it, never"
        " lower it.",
        "Schutzklasse: die Klasse, unter der die Anfragen eines Schlüssels ohne Header laufen,"
        " die höchste aus seiner eigenen, der seines Anwendungsfalls und der seines Bereichs."
        " Eine Anfrage kann sie erhöhen, nie senken.",
    ),
    "use_cases_class_hint": (
        "Classification: the class the requests of a use case's keys run under at least, the"
        " higher of the use case's own and its department's; below it, the use case's own where"
        " it is lower, and so does not apply.",
        "Schutzklasse: die Klasse, unter der die Anfragen der Schlüssel eines Anwendungsfalls"
        " mindestens laufen, die höhere aus seiner eigenen und der seines Bereichs; darunter die"
        " eigene des Anwendungsfalls, wo sie niedriger ist und daher nicht gilt.",
    ),
    "usage_by_key": ("Usage by key", "Nutzung nach Schlüssel"),
    "usage_by_model": ("Usage by model", "Nutzung nach Modell"),
    "error": ("Error", "Fehler"),
    "back": ("Back to the overview", "Zurück zur Übersicht"),
    "back_consent": ("Back to the consent page", "Zurück zu den Einwilligungen"),
    "back_department": ("Back to the department's page", "Zurück zur Seite des Bereichs"),
    "back_model": ("Back to the model's page", "Zurück zur Seite des Modells"),
    "err_401": ("Login required", "Anmeldung erforderlich"),
    "err_403": ("Not allowed", "Nicht erlaubt"),
    "err_404": ("Not found", "Nicht gefunden"),
    "err_409": ("Not possible now", "Derzeit nicht möglich"),
    "err_503": ("Not available yet", "Noch nicht verfügbar"),
    "err_400": ("Invalid input", "Ungültige Eingabe"),
    "nothing_changed": ("Nothing was changed.", "Es wurde nichts geändert."),
    "none": ("none", "keine"),
    # refusals: requests refused for what they asked or may do (a 4xx, before a model was chosen
    # or after, as a prompt over the context): the client's side, not failures
    "refused": ("Refused", "Abge\u00adwiesen"),  # a soft hyphen, as "Fehl-geschlagen" has
    "refusals": ("Refusals, by reason", "Abweisungen nach Grund"),
    "no_refusals": (
        "No request was refused this month.",
        "Diesen Monat wurde keine Anfrage abgewiesen.",
    ),
    "refusal_reason": ("Reason", "Grund"),
    "refusal_unknown": ("no reason recorded", "kein Grund vermerkt"),
    "no_model": ("refused (no model chosen)", "abgewiesen (kein Modell gewählt)"),
    # Ollama's load and unload: answered, no model asked for an answer (ledger.tables.IDLE_GROUP)
    "idle_model": ("load/unload (no generation)", "Laden/Entladen (keine Generierung)"),
    # a model page: the requests that named the model and were refused before it was chosen
    "refused_named": ("Refused when named", "Namentlich angefragt, abgewiesen"),
    "refused_named_by_reason": (
        "Refused when named, by reason",
        "Abweisungen bei Nennung, nach Grund",
    ),
    "refused_named_note": (
        "Requests that named this model and were refused before it was chosen (lifecycle,"
        " consent, hosting for their classification, allow-lists, limits). A key that names a"
        " model it may not see is told, as for a name that does not exist, that it is unknown;"
        " the gateway's log line keeps the reason. They are not in its requests or in its"
        " refused above; the overview and the department pages count them once, under"
        " \u201crefused (no model chosen)\u201d.",
        "Anfragen, die dieses Modell nannten und abgewiesen wurden, bevor es gewählt war"
        " (Lebenszyklus, Einwilligung, Hosting für ihre Klassifizierung, Freigabelisten, Limits)."
        " Einem Schlüssel, der ein Modell nennt, das er nicht sehen darf, wird wie bei einem"
        " Namen, den es nicht gibt, gesagt, es sei unbekannt; die Protokollzeile des Gateways"
        " hält den Grund fest. Sie zählen weder zu seinen Anfragen noch zu den Abgewiesenen"
        " oben; die Übersicht und die Seiten der Bereiche zählen sie einmal, unter"
        " \u201eabgewiesen (kein Modell gewählt)\u201c.",
    ),
    "pilot": ("pilot", "Pilot"),
    "times_in": ("Times in {zone}", "Zeiten in {zone}"),
    "amounts_in": ("amounts in {currency}", "Beträge in {currency}"),
    "savings_without_reference": (
        "{n} routed requests recorded without a reference, of keys that may use no model now,"
        " are not compared.",
        "{n} ohne Referenz erfasste geroutete Anfragen von Schlüsseln ohne zulässiges Modell"
        " sind nicht verglichen.",
    ),
    "savings_without_reference_one": (
        "{n} routed request recorded without a reference, of a key that may use no model now,"
        " is not compared.",
        "{n} ohne Referenz erfasste geroutete Anfrage eines Schlüssels ohne zulässiges Modell"
        " ist nicht verglichen.",
    ),
    # the form follows the total: "1 of 1 routed request", "1 of 3 routed requests"
    "savings_compared": (
        "{compared} of {n} routed requests compared",
        "{compared} von {n} gerouteten Anfragen verglichen",
    ),
    "savings_compared_one": (
        "{compared} of {n} routed request compared",
        "{compared} von {n} gerouteten Anfrage verglichen",
    ),
    "savings_refused": (
        "{n} routed requests were refused before a model was chosen: nothing to compare.",
        "{n} geroutete Anfragen wurden abgewiesen, bevor ein Modell gewählt war: nichts zu"
        " vergleichen.",
    ),
    "savings_refused_one": (
        "{n} routed request was refused before a model was chosen: nothing to compare.",
        "{n} geroutete Anfrage wurde abgewiesen, bevor ein Modell gewählt war: nichts zu"
        " vergleichen.",
    ),
    "loss_more": ("{p} more (a loss)", "{p} mehr (ein Verlust)"),
    "loss_slower": ("{p} slower (a loss)", "{p} langsamer (ein Verlust)"),
    "estimate": ("estimate", "Schätzung"),
    "latency_estimate": (
        "Latency is an estimate: each request was answered by one model only. What the reference"
        " models would have taken for the same requests is estimated from their own time per"
        " request, per prompt token and per answer token, measured on their {requests} answered"
        " requests this month (the way their cost is worked out from their prices).",
        "Die Latenz ist eine Schätzung: jede Anfrage wurde nur von einem Modell beantwortet. Wie"
        " lange die Referenzmodelle für dieselben Anfragen gebraucht hätten, ist aus ihrer"
        " eigenen Zeit je Anfrage, je Prompt-Token und je Antwort-Token geschätzt, gemessen an"
        " ihren {requests} beantworteten Anfragen in diesem Monat (so wie die Kosten aus ihren"
        " Preisen).",
    ),
    "latency_not_estimated": (
        "The routed requests' mean latency is measured; only the comparison is missing: to"
        " estimate what a reference model would have taken for them, it needs at least {least}"
        " answered requests of its own this month, with prompts and answers both shorter and"
        " longer than the routed requests' on average.",
        "Die mittlere Latenz der gerouteten Anfragen ist gemessen; nur der Vergleich fehlt: um"
        " zu schätzen, wie lange ein Referenzmodell für sie gebraucht hätte, braucht es in"
        " diesem Monat mindestens {least} eigene beantwortete Anfragen, mit kürzeren und"
        " längeren Prompts und Antworten als die gerouteten im Mittel.",
    ),
    "router": ("router", "Router"),
    "evaluation_calibrated": (
        "calibration record of {time} (quality {quality})",
        "Kalibriernachweis vom {time} (Qualität {quality})",
    ),
    "granted": ("granted", "erteilt"),
    "withdrawn": ("withdrawn", "widerrufen"),
    # a withdrawal left after the config dropped the data owner, lifted by an admin: consent
    # does not apply any more (not "granted": there is no owner to grant it)
    "lifted": ("lifted (no data owner now)", "aufgehoben (kein Datenverantwortlicher mehr)"),
    "yes": ("yes", "ja"),
    "no": ("no", "nein"),
}


class Labels:
    """The labels of one language, read by name; only dunder methods, so that every name is a
    label (see the module docstring)."""

    __slots__ = ("_table",)

    def __init__(self, table: dict[str, str]) -> None:
        self._table = table

    def __getitem__(self, name: str) -> str:
        return self._table[name]  # KeyError: Jinja2 then makes it an undefined (strict) value

    def __contains__(self, name: object) -> bool:
        return name in self._table

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)

    def __call__(self, value: object) -> str:
        """The label of ``value`` (a state, tier, hosting ...), else ``value`` as text."""
        text = str(value)
        return self._table.get(text, text)


def labels(language: Language) -> Labels:
    index = LANGUAGES.index(language)
    return Labels({key: pair[index] or pair[0] for key, pair in _all().items()})


def label_keys() -> frozenset[str]:
    return frozenset(_all())


def _all() -> dict[str, tuple[str, str]]:
    return {
        **_LABELS,
        **VALUES,
        **CONSENT,
        **AUDIT,
        **LEARNING,
        **LIMITS,
        **KEY_LIMITS,
        **ROLES,
        **REFUSALS,
        **MESSAGES,
    }


def counted(t: Labels, fmt: Formatter, name: str, n: int, **values: str) -> str:
    """The count label ``name`` for ``n`` things, ``n`` written as the page writes numbers: its
    form for exactly one (``<name>_one``) when ``n`` is 1, else ``name``. English and German
    have these two forms (CLDR's "one" and "other"), and 0 takes the plural in both ("0
    requests", "0 Anfragen"). A label with ``{n}`` is a count and has both forms (a test checks);
    ``{n}`` is the number the form agrees with, other figures go into ``values``."""
    form = f"{name}_one" if n == 1 else name
    return t[form].format(n=fmt.number(n), **values)
