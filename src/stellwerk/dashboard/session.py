"""Signed session cookies and CSRF tokens.

A session is ``<payload>.<signature>``: the payload (base64url JSON) names the admin key's id,
where the key came from, a random nonce and the expiry; the signature is HMAC-SHA256 over it with
the dashboard's secret. A forged or altered cookie fails the signature; an old one fails the
expiry. The CSRF token of a session is an HMAC of its nonce, so a form post proves it was made
from a page this server rendered for that session. The login form, posted before there is a
session, carries a token bound to a random nonce in a short-lived cookie of its own.

The signature proves that this dashboard issued a cookie; whether its session is still open (not
logged out) is kept on the server, by :mod:`stellwerk.dashboard.session_store`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from stellwerk.errors import AuthenticationFailed, PermissionDenied

KeySource = Literal["config", "database"]


@dataclass(frozen=True, slots=True)
class Session:
    key_id: str
    source: KeySource
    nonce: str
    expires: int  # Unix seconds


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionCodec:
    """Issues and checks sessions and CSRF tokens with one secret."""

    def __init__(
        self, secret: bytes, *, lifetime_s: int, clock: Callable[[], float] = time.time
    ) -> None:
        if len(secret) < 16:
            raise ValueError("the session secret must be at least 16 bytes")
        self._secret = secret
        self.lifetime_s = lifetime_s
        self._clock = clock

    def _sign(self, purpose: str, data: str) -> str:
        message = f"{purpose}|{data}".encode()
        return b64(hmac.new(self._secret, message, hashlib.sha256).digest())

    def issue(self, key_id: str, source: KeySource) -> tuple[Session, str]:
        """A new session for ``key_id`` and its cookie value."""
        expires = int(self._clock()) + self.lifetime_s
        session = Session(key_id, source, secrets.token_urlsafe(16), expires)
        payload = b64(
            json.dumps(
                {"k": key_id, "s": source, "n": session.nonce, "e": expires},
                separators=(",", ":"),
            ).encode()
        )
        return session, f"{payload}.{self._sign('session', payload)}"

    def read(self, cookie: str | None) -> Session:
        """The session in ``cookie``; ``AuthenticationFailed`` if absent, forged or expired."""
        if not cookie:
            raise AuthenticationFailed("not logged in", code="login_required")
        payload, _, signature = cookie.partition(".")
        if not hmac.compare_digest(signature.encode(), self._sign("session", payload).encode()):
            raise AuthenticationFailed("the session cookie is not valid", code="login_required")
        try:
            data = json.loads(unb64(payload))
            session = Session(str(data["k"]), data["s"], str(data["n"]), int(data["e"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise AuthenticationFailed(
                "the session cookie is malformed", code="login_required"
            ) from exc
        if session.expires <= self._clock():
            raise AuthenticationFailed("the session has expired", code="session_expired")
        return session

    def signature(self, purpose: str, data: str) -> str:
        """The signature of ``data`` for ``purpose`` (a value of another cookie: ``told``)."""
        return self._sign(purpose, data)

    def signed(self, purpose: str, data: str, signature: str) -> bool:
        """Whether ``signature`` is ``data``'s for ``purpose``."""
        return hmac.compare_digest(signature.encode(), self._sign(purpose, data).encode())

    def csrf_token(self, nonce: str) -> str:
        return self._sign("csrf", nonce)

    def check_csrf(self, nonce: str, token: str | None) -> None:
        """``PermissionDenied`` unless ``token`` is the CSRF token for ``nonce``."""
        if not token or not hmac.compare_digest(token.encode(), self.csrf_token(nonce).encode()):
            raise PermissionDenied(
                "the form was not sent from this dashboard (missing or wrong CSRF token);"
                " reload the page and try again",
                code="csrf_failed",
            )

    @staticmethod
    def new_nonce() -> str:
        return secrets.token_urlsafe(16)
