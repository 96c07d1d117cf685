"""``started(app)``: the gateway's start-up and shutdown without a server, for clients that reach
the app in process (here the real async ``openai`` library on ``httpx.ASGITransport``)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import openai

from stellwerk.config import parse_config
from stellwerk.gateway import create_app, started
from stellwerk.ledger.ledger import open_ledger
from tests.fixtures.gateway import ENVIRON, KEYS, raw_config

URL = "http://gateway.test"  # never resolved: the transport hands the request to the app


def test_the_app_serves_in_process_and_its_shutdown_drains_the_ledger(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'ledger.db'}"
    config = parse_config(raw_config("http://127.0.0.1:9", database_url))
    app = create_app(config, environ=ENVIRON)
    legal = {"authorization": f"Bearer {KEYS['legal']}"}
    chat = {"model": "tiny-large", "messages": [{"role": "user", "content": "hi"}]}

    async def use() -> tuple[list[str], httpx.Response]:
        async with started(app):
            transport = httpx.ASGITransport(app)
            http: Any = httpx.AsyncClient(transport=transport)  # openai's annotation: httpx2
            async with openai.AsyncOpenAI(
                base_url=URL + "/v1", api_key=KEYS["research"], max_retries=0, http_client=http
            ) as client:
                models = [model.id async for model in await client.models.list()]
            async with httpx.AsyncClient(transport=transport, base_url=URL) as plain:
                refused = await plain.post("/v1/chat/completions", json=chat, headers=legal)
            return models, refused

    models, refused = asyncio.run(use())
    assert {"auto", "tiny-small", "tiny-large"} <= set(models)
    assert refused.status_code == 404  # not legal's to see: as an unknown one
    assert "'tiny-large' does not exist" in refused.json()["error"]["message"]
    ledger = open_ledger(database_url)  # the shutdown drained the writer: the refusal is stored
    try:
        records = [(r.key_id, r.status, r.error_kind) for r in ledger.recent_usage()]
        assert records == [("legal-1", 404, "model_not_found")]  # what the client was told
    finally:
        ledger.close()
