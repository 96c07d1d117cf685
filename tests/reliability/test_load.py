"""Load, the short CI version of benchmarks/load.py: 50 concurrent clients for a few seconds
against ``stellwerk serve`` (a subprocess) in front of the real llama.cpp test server.

No request fails; after a clean stop (SIGTERM) the ledger holds one usage record per request and
as many successful ones as answered requests. Memory is sampled and printed, not asserted (the
long benchmark run checks it and docs/reliability-figures.md records it).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from benchmarks.load import GatewayProcess, count_usage, run_load, summary, write_config

from tests.fixtures.gateway import ENVIRON, KEYS, free_port, raw_config
from tests.fixtures.llama import LlamaBackend

pytestmark = [pytest.mark.llama, pytest.mark.slow]

CLIENTS = 50
DURATION_S = 15


def test_fifty_clients_no_errors_and_one_record_per_request(
    llama_server: LlamaBackend, tmp_path: Path
) -> None:
    database_url = f"sqlite:///{tmp_path / 'ledger.db'}"
    raw = raw_config(llama_server.base_url, database_url)
    # Every client may stream at once: the per-key stream limit is not what this test measures.
    raw["server"]["limits"] = {"max_streams_per_key": CLIENTS, "max_in_flight_per_key": CLIENTS}
    config = write_config(tmp_path / "stellwerk.yaml", raw)
    gateway = GatewayProcess(config, free_port(), ENVIRON, tmp_path / "gateway.log")
    gateway.start()
    try:
        result = asyncio.run(
            run_load(
                gateway.url,
                KEYS["research"],
                clients=CLIENTS,
                duration_s=DURATION_S,
                pid=gateway.pid,
            )
        )
        assert gateway.stop(), gateway.log_path.read_text()[-2000:]
    finally:
        gateway.kill()
    print(summary(result, CLIENTS))

    assert [o.error for o in result.failed] == []
    kinds = {o.kind for o in result.answered}
    assert kinds == {
        "openai",
        "openai-stream",
        "ollama",
        "ollama-stream",
        "openai-embed",
        "ollama-embed",
    }
    assert len(result.answered) >= CLIENTS  # every client got answers
    assert count_usage(database_url) == (len(result.outcomes), len(result.answered))
