"""A client that hangs up while it still sends its request body (a closed tab, a flaky network,
or on purpose) is no error of the gateway's: on a model endpoint its usage record says 499
``client_disconnected`` (a refused request, as for a client that leaves before its answer), not a
500 ``internal`` (a "failed" request, a bug in the reports); on the dashboard's login form, which
needs no key, it is one quiet line of the log, not an "unexpected error" with its traceback; on the
admin API's writes (bodies FastAPI reads), the access log says 499, not the 500 of a gateway bug
(walk 20, F2).

Sent with a raw socket to a gateway served by uvicorn (the half body and the hang-up are the
server's to see); the backend is a closed port: none of these reaches a model.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.fixtures.gateway import (
    ENVIRON,
    KEYS,
    Gateway,
    migrated_copy,
    raw_config,
    running_gateway,
)

ADMIN_KEY = "sk-stw-test-admin-half-4c8e1b7a9d2f"


@pytest.fixture
def gateway(tmp_path: Path, ledger_template: Path) -> Iterator[Gateway]:
    raw: dict[str, Any] = raw_config(
        "http://127.0.0.1:9", migrated_copy(ledger_template, tmp_path / "ledger.db")
    )
    raw["departments"].append(
        {
            "name": "it",
            "keys": [{"id": "admin-1", "key_env": "STW_TEST_KEY_ADMIN", "role": "admin"}],
        }
    )
    with running_gateway(raw, {**ENVIRON, "STW_TEST_KEY_ADMIN": ADMIN_KEY}) as gw:
        yield gw


def _send_half(
    url: str, path: str, headers: dict[str, str], part: bytes, method: str = "POST"
) -> None:
    """Announce a body of 100 bytes, send ``part`` of it, hang up."""
    where = urlsplit(url)
    lines = [f"{method} {path} HTTP/1.1", "host: gateway", "content-length: 100"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    with socket.create_connection((where.hostname or "", where.port or 80), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + part)


@pytest.mark.parametrize(
    "path", ["/v1/chat/completions", "/api/chat", "/v1/embeddings", "/api/generate"]
)
def test_a_client_gone_while_sending_its_body_is_a_499_not_a_failure(
    gateway: Gateway, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    headers = {"authorization": f"Bearer {KEYS['research']}", "content-type": "application/json"}
    _send_half(gateway.url, path, headers, b'{"model": "tiny-small", "mess')
    records = gateway.records(1)
    assert [(r.status, r.error_kind, r.model) for r in records] == [
        (499, "client_disconnected", None)
    ]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def test_a_half_sent_login_form_is_one_quiet_line_of_the_log(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    """No key needed: anyone who reaches the port could fill the log with tracebacks."""
    caplog.set_level(logging.INFO)
    form = {"content-type": "application/x-www-form-urlencoded"}
    _send_half(gateway.url, "/dashboard/login", form, b"key=abc")
    told = _dashboard_lines(caplog, "/dashboard/login")
    assert [(r.levelno, r.getMessage()) for r in told] == [
        (
            logging.INFO,
            "dashboard POST /dashboard/login: 499 the client hung up while sending its request"
            " body",
        )
    ]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    with gateway.client() as client:  # and it serves on
        assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/admin/keys",
        "/admin/limits/department/research",
        "/admin/models/tiny-small/consent",
        "/admin/models/tiny-small/lifecycle",
        "/admin/use-cases",
    ],
)
def test_a_half_sent_admin_write_is_logged_as_a_499(
    gateway: Gateway, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An operator grepping the access log for 500s looks for the gateway's bugs, not for
    clients that hung up."""
    caplog.set_level(logging.INFO)
    headers = {"authorization": f"Bearer {ADMIN_KEY}", "content-type": "application/json"}
    method = "PUT" if path.startswith("/admin/limits") else "POST"
    _send_half(gateway.url, path, headers, b'{"name": "x", "departm', method)
    assert _access_line(caplog, path).split()[:3] == [method, path, "499"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def _access_line(caplog: pytest.LogCaptureFixture, path: str) -> str:
    """The access log's line about ``path``, once the server has written it (in its thread)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for record in caplog.records:
            if record.name == "stellwerk.access" and f" {path} " in record.getMessage():
                return record.getMessage()
        time.sleep(0.05)
    raise AssertionError(f"the access log has no line about {path}")


def _dashboard_lines(caplog: pytest.LogCaptureFixture, path: str) -> list[logging.LogRecord]:
    """The dashboard's log lines about ``path``, once there is one (the server logs it in its
    own thread when it has read what there was of the form)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = [
            r for r in caplog.records if r.name == "stellwerk.dashboard" and path in r.getMessage()
        ]
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"the dashboard logged nothing about {path}")
