"""The data plane is declared once (``gateway/data_plane.py``): every route is served, documented
in ``/openapi.json`` as declared, and a wrong method is a 405 in the API's own error format; the
endpoints that write a usage record for every request are the ones the table says
(``Endpoint.records``, of which ``refusal.RECORDED`` is made). In process, no model server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from stellwerk.config import parse_config
from stellwerk.gateway import create_app
from stellwerk.gateway.data_plane import ENDPOINTS
from stellwerk.gateway.refusal import RECORDED
from tests.fixtures.gateway import (
    ENVIRON,
    KEYS,
    OFFLINE_BACKEND,
    in_process,
    migrated_copy,
    raw_config,
)


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, object]:
    return raw_config("http://127.0.0.1:9", f"sqlite:///{tmp_path / 'ledger.db'}")


def test_every_route_is_documented_as_declared(app_config: dict[str, object]) -> None:
    schema = create_app(parse_config(app_config), environ=ENVIRON).openapi()
    for endpoint in ENDPOINTS:
        operation = schema["paths"][endpoint.documented_path][endpoint.method.lower()]
        assert operation["tags"] == [endpoint.tag]
        assert ("security" in operation) is endpoint.keyed, endpoint.path
        assert operation["description"], endpoint.path  # the handler's docstring
    declared = {(e.method.lower(), e.documented_path) for e in ENDPOINTS}
    documented = {
        (method, path)
        for path, operations in schema["paths"].items()
        if path.startswith(("/v1/", "/api/"))
        for method in operations
    }
    assert documented == declared


def test_a_wrong_method_is_a_405_in_the_apis_own_format(app_config: dict[str, object]) -> None:
    app = create_app(parse_config(app_config), environ=ENVIRON)

    """The 405 says which methods the path takes, in the ``allow`` header HTTP requires and in
    its message (it said ``Method Not Allowed``); a path of several routes names them all."""

    async def wrong_methods() -> list[tuple[str, str, httpx.Response]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            answers = []
            for endpoint in ENDPOINTS:
                wrong = "GET" if endpoint.method != "GET" else "POST"
                answer = await client.request(wrong, endpoint.path)
                answers.append((wrong, endpoint.path, answer))
            answers.append(("HEAD", "/v1/models", await client.head("/v1/models")))
            answers.append(("DELETE", "/admin/use-cases", await client.delete("/admin/use-cases")))
        return answers

    for wrong, path, answer in asyncio.run(wrong_methods()):
        assert answer.status_code == 405, path
        allowed = sorted({e.method for e in ENDPOINTS if e.path == path} or {"GET", "POST"})
        assert answer.headers["allow"] == ", ".join(allowed), path
        message = f"method '{wrong}' is not allowed on '{path}'; it takes {', '.join(allowed)}"
        if wrong == "HEAD":
            continue  # no body
        error = answer.json()["error"]
        if path.startswith("/api/"):
            assert error == message
        else:
            assert error["message"] == message and error["code"] == "http_405"


def test_the_endpoints_that_record_every_request_are_the_ones_the_table_says(
    tmp_path: Path, ledger_template: Path
) -> None:
    """Every endpoint asked once with a key and a body that is not JSON: the handlers that write
    a usage record for it are exactly those of ``RECORDED`` (which the gate and the body limit
    use to record what they refuse), each with the record's api and endpoint, and their answers
    carry its request id."""
    database_url = migrated_copy(ledger_template, tmp_path / "ledger.db")
    auth = {"authorization": f"Bearer {KEYS['research']}", "content-type": "application/json"}
    ids: dict[tuple[str, str], str | None] = {}
    with in_process(raw_config(OFFLINE_BACKEND, database_url)) as gw:
        for e in ENDPOINTS:
            body = None if e.method == "GET" else b"{"
            answer = gw.request(e.method, e.path, content=body, headers=auth)
            assert answer.status_code < 500, (e.path, answer.status_code)
            ids[(e.method, e.path)] = answer.headers.get("x-stellwerk-request-id")
    ledger = gw.ledger()
    try:
        records = {r.request_id: (r.api, r.endpoint) for r in ledger.recent_usage(limit=100)}
    finally:
        ledger.close()
    assert {where for where, request_id in ids.items() if request_id} == set(RECORDED)
    assert {where: records.get(ids[where] or "") for where in RECORDED} == RECORDED
    assert len(records) == len(RECORDED)
