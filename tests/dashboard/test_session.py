"""Session cookies and CSRF tokens: what passes, and every way a forged one fails."""

from __future__ import annotations

import pytest

from stellwerk.dashboard.session import SessionCodec
from stellwerk.errors import AuthenticationFailed, PermissionDenied

SECRET = b"0123456789abcdef0123456789abcdef"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_issued_session_reads_back_until_it_expires() -> None:
    clock = Clock(1_000_000.0)
    codec = SessionCodec(SECRET, lifetime_s=600, clock=clock)
    session, cookie = codec.issue("it-admin", "config")
    assert codec.read(cookie) == session
    clock.now += 599
    assert codec.read(cookie).key_id == "it-admin"
    clock.now += 1
    with pytest.raises(AuthenticationFailed, match="expired"):
        codec.read(cookie)


def _tamper(cookie: str) -> str:
    payload, _, signature = cookie.partition(".")
    return payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + signature


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda c: "", id="empty"),
        pytest.param(lambda c: c.split(".")[0], id="no-signature"),
        pytest.param(_tamper, id="payload-changed"),
        pytest.param(lambda c: c[:-3] + "abc", id="signature-changed"),
        pytest.param(
            lambda c: SessionCodec(b"another-secret-of-32-bytes------", lifetime_s=60).issue(
                "it-admin", "config"
            )[1],
            id="other-secret",
        ),
        pytest.param(lambda c: "not a cookie at all", id="garbage"),
    ],
)
def test_forged_cookies_are_refused(make: object) -> None:
    codec = SessionCodec(SECRET, lifetime_s=600)
    _, cookie = codec.issue("it-admin", "config")
    assert callable(make)
    with pytest.raises(AuthenticationFailed):
        codec.read(make(cookie))


def test_csrf_token_belongs_to_its_session() -> None:
    codec = SessionCodec(SECRET, lifetime_s=600)
    mine, _ = codec.issue("it-admin", "config")
    other, _ = codec.issue("it-admin", "config")
    codec.check_csrf(mine.nonce, codec.csrf_token(mine.nonce))
    for token in (None, "", codec.csrf_token(other.nonce), codec.csrf_token(mine.nonce) + "x"):
        with pytest.raises(PermissionDenied, match="CSRF"):
            codec.check_csrf(mine.nonce, token)


def test_short_secrets_are_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        SessionCodec(b"short", lifetime_s=60)
