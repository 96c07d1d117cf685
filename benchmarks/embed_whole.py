"""What refusing a cut input costs a ``/v1/embeddings`` request: the gateway counts every input
with the backend's tokenizer (``gateway.whole_inputs``), unless the client sends
``"truncate": true``. Both are measured side by side in one run, the requests alternating,
against the real llama.cpp server on the demo's tiny embedding model.

    PYTHONPATH=src python benchmarks/embed_whole.py [--requests 200]

Prints a Markdown table (BENCHMARKS.md keeps the figures we measured).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from benchmarks.procs import free_port, start_server, stop_server
from benchmarks.targets import ROOT, start_llama
from stellwerk.demo.config import demo_config_data, new_demo_keys
from stellwerk.demo.llama_server import EMBEDDING_ALIAS

#: (case, inputs): a query, a paragraph, and batches of short texts
CASES: list[tuple[str, list[str]]] = [
    ("1 input, 40 bytes", ["Wie kündige ich den Vertrag fristgerecht?"]),
    ("1 input, 400 bytes", ["Der Vertrag ist zum Monatsende gekündigt. " * 10]),
    ("16 inputs, 40 bytes each", [f"Absatz {n}: der Vertrag gilt weiter." for n in range(16)]),
    ("64 inputs, 40 bytes each", [f"Absatz {n}: der Vertrag gilt weiter." for n in range(64)]),
]


def _post(client: httpx.Client, body: dict[str, Any]) -> float:
    started = time.perf_counter()
    answer = client.post("/v1/embeddings", json=body)
    elapsed = time.perf_counter() - started
    answer.raise_for_status()
    return elapsed


def measure(client: httpx.Client, inputs: list[str], requests: int) -> tuple[float, float]:
    """Median milliseconds of a checked request and of one with ``truncate: true``."""
    checked, unchecked = [], []
    body = {"model": EMBEDDING_ALIAS, "input": inputs, "encoding_format": "float"}
    for _ in range(5):  # warm both ways
        _post(client, body)
        _post(client, {**body, "truncate": True})
    for _ in range(requests):
        checked.append(_post(client, body))
        unchecked.append(_post(client, {**body, "truncate": True}))
    return statistics.median(checked) * 1000, statistics.median(unchecked) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per case and way")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stellwerk-bench-") as tmp:
        folder = Path(tmp)
        llama = start_llama(folder)
        keys = new_demo_keys()
        port = free_port()
        config = demo_config_data(llama.url, keys, host="127.0.0.1", port=port)
        path = folder / "stellwerk.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        argv = [sys.executable, "-m", "stellwerk", "serve", "--config", str(path)]
        argv += ["--log-level", "warning"]
        env = {"PYTHONPATH": str(ROOT / "src")}
        gateway = start_server(
            "stellwerk", argv, port=port, ready_path="/healthz", log_dir=folder, env=env, cwd=folder
        )
        headers = {"authorization": f"Bearer {keys.user}"}
        try:
            with httpx.Client(base_url=gateway.url, headers=headers, timeout=60) as client:
                print("| case | checked (ms) | truncate: true (ms) | added (ms) | per input (ms) |")
                print("|---|---|---|---|---|")
                for case, inputs in CASES:
                    checked, unchecked = measure(client, inputs, args.requests)
                    added = checked - unchecked
                    print(
                        f"| {case} | {checked:.2f} | {unchecked:.2f} | {added:.2f} |"
                        f" {added / len(inputs):.3f} |"
                    )
            with httpx.Client(base_url=llama.url, timeout=60) as direct:
                asked = {"model": EMBEDDING_ALIAS, "input": CASES[0][1][0]}
                times = []
                for _ in range(args.requests):
                    started = time.perf_counter()
                    direct.post("/extras/tokenize/count", json=asked).raise_for_status()
                    times.append(time.perf_counter() - started)
                tokenize = statistics.median(times) * 1000
                print(f"\none tokenize request, straight to the backend: {tokenize:.2f} ms")
        finally:
            stop_server(gateway)
            stop_server(llama)


if __name__ == "__main__":
    main()
