"""Speed of the configurator: loading and validating the catalog, proposing a model set for a
range of hardware profiles, discovering a server's models, and `stellwerk init` end to end.

    PYTHONPATH=src python benchmarks/configurator.py [--repeat 200]

Results are written down in docs/configurator.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.configurator.model_server import ollama_tags, start
from typer.testing import CliRunner

from stellwerk.cli.main import build_app
from stellwerk.configurator.discover import discover
from stellwerk.configurator.needs import Needs
from stellwerk.configurator.select import propose
from stellwerk.modelfacts import load_catalog

PROFILES = [
    Needs(engine=engine, gpu_memory_gb=gpu, languages=langs)
    for engine in ("ollama", "vllm", "llamacpp", "localai")
    for gpu in (8, 24, 80, 640)
    for langs in ((), ("de",))
]


def _ms(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        start_ns = time.perf_counter_ns()
        fn()
        times.append((time.perf_counter_ns() - start_ns) / 1e6)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    catalog = load_catalog()
    print(f"catalog: {len(catalog.models)} models")
    median, worst = _ms(load_catalog, args.repeat)
    print(f"load + validate catalog      median {median:7.2f} ms   max {worst:7.2f} ms")
    median, worst = _ms(lambda: [propose(catalog, n) for n in PROFILES], args.repeat // 10 or 1)
    per = median / len(PROFILES)
    print(
        f"propose ({len(PROFILES)} profiles)        median {median:7.2f} ms   ({per:.2f} ms each)"
    )
    tags = ollama_tags(*[(m.ollama_tag, "8B", "Q4_K_M") for m in catalog if m.ollama_tag])
    server = start({"/api/tags": (200, tags)})
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        median, worst = _ms(lambda: discover(url, catalog), args.repeat // 10 or 1)
        count = len(tags["models"])
        print(f"discover ({count} models, loopback) median {median:7.2f} ms   max {worst:7.2f} ms")
    finally:
        server.shutdown()
        server.server_close()
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as tmp:

        def init() -> None:
            out = Path(tmp) / "stellwerk.yaml"
            result = runner.invoke(
                build_app(),
                ["init", "--gpu-memory", "24", "--languages", "de", "--output", str(out),
                 "--force", "--no-interactive"],
            )  # fmt: skip
            assert result.exit_code == 0, result.output

        median, worst = _ms(init, 20)
        print(f"stellwerk init (in process)  median {median:7.2f} ms   max {worst:7.2f} ms")


if __name__ == "__main__":
    main()
