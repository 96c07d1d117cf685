"""A client that hangs up while it still sends its request body (a closed tab, a flaky network,
or on purpose) is no error of the gateway's: on a model endpoint its usage record says 499
``client_disconnected`` (a refused request, as for a client that leaves before its answer), not a
500 ``internal`` (a "failed" request, a bug in the reports); on the dashboard's login form, which
needs no key, it is one quiet line of the log, not an "unexpected error" with its traceback.

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

from tests.fixtures.gateway import KEYS, Gateway, migrated_copy, raw_config, running_gateway


@pytest.fixture
def gateway(tmp_path: Path, ledger_template: Path) -> Iterator[Gateway]:
    raw: dict[str, Any] = raw_config(
        "http://127.0.0.1:9", migrated_copy(ledger_template, tmp_path / "ledger.db")
    )
    with running_gateway(raw) as gw:
        yield gw


def _send_half(url: str, path: str, headers: dict[str, str], part: bytes) -> None:
    """Announce a body of 100 bytes, send ``part`` of it, hang up."""
    where = urlsplit(url)
    lines = [f"POST {path} HTTP/1.1", "host: gateway", "content-length: 100"]
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
