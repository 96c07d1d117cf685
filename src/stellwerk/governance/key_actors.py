"""Who made or revoked a key, as a head key reads it.

A key's ``created_by`` and ``revoked_by`` name its actor: an admin key's id, ``cli:<user>`` (an
operator's login on the server) or ``config``. An admin or viewer key reads them as they are. A
head key reads its own department's keys (``GET /admin/keys``, its dashboard page), and their
actors would tell it the ids of other departments' admin keys and the operators' logins, which
nothing else it reads names; so it reads an actor only when that is a key of its own department,
and ``UNNAMED`` (the role of whoever may make or revoke a key) for any other.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace

from stellwerk.governance.key_store import KeyInfo
from stellwerk.governance.service import Governance

UNNAMED = "admin"
"""The actor a head key reads in place of one outside its department."""


def department_key_ids(gov: Governance, department: str) -> frozenset[str]:
    """The ids of ``department``'s keys: the config's and the database's, revoked ones too."""
    in_config = {k.id for d in gov.admin.config.departments if d.name == department for k in d.keys}
    stored = {k.key_id for k in gov.admin.keys.list(department=department)}
    return frozenset(in_config | stored)


def head_actor(actor: str, own: Collection[str]) -> str:
    """``actor`` as a head key reads it: itself when it is one of ``own`` (its department's key
    ids), ``UNNAMED`` otherwise."""
    return actor if actor in own else UNNAMED


def head_key(info: KeyInfo, own: Collection[str]) -> KeyInfo:
    """``info`` as a head key of its department reads it (``head_actor`` for both actors)."""
    revoked_by = None if info.revoked_by is None else head_actor(info.revoked_by, own)
    return replace(info, created_by=head_actor(info.created_by, own), revoked_by=revoked_by)
