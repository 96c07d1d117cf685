"""The labels of the audit log's entries on the dashboard (the overview's latest audit events),
English and German: the kind of each target (``target_<kind>``), each action
(``action_<action>``), the names of the details it writes (``detail_<name>``; a name that means
something else in one action or inside one detail is looked up as ``detail_<action>.<name>`` or
``detail_<detail>.<name>`` first), and what a ``config.load`` entry says of the settings that
changed (``config_*``, the kinds of settings as ``target_<kind>``); the reasons a ``router.adapt``
run promoted nothing are the router-learning page's (:mod:`labels_learning`,
``adapt_reason_<reason>``).
:mod:`stellwerk.dashboard.i18n` serves them with the others, :mod:`audit_details` uses them.
"""

from __future__ import annotations

from typing import Final

AUDIT: Final[dict[str, tuple[str, str]]] = {
    # the kind of a target, shown before its name (``target_<kind>``; an unknown kind as it is)
    "target_model": ("Model", "Modell"),
    "target_department": ("Department", "Bereich"),
    "target_key": ("Key", "Schlüssel"),
    "target_use_case": ("Use case", "Anwendungsfall"),
    "target_router": ("Router", "Router"),
    "target_config": ("Config", "Konfiguration"),
    # the name of a config passed to the app without a file (governance.admin.IN_CODE)
    "target_config_in_code": ("(built in code)", "(im Programmcode erstellt)"),
    "target_usage": ("Usage records", "Nutzungsdaten"),
    "target_graded_records": ("Graded requests", "Bewertete Anfragen"),
    "action_router.adapt": ("router adapted", "Router angepasst"),
    "action_router.rollback": ("router rolled back", "Router zurückgesetzt"),
    "action_model.seed": ("model registered", "Modell erfasst"),
    "action_model.lifecycle": ("lifecycle changed", "Lebenszyklus geändert"),
    "action_model.consent": ("consent changed", "Einwilligung geändert"),
    "action_limits.set": ("limits set", "Limits gesetzt"),
    "action_key.create": ("key created", "Schlüssel erstellt"),
    "action_key.revoke": ("key revoked", "Schlüssel gesperrt"),
    "action_use_case.create": ("use case registered", "Anwendungsfall erfasst"),
    "action_use_case.update": ("use case changed", "Anwendungsfall geändert"),
    "action_config.load": ("config loaded", "Konfiguration geladen"),
    "action_usage.expire": ("usage records expired", "Nutzungsdaten gelöscht (Aufbewahrung)"),
    "action_calibration.record": ("calibration recorded", "Kalibrierung erfasst"),
    "action_catalog.costs": ("catalog costs set", "Katalogkosten gesetzt"),
    "detail_from": ("from", "von"),
    "detail_to": ("to", "auf"),
    "detail_reason": ("reason", "Begründung"),
    "detail_version": ("version", "Version"),
    "detail_lifecycle": ("lifecycle", "Lebenszyklus"),
    "detail_consent": ("consent", "Einwilligung"),
    "detail_previous": ("previous config", "vorherige Konfiguration"),
    "detail_department": ("department", "Bereich"),
    "detail_role": ("role", "Rolle"),
    "detail_use_case": ("use case", "Anwendungsfall"),
    "detail_classification": ("classification", "Schutzklasse"),
    "detail_changes": ("changes", "Änderungen"),
    "detail_purpose": ("purpose", "Zweck"),
    "detail_risk_tier": ("risk tier", "Risikostufe"),
    "detail_allowed_models": ("allowed models", "zulässige Modelle"),
    "detail_oversight_contact": ("oversight", "Aufsicht"),
    "detail_name": ("name", "Name"),
    "detail_monthly_budget": ("monthly budget", "Monatsbudget"),
    "detail_requests_per_minute": ("requests/min", "Anfragen/Min."),
    "detail_tokens_per_minute": ("tokens/min", "Tokens/Min."),
    "detail_beyond_all": ("beyond every retention", "über jede Aufbewahrungsfrist"),
    "detail_deleted": ("deleted", "gelöscht"),
    "detail_cutoffs": ("cut-offs", "Stichtage"),
    "detail_run_id": ("run", "Lauf"),
    "detail_record_id": ("record", "Nachweis"),
    "detail_bank_sha256": ("prompt bank sha256", "Prompt-Sammlung sha256"),
    "detail_quality": ("quality", "Qualität"),
    "detail_pairs": ("prompts", "Prompts"),
    "detail_input_per_mtok": ("input per 1M tokens", "Eingabe je 1 Mio. Tokens"),
    "detail_output_per_mtok": ("output per 1M tokens", "Ausgabe je 1 Mio. Tokens"),
    "detail_energy_wh_per_1k_tokens": ("Wh per 1k tokens", "Wh je 1.000 Tokens"),
    "detail_calibration_run": ("calibration run", "Kalibrierlauf"),
    "detail_basis": ("basis", "Grundlage"),
    # router.adapt (learning.online.adapt_stored: routing.adapt.Adaptation.as_json and the run's
    # own figures) and router.rollback (ledger.graded.GradedStore.roll_back)
    "detail_promoted": ("promoted", "übernommen"),
    "detail_reasons": ("not promoted because", "nicht übernommen, weil"),
    "detail_router.adapt.records": ("usable records", "verwendbare Bewertungen"),
    "detail_k": ("neighbours (k)", "Nachbarn (k)"),
    "detail_tau": ("weight of the base (tau)", "Gewicht der Basis (tau)"),
    "detail_form": ("form", "Form"),
    "detail_best_form": ("best form", "beste Form"),
    "detail_form_gains": ("routing gain per form", "Routing-Gewinn je Form"),
    "detail_comparison": ("comparison", "Vergleich"),
    "detail_comparison.records": ("judged", "beurteilt"),
    "detail_grades": ("grades", "Bewertungen"),
    "detail_current_score": ("score in use", "Wert des aktiven Routers"),
    "detail_candidate_score": ("candidate's score", "Wert des Kandidaten"),
    "detail_gain": ("routing gain", "Routing-Gewinn"),
    "detail_standard_error": ("standard error", "Standardfehler"),
    "detail_min_records": ("judged needed", "nötige Beurteilungen"),
    "detail_margin": ("margin (standard errors)", "Schwelle (Standardfehler)"),
    "detail_current_error": ("error in use", "Fehler des aktiven Routers"),
    "detail_candidate_error": ("candidate's error", "Fehler des Kandidaten"),
    "detail_better": ("routes better", "routet besser"),
    "detail_worse_for": ("routes worse for", "routet schlechter für"),
    "detail_departments": ("per department", "je Bereich"),
    "detail_departments.records": ("judged", "beurteilt"),
    "detail_compared_with": ("compared with version", "verglichen mit Version"),
    "detail_seed": ("random seed", "Zufallsstartwert"),
    "detail_newest_record": ("newest graded record read (no.)", "neueste gelesene Bewertung (Nr.)"),
    "detail_read": ("records read", "gelesene Bewertungen"),
    "detail_cost_weights": ("cost weights", "Kostengewichte"),
    "detail_router.adapt.version": ("new version", "neue Version"),
    "detail_router.adapt.previous": ("version before", "vorherige Version"),
    "detail_router.rollback.version": ("new version", "neue Version"),
    "detail_router.rollback.previous": ("version before", "vorherige Version"),
    "detail_rollback_to": ("back to version", "zurück auf Version"),
    "detail_rolled_back": ("version rolled back", "zurückgenommene Version"),
    "detail_correction_of": ("correction of version", "Korrektur der Version"),
    # config.load (governance.config_changes): the kinds of settings, what became of them,
    # and the names of the settings not named above
    "target_backend": ("Backend", "Backend"),
    "target_data_class": ("Data class", "Schutzklasse"),
    "target_route": ("Route", "Route"),
    "target_governance": ("Governance rules", "Governance-Regeln"),
    "config_first": (
        "first config loaded (no earlier load to compare with)",
        "erste geladene Konfiguration (keine frühere zum Vergleich)",
    ),
    "config_changes_unknown": (
        "changes unknown: the previous load recorded no settings",
        "Änderungen unbekannt: die vorige Konfiguration hat keine Einstellungen festgehalten",
    ),
    "config_no_change": ("no governance setting changed", "keine Governance-Einstellung geändert"),
    "config_added": ("added", "hinzugefügt"),
    "config_removed": ("removed", "entfernt"),
    "config_seed_only_model": (
        "(config only: the catalog keeps its own state)",
        "(nur in der Konfiguration: der Katalog behält seinen Stand)",
    ),
    "config_seed_only_use_case": (
        "(config only: the stored use case keeps its own settings)",
        "(nur in der Konfiguration: der gespeicherte Anwendungsfall behält seine Angaben)",
    ),
    "config_unlisted": (
        "added or changed (not among the {kept} names the previous load listed)",
        "hinzugefügt oder geändert (nicht unter den {kept} Namen, die die vorige Konfiguration"
        " aufführt)",
    ),
    "config_past_cut": (
        "settings changed among the {names} names past the {listed} the previous load listed"
        " (not listed one by one)",
        "Einstellungen geändert unter den {names} Namen nach den {listed}, die die vorige"
        " Konfiguration aufführt (nicht einzeln aufgeführt)",
    ),
    "config_past_cut_unknown": (
        "the {names} names past the {listed} the previous load listed were not compared (it"
        " was recorded by an older version)",
        "die {names} Namen nach den {listed}, die die vorige Konfiguration aufführt, wurden nicht"
        " verglichen (von einer älteren Version festgehalten)",
    ),
    "config_text_unknown": (
        "the previous load kept only its first {chars} characters, a change past them cannot be"
        " told (recorded by an older version)",
        "die vorige Konfiguration hielt nur die ersten {chars} Zeichen fest, eine Änderung danach"
        " ist nicht erkennbar (von einer älteren Version festgehalten)",
    ),
    "config_credentials_added": (
        "credentials added (user:password@ or query values of the address; not shown)",
        "Zugangsdaten hinzugefügt (user:password@ oder Werte der Abfrage in der Adresse;"
        " nicht angezeigt)",
    ),
    "config_credentials_changed": (
        "credentials changed (user:password@ or query values of the address; not shown)",
        "Zugangsdaten geändert (user:password@ oder Werte der Abfrage in der Adresse;"
        " nicht angezeigt)",
    ),
    "config_credentials_removed": (
        "credentials removed from the address",
        "Zugangsdaten aus der Adresse entfernt",
    ),
    "config_every": ("every", "alle"),
    "config_none": ("none", "keine"),
    "config_inherited": ("inherited", "geerbt"),
    "config_more": (
        "… and {n} more changes (all of them: stellwerk audit, GET /admin/audit)",
        "… und {n} weitere Änderungen (alle: stellwerk audit, GET /admin/audit)",
    ),
    "config_more_one": (
        "… and {n} more change (all of them: stellwerk audit, GET /admin/audit)",
        "… und {n} weitere Änderung (alle: stellwerk audit, GET /admin/audit)",
    ),
    "detail_hosting": ("hosting", "Betriebsort"),
    "detail_data_owner": ("data owner", "Datenverantwortlicher"),
    "detail_owner": ("owner", "Verantwortlich"),
    "detail_backend": ("backend", "Backend"),
    "detail_upstream": ("upstream model", "Modell beim Backend"),
    "detail_licence": ("licence", "Lizenz"),
    "detail_openness": ("openness", "Offenheit"),
    "detail_model_card_url": ("model card", "Modellkarte"),
    "detail_evaluation_url": ("evaluation", "Evaluierung"),
    "detail_kind": ("kind", "Art"),
    "detail_base_url": ("address", "Adresse"),
    "detail_api_key_env": ("API key variable", "Variable des API-Schlüssels"),
    "detail_remote_image_urls": ("remote image URLs", "entfernte Bild-URLs"),
    "detail_max_in_flight": ("requests at once", "gleichzeitige Anfragen"),
    "detail_pilot": ("pilot", "Pilotbetrieb"),
    "detail_key_env": ("key variable", "Schlüsselvariable"),
    "detail_key_sha256": ("key SHA-256", "Schlüssel-SHA-256"),
    "detail_cost_weight": ("cost weight", "Kostengewicht"),
    "detail_unfamiliar": ("unfamiliar prompts", "unbekannte Prompts"),
    "detail_artifact": ("router file", "Router-Datei"),
    "detail_embedding_model": ("embedding model", "Embedding-Modell"),
    "detail_shadow_share": ("shadow grading share", "Anteil Schattenbewertung"),
    "detail_shadow_account": ("shadow grading charged to", "Schattenbewertung belastet"),
    "detail_shadow_departments": ("shadow graded departments", "schattenbewertete Bereiche"),
    "detail_shadow_routes": ("shadow graded routes", "schattenbewertete Routen"),
    "detail_shadow_classifications": (
        "shadow graded data classes",
        "schattenbewertete Schutzklassen",
    ),
    "detail_adapt_every_s": ("adapt every (s)", "Anpassung alle (s)"),
    "detail_compliance_mode": ("non-compliant models", "nicht konforme Modelle"),
    "detail_currency": ("currency", "Währung"),
    "detail_retention_days_minimal": (
        "retention, minimal risk (days)",
        "Aufbewahrung, minimales Risiko (Tage)",
    ),
    "detail_retention_days_limited": (
        "retention, limited risk (days)",
        "Aufbewahrung, begrenztes Risiko (Tage)",
    ),
    "detail_retention_days_high": (
        "retention, high risk (days)",
        "Aufbewahrung, hohes Risiko (Tage)",
    ),
    "detail_required_model_facts_minimal": (
        "model facts required, minimal risk",
        "Pflichtangaben Modell, minimales Risiko",
    ),
    "detail_required_model_facts_limited": (
        "model facts required, limited risk",
        "Pflichtangaben Modell, begrenztes Risiko",
    ),
    "detail_required_model_facts_high": (
        "model facts required, high risk",
        "Pflichtangaben Modell, hohes Risiko",
    ),
    "detail_required_use_case_facts_minimal": (
        "use case facts required, minimal risk",
        "Pflichtangaben Anwendungsfall, minimales Risiko",
    ),
    "detail_required_use_case_facts_limited": (
        "use case facts required, limited risk",
        "Pflichtangaben Anwendungsfall, begrenztes Risiko",
    ),
    "detail_required_use_case_facts_high": (
        "use case facts required, high risk",
        "Pflichtangaben Anwendungsfall, hohes Risiko",
    ),
}
