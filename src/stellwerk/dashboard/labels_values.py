"""The labels of a model's or a use case's values, as the pages show them (``t(value)``):
lifecycle states, risk tiers, hosting locations, openness, the facts a risk tier may require,
data classes and size classes (English, German). Part of :mod:`stellwerk.dashboard.i18n`."""

from __future__ import annotations

from typing import Final

VALUES: Final[dict[str, tuple[str, str]]] = {
    "proposed": ("proposed", "vorgeschlagen"),
    "in_review": ("in review", "in Prüfung"),
    "approved": ("approved", "freigegeben"),
    "deprecated": ("deprecated", "abgekündigt"),
    "retired": ("retired", "außer Betrieb"),
    "minimal": ("minimal risk", "minimales Risiko"),
    "limited": ("limited risk", "begrenztes Risiko"),
    "high": ("high risk", "hohes Risiko"),
    "on_prem": ("on premises", "eigenes Rechenzentrum"),
    # openness (the Model Openness Framework's classes), as a model's value
    "open_weights": ("open weights", "offene Gewichte"),
    "open_model": ("open model", "offenes Modell"),
    "open_tooling": ("open tooling", "offene Werkzeuge"),
    "open_science": ("open science", "offene Wissenschaft"),
    "closed": ("closed", "geschlossen"),
    # facts a risk tier may require (governance.required_model_facts / _use_case_facts)
    "fact_licence": ("licence", "Lizenz"),
    "fact_model_card_url": ("model card", "Modellkarte"),
    "fact_hosting": ("hosting location", "Betriebsort"),
    "fact_owner": ("owner", "Verantwortliche"),
    "fact_evaluation_url": ("evaluation record", "Evaluierungsnachweis"),
    "fact_oversight_contact": ("oversight contact", "Aufsichtskontakt"),
    "fact_data_owner": ("data owner", "Datenverantwortliche"),
    "fact_purpose": ("purpose", "Zweck"),
    "fact_allowed_models": ("allowed models", "erlaubte Modelle"),
    "eu_cloud": ("EU cloud", "EU-Cloud"),
    "non_eu_cloud": ("cloud outside the EU", "Cloud außerhalb der EU"),
    # a model whose config does not state its hosting (counted as the least trusted location)
    "hosting_unstated": ("not stated", "nicht angegeben"),
    "public": ("public", "öffentlich"),
    "internal": ("internal", "intern"),
    "confidential": ("confidential", "vertraulich"),
    "secret": ("secret", "geheim"),
    "small": ("small", "klein"),
    "medium": ("medium", "mittel"),
    "large": ("large", "groß"),
}
