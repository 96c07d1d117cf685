"""The labels of the router-learning page (``/dashboard/learning``), English and German, among
them why an adaptation run promoted nothing (``adapt_reason_<reason>``, which the overview's audit
table words alike); :mod:`stellwerk.dashboard.i18n` serves them with the others."""

from __future__ import annotations

from typing import Final

LEARNING: Final[dict[str, tuple[str, str]]] = {
    "learning_nav": ("Router learning", "Router-Lernen"),
    "learning_title": ("What the router has learned", "Was der Router gelernt hat"),
    "learning_hint": (
        "Graded requests (an application's feedback, shadow grading against the best permitted"
        " model) teach the router the organisation's own traffic. Only the router's reading of a"
        " prompt is kept, never its text.",
        "Bewertete Anfragen (Rückmeldungen von Anwendungen, Schattenbewertung gegen das beste"
        " zulässige Modell) lehren den Router den Verkehr der eigenen Organisation. Gespeichert"
        " wird nur die Lesart des Routers, nie der Text einer Anfrage.",
    ),
    "learning_by_department": ("Learning by department", "Lernen nach Bereich"),
    "graded_requests": ("Graded requests", "Bewertete Anfragen"),
    "graded_kept": ("Grades kept", "Gespeicherte Bewertungen"),
    # grades, not requests: one request may have a grade of each source
    "grades_feedback": ("Feedback grades", "Rück\u00admeldungen"),
    # a soft hyphen: the word may break in a narrow figure box
    "grades_shadow": ("Shadow grades", "Schatten\u00adbewertungen"),
    "graded_hint": (
        "Graded requests: each request once. Feedback and shadow grades count grades: a request"
        " graded both by an application's feedback and by shadow grading has one of each.",
        "Bewertete Anfragen: jede Anfrage einmal. Rückmeldungen und Schattenbewertungen zählen"
        " Bewertungen: Eine Anfrage, die sowohl per Rückmeldung einer Anwendung als auch per"
        " Schattenbewertung bewertet wurde, zählt in beiden Spalten je einmal.",
    ),
    "routed_requests": ("Routed requests", "Geroutete Anfragen"),
    "routed_hint": (
        "Every request sent to a router this month, those refused before a model was chosen"
        " included (the overview's savings count them too, and compare the others); an Ollama"
        " load or unload of a route asks for no answer and is not counted.",
        "Jede Anfrage an einen Router in diesem Monat, auch die abgewiesenen, bevor ein Modell"
        " gewählt war (die Einsparung der Übersicht zählt sie mit und vergleicht die übrigen);"
        " ein Laden oder Entladen einer Route (Ollama) verlangt keine Antwort und zählt nicht.",
    ),
    "unfamiliar_share": ("Unfamiliar", "Ungewohnt"),
    "unfamiliar_hint": (
        "Unfamiliar: the share of routed prompts the router found unlike anything it was trained"
        " or adapted on (of those whose familiarity it measured); it learns these first.",
        "Ungewohnt: der Anteil der gerouteten Anfragen, die keinem Text ähneln, mit dem der Router"
        " trainiert oder an den er angepasst wurde (bezogen auf die Anfragen, deren Vertrautheit"
        " er gemessen hat); aus ihnen lernt er zuerst.",
    ),
    "not_measured": ("not measured", "nicht gemessen"),
    "router_versions": ("Router versions", "Router-Versionen"),
    "artifact": ("Artifact", "Artefakt"),
    "version": ("Version", "Version"),
    "version_in_use": ("in use", "in Verwendung"),
    # what version 0 is, not what became of it (walk24 9)
    "base_alone": (
        "base router (as trained, no correction)",
        "Basis-Router (wie trainiert, ohne Korrektur)",
    ),
    "shipped_router": ("Shipped router", "Ausgelieferter Router"),
    "no_adaptation_promoted": (
        "not adapted, no adaptation promoted",
        "nicht angepasst, keine Anpassung übernommen",
    ),
    "adapted_records": ("Records", "Daten\u00adsätze"),
    "error_before": ("Error before", "Fehler vorher"),
    "error_after": ("Error after", "Fehler nachher"),
    "gain": ("Error removed", "Fehler beseitigt"),
    "gain_hint": (
        "Error: mean squared error of the predicted quality on held-out grades, of the router"
        " replaced (before) and of the new version (after). Error removed: the share of that"
        " error the new version removed (below 0: it grew). A version is promoted only when it"
        " routes better: its routing gain (the grades of the models it picks, less their cost,"
        " on graded requests it was not fitted on) must exceed twice its standard error.",
        "Fehler: mittlerer quadratischer Fehler der vorhergesagten Qualität auf zurückgehaltenen"
        " Bewertungen, des abgelösten Routers (vorher) und der neuen Version (nachher). Fehler"
        " beseitigt: der Anteil dieses Fehlers, den die neue Version beseitigt hat (unter 0: er"
        " ist gewachsen). Übernommen wird eine"
        " Version nur, wenn sie besser routet: ihr Routing-Gewinn (die Bewertungen der gewählten"
        " Modelle abzüglich ihrer Kosten, auf Bewertungen, an die sie nicht angepasst wurde) muss"
        " ihren doppelten Standardfehler übersteigen.",
    ),
    "routing_gain": ("Routing gain", "Routing-Gewinn"),
    "routing_gain_hint": (
        "Routing gain: how much better the grades of the new version's picks were than the"
        " replaced router's, on the held-out grades (grade points, cost included).",
        "Routing-Gewinn: um wie viel die Bewertungen der Modelle, die die neue Version wählt,"
        " besser waren als die des abgelösten Routers, auf zurückgehaltenen Bewertungen"
        " (Bewertungspunkte, Kosten eingerechnet).",
    ),
    "dept_gain": ("Routing gain (version in use)", "Routing-Gewinn (verwendete Version)"),
    # counts ({n}; the form for 1 is <name>_one: i18n.counted)
    "dept_gain_judged": ("{n} judged", "{n} beurteilt"),
    "dept_gain_judged_one": ("{n} judged", "{n} beurteilt"),
    "dept_gain_none": ("none judged", "keine beurteilt"),
    "dept_gain_too_few": (
        "{n} judged: too few (under {least})",
        "{n} beurteilt: zu wenige (unter {least})",
    ),
    "dept_gain_too_few_one": (
        "{n} judged: too few (under {least})",
        "{n} beurteilt: zu wenige (unter {least})",
    ),
    "dept_gain_hint": (
        "Routing gain (version in use): on the department's graded requests its promotion"
        " judged (held out, with two graded models or more), how much better the grades of the"
        " version's picks were than the replaced router's, cost included, ± one standard error;"
        " measured when it was promoted, on every graded request it read (not only this month's)."
        " Below {least} judged requests, as many as a promotion needs, the mean is noise: only"
        " the count is shown.",
        "Routing-Gewinn (verwendete Version): auf den bewerteten Anfragen des Bereichs, die bei"
        " ihrer Übernahme beurteilt wurden (zurückgehalten, mit Bewertungen von mindestens zwei"
        " Modellen), um wie viel die Bewertungen der Modelle, die die Version wählt, besser waren"
        " als die des abgelösten Routers, Kosten eingerechnet, ± ein Standardfehler; gemessen bei"
        " der Übernahme, auf allen bewerteten Anfragen, die sie gelesen hat (nicht nur denen"
        " dieses Monats). Unter {least} beurteilten Anfragen, so vielen wie eine Übernahme"
        " braucht, ist der Mittelwert Rauschen: dann steht nur die Anzahl da.",
    ),
    "gain_in_use": (
        "Routing gain of the version in use",
        "Routing-Gewinn der verwendeten Version",
    ),
    "gain_in_use_hint": (
        "The routing gain its promotion was decided on: how much better the grades of its picks"
        " were than the replaced router's, on graded requests it was not fitted on (grade points,"
        " cost included), ± one standard error.",
        "Der Routing-Gewinn, auf den hin sie übernommen wurde: um wie viel die Bewertungen der"
        " Modelle, die sie wählt, besser waren als die des abgelösten Routers, auf Bewertungen,"
        " an die sie nicht angepasst wurde (Bewertungspunkte, Kosten eingerechnet), ± ein"
        " Standardfehler.",
    ),
    "restored_by": ("restored by version {v}", "wiederhergestellt durch Version {v}"),
    "base_restored": (
        "adaptation rolled back (version {v})",
        "Anpassung zurückgesetzt (Version {v})",
    ),
    # after a rollback, adaptation learns from the graded requests since it (docs/router.md)
    "learning_since_rollback": (
        "Learning uses the graded requests since the rollback of {time} ({n} so far): what was"
        " learned from the earlier ones was rolled back (stellwerk router adapt --all-records"
        " includes them).",
        "Gelernt wird aus den bewerteten Anfragen seit dem Zurücksetzen am {time} (bisher {n}):"
        " Was aus den früheren gelernt wurde, ist zurückgesetzt (stellwerk router adapt"
        " --all-records bezieht sie ein).",
    ),
    "learning_since_rollback_one": (
        "Learning uses the graded requests since the rollback of {time} ({n} so far): what was"
        " learned from the earlier ones was rolled back (stellwerk router adapt --all-records"
        " includes them).",
        "Gelernt wird aus den bewerteten Anfragen seit dem Zurücksetzen am {time} (bisher {n}):"
        " Was aus den früheren gelernt wurde, ist zurückgesetzt (stellwerk router adapt"
        " --all-records bezieht sie ein).",
    ),
    "version_adapt": ("adapted", "angepasst"),
    "version_rollback": ("rolled back to {v}", "zurückgesetzt auf {v}"),
    "no_versions": (
        "No version promoted yet: the base router is in use (stellwerk router adapt).",
        "Noch keine Version übernommen: der Basis-Router ist in Verwendung"
        " (stellwerk router adapt).",
    ),
    "adapt_runs": ("Adaptation runs", "Anpassungsläufe"),
    "adapt_runs_newest": (
        "the newest {limit}, any month",
        "die letzten {limit}, aus allen Monaten",
    ),
    "adapt_outcome": ("Outcome", "Ergebnis"),
    "adapt_read": ("Read", "Gelesen"),
    "adapt_usable": ("Usable", "Verwendbar"),
    "adapt_judged": ("Judged", "Beurteilt"),
    "adapt_form": ("Form", "Form"),
    "adapt_promoted": ("promoted", "übernommen"),
    "adapt_promoted_version": ("as version {v}", "als Version {v}"),
    "adapt_not_promoted": ("not promoted", "nicht übernommen"),
    # why a run promoted nothing (``adapt.NotPromoted``), here and in the overview's audit table
    # (``AdaptationRun.worded`` fills in the run's figures)
    "adapt_reason_too_few_records": (
        "too few usable records to fit",
        "zu wenige verwendbare Bewertungen zum Anpassen",
    ),
    "adapt_reason_too_few_judged": (
        "too few judged (under {least})",
        "zu wenige beurteilt (unter {least})",
    ),
    "adapt_reason_no_gain": ("routes no better", "routet nicht besser"),
    "adapt_reason_under_margin": (
        "gain under the margin (needed over {needed})",
        "Gewinn unter der Schwelle (nötig: über {needed})",
    ),
    "adapt_reason_worse_for": ("routes worse for {names}", "routet schlechter für {names}"),
    "adapt_reason_no_correction": (
        "fitted on every record, no correction beat the base",
        "auf allen Datensätzen angepasst, war keine Korrektur besser als die Basis",
    ),
    "no_adapt_runs": (
        "No adaptation has run yet: the router has not tried to learn (stellwerk router adapt,"
        " or router.adapt_every_s for a schedule).",
        "Noch kein Anpassungslauf: der Router hat noch nicht zu lernen versucht (stellwerk router"
        " adapt, oder router.adapt_every_s für einen Zeitplan).",
    ),
    "adapt_runs_hint": (
        "Every adaptation run, by command or on schedule, promoted or not (the audit log's"
        " router.adapt entries). Read: the graded requests it read; usable: those it could learn"
        " from (a request is unusable when graded only for models the router was not trained on,"
        " or without a latent vector); judged: the usable ones with grades of two models or"
        " more, each judged by a candidate not fitted on it. Routing gain ± one"
        " standard error: of the best form's candidate over the router in use, in grade points,"
        " cost included. A candidate is promoted only when at least {least} requests were judged,"
        " its gain exceeds {margin} times its standard error and no department is routed worse by"
        " as much.",
        "Jeder Anpassungslauf, per Befehl oder nach Zeitplan, übernommen oder nicht (die"
        " Einträge router.adapt im Audit-Log). Gelesen: die bewerteten Anfragen, die er gelesen"
        " hat; verwendbar: die, aus denen er lernen konnte (nicht verwendbar ist eine Anfrage,"
        " die nur für Modelle bewertet wurde, auf denen der Router nicht trainiert wurde, oder"
        " die keinen latenten Vektor hat); beurteilt: die verwendbaren mit Bewertungen von"
        " mindestens zwei Modellen, jede von einem Kandidaten beurteilt, der nicht an sie"
        " angepasst wurde. Routing-Gewinn ± ein"
        " Standardfehler: des Kandidaten der besten Form gegenüber dem verwendeten Router, in"
        " Bewertungspunkten, Kosten eingerechnet. Übernommen wird ein Kandidat nur, wenn"
        " mindestens {least} Anfragen beurteilt wurden, sein Gewinn das {margin}-Fache seines"
        " Standardfehlers übersteigt und kein Bereich um so viel schlechter geroutet wird.",
    ),
    "router_does_not_learn": (
        "This router does not learn; only the learned router (router.kind: learned) adapts.",
        "Dieser Router lernt nicht; nur der gelernte Router (router.kind: learned) passt sich an.",
    ),
    "shadow_cost": ("Cost of shadow grading", "Kosten der Schattenbewertung"),
    "shadow_off": (
        "Shadow grading is off (router.shadow.share is 0).",
        "Schattenbewertung ist aus (router.shadow.share ist 0).",
    ),
    "charged_to": ("charged to", "zulasten von"),
    "shadow_calls": ("Calls", "Aufrufe"),
    "shadow_pick": (
        "Grades unfamiliar prompts first, and {share} of the routed requests with familiar"
        " prompts · at most {rate} per minute per gateway process, half of them kept for"
        " unfamiliar prompts",
        "Bewertet ungewohnte Prompts zuerst und {share} der gerouteten Anfragen mit gewohnten"
        " Prompts · höchstens {rate} pro Minute je Gateway-Prozess, die Hälfte davon für"
        " ungewohnte Prompts reserviert",
    ),
    "shadow_pick_hint": (
        "Only routed chat requests that are not streamed and call no tools, of the departments,"
        " routes and data classes router.shadow lists. While another department waits, none gets"
        " more than half of a minute's gradings. Each gateway process has its own rate: with"
        " several replicas, their rates add up.",
        "Nur geroutete Chat-Anfragen, die nicht gestreamt werden und keine Werkzeuge aufrufen, aus"
        " den Bereichen, Routen und Datenklassen, die router.shadow nennt. Solange ein anderer"
        " Bereich wartet, erhält keiner mehr als die Hälfte der Bewertungen einer Minute. Jeder"
        " Gateway-Prozess hat seine eigene Rate: bei mehreren Replikaten addieren sie sich.",
    ),
    "account_spent": ("Account spent", "Verbrauch des Kontos"),
    "shadow_refused": ("Refused by the account's limits", "Durch Limits des Kontos abgelehnt"),
    "shadow_skipped": (
        "Gradings skipped by this gateway replica since its start",
        "Übersprungene Bewertungen dieses Gateway-Replikats seit seinem Start",
    ),
    "shadow_skipped_none": (
        "This gateway replica has skipped no grading since its start.",
        "Dieses Gateway-Replikat hat seit seinem Start keine Bewertung übersprungen.",
    ),
    "shadow_skipped_hint": (
        "Counted per gateway process and not stored: another replica, or a restart, counts"
        " its own (metric stellwerk_shadow_skipped_total).",
        "Je Gateway-Prozess gezählt und nicht gespeichert: ein anderes Replikat oder ein"
        " Neustart zählt eigene (Metrik stellwerk_shadow_skipped_total).",
    ),
    "skip_judge_context": (
        "the judging call (question, both answers, rubric) would not fit the reference model's"
        " context: mostly a long question or routed answer (a client's max_tokens bounds its"
        " answer; without it a model may write to the end of its context), else"
        " router.shadow.reference_max_tokens too high (stellwerk config check warns of that)",
        "der Bewertungsaufruf (Frage, beide Antworten, Anleitung) passt nicht in den Kontext des"
        " Referenzmodells: meist eine lange Frage oder Antwort (max_tokens des Clients begrenzt"
        " seine Antwort; ohne schreibt ein Modell womöglich bis ans Ende seines Kontexts), sonst"
        " ein zu hohes router.shadow.reference_max_tokens (stellwerk config check warnt davor)",
    ),
    "skip_busy": (
        "four gradings were running already",
        "es liefen schon vier Bewertungen",
    ),
    "skip_paused": (
        "paused for a minute: the account's limits refused a grading call",
        "für eine Minute pausiert: die Limits des Kontos haben einen Aufruf abgelehnt",
    ),
    "skip_rate": (
        "over router.shadow.requests_per_minute",
        "über router.shadow.requests_per_minute",
    ),
    "skip_department_share": (
        "the department had its half of a minute's gradings while another waited",
        "der Bereich hatte seine Hälfte der Bewertungen einer Minute, während ein anderer wartete",
    ),
    "shadow_budget_hint": (
        "Shadow grading stops while the account's monthly budget is spent.",
        "Die Schattenbewertung ruht, solange das Monatsbudget des Kontos aufgebraucht ist.",
    ),
}
