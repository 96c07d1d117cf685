"""Speed and memory of the demo backend: writing the tiny models, starting and stopping the real
llama.cpp server, generation speed per size, model switching, server memory.

    PYTHONPATH=src python benchmarks/demo_backend.py [--starts 5]

Results are written down in docs/backends-llamacpp.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from stellwerk.demo.llama_server import demo_models, start_llama_server, stop_llama_server
from stellwerk.demo.tiny_gguf import SIZES, write_tiny_model


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def _chat(base_url: str, model: str, max_tokens: int) -> float:
    started = time.perf_counter()
    response = httpx.post(
        f"{base_url}/v1/chat/completions",
        json={
            "model": model,
            "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": max_tokens,
        },
        timeout=120,
    )
    response.raise_for_status()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5, help="server starts to time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stellwerk-bench-") as tmp:
        folder = Path(tmp)
        for size, spec in SIZES.items():
            started = time.perf_counter()
            path = write_tiny_model(spec, folder / f"bench-{size}.gguf")
            elapsed = time.perf_counter() - started
            print(f"write {size:6}  {elapsed * 1000:7.1f} ms  {path.stat().st_size:>9,} bytes")
        models = demo_models(folder)
        starts, stops = [], []
        for _ in range(args.starts):
            started = time.perf_counter()
            server = start_llama_server(models, workdir=folder)
            starts.append(time.perf_counter() - started)
            started = time.perf_counter()
            stop_llama_server(server)
            stops.append(time.perf_counter() - started)
        print(
            f"start until /v1/models answers: median {statistics.median(starts):.2f} s, "
            f"min {min(starts):.2f}, max {max(starts):.2f}"
        )
        print(f"stop: median {statistics.median(stops):.2f} s, max {max(stops):.2f}")
        server = start_llama_server(models, workdir=folder)
        try:
            base = server.base_url
            print(f"server RSS after start: {_rss_kib(server.process.pid) / 1024:.0f} MiB")
            for spec in SIZES.values():
                _chat(base, spec.name, 1)  # load it
                elapsed = _chat(base, spec.name, 200)
                rate = 200 / elapsed
                print(f"generate {spec.name:11} 200 tokens: {elapsed:.3f} s, {rate:,.0f} tok/s")
            print(f"server RSS after all sizes: {_rss_kib(server.process.pid) / 1024:.0f} MiB")
            same = sum(_chat(base, "tiny-large", 1) for _ in range(10))
            alternating = sum(
                _chat(base, ("tiny-small", "tiny-large")[i % 2], 1) for i in range(10)
            )
            print(f"model switch: {(alternating - same) / 10 * 1000:.0f} ms per request")
        finally:
            stop_llama_server(server)


if __name__ == "__main__":
    main()
