"""A request the HTTP client library refuses to build is the backend's failure, never the
gateway's: a 502 in the API's error format naming the backend (streamed or not, both APIs), a
failed health probe (``/readyz`` not ready), the dashboard's overview served with the backend
marked failing. The case the walker found: credentials in ``base_url`` (``user:password@``) and
an ``api_key_env`` token, which aiohttp refuses to send together ("Cannot combine AUTHORIZATION
header with ... credentials encoded in URL"). ``config check`` refuses that config now
(tests/config/test_backend_address.py); the config here is changed after its validation, as a
config of an older version, or any other request the library cannot build, would reach the
transport. Real llama.cpp server behind the backend, real ``openai`` and ``ollama`` clients."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import ollama
import openai
import pytest

from stellwerk.config import parse_config
from stellwerk.gateway import create_app
from tests.dashboard.client import login
from tests.dashboard.conftest import ADMIN_KEY, DASHBOARD_ENV, dashboard_raw
from tests.fixtures.gateway import IN_PROCESS_URL, KEYS, Gateway, migrated_copy
from tests.fixtures.inprocess import app_in_thread
from tests.fixtures.llama import LlamaBackend

pytestmark = pytest.mark.llama

TOKEN_ENV = "STW_TEST_BACKEND_TOKEN"
ENV = {**DASHBOARD_ENV, TOKEN_ENV: "backend-token-5f1e2d3c"}
CHAT: Any = [{"role": "user", "content": "hi"}]


@contextmanager
def with_both_credentials(llama: LlamaBackend, tmp_path: Path, ledger: Path) -> Iterator[Gateway]:
    """The dashboard's test gateway, its backend given a user and password in ``base_url`` and
    an ``api_key_env`` token (set after validation, which refuses the two together)."""
    raw = dashboard_raw(llama.base_url, migrated_copy(ledger, tmp_path / "ledger.db"))
    raw["backends"][0]["breaker"] = {"probe_interval_s": 0.1, "probe_timeout_s": 5}
    config = parse_config(raw)
    (backend,) = config.backends
    scheme, _, rest = backend.base_url.partition("://")
    broken = backend.model_copy(
        update={"base_url": f"{scheme}://alice:s3cr3t@{rest}", "api_key_env": TOKEN_ENV}
    )
    config = config.model_copy(update={"backends": (broken,)})
    with app_in_thread(create_app(config, environ=ENV)) as transport:
        yield Gateway(IN_PROCESS_URL, config, config.server.database_url, transport)


def test_a_request_the_client_library_cannot_build_is_a_502_naming_the_backend(
    llama_server: LlamaBackend, tmp_path: Path, ledger_template: Path
) -> None:
    with with_both_credentials(llama_server, tmp_path, ledger_template) as gw:
        with closing(gw.openai(KEYS["research"], max_retries=0)) as client:
            for stream in (False, True):
                with pytest.raises(openai.APIStatusError) as caught:
                    client.chat.completions.create(
                        model="tiny-small", messages=CHAT, max_tokens=2, stream=stream
                    )
                assert caught.value.status_code == 502, caught.value
                error = caught.value.body
                assert isinstance(error, dict), error
                assert "backend 'llamacpp'" in error["message"], error
                assert "request could not be sent" in error["message"], error
                assert "s3cr3t" not in str(error)
        with pytest.raises(ollama.ResponseError) as refused:
            gw.ollama(KEYS["research"]).chat(model="tiny-small", messages=CHAT)
        assert refused.value.status_code == 502
        assert "backend 'llamacpp'" in refused.value.error

        deadline = time.monotonic() + 30  # the health probe's answer, not only the circuit's
        while (ready := gw.get("/readyz")).json()["backends"]["llamacpp"]["error"] is None:
            assert time.monotonic() < deadline, f"the probe never failed: {ready.text}"
            time.sleep(0.1)
        assert ready.status_code == 503
        probed = ready.json()["backends"]["llamacpp"]
        assert probed["ready"] is False
        assert "request could not be sent" in probed["error"], probed

        with login(gw, ADMIN_KEY) as (admin, answer):
            assert answer.status_code == 303
            overview = admin.get("/dashboard")
    assert overview.status_code == 200, overview.text[:500]
    assert "request could not be sent" in overview.text
