"""What the governance cut costs a streamed request (``stellwerk.gateway.cuts``): the gateway's
CPU per streamed request of ``--chunks`` chunks, and its wall time, for two source trees side by
side (the commit before the cut and this checkout), in alternating rounds.

    git archive <commit before> src | tar -x -C /tmp/before
    PYTHONPATH=src python -m benchmarks.stream_cuts --before /tmp/before/src

The backend is a canned SSE stream served from this process (asyncio, no model), so the
gateway's own work per chunk is what is measured: parsing the backend's chunk, the cut's check,
encoding the client's event. Prints a Markdown table (medians over the rounds).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson

from benchmarks.procs import Server, free_port, stop_server
from benchmarks.targets import API_KEY, MODEL, ROOT, Backend, start_stellwerk


def sse_stream(chunks: int) -> bytes:
    """An OpenAI chat stream of ``chunks`` content chunks, then its finish, usage and [DONE]."""
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1_700_000_000}
    events = [
        {**base, "choices": [{"index": 0, "delta": {"content": " word"}, "finish_reason": None}]}
        for _ in range(chunks)
    ]
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]})
    usage = {"prompt_tokens": 12, "completion_tokens": chunks, "total_tokens": chunks + 12}
    events.append({**base, "choices": [], "usage": usage})
    body = b"".join(b"data: " + orjson.dumps(e) + b"\n\n" for e in events) + b"data: [DONE]\n\n"
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: %d\r\n\r\n"
    return head % len(body) + body


MODELS = b'{"object": "list", "data": []}'
GET_ANSWER = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
    % (len(MODELS), MODELS)
)


@contextmanager
def backend(chunks: int) -> Iterator[str]:
    """A keep-alive HTTP server answering every POST with the stream and every GET with an
    empty model list, on a loop in a thread; its base URL."""
    stream = sse_stream(chunks)
    port = free_port()
    loop = asyncio.new_event_loop()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                writer.write(stream if head.startswith(b"POST") else GET_ANSWER)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        server = loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", port))
        started.set()
        loop.run_forever()
        server.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def measure(server: Server, requests: int) -> tuple[float, float]:
    """(gateway CPU ms per streamed request, median wall ms per streamed request)."""
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": True}
    headers = {"authorization": f"Bearer {API_KEY}"}
    walls = []
    with httpx.Client(base_url=server.url, headers=headers, timeout=60, trust_env=False) as client:
        cpu = server.cpu()
        for _ in range(requests):
            start = time.perf_counter()
            with client.stream("POST", "/v1/chat/completions", json=body) as answer:
                for _ in answer.iter_raw():
                    pass
                assert answer.status_code == 200
            walls.append(time.perf_counter() - start)
        cpu = server.cpu() - cpu
    return cpu / requests * 1000, statistics.median(walls) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="src/ of the commit before")
    parser.add_argument("--chunks", type=int, default=500)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    trees = {"before": args.before, "after": ROOT / "src"}
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    with backend(args.chunks) as url, tempfile.TemporaryDirectory() as tmp:
        servers = {}
        for name, src in trees.items():
            folder = Path(tmp) / name
            folder.mkdir()
            servers[name] = start_stellwerk(
                Backend("canned", url, "bench-upstream"), folder, src, name
            )
        try:
            for server in servers.values():
                measure(server, 10)  # warm up
            for round_no in range(args.rounds):
                order = list(trees) if round_no % 2 == 0 else list(reversed(trees))
                for name in order:
                    results[name].append(measure(servers[name], args.requests))
                    print(
                        f"round {round_no + 1} {name:6} cpu {results[name][-1][0]:.3f} ms"
                        f"  wall {results[name][-1][1]:.3f} ms",
                        flush=True,
                    )
        finally:
            for server in servers.values():
                stop_server(server)
    cpu = {name: statistics.median(r[0] for r in rows) for name, rows in results.items()}
    wall = {name: statistics.median(r[1] for r in rows) for name, rows in results.items()}
    print(f"\n| streamed request of {args.chunks} chunks | before | after | ratio |")
    print("|---|---|---|---|")
    print(
        f"| gateway CPU per request (ms) | {cpu['before']:.2f} | {cpu['after']:.2f} |"
        f" {cpu['after'] / cpu['before']:.3f} |"
    )
    print(
        f"| wall time per request, p50 (ms) | {wall['before']:.2f} | {wall['after']:.2f} |"
        f" {wall['after'] / wall['before']:.3f} |"
    )


if __name__ == "__main__":
    main()
