"""The labels of refusal reasons (the ``code`` of a refused request, as the ledger keeps it) and
of the dashboard's error messages, English and German; :mod:`stellwerk.dashboard.i18n` serves
them with the others.

An error message is looked up by the error's ``code`` (``msg_<code>``), else by its status and
field (``msg_<status>_<param>``); :mod:`stellwerk.dashboard.messages` fills in ``{subject}`` (the
model, department or key of the page), ``{month}``, ``{value}`` (what was typed) and ``{field}``.
"""

from __future__ import annotations

from typing import Final

REFUSALS: Final[dict[str, tuple[str, str]]] = {
    # refusals: requests refused for what they asked (a 4xx, before a model was chosen or
    # after): the client's side, not failures
    "refusal_policy_denied": (
        "policy: model not allowed (classification, lifecycle, consent, allow-list)",
        "Richtlinie: Modell nicht zulässig (Schutzklasse, Lebenszyklus, Einwilligung,"
        " Freigabeliste)",
    ),
    "refusal_model_not_allowed": (
        "model not allowed for the key",
        "Modell für den Schlüssel nicht zulässig",
    ),
    "refusal_no_allowed_model": ("no allowed model", "kein zulässiges Modell"),
    # recorded before the gateway kept what the request needed (refusal_labels)
    "refusal_no_capable_model": (
        "no allowed model can do what it needed (a capability, such as tools, vision or thinking)",
        "kein zulässiges Modell kann, was sie brauchte (eine Fähigkeit, etwa Werkzeuge, Bilder"
        " oder Denken)",
    ),
    "refusal_no_capable_model_needs": (
        "no allowed model can do what it needed: {needs}",
        "kein zulässiges Modell kann, was sie brauchte: {needs}",
    ),
    "refusal_unsupported_capability": (
        "capability not supported by the model",
        "Fähigkeit vom Modell nicht unterstützt",
    ),
    "refusal_model_not_found": ("unknown model", "unbekanntes Modell"),
    # a model's page: a key naming a model it may not see is told it does not exist
    "refusal_hidden_model": (
        "answered as unknown: a model the key may not see",
        "als unbekannt beantwortet: ein Modell, das der Schlüssel nicht sehen darf",
    ),
    # a department's limit and a key's own are recorded apart (``RateLimited.recorded``)
    "refusal_rate_limited": (
        "the department's rate limit reached",
        "Ratenlimit des Bereichs erreicht",
    ),
    "refusal_key_rate_limited": (
        "the key's own rate limit reached",
        "eigenes Ratenlimit des Schlüssels erreicht",
    ),
    "refusal_budget_exceeded": (
        "the department's monthly budget used up",
        "Monatsbudget des Bereichs aufgebraucht",
    ),
    "refusal_key_budget_exceeded": (
        "the key's own monthly budget used up",
        "eigenes Monatsbudget des Schlüssels aufgebraucht",
    ),
    "refusal_too_many_streams": ("too many streams at once", "zu viele gleichzeitige Streams"),
    "refusal_too_many_messages": ("too many messages", "zu viele Nachrichten"),
    "refusal_too_many_inputs": ("too many texts to embed", "zu viele Texte zum Einbetten"),
    "refusal_max_tokens_over_limit": ("max_tokens over the limit", "max_tokens über dem Limit"),
    "refusal_classification_lowered": (
        "classification lowered below the key's class",
        "Schutzklasse unter die des Schlüssels gesenkt",
    ),
    "refusal_consent_held_elsewhere": (
        "consent managed on another id of the same weights",
        "Einwilligung bei einer anderen Kennung derselben Gewichte verwaltet",
    ),
    "refusal_invalid_request": ("invalid request", "ungültige Anfrage"),
    "refusal_payload_too_large": ("request too large", "Anfrage zu groß"),
    "refusal_consent_withdrawn": (
        "cut: its data owner withdrew consent",
        "abgebrochen: Einwilligung entzogen",
    ),
    "refusal_key_revoked": ("cut: its key was revoked", "abgebrochen: Schlüssel widerrufen"),
    "refusal_unknown_parameter": (
        "a parameter the gateway does not pass on",
        "Parameter, den das Gateway nicht weitergibt",
    ),
    "refusal_idempotency_key_reused": (
        "an Idempotency-Key sent with another request",
        "Idempotency-Key mit einer anderen Anfrage gesendet",
    ),
    "refusal_key_already_made": (
        "a retry of a key already made",
        "Wiederholung: Schlüssel schon erstellt",
    ),
    "refusal_unsupported_content_encoding": (
        "compressed request body",
        "komprimierter Anfragetext",
    ),
    "refusal_forbidden": ("not allowed", "nicht erlaubt"),
    "refusal_not_found": ("not found", "nicht gefunden"),
    "refusal_not_started": ("the gateway was still starting", "das Gateway startete noch"),
    # a 503: the replica missed a governance change announced to it (its database unreachable)
    "refusal_governance_stale": (
        "the replica could not read a governance change yet",
        "das Replikat konnte eine Governance-Änderung noch nicht lesen",
    ),
    "refusal_duplicate_key": (
        "a JSON key named twice in the body",
        "JSON-Schlüssel im Body doppelt angegeben",
    ),
    "refusal_duplicate_header": (
        "a security header sent twice",
        "Sicherheits-Header doppelt gesendet",
    ),
    "refusal_not_gradable": (
        "feedback on a prompt the router cannot read",
        "Rückmeldung zu einem Prompt, den der Router nicht lesen kann",
    ),
    "refusal_invalid_api_key": (
        "no, unknown or revoked API key",
        "kein, unbekannter oder gesperrter API-Schlüssel",
    ),
    "refusal_integer_out_of_range": (
        "number too large (over 64 bits)",
        "Zahl zu groß (über 64 Bit)",
    ),
    "refusal_invalid_unicode": (
        "text that is not valid Unicode (a lone surrogate)",
        "Text ist kein gültiges Unicode (ein einzelnes Surrogat)",
    ),
    "refusal_too_many_in_flight": (
        "too many requests of the key at once",
        "zu viele gleichzeitige Anfragen des Schlüssels",
    ),
    "refusal_client_disconnected": (
        "client hung up before the answer was complete",
        "Client hat vor Ende der Antwort abgebrochen",
    ),
    "refusal_context_length_exceeded": (
        "prompt longer than the model's context",
        "Prompt länger als der Kontext des Modells",
    ),
    "refusal_request_not_found": (
        "feedback on an unknown request",
        "Rückmeldung zu unbekannter Anfrage",
    ),
    "refusal_already_graded": ("request already graded", "Anfrage bereits bewertet"),
    "refusal_classification_not_graded": (
        "feedback on a request of a class not graded",
        "Rückmeldung zu einer Anfrage einer nicht bewerteten Klasse",
    ),
    "refusal_not_finished": (
        "feedback before the answer ended",
        "Rückmeldung vor dem Ende der Antwort",
    ),
    "refusal_month_out_of_range": (
        "month outside the supported range",
        "Monat außerhalb des unterstützten Bereichs",
    ),
    "refusal_http_405": ("method the path does not take", "Methode, die der Pfad nicht annimmt"),
    "refusal_models_managed_upstream": (
        "models are managed in the config, not through the API",
        "Modelle werden in der Konfiguration verwaltet, nicht über die API",
    ),
    "refusal_not_admin": ("needs an admin key", "braucht einen Admin-Schlüssel"),
    "refusal_read_only": ("the key may only read", "der Schlüssel darf nur lesen"),
    "refusal_not_ops": ("needs an ops key", "braucht einen Ops-Schlüssel"),
    "refusal_conflict": ("conflicting change", "widersprüchliche Änderung"),
    "refusal_version_conflict": ("changed concurrently", "gleichzeitig geändert"),
    "refusal_illegal_transition": (
        "lifecycle move not allowed",
        "Wechsel im Lebenszyklus nicht erlaubt",
    ),
    "refusal_use_case_has_keys": ("use case still has keys", "Anwendungsfall hat noch Schlüssel"),
    "refusal_router_version_changed": (
        "another router version was stored meanwhile",
        "inzwischen wurde eine andere Router-Version gespeichert",
    ),
    "refusal_router_version_in_use": (
        "that router version is in use already",
        "diese Router-Version ist schon in Verwendung",
    ),
    "refusal_csrf_failed": ("form not sent from the dashboard", "Formular nicht vom Dashboard"),
    "refusal_login_failed": ("login failed", "Anmeldung fehlgeschlagen"),
    "refusal_login_required": ("not logged in", "nicht angemeldet"),
    "refusal_session_expired": ("session expired", "Sitzung abgelaufen"),
    "no_department": (
        "no department (refused before the key was known: recorded by earlier versions only)",
        "kein Bereich (abgewiesen, bevor der Schlüssel bekannt war: nur von früheren Versionen"
        " erfasst)",
    ),
    "no_key": (
        "no key (refused before the key was known: recorded by earlier versions only)",
        "kein Schlüssel (abgewiesen, bevor der Schlüssel bekannt war: nur von früheren Versionen"
        " erfasst)",
    ),
}

MESSAGES: Final[dict[str, tuple[str, str]]] = {
    # the login page and sessions
    "msg_login_empty": ("Enter an API key.", "Bitte einen API-Schlüssel eingeben."),
    "msg_login_failed": (
        "This key is unknown or revoked.",
        "Dieser Schlüssel ist unbekannt oder gesperrt.",
    ),
    "msg_login_required": (
        "Your session has ended; please log in again.",
        "Ihre Sitzung ist beendet; bitte melden Sie sich erneut an.",
    ),
    "msg_session_expired": (
        "Your session has expired; please log in again.",
        "Ihre Sitzung ist abgelaufen; bitte melden Sie sich erneut an.",
    ),
    "msg_key_inactive": (
        "The key of this session is no longer active (revoked or removed); log in with another"
        " admin key.",
        "Der Schlüssel dieser Sitzung ist nicht mehr aktiv (gesperrt oder entfernt); melden Sie"
        " sich mit einem anderen Admin-Schlüssel an.",
    ),
    "msg_not_admin": (
        "This key may only manage the consent of its department's models, on the consent page;"
        " everything else needs an admin key.",
        "Dieser Schlüssel darf nur die Einwilligung für die Modelle seines Bereichs verwalten, auf"
        " der Seite Einwilligungen; alles andere braucht einen Admin-Schlüssel.",
    ),
    "msg_role_not_allowed": (
        "This key's role may not use the dashboard: it needs an admin key, a viewer key (to"
        " read only), a head key (to read its department's page) or an owner key (for the"
        " consent of its department's models).",
        "Die Rolle dieses Schlüssels darf das Dashboard nicht nutzen: nötig ist ein"
        " Admin-Schlüssel, einer mit der Rolle Lesezugriff (nur zum Lesen), einer mit der Rolle"
        " Bereichsleitung (zum Lesen der Seite seines Bereichs) oder einer mit der Rolle"
        " „Verantwortliche“ (für die Einwilligung zu den Modellen seines Bereichs).",
    ),
    # a viewer key: every page, no change
    "msg_read_only": (
        "This key has the role viewer: it may see every page but change nothing; changes need an"
        " admin key.",
        "Dieser Schlüssel hat die Rolle Lesezugriff: Er darf jede Seite sehen, aber nichts"
        " ändern; Änderungen brauchen einen Admin-Schlüssel.",
    ),
    "read_only_note": (
        "Read only: this key (role viewer) sees everything an admin sees and changes nothing.",
        "Nur lesen: Dieser Schlüssel (Rolle Lesezugriff) sieht alles, was ein Admin sieht, und"
        " ändert nichts.",
    ),
    "read_only_here": (
        "Changes need an admin key; this key may only read.",
        "Änderungen brauchen einen Admin-Schlüssel; dieser Schlüssel darf nur lesen.",
    ),
    "msg_csrf_failed": (
        "The form was not sent from this dashboard; reload the page and try again.",
        "Das Formular wurde nicht von diesem Dashboard gesendet; laden Sie die Seite neu und"
        " versuchen Sie es erneut.",
    ),
    # pages and what they are about
    "msg_page_not_found": (
        "There is no such page in the dashboard.",
        "Diese Seite gibt es im Dashboard nicht.",
    ),
    "msg_model_not_found": ("Unknown model {subject}.", "Unbekanntes Modell {subject}."),
    "msg_404_department": ("Unknown department {subject}.", "Unbekannter Bereich {subject}."),
    "msg_404_key_id": ("Unknown key {subject}.", "Unbekannter Schlüssel {subject}."),
    "msg_404_language": (
        "Unknown language; choose English or German.",
        "Unbekannte Sprache; wählen Sie Deutsch oder Englisch.",
    ),
    "msg_400_subject": (
        "The address holds a character that no model, department or key has in its name (a"
        " control character or an invisible one).",
        "Die Adresse enthält ein Zeichen, das kein Modell, kein Bereich und kein Schlüssel im"
        " Namen hat (ein Steuerzeichen oder ein unsichtbares Zeichen).",
    ),
    "msg_400_month": (
        "\u201c{month}\u201d is not a month of the form YYYY-MM, such as 2026-12 (the digits 0 to"
        " 9, no spaces).",
        "\u201e{month}\u201c ist kein Monat der Form JJJJ-MM, etwa 2026-12 (die Ziffern 0 bis 9,"
        " ohne Leerzeichen).",
    ),
    "msg_month_out_of_range": (
        "{month} is outside the months the dashboard can show, 0001-01 to 9999-11.",
        "{month} liegt außerhalb der Monate, die das Dashboard zeigen kann: 0001-01 bis 9999-11.",
    ),
    "msg_400_reason": (
        "Give a reason of at most 1,000 characters: it goes into the audit log.",
        "Bitte eine Begründung mit höchstens 1.000 Zeichen angeben: sie geht ins Audit-Protokoll.",
    ),
    "msg_reason_hidden": (
        "The reason contains {what} {character}, which a page or a terminal does not show as"
        " itself: write it on one line of plain text (it goes into the audit log).",
        "Die Begründung enthält {what} {character}, das eine Seite oder ein Terminal nicht als"
        " es selbst zeigt: bitte als eine Zeile einfachen Texts schreiben (sie geht ins"
        " Audit-Protokoll).",
    ),
    "hidden_control": ("the control character", "das Steuerzeichen"),
    "hidden_surrogate": (
        "a lone surrogate (not valid Unicode)",
        "ein einzelnes Surrogat (kein gültiges Unicode)",
    ),
    "hidden_separator": ("the separator", "das Trennzeichen"),
    "hidden_direction": ("the direction mark", "das Richtungszeichen"),
    "hidden_zero_width": ("the zero-width character", "das Zeichen ohne Breite"),
    "hidden_invisible": ("the invisible character", "das unsichtbare Zeichen"),
    "msg_400_state": ("Choose a lifecycle state.", "Bitte einen Status im Lebenszyklus wählen."),
    "msg_400_consent": (
        "Choose whether to withdraw or re-grant the consent.",
        "Bitte wählen: Einwilligung widerrufen oder erneut erteilen.",
    ),
    "msg_illegal_transition": (
        "Model {subject} cannot move from its current lifecycle state to that one; the model's"
        " page offers the allowed moves.",
        "Modell {subject} kann nicht aus seinem jetzigen Status dorthin wechseln; die Seite des"
        " Modells bietet die erlaubten Wechsel an.",
    ),
    "msg_version_conflict": (
        "Someone else changed it meanwhile; reload the page and try again.",
        "Inzwischen hat jemand anderes es geändert; laden Sie die Seite neu und versuchen Sie es"
        " erneut.",
    ),
    "msg_ledger_unavailable": (
        "The gateway cannot reach its database now; reload the page in a moment.",
        "Das Gateway erreicht seine Datenbank gerade nicht; laden Sie die Seite gleich neu.",
    ),
    "msg_not_started": (
        "The gateway is still starting; reload the page in a moment.",
        "Das Gateway startet noch; laden Sie die Seite gleich neu.",
    ),
    # amounts typed into a form (stellwerk.dashboard.amounts)
    "msg_amount_missing": (
        "{field}: enter an amount, or choose unlimited.",
        "{field}: bitte einen Betrag eingeben oder unbegrenzt wählen.",
    ),
    "msg_amount_malformed": (
        "{field}: {value} is not an amount as this page writes it (e.g. 1,500.25).",
        "{field}: {value} ist kein Betrag, wie diese Seite ihn schreibt (z. B. 1.500,25).",
    ),
    "msg_amount_ambiguous": (
        "{field}: {value} is ambiguous (other languages write one thousand five hundred as"
        " 1.500); write {decimal} for the decimal amount or {thousands} for thousands.",
        "{field}: {value} ist mehrdeutig (andere Sprachen schreiben eintausendfünfhundert als"
        " 1,500); schreiben Sie {decimal} für den Dezimalbetrag oder {thousands} für"
        " Tausender.",
    ),
    "msg_amount_and_unlimited": (
        "{field}: choose either an amount or unlimited, not both.",
        "{field}: bitte entweder einen Betrag oder unbegrenzt wählen, nicht beides.",
    ),
    "msg_400_monthly_budget": (
        "{field}: at most six decimals, from 0 to the largest budget the gateway keeps.",
        "{field}: höchstens sechs Nachkommastellen, von 0 bis zum größten Budget des Gateways.",
    ),
    # when no message above fits: said in the page's language, the original as details
    "msg_internal_error": (
        "Something went wrong on the server; the gateway's log says what.",
        "Auf dem Server ist ein Fehler aufgetreten; das Protokoll des Gateways nennt ihn.",
    ),
    "msg_fallback_400": ("The input is not valid.", "Die Eingabe ist ungültig."),
    "msg_fallback_403": ("This is not allowed.", "Das ist nicht erlaubt."),
    "msg_fallback_404": ("Not found.", "Nicht gefunden."),
    "msg_fallback_409": ("This is not possible now.", "Das ist derzeit nicht möglich."),
    "msg_fallback_413": ("The form is too large.", "Das Formular ist zu groß."),
    "msg_technical": ("Technical details", "Technische Details (Englisch)"),
    # the overview's "needs attention" card: a use case no model may serve (policy.reach)
    "unservable_listed": (
        "use case {name}: no allowed model may serve its class {cls}",
        "Anwendungsfall {name}: kein erlaubtes Modell darf seine Klasse {cls} bedienen",
    ),
    "unservable_catalog": (
        "use case {name}: no model of the catalog may serve its class {cls}",
        "Anwendungsfall {name}: kein Modell des Katalogs darf seine Klasse {cls} bedienen",
    ),
}
