"""What the gateway's HTTP client costs per request to the backend, in CPU microseconds of the
calling process: httpx on its own pool (httpcore), httpx on Stellwerk's aiohttp transport (what
``build_client()`` returns; streams go this way), its direct aiohttp path for whole answers
(``post_bytes``, what ``post_json`` uses), and aiohttp alone. Same POST, instant backend, 1 and
50 requests in flight. This is why the gateway moved to aiohttp, and what httpx's layer costs.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import uvloop

from benchmarks.targets import ROOT

Post = Callable[[], Awaitable[bytes]]


async def _cost(post: Post, count: int, concurrency: int) -> float:
    """CPU microseconds per request (second of two passes; the first warms the pool)."""

    async def worker(share: int) -> None:
        for _ in range(share):
            orjson.loads(await post())

    cost = 0.0
    for _ in range(2):
        started = time.process_time()
        await asyncio.gather(*(worker(count // concurrency) for _ in range(concurrency)))
        cost = (time.process_time() - started) / (count // concurrency * concurrency) * 1e6
    return cost


async def _measure(url: str, count: int) -> list[dict[str, Any]]:
    import aiohttp
    import httpx

    from stellwerk.backends.aiohttp_transport import AiohttpClient
    from stellwerk.backends.build import build_client

    body = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    headers = {"content-type": "application/json"}
    rows: list[dict[str, Any]] = []
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=128, keepalive_expiry=30)
    clients = {
        "httpx, its own pool (httpcore)": httpx.AsyncClient(limits=limits, trust_env=False),
        "httpx on Stellwerk's aiohttp transport": build_client(),
    }
    for name, client in clients.items():

        async def post(client: httpx.AsyncClient = client) -> bytes:
            return (await client.post(url, content=body, headers=headers)).content

        rows.append({"client": name, **{str(c): await _cost(post, count, c) for c in (1, 50)}})
        await client.aclose()
    direct = build_client()
    if isinstance(direct, AiohttpClient):
        timeout = httpx.Timeout(5.0)

        async def fast(client: AiohttpClient = direct) -> bytes:
            return (await client.post_bytes(url, body, headers, timeout))[1]

        name = "Stellwerk's direct aiohttp path (post_bytes, non-streaming)"
        rows.append({"client": name, **{str(c): await _cost(fast, count, c) for c in (1, 50)}})
    await direct.aclose()
    async with aiohttp.ClientSession() as session:

        async def raw() -> bytes:
            async with session.post(url, data=body, headers=headers) as response:
                return await response.read()

        rows.append(
            {"client": "aiohttp alone", **{str(c): await _cost(raw, count, c) for c in (1, 50)}}
        )
    return rows


def run(backend_url: str, count: int, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """Measure in a fresh interpreter: nothing else of the harness runs in the measured process."""
    argv = [sys.executable, "-m", "benchmarks.client_cost", backend_url, str(count)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    if done.returncode != 0:
        log(f"client cost not measured: {done.stderr.strip()[-300:]}")
        return []
    rows: list[dict[str, Any]] = json.loads(done.stdout)
    for row in rows:
        log(f"  client {row['client']:42} {row['1']:6.0f} us/req alone, {row['50']:6.0f} at 50")
    return rows


if __name__ == "__main__":
    print(json.dumps(uvloop.run(_measure(sys.argv[1] + "/v1/chat/completions", int(sys.argv[2])))))
