"""German and English labels, and numbers and times written the way each language writes them.

The language is the ``stw_lang`` cookie (set by the switch in the page header), else the
browser's ``Accept-Language``, else English. A label missing in German falls back to English; a
test checks that both languages have every label.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

Language = Literal["en", "de"]
LANGUAGES: Final[tuple[Language, ...]] = ("en", "de")
COOKIE: Final = "stw_lang"
DASH: Final = "\u2013"  # shown for a missing value

_LABELS: Final[dict[str, tuple[str, str]]] = {
    # (English, German)
    "title": ("Stellwerk governance", "Stellwerk Governance"),
    "overview": ("Overview", "Übersicht"),
    "login": ("Log in", "Anmelden"),
    "logout": ("Log out", "Abmelden"),
    "admin_key": ("Admin key", "Admin-Schlüssel"),
    "login_hint": (
        "Log in with an API key that has the admin role. The key is checked once and exchanged"
        " for a session; it is never stored in the browser.",
        "Melden Sie sich mit einem API-Schlüssel mit Admin-Rolle an. Der Schlüssel wird einmal"
        " geprüft und gegen eine Sitzung getauscht; im Browser wird er nicht gespeichert.",
    ),
    "logged_in_as": ("Logged in as", "Angemeldet als"),
    "language": ("Language", "Sprache"),
    "month": ("Month", "Monat"),
    "models_by_state": ("Models by lifecycle state", "Modelle nach Lebenszyklus"),
    "non_compliant": ("Needs attention: non-compliant", "Handlungsbedarf: nicht konform"),
    "all_compliant": (
        "Every model and use case carries the facts its risk tier requires.",
        "Alle Modelle und Anwendungsfälle haben die für ihre Risikostufe nötigen Angaben.",
    ),
    "missing": ("missing", "fehlt"),
    "use_cases_by_tier": ("Use cases by risk tier", "Anwendungsfälle nach Risikostufe"),
    "no_use_cases": ("No use cases registered.", "Keine Anwendungsfälle erfasst."),
    "hosting": ("Hosting locations", "Betriebsorte"),
    "hosted": ("Hosting", "Betriebsort"),
    "may_serve": ("may serve", "zulässig für"),
    "usage_by_department": (
        "Usage and internal cost by department",
        "Nutzung und interne Kosten nach Bereich",
    ),
    "routing_mix": ("Routing mix", "Routing-Verteilung"),
    "by_day_model": (
        "share of requests per day, by model",
        "Anteil der Anfragen je Tag und Modell",
    ),
    "by_size": ("by size class", "nach Größenklasse"),
    "savings": ("Savings from routing", "Einsparung durch Routing"),
    "savings_against": (
        "against sending every routed request to",
        "gegenüber allen gerouteten Anfragen an",
    ),
    "no_routed": ("No routed requests this month.", "Diesen Monat keine gerouteten Anfragen."),
    "no_baseline_latency": ("no traffic on it to compare", "kein Vergleichsverkehr"),
    "backend_health": ("Backend health", "Zustand der Backends"),
    "audit": ("Latest audit events", "Letzte Audit-Ereignisse"),
    "no_audit": ("No audit events yet.", "Noch keine Audit-Ereignisse."),
    "no_usage": ("No usage in this month.", "Keine Nutzung in diesem Monat."),
    "department": ("Department", "Bereich"),
    "departments": ("Departments", "Bereiche"),
    "model": ("Model", "Modell"),
    "models": ("Models", "Modelle"),
    "requests": ("Requests", "Anfragen"),
    "errors": ("Errors", "Fehler"),
    "tokens": ("Tokens", "Tokens"),
    "cost": ("Internal cost", "Interne Kosten"),
    "energy": ("Energy", "Energie"),
    "latency": ("Latency", "Latenz"),
    "latency_mean": ("mean latency", "mittlere Latenz"),
    "share": ("Share", "Anteil"),
    "size_class": ("Size class", "Größenklasse"),
    "actual": ("with routing", "mit Routing"),
    "baseline": ("largest model only", "nur größtes Modell"),
    "saved": ("saved", "gespart"),
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
    "params": ("Parameters", "Parameter"),
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
    "consent": ("Consent", "Einwilligung"),
    "consent_yes": ("granted", "erteilt"),
    "consent_no": ("withdrawn", "widerrufen"),
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
    "budget": ("Monthly budget", "Monatsbudget"),
    "budget_used": ("Budget used", "Budget verbraucht"),
    "unlimited": ("unlimited", "unbegrenzt"),
    "set_budget": ("Set the monthly budget", "Monatsbudget festlegen"),
    "budget_hint": ("empty: unlimited", "leer: unbegrenzt"),
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
    "from_config": (
        "from the config file (change it there)",
        "aus der Konfigurationsdatei (dort ändern)",
    ),
    "no_keys": ("No keys.", "Keine Schlüssel."),
    "usage_by_key": ("Usage by key", "Nutzung nach Schlüssel"),
    "usage_by_model": ("Usage by model", "Nutzung nach Modell"),
    "error": ("Error", "Fehler"),
    "back": ("Back to the overview", "Zurück zur Übersicht"),
    "err_401": ("Login required", "Anmeldung erforderlich"),
    "err_403": ("Not allowed", "Nicht erlaubt"),
    "err_404": ("Not found", "Nicht gefunden"),
    "err_409": ("Not possible now", "Derzeit nicht möglich"),
    "err_400": ("Invalid input", "Ungültige Eingabe"),
    "nothing_changed": ("Nothing was changed.", "Es wurde nichts geändert."),
    "proposed": ("proposed", "vorgeschlagen"),
    "in_review": ("in review", "in Prüfung"),
    "approved": ("approved", "freigegeben"),
    "deprecated": ("deprecated", "abgekündigt"),
    "retired": ("retired", "außer Betrieb"),
    "minimal": ("minimal risk", "minimales Risiko"),
    "limited": ("limited risk", "begrenztes Risiko"),
    "high": ("high risk", "hohes Risiko"),
    "on_prem": ("on premises", "eigenes Rechenzentrum"),
    "eu_cloud": ("EU cloud", "EU-Cloud"),
    "non_eu_cloud": ("cloud outside the EU", "Cloud außerhalb der EU"),
    "public": ("public", "öffentlich"),
    "internal": ("internal", "intern"),
    "confidential": ("confidential", "vertraulich"),
    "secret": ("secret", "geheim"),
    "small": ("small", "klein"),
    "medium": ("medium", "mittel"),
    "large": ("large", "groß"),
    "none": ("none", "keine"),
}


def labels(language: Language) -> dict[str, str]:
    index = LANGUAGES.index(language)
    return {key: pair[index] or pair[0] for key, pair in _LABELS.items()}


def label_keys() -> frozenset[str]:
    return frozenset(_LABELS)


def choose(cookie: str | None, accept_language: str | None) -> Language:
    """The page language: the cookie, else the first supported language the browser asks for."""
    for language in LANGUAGES:
        if cookie == language:
            return language
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        for language in LANGUAGES:
            if tag == language:
                return language
    return "en"


@dataclass(frozen=True, slots=True)
class Formatter:
    """Numbers and times for one language: ``1,234.5`` in English, ``1.234,5`` in German."""

    language: Language

    def number(self, value: float | None, decimals: int = 0) -> str:
        if value is None:
            return DASH
        if math.isinf(value):
            return "∞"
        text = f"{value:,.{decimals}f}"
        if self.language == "de":
            text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
        return text

    def compact(self, value: float) -> str:
        """Large counts shortened: 1.2M, 34.5k (Mio., Tsd. in German)."""
        big, mid = ("Mio.", "Tsd.") if self.language == "de" else ("M", "k")
        if abs(value) >= 1e6:
            return f"{self.number(value / 1e6, 1)} {big}"
        if abs(value) >= 1e4:
            return f"{self.number(value / 1e3, 1)} {mid}"
        return self.number(value)

    def money(self, value: float | None) -> str:
        """Two decimals; four for amounts below one (tiny models cost fractions of a cent)."""
        if value is not None and 0 < abs(value) < 1:
            return self.number(value, 4)
        return self.number(value, 2)

    def percent(self, fraction: float | None, decimals: int = 0) -> str:
        if fraction is None:
            return DASH
        return f"{self.number(100 * fraction, decimals)} %"

    def ms(self, value: float | None) -> str:
        if value is None:
            return DASH
        if value >= 10_000:
            return f"{self.number(value / 1000, 1)} s"
        return f"{self.number(value)} ms"

    def energy(self, wh: float) -> str:
        if abs(wh) >= 1000:
            return f"{self.number(wh / 1000, 2)} kWh"
        return f"{self.number(wh, 2)} Wh"

    def when(self, moment: datetime | None) -> str:
        if moment is None:
            return DASH
        pattern = "%d.%m.%Y %H:%M" if self.language == "de" else "%Y-%m-%d %H:%M"
        return moment.strftime(pattern) + " UTC"

    def day(self, moment: datetime) -> str:
        return moment.strftime("%d.%m." if self.language == "de" else "%m-%d")


Translate = Callable[[str], str]
