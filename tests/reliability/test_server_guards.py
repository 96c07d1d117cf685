"""One tenant cannot hurt another, and nothing unauthenticated costs memory (the server's part).

Each test is an attack on a running gateway (uvicorn on loopback, as served): oversized bodies to
every endpoint without a key, slow senders, one key holding every slot, the operations endpoints
read without a key, the API docs pages loading third-party scripts. The backend is a closed port
(or a bare listener): none of these may reach a model.
"""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, closing, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from stellwerk.config import parse_config
from stellwerk.gateway import create_app
from stellwerk.gateway.refusal import RECORDED
from stellwerk.gateway.server import serve_in_thread
from tests.fixtures.gateway import ENVIRON, KEYS, Gateway, in_process, migrated_copy, raw_config

LIMIT = 64 * 1024  # server.max_body_bytes of the test config
OPS_KEY = "sk-stw-test-ops-3c8e0f5a9d7b2e14"
ADMIN_KEY = "sk-stw-test-admin-8d2b6f1e0c4a9e73"
RESEARCH = {"authorization": f"Bearer {KEYS['research']}"}
LEGAL = {"authorization": f"Bearer {KEYS['legal']}"}


@pytest.fixture
def guarded_raw(tmp_path: Path, ledger_template: Path) -> dict[str, Any]:
    """The test config with its defaults for the operations endpoints, a metrics key and an admin
    key; the backend is a closed port."""
    raw = raw_config("http://127.0.0.1:9", migrated_copy(ledger_template, tmp_path / "ledger.db"))
    del raw["server"]["ops_require_key"]
    raw["departments"].append(
        {
            "name": "platform",
            "keys": [
                {"id": "ops-1", "key_env": "STW_TEST_KEY_OPS", "role": "metrics"},
                {"id": "admin-1", "key_env": "STW_TEST_KEY_ADMIN", "role": "admin"},
            ],
        }
    )
    return raw


GUARDED_ENV = {**ENVIRON, "STW_TEST_KEY_OPS": OPS_KEY, "STW_TEST_KEY_ADMIN": ADMIN_KEY}


@contextmanager
def serving(raw: dict[str, Any]) -> Iterator[Gateway]:
    """Served by uvicorn: the guards on the connection (deadlines, head size) are the server's."""
    config = parse_config(raw)
    with serve_in_thread(create_app(config, environ=GUARDED_ENV), settings=config.server) as url:
        yield Gateway(url, config, config.server.database_url)


def in_app(raw: dict[str, Any]) -> AbstractContextManager[Gateway]:
    """In process: for the guards the app keeps itself."""
    return in_process(raw, GUARDED_ENV)


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname or "", parts.port or 80), timeout=10)
    return sock


def _head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "host: gateway",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read one HTTP answer (the gateway sends content-length on every error)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the connection closed before an answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    while len(body) < int(headers.get("content-length", "0")):
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(status_line.split()[1]), headers, body


# Every endpoint that takes a body, and how its 413 reads: the OpenAI envelope, Ollama's error,
# the admin API's JSON, the dashboard's HTML page.
BODY_ENDPOINTS = [
    ("/v1/chat/completions", "openai"),
    ("/v1/embeddings", "openai"),
    ("/v1/responses", "openai"),
    ("/v1/completions", "openai"),
    ("/api/chat", "ollama"),
    ("/api/generate", "ollama"),
    ("/api/embed", "ollama"),
    ("/api/embeddings", "ollama"),
    ("/api/show", "ollama"),
    ("/admin/keys", "openai"),
    ("/admin/use-cases", "openai"),
    ("/dashboard/login", "html"),
]


def _check_413(status: int, headers: dict[str, str], body: bytes, style: str) -> None:
    assert status == 413, body[:300]
    if style == "html":
        assert headers["content-type"].startswith("text/html")
        return
    error = json.loads(body)["error"]
    if style == "ollama":
        assert isinstance(error, str) and "limit" in error
    else:
        assert error["code"] == "payload_too_large"
        assert "limit" in error["message"]


@pytest.mark.parametrize(("path", "style"), BODY_ENDPOINTS)
def test_an_oversized_body_without_a_key_is_refused_before_it_is_read(
    guarded_raw: dict[str, Any], path: str, style: str
) -> None:
    """A 64 MiB body announced to any endpoint, no key: 413 at once, nothing of it read, and
    no usage record (its key is not known: counted, tests/gateway/test_keyless.py)."""
    with serving(guarded_raw) as gw, closing(_connect(gw.url)) as sock:
        head = {"content-type": "application/json", "content-length": str(64 * 1024 * 1024)}
        sock.sendall(_head("POST", path, head) + b"{" + b" " * 1024)
        status, headers, body = _answer(sock)
    _check_413(status, headers, body, style)
    assert headers["connection"] == "close"
    ledger = gw.ledger()
    records = [(r.status, r.error_kind) for r in ledger.recent_usage()]
    ledger.close()
    assert records == []


@pytest.mark.parametrize(("path", "style"), BODY_ENDPOINTS)
def test_an_oversized_chunked_body_is_cut_while_it_is_read(
    guarded_raw: dict[str, Any], path: str, style: str
) -> None:
    """A body without a length, with a key (without one the model endpoints answer 401 before
    they read): the chunk that passes the limit ends it with a 413 (the client then stops
    sending; on today's main the admin API and the dashboard read on, and wait for the rest).
    An endpoint that records every request records it, and the 413 carries the record's
    request id, as every other answer of it does (it used to be the one without)."""
    piece = b"x" * 8192
    chunk = b"%x\r\n%s\r\n" % (len(piece), piece)
    with serving(guarded_raw) as gw, closing(_connect(gw.url)) as sock:
        head = {**RESEARCH, "content-type": "application/json", "transfer-encoding": "chunked"}
        sock.sendall(_head("POST", path, head))
        for _ in range(LIMIT // len(piece) + 1):
            sock.sendall(chunk)
        status, headers, body = _answer(sock)
    _check_413(status, headers, body, style)
    assert headers["connection"] == "close"
    ledger = gw.ledger()
    records = [(r.request_id, r.status, r.error_kind) for r in ledger.recent_usage()]
    ledger.close()
    if ("POST", path) in RECORDED:
        assert records == [(headers["x-stellwerk-request-id"], 413, "payload_too_large")]
    else:
        assert records == [] and "x-stellwerk-request-id" not in headers


@pytest.mark.parametrize("chunked", [False, True], ids=["announced", "chunked"])
def test_an_endpoints_own_tighter_limit_closes_the_connection_too(
    guarded_raw: dict[str, Any], chunked: bool
) -> None:
    """``/v1/feedback`` takes 4 KiB (under the server's limit): a longer body gets its 413 and
    the connection is closed, as at the server's limit; the rest of the body is not read (it
    used to stay open, waiting for the rest)."""
    piece = b"x" * 1024
    with serving(guarded_raw) as gw, closing(_connect(gw.url)) as sock:
        head = {**RESEARCH, "content-type": "application/json"}
        if chunked:
            sock.sendall(_head("POST", "/v1/feedback", {**head, "transfer-encoding": "chunked"}))
            for _ in range(5):
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        else:
            sock.sendall(_head("POST", "/v1/feedback", {**head, "content-length": "8000"}))
            sock.sendall(piece)
        status, headers, body = _answer(sock)
        assert _at_end(sock)  # closed by the gateway
    _check_413(status, headers, body, "openai")
    assert headers["connection"] == "close"


def test_the_dashboard_login_form_is_cut_at_its_own_limit(guarded_raw: dict[str, Any]) -> None:
    """A login form over the dashboard's 16 KiB (under the server's limit): the dashboard's own
    error page with 413 (today: the whole body read, then a 400)."""
    form = {"content-type": "application/x-www-form-urlencoded"}
    with in_app(guarded_raw) as gw:
        answer = gw.post("/dashboard/login", content=b"key=" + b"x" * 20_000, headers=form)
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith("text/html")
    assert "the form is larger than 16384 bytes" in answer.text


def test_the_admin_api_authenticates_before_it_parses(guarded_raw: dict[str, Any]) -> None:
    """No key and a body that is not JSON: 401 (today: 400, the body parsed first)."""
    with in_app(guarded_raw) as gw:
        json_type = {"content-type": "application/json"}
        answer = gw.post("/admin/keys", content=b"not json", headers=json_type)
        admin = gw.post(
            "/admin/keys",
            content=b"not json",
            headers={**json_type, "authorization": f"Bearer {ADMIN_KEY}"},
        )
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "invalid_api_key"
    assert admin.status_code == 400  # authenticated, then parsed


def _at_end(sock: socket.socket) -> bool:
    """Whether the server has closed the connection: the end of the stream, or a reset (a
    server that closes with body bytes it did not read unread in its buffer resets it; which of
    the two a client sees is a race). An open connection makes ``recv`` time out: an error."""
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True


def _closed_within(sock: socket.socket, steps: list[bytes], wait_s: float) -> bytes | None:
    """Send ``steps`` one by one, ``wait_s`` apart; what the server sent when it closed the
    connection, or None if it was still open after the last step."""
    for step in steps:
        try:
            sock.sendall(step)
        except OSError:
            return b""
        readable, _, _ = select.select([sock], [], [], wait_s)
        if readable:
            received = b""
            try:
                while chunk := sock.recv(65536):
                    received += chunk
            except OSError:
                pass
            return received
    return None


SLOW = {"header_timeout_s": 1, "body_timeout_s": 1}


def test_a_slow_request_head_is_cut_off(guarded_raw: dict[str, Any]) -> None:
    """Headers sent a byte every quarter second: the head deadline (1 s here) closes the
    connection with 408 long before the 40 bytes are through (today: open as long as it sends)."""
    guarded_raw["server"].update(SLOW)
    head = _head("GET", "/healthz", {"x-padding": "a" * 40})
    with serving(guarded_raw) as gw:
        with closing(_connect(gw.url)) as sock:
            sock.sendall(head[:16])
            received = _closed_within(sock, [bytes([b]) for b in head[16:56]], 0.25)
        assert received is not None, "the slow head was not cut off"
        assert received.startswith(b"HTTP/1.1 408")
        assert httpx.get(gw.url + "/healthz").status_code == 200  # others are served


def test_an_endless_request_header_is_cut(guarded_raw: dict[str, Any]) -> None:
    """One header streamed fast, up to 8 MiB: 431 once the head passes server.max_header_bytes
    (64 KiB by default), the connection closed (today: the parser holds it all in memory)."""
    piece = b"a" * 65536
    with serving(guarded_raw) as gw, closing(_connect(gw.url)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: gateway\r\nx-big: ")
        received = _closed_within(sock, [piece] * 128, 0.05)
    assert received is not None, "the endless header was not cut off"
    assert received.startswith(b"HTTP/1.1 431")


def test_a_silent_connection_is_closed(guarded_raw: dict[str, Any]) -> None:
    """A connection that sends nothing is closed after the head deadline."""
    guarded_raw["server"].update(SLOW)
    with serving(guarded_raw) as gw, closing(_connect(gw.url)) as sock:
        readable, _, _ = select.select([sock], [], [], 10)
        assert readable and sock.recv(1024) == b""


def test_a_slow_request_body_is_cut_off(guarded_raw: dict[str, Any]) -> None:
    """A body sent a byte every quarter second, with a key: the body deadline (1 s here) closes
    the connection long before 40 of its 100 bytes are through."""
    guarded_raw["server"].update(SLOW)
    head = _head("POST", "/v1/chat/completions", {**RESEARCH, "content-length": "100"})
    with serving(guarded_raw) as gw:
        with closing(_connect(gw.url)) as sock:
            sock.sendall(head)
            received = _closed_within(sock, [b" "] * 40, 0.25)
        assert received is not None, "the slow body was not cut off"
        assert httpx.get(gw.url + "/v1/models", headers=RESEARCH).status_code == 200


@contextmanager
def _held(url: str, headers: dict[str, str]) -> Iterator[None]:
    """A chat request whose body has not all arrived yet: in flight until the block ends."""
    with closing(_connect(url)) as sock:
        sock.sendall(_head("POST", "/v1/chat/completions", {**headers, "content-length": "100"}))
        sock.sendall(b'{"model"')
        yield


@pytest.mark.parametrize("where", ["key", "department"])
def test_one_key_cannot_take_every_slot(guarded_raw: dict[str, Any], where: str) -> None:
    """A key with one request in flight (its limit) gets 429 in each API's format for any
    other request; another department's key is served; the slot is back when the first ends."""
    research = guarded_raw["departments"][0]
    (research["keys"][0] if where == "key" else research)["max_in_flight"] = 1
    with serving(guarded_raw) as gw:
        with _held(gw.url, RESEARCH):
            refused = httpx.get(gw.url + "/v1/models", headers=RESEARCH)
            chat = httpx.post(gw.url + "/api/chat", json={"model": "tiny-small"}, headers=RESEARCH)
            ollama = httpx.get(gw.url + "/api/tags", headers=RESEARCH)
            other = httpx.get(gw.url + "/v1/models", headers=LEGAL)
        for _ in range(600):  # the gateway sees the held request end (bounded wait: 30 s)
            again = httpx.get(gw.url + "/v1/models", headers=RESEARCH)
            if again.status_code != 429:
                break
            time.sleep(0.05)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_in_flight"
    assert refused.headers["retry-after"] == "1"
    assert ollama.status_code == 429 and "in flight" in ollama.json()["error"]
    assert other.status_code == 200
    assert again.status_code == 200
    assert chat.status_code == 429
    ledger = gw.ledger()
    records = [(r.department, r.api, r.status, r.error_kind) for r in ledger.recent_usage()]
    ledger.close()
    assert ("research", "ollama", 429, "too_many_in_flight") in records  # refused, recorded


def test_the_api_docs_pages_load_nothing_from_a_third_party(
    guarded_raw: dict[str, Any],
) -> None:
    """Off by default; enabled, they load their assets from the configured place only."""
    with in_app(guarded_raw) as gw:
        off = [gw.get(page).status_code for page in ("/docs", "/redoc")]
        assert gw.get("/openapi.json").status_code == 200
    assert off == [404, 404]
    guarded_raw["server"].update(api_docs=True, api_docs_assets_url="/static/api")
    with in_app(guarded_raw) as gw:
        pages = [gw.get(page) for page in ("/docs", "/redoc")]
    for page in pages:
        assert page.status_code == 200
        urls = [u for u in page.text.split("'") + page.text.split('"') if "//" in u]
        assert not [u for u in urls if u.startswith(("http:", "https:", "//"))], urls


def test_metrics_and_readiness_detail_need_an_operations_key(
    guarded_raw: dict[str, Any],
) -> None:
    """/metrics names departments: a metrics or admin key only; /readyz answers everyone with
    its status (a user key too) and the detail to those keys; /healthz is open, to a load
    balancer's HEAD too."""
    ops = {"authorization": f"Bearer {OPS_KEY}"}
    admin = {"authorization": f"Bearer {ADMIN_KEY}"}
    with in_app(guarded_raw) as gw:
        metrics = {
            name: gw.get("/metrics", headers=headers).status_code
            for name, headers in (("none", {}), ("user", RESEARCH), ("ops", ops), ("admin", admin))
        }
        anonymous = gw.get("/readyz")
        detailed = gw.get("/readyz", headers=ops)
        user = gw.get("/readyz", headers=RESEARCH)
        health = gw.get("/healthz")
        probe = gw.request("HEAD", "/healthz")
    assert metrics == {"none": 401, "user": 403, "ops": 200, "admin": 200}
    assert anonymous.json() == {"status": anonymous.json()["status"]}
    assert anonymous.status_code == detailed.status_code
    assert set(detailed.json()["backends"]) == {"llamacpp"}
    # a probe that forwards a user key reads the status, as without one (walk28 F7)
    assert (user.status_code, user.json()) == (anonymous.status_code, anonymous.json())
    assert health.status_code == 200
    assert (probe.status_code, probe.content) == (200, b"")


def test_readiness_reports_the_probes_and_probes_nothing_itself(
    guarded_raw: dict[str, Any],
) -> None:
    """Ten /readyz calls open no connection to the backend (a listener that counts them); the
    background probes run on their own interval (an hour here)."""
    with closing(socket.socket()) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.setblocking(False)
        backend = guarded_raw["backends"][0]
        backend["base_url"] = f"http://127.0.0.1:{listener.getsockname()[1]}"
        backend["breaker"] = {"probe_interval_s": 3600, "probe_timeout_s": 0.5}
        guarded_raw["server"]["ops_require_key"] = False
        with in_app(guarded_raw) as gw:
            answers = [gw.get("/readyz", timeout=10) for _ in range(10)]
        connections = 0
        while True:
            try:
                listener.accept()[0].close()
            except BlockingIOError:
                break
            connections += 1
    assert connections == 0
    assert all(a.json()["backends"]["llamacpp"]["circuit"] == "closed" for a in answers)


@pytest.mark.parametrize(
    ("size", "status"), [(60_000, b"200"), (70_000, b"431"), (200_000, b"431")]
)
def test_a_head_sent_at_once_is_held_to_the_limit(
    guarded_raw: dict[str, Any], size: int, status: bytes
) -> None:
    """A whole head in one send (one or two reads on the server): served under
    server.max_header_bytes (64 KiB), 431 past it, however few reads it took."""
    head = _head("GET", "/healthz", {"x-big": "a" * size})
    with serving(guarded_raw) as gw, closing(_connect(gw.url)) as sock:
        sock.sendall(head)
        answer = b""
        while not answer.endswith(b"\r\n\r\n") and b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 " + status), answer[:80]


def _probe(gw: Gateway, method: str) -> tuple[int, bytes]:
    with httpx.Client(base_url=gw.url, timeout=10) as client:
        answer = client.request(method, "/readyz")
    return answer.status_code, answer.content


def test_a_load_balancer_may_probe_readiness_with_head(
    served_gateway: Gateway, guarded_raw: dict[str, Any]
) -> None:
    """HEAD /readyz answers as GET does, without the body: 200 with the backend serving (the
    llama.cpp server), 503 with it down (a closed port), over HTTP (uvicorn)."""
    ready = _probe(served_gateway, "GET")
    assert ready[0] == 200, ready
    assert _probe(served_gateway, "HEAD") == (200, b"")
    guarded_raw["backends"][0]["breaker"] = {"probe_interval_s": 0.1, "probe_timeout_s": 1}
    with serving(guarded_raw) as gw:
        deadline = time.monotonic() + 30
        while _probe(gw, "GET")[0] != 503:
            assert time.monotonic() < deadline, "the probe never found the backend down"
            time.sleep(0.1)
        head = _probe(gw, "HEAD")
    assert head == (503, b"")
