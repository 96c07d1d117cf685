"""The labels of a data owner's consent (English, German): the model page's fact and action, the
consent page, the confirmation questions. Part of :mod:`stellwerk.dashboard.i18n`.

A model's consent is its data owner's (``data_owner`` in the config); without one there is none
to manage, except a withdrawal stored while the model had one, which outlives the owner in the
config (``ModelState.withdrawal_left``): it still refuses every request to the model, and only an
admin lifts it (``consent_left*``, ``lift_*``). Consent holds for the weights: an id that serves
the same weights as a model whose consent was withdrawn is refused with it (``same_weights*``,
``withdrawn_on_same``)."""

from __future__ import annotations

from typing import Final

from stellwerk.dashboard.formats import DASH

CONSENT: Final[dict[str, tuple[str, str]]] = {
    "consent": ("Consent", "Einwilligung"),
    "consent_yes": ("granted", "erteilt"),
    "consent_no": ("withdrawn", "widerrufen"),
    # a model without a data owner has no consent to give or withdraw: not "granted"
    "consent_none": (f"{DASH} (no data owner)", f"{DASH} (kein Datenverantwortlicher)"),
    "change_consent": ("Data owner's consent", "Einwilligung des Datenverantwortlichen"),
    "consent_nav": ("Consent", "Einwilligungen"),
    "consent_page": ("Consent of data owners", "Einwilligungen der Datenverantwortlichen"),
    "no_consent_models": (
        "No model names a data owner here.",
        "Hier nennt kein Modell einen Datenverantwortlichen.",
    ),
    # an owner key sees its department's models only: another department's may name theirs
    "no_consent_models_of": (
        "No model names {department} as its data owner.",
        "Kein Modell nennt {department} als seinen Datenverantwortlichen.",
    ),
    "withdraw_consent": ("Withdraw consent", "Einwilligung widerrufen"),
    "grant_consent": ("Re-grant consent", "Einwilligung erneut erteilen"),
    "consent_hint": (
        "Without consent no request is routed to the model. Admins and the data owner's owner"
        " keys may change it, here or through the admin API.",
        "Ohne Einwilligung wird keine Anfrage an das Modell geleitet. Ändern dürfen Admins und"
        " die Schlüssel des datenverantwortlichen Bereichs mit der Rolle „Verantwortliche“, hier"
        " oder über die Admin-API.",
    ),
    "no_data_owner": (
        "The model has no data owner, so there is no consent to manage.",
        "Das Modell hat keinen Datenverantwortlichen, also keine Einwilligung zu verwalten.",
    ),
    "confirm_consent_withdraw": (
        "Withdraw the consent of {owner} for model {model}? No request is routed to it afterwards.",
        "Einwilligung von {owner} für Modell {model} widerrufen? Danach wird keine Anfrage mehr an"
        " das Modell geleitet.",
    ),
    "confirm_consent_grant": (
        "Re-grant the consent of {owner} for model {model}?",
        "Einwilligung von {owner} für Modell {model} erneut erteilen?",
    ),
    # a withdrawal left from when the model had a data owner (ModelState.withdrawal_left)
    "consent_left": (
        "withdrawn, left from when it had a data owner",
        "widerrufen, aus der Zeit, als es einen Datenverantwortlichen hatte",
    ),
    "refused_consent": (
        "refused: consent withdrawn",
        "abgelehnt: Einwilligung widerrufen",
    ),
    "no_data_owner_now": (f"{DASH} (none now)", f"{DASH} (keiner mehr)"),
    "consent_left_note": (
        "Its data owner withdrew consent while the config named one. The config names no data"
        " owner now, but the withdrawal still holds: every request to the model is refused until"
        " an admin lifts it (here, or through the admin API or the CLI). Afterwards the model has"
        " no consent to manage.",
        "Sein Datenverantwortlicher hat die Einwilligung widerrufen, als die Konfiguration einen"
        " nannte. Jetzt nennt sie keinen mehr, aber der Widerruf gilt weiter: Jede Anfrage an das"
        " Modell wird abgelehnt, bis ein Admin ihn aufhebt (hier, über die Admin-API oder die"
        " CLI). Danach hat das Modell keine Einwilligung mehr zu verwalten.",
    ),
    "lift_withdrawal": ("Lift the withdrawal", "Widerruf aufheben"),
    "confirm_consent_lift": (
        "Lift the consent withdrawal left on model {model} from when it had a data owner?"
        " Requests are routed to it again.",
        "Den Widerruf der Einwilligung für Modell {model} aufheben, der aus der Zeit mit einem"
        " Datenverantwortlichen stammt? Danach werden wieder Anfragen an das Modell geleitet.",
    ),
    # ids serving the same weights (stellwerk.config.weights, stellwerk.policy.weights)
    "same_weights": ("Same weights as", "Gleiche Gewichte wie"),
    "same_weights_served": (
        "also served as {ids}: the consent holds for every one of them",
        "auch bereitgestellt als {ids}: die Einwilligung gilt für jedes davon",
    ),
    "withdrawn_on_same": (
        "refused: consent withdrawn on {model}, which serves the same weights",
        "abgelehnt: Einwilligung für {model} widerrufen, das dieselben Gewichte bereitstellt",
    ),
    # consent asked on an id without a data owner that serves an owned model's weights
    # (governance.catalog.HeldElsewhere): the id that manages it, before anything general
    "msg_consent_held_elsewhere": (
        "Model {subject} serves the weights of model {holder}, whose consent its data owner"
        " {owner} manages: withdraw or grant the consent on {holder}; a withdrawal there holds"
        " for {subject} too.",
        "Modell {subject} stellt die Gewichte von Modell {holder} bereit, dessen Einwilligung"
        " der Datenverantwortliche {owner} verwaltet: Die Einwilligung bei {holder} widerrufen"
        " oder erteilen; ein Widerruf dort gilt auch für {subject}.",
    ),
    "same_weights_differ": (
        "{models} serve the same weights, but differ in: {facts}",
        "{models} stellen dieselben Gewichte bereit, unterscheiden sich aber in: {facts}",
    ),
}
