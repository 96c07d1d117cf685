"""What the gateway's HTTP client costs per request to the backend, in CPU microseconds of the
calling process: httpx on its own pool (httpcore), Stellwerk's two transports
(``backends/transport.py``: the httpx one over that client, and the aiohttp one that
``build_client()`` returns, the gateway's), and aiohttp alone. Same POST, instant backend, 1 and
50 requests in flight. This is why the gateway's transport is aiohttp's.
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

    from stellwerk.backends.build import build_client
    from stellwerk.backends.httpx_transport import HttpxTransport
    from stellwerk.backends.transport import Timeouts, Transport

    body = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    headers = {"content-type": "application/json"}
    rows: list[dict[str, Any]] = []
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=128, keepalive_expiry=30)
    plain = httpx.AsyncClient(limits=limits, trust_env=False)

    async def post(client: httpx.AsyncClient = plain) -> bytes:
        return (await client.post(url, content=body, headers=headers)).content

    name = "httpx, its own pool (httpcore)"
    rows.append({"client": name, **{str(c): await _cost(post, count, c) for c in (1, 50)}})
    timeout = Timeouts(connect=5.0, read=5.0)
    transports: dict[str, Transport] = {
        "Stellwerk's httpx transport (over that client)": HttpxTransport(plain),
        "Stellwerk's aiohttp transport (build_client, the gateway's)": build_client(),
    }
    for name, transport in transports.items():

        async def through(transport: Transport = transport) -> bytes:
            return (await transport.post("b", url, body, headers, timeout))[1]

        rows.append({"client": name, **{str(c): await _cost(through, count, c) for c in (1, 50)}})
        await transport.aclose()
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
        log(f"  client {row['client']:60} {row['1']:6.0f} us/req alone, {row['50']:6.0f} at 50")
    return rows


if __name__ == "__main__":
    print(json.dumps(uvloop.run(_measure(sys.argv[1] + "/v1/chat/completions", int(sys.argv[2])))))
