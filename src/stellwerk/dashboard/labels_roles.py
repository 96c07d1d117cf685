"""The labels of the keys' roles and of who may log in with which (the login form, a head key's
note and refusals), English and German; :mod:`stellwerk.dashboard.i18n` serves them with the
others."""

from __future__ import annotations

from typing import Final

ROLES: Final[dict[str, tuple[str, str]]] = {
    "admin_key": (
        "Admin, viewer, head or data-owner key",
        "Admin-, Lese-, Bereichsleitungs- oder Verantwortlichen-Schlüssel",
    ),
    "login_hint": (
        "Log in with an API key that has the admin role, the viewer role (sees everything,"
        " changes nothing), the head role of a department (sees its department's page, changes"
        " nothing), or the owner role of a department (for the consent of its models). The key"
        " is checked once and exchanged for a session; it is never stored in the browser.",
        "Melden Sie sich mit einem API-Schlüssel mit Admin-Rolle an, mit der Rolle Lesezugriff"
        " (sieht alles, ändert nichts), mit der Rolle Bereichsleitung eines Bereichs (sieht die"
        " Seite seines Bereichs, ändert nichts) oder mit der Rolle „Verantwortliche“ eines"
        " Bereichs (für die Einwilligung zu seinen Modellen). Der Schlüssel wird einmal geprüft"
        " und gegen eine Sitzung getauscht; im Browser wird er nicht gespeichert.",
    ),
    "role_user": ("user", "Nutzer"),
    "role_owner": ("owner", "Verantwortliche"),
    "role_admin": ("admin", "Admin"),
    "role_viewer": ("viewer", "Lesezugriff"),
    "role_head": ("head", "Bereichsleitung"),
    "role_metrics": ("metrics", "Metriken"),
    # a head key: its department's page, no change; who made or revoked a key of its
    # department, when that is not a key of the department (governance/key_actors.py)
    "an_admin": ("an admin", "ein Admin"),
    "head_note": (
        "Read only: this key (role head) sees the page of its department, {department}, and"
        " changes nothing.",
        "Nur lesen: Dieser Schlüssel (Rolle Bereichsleitung) sieht die Seite seines Bereichs"
        " {department} und ändert nichts.",
    ),
    "msg_head_only": (
        "This key (role head) sees only the page of its own department; every other page needs"
        " an admin or viewer key.",
        "Dieser Schlüssel (Rolle Bereichsleitung) sieht nur die Seite seines eigenen Bereichs;"
        " jede andere Seite braucht einen Admin- oder Lese-Schlüssel.",
    ),
    # its own department's name in another case (department_path.py): no other department's page
    "msg_head_other_case": (
        "There is no such page: department names are case-sensitive. The link below leads to"
        " the page of this key's department.",
        "Diese Seite gibt es nicht: Bereichsnamen unterscheiden Groß- und Kleinschreibung. Der"
        " Link unten führt zur Seite des Bereichs dieses Schlüssels.",
    ),
    "msg_head_read_only": (
        "This key has the role head: it may see its department's page but change nothing;"
        " changes need an admin key.",
        "Dieser Schlüssel hat die Rolle Bereichsleitung: Er darf die Seite seines Bereichs"
        " sehen, aber nichts ändern; Änderungen brauchen einen Admin-Schlüssel.",
    ),
}
