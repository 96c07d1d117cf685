"""Idempotent key creation: ``POST /admin/keys`` with an ``Idempotency-Key`` header.

A client that got no answer (a 503 when the ledger failed during the commit, a broken
connection) cannot tell whether its key was made. Sent again with the same ``Idempotency-Key``
and the same body within ``REPLAY_WINDOW``, the request makes no second key; it is answered
with a 409 (``key_already_made``) naming the key the first one made. That answer cannot be the
first one: the key's secret is stored only as its SHA-256, so it is shown once, in the answer
to the request that made it. A client retrying never got that answer, so nobody has the secret:
the 409 says to revoke the key and make a new one.

1. The same ``Idempotency-Key`` with another body (the same admin key, within the window) is a
   400 ``idempotency_key_reused``: the key names one request, and that one was another.
2. The keys are the caller's: two admin keys' requests never match, whatever key they send.
3. A row is written in the transaction that makes the key, so it exists exactly when the key
   does; two requests at once with the same key make one key (the second's row collides with
   the first's primary key, its transaction rolls back, and it is answered as a retry).
4. Rows older than the window are deleted when a key is made with the header; after it, the
   same ``Idempotency-Key`` makes a new key.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from sqlalchemy import Connection, delete, insert, select

from stellwerk.errors import Conflict, InvalidRequest, shown
from stellwerk.ledger.governance_tables import gov_key_requests

REPLAY_WINDOW = timedelta(hours=24)
HEADER = "Idempotency-Key"
#: an RFC 8941 string's characters (printable ASCII), as the IETF draft of the header has it
_VALID = re.compile(r"[\x20-\x7e]{1,255}")


@dataclass(frozen=True, slots=True)
class Idempotency:
    """A request's ``Idempotency-Key`` and the SHA-256 of what it asks for."""

    key: str
    body_sha256: str


def idempotency(header: str | None, body: Mapping[str, object]) -> Idempotency | None:
    """The ``Idempotency-Key`` sent with ``body`` (the request as parsed, defaults filled in, so
    that leaving a default out asks for the same key), ``None`` without the header; a value
    that is not 1 to 255 printable ASCII characters (blanks around it dropped, as HTTP reads a
    field value) is a 400 naming the header; sent twice, it is the gate's ``duplicate_header``."""
    if header is None:
        return None
    header = header.strip(" \t")  # a field value's surrounding blanks are not part of it
    if not _VALID.fullmatch(header):
        raise InvalidRequest(
            f"{HEADER} {shown(header)} is not 1 to 255 printable ASCII characters; send a unique"
            " token of your own (a UUID) with each new key, and the same one with a retry",
            param=HEADER,
        )
    canonical = orjson.dumps(dict(body), option=orjson.OPT_SORT_KEYS)
    return Idempotency(header, hashlib.sha256(canonical).hexdigest())


def refuse_retry(connection: Connection, actor: str, request: Idempotency, now: datetime) -> None:
    """The 409 of a retry: ``actor`` sent ``request``'s key within the window, with the same
    body (with another: the 400 of rule 1); nothing when ``request`` is a new one."""
    row = connection.execute(
        select(gov_key_requests).where(
            gov_key_requests.c.actor == actor,
            gov_key_requests.c.idempotency_key == request.key,
            gov_key_requests.c.created_at > now - REPLAY_WINDOW,
        )
    ).first()
    if row is None:
        return
    if row.body_sha256 != request.body_sha256:
        raise InvalidRequest(
            f"{HEADER} {shown(request.key)} was sent with another request (at "
            f"{row.created_at:%Y-%m-%d %H:%M:%S} UTC), which made key {row.key_id}; send a new "
            f"{HEADER} with a new request",
            param=HEADER,
            code="idempotency_key_reused",
        )
    raise Conflict(
        f"key {row.key_id} was made by the request first sent with {HEADER} "
        f"{shown(request.key)} (at {row.created_at:%Y-%m-%d %H:%M:%S} UTC); no second key was "
        "made. Its secret is shown once, in the answer to that request, and is not stored: if "
        f"that answer was lost (a 503, a broken connection), revoke {row.key_id} (POST "
        f"/admin/keys/{row.key_id}/revoke) and make a new key with a new {HEADER}",
        param=HEADER,
        code="key_already_made",
    )


def remember(
    connection: Connection, actor: str, request: Idempotency, key_id: str, now: datetime
) -> None:
    """Keep ``request`` as the one that made ``key_id``, in the transaction making it (rule 3);
    rows past the window go (rule 4)."""
    connection.execute(
        delete(gov_key_requests).where(gov_key_requests.c.created_at <= now - REPLAY_WINDOW)
    )
    connection.execute(
        insert(gov_key_requests).values(
            actor=actor,
            idempotency_key=request.key,
            body_sha256=request.body_sha256,
            key_id=key_id,
            created_at=now,
        )
    )
