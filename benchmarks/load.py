"""Load: 50 concurrent clients against ``stellwerk serve`` (a subprocess) in front of the real
llama.cpp server on the tiny demo models, for a bounded time.

    PYTHONPATH=src python benchmarks/load.py [--duration 180] [--clients 50] [--out FILE]

Each client loops over a mix of requests (OpenAI and Ollama chat, plain and streamed, and
embeddings) until the time is up. Every answer is checked (status 200, a streamed answer ends
with ``[DONE]`` / ``"done": true`` and carries no error event). The gateway is then stopped with
SIGTERM and the ledger opened: it must hold one usage record per request sent, and as many
successful ones as answered requests. The gateway's resident memory (RSS) is sampled every second.
Results go to stdout as Markdown (docs/reliability-figures.md holds the last run).

The pieces (``GatewayProcess``, ``run_load``) are used by tests/reliability as well.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import yaml

PROMPTS = (
    "Say hello.",
    "Name a colour.",
    "What is two plus two?",
    "Write one word about trains.",
)

#: The request kinds of the mix, in the order each client cycles through them.
KINDS = ("openai", "openai-stream", "ollama", "ollama-stream", "openai-embed", "ollama-embed")


def rss_kib(pid: int) -> int:
    """Resident memory of a process (Linux ``/proc``), in KiB; -1 once it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return -1
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


@dataclass
class GatewayProcess:
    """``stellwerk serve`` in a subprocess, its output in a log file."""

    config_path: Path
    port: int
    environ: Mapping[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout_s: float = 60) -> None:
        src = Path(__file__).resolve().parent.parent / "src"
        env = {**os.environ, **self.environ}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
        command = [sys.executable, "-m", "stellwerk", "serve", "-c", str(self.config_path)]
        command += ["--port", str(self.port), "--log-level", "warning"]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        deadline = time.monotonic() + timeout_s
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"stellwerk serve exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"stellwerk serve did not start: {self.log_path}")
            time.sleep(0.05)

    def stop(self, timeout_s: float = 60) -> bool:
        """SIGTERM (graceful: the ledger is flushed) and wait; whether it ended as it should.

        uvicorn shuts down, then raises the signal again so that the exit status tells why the
        process ended: -SIGTERM (or 0) is a clean stop.
        """
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout_s) in (0, -signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL: nothing runs after it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)


def write_config(path: Path, raw: Mapping[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(dict(raw), sort_keys=False), encoding="utf-8")
    return path


@dataclass(frozen=True, slots=True)
class Outcome:
    """One request as the client saw it."""

    kind: str
    ok: bool
    status: int
    latency_s: float
    request_id: str | None
    model: str | None
    answered_at: float  # time.monotonic() when the answer ended
    streamed_before_error: bool = False  # a stream that failed after its first token
    error: str | None = None


@dataclass
class LoadResult:
    outcomes: list[Outcome] = field(default_factory=list)
    rss_kib: list[tuple[float, int]] = field(default_factory=list)  # (seconds since start, KiB)
    duration_s: float = 0.0

    @property
    def answered(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.ok]

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]


def _body(kind: str, model: str, embed_model: str, prompt: str, max_tokens: int) -> tuple[str, Any]:
    messages = [{"role": "user", "content": prompt}]
    if kind.startswith("openai-embed"):
        return "/v1/embeddings", {"model": embed_model, "input": prompt}
    if kind.startswith("ollama-embed"):
        return "/api/embed", {"model": embed_model, "input": prompt}
    stream = kind.endswith("-stream")
    if kind.startswith("openai"):
        body = {"model": model, "messages": messages, "max_tokens": max_tokens, "stream": stream}
        return "/v1/chat/completions", body
    options = {"num_predict": max_tokens}
    return "/api/chat", {"model": model, "messages": messages, "stream": stream, "options": options}


def _stream_problem(kind: str, text: str) -> tuple[str | None, bool]:
    """(what is wrong with a streamed answer or None, whether content arrived before it)."""
    if kind.startswith("openai"):
        events = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
        got_content = any('"content"' in e for e in events if e != "[DONE]")
        errors = [e for e in events if e.startswith('{"error"')]
        if errors:
            return errors[0][:300], got_content
        return (None if events and events[-1] == "[DONE]" else "no [DONE]"), got_content
    lines: list[dict[str, Any]] = [orjson.loads(line) for line in text.splitlines() if line.strip()]
    got_content = any(not line.get("done") and "message" in line for line in lines)
    failed = [line for line in lines if "error" in line]
    if failed:
        return str(failed[0]["error"])[:300], got_content
    return (None if lines and lines[-1].get("done") else "no final line"), got_content


async def _one(
    client: httpx.AsyncClient, kind: str, path: str, body: Any, headers: Mapping[str, str]
) -> Outcome:
    started = time.monotonic()
    try:
        response = await client.post(path, json=body, headers=dict(headers))
    except httpx.HTTPError as exc:
        now = time.monotonic()
        return Outcome(kind, False, 0, now - started, None, None, now, error=repr(exc))
    now = time.monotonic()
    problem, streamed = None, False
    if response.status_code != 200:
        problem = response.text[:300]
    elif kind.endswith("-stream"):
        problem, streamed = _stream_problem(kind, response.text)
    return Outcome(
        kind,
        problem is None,
        response.status_code,
        now - started,
        response.headers.get("x-stellwerk-request-id"),
        response.headers.get("x-stellwerk-model"),
        now,
        streamed_before_error=streamed and problem is not None,
        error=problem,
    )


async def run_load(
    base_url: str,
    key: str,
    *,
    clients: int = 50,
    duration_s: float = 30,
    model: str = "tiny-small",
    embed_model: str = "tiny-embed",
    kinds: Sequence[str] = KINDS,
    max_tokens: int = 4,
    pid: int | None = None,
    during: Callable[[float, LoadResult], bool] | None = None,
) -> LoadResult:
    """``clients`` clients send requests back to back for ``duration_s`` seconds.

    ``pid`` is sampled for RSS once a second; ``during(elapsed_s, result_so_far)`` is called once
    a second too (a fault test kills a backend from it once enough has been answered, whatever the
    machine's speed); when it returns True the clients stop after the request they are sending,
    so ``duration_s`` is then only the longest the load may take.
    """
    result = LoadResult()
    headers = {"authorization": f"Bearer {key}"}
    # Idle connections dropped before the gateway's uvicorn drops them (5 s): otherwise a
    # request sent on a connection the server is closing fails before it reaches the gateway.
    limits = httpx.Limits(
        max_connections=clients * 2, max_keepalive_connections=clients, keepalive_expiry=4
    )
    timeout = httpx.Timeout(120, connect=10)
    started = time.monotonic()
    deadline = [started + duration_s]  # moved to now when ``during`` ends the load

    async def client_loop(client: httpx.AsyncClient, index: int) -> None:
        i = index
        while time.monotonic() < deadline[0]:
            kind = kinds[i % len(kinds)]
            prompt = PROMPTS[i % len(PROMPTS)]
            path, body = _body(kind, model, embed_model, prompt, max_tokens)
            result.outcomes.append(await _one(client, kind, path, body, headers))
            i += 1

    async def sampler() -> None:
        while time.monotonic() < deadline[0]:
            elapsed = time.monotonic() - started
            if pid is not None:
                result.rss_kib.append((elapsed, rss_kib(pid)))
            if during is not None and during(elapsed, result):
                deadline[0] = time.monotonic()
                return
            await asyncio.sleep(1)

    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout) as client:
        await asyncio.gather(sampler(), *(client_loop(client, n) for n in range(clients)))
    result.duration_s = time.monotonic() - started
    return result


def rss_growth(samples: Sequence[tuple[float, int]], window_s: float = 60) -> float | None:
    """Mean RSS of the last ``window_s`` over the first ``window_s``, minus 1 (0.05 = +5 %)."""
    if not samples:
        return None
    end = samples[-1][0]
    first = [kib for t, kib in samples if t < window_s and kib > 0]
    last = [kib for t, kib in samples if t >= end - window_s and kib > 0]
    if not first or not last or end < 2 * window_s:
        return None
    return statistics.mean(last) / statistics.mean(first) - 1


def count_usage(database_url: str) -> tuple[int, int]:
    """(usage records, of which status 200) in the ledger."""
    from sqlalchemy import func, select

    from stellwerk.ledger.ledger import open_ledger
    from stellwerk.ledger.tables import usage

    ledger = open_ledger(database_url)
    try:
        with ledger.connect() as conn:
            ok = conn.execute(
                select(func.count()).select_from(usage).where(usage.c.status == 200)
            ).scalar_one()
        return ledger.count_usage(), int(ok)
    finally:
        ledger.close()


def summary(result: LoadResult, clients: int) -> dict[str, Any]:
    answered = result.answered
    latencies = sorted(o.latency_s for o in answered) or [0.0]
    by_kind = {
        k: sum(1 for o in answered if o.kind == k)
        for k in sorted({o.kind for o in result.outcomes})
    }
    rss = [kib for _, kib in result.rss_kib if kib > 0]
    return {
        "clients": clients,
        "duration_s": round(result.duration_s, 1),
        "requests": len(result.outcomes),
        "answered": len(answered),
        "failed": len(result.failed),
        "throughput_rps": round(len(answered) / result.duration_s, 1) if result.duration_s else 0,
        "latency_p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
        "latency_p95_ms": round(latencies[int(len(latencies) * 0.95)] * 1000, 1),
        "latency_max_ms": round(latencies[-1] * 1000, 1),
        "by_kind": by_kind,
        "rss_first_mib": round(rss[0] / 1024, 1) if rss else None,
        "rss_last_mib": round(rss[-1] / 1024, 1) if rss else None,
        "rss_max_mib": round(max(rss) / 1024, 1) if rss else None,
        "rss_growth_first_vs_last_minute": rss_growth(result.rss_kib),
    }


def _raw_config(llama_url: str, database_url: str, clients: int) -> dict[str, Any]:
    model = {
        "backend": "llamacpp",
        "params_b": 1,
        "size_class": "small",
        "context_length": 1024,
        "hosting": "on_prem",
        "price": {"input_per_mtok": 0.1, "output_per_mtok": 0.3},
    }
    return {
        # Every client may stream at once: the per-key stream limit is not what this measures.
        "server": {
            "database_url": database_url,
            "limits": {"max_streams_per_key": clients, "max_in_flight_per_key": clients},
        },
        "backends": [{"name": "llamacpp", "kind": "openai", "base_url": llama_url}],
        "models": [
            {**model, "id": "tiny-small", "upstream": "tiny-small", "capabilities": ["chat"]},
            {**model, "id": "tiny-embed", "upstream": "tiny-embed", "capabilities": ["embeddings"]},
        ],
        "departments": [{"name": "load", "keys": [{"id": "load-1", "key_env": "STW_LOAD_KEY"}]}],
        "router": {"kind": "first"},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=180, help="seconds of load")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--max-tokens", type=int, default=8)
    args = parser.parse_args(argv)

    from stellwerk.demo.llama_server import demo_models, free_port, running_llama_server

    key = "sk-stw-load-" + os.urandom(16).hex()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with running_llama_server(demo_models(folder / "models"), workdir=folder) as llama:
            database_url = f"sqlite:///{folder / 'ledger.db'}"
            config = write_config(
                folder / "stellwerk.yaml", _raw_config(llama.base_url, database_url, args.clients)
            )
            gateway = GatewayProcess(config, free_port(), {"STW_LOAD_KEY": key}, folder / "gw.log")
            gateway.start()
            try:
                result = asyncio.run(
                    run_load(
                        gateway.url,
                        key,
                        clients=args.clients,
                        duration_s=args.duration,
                        max_tokens=args.max_tokens,
                        pid=gateway.pid,
                    )
                )
                clean_stop = gateway.stop()
            finally:
                gateway.kill()
            records, ok_records = count_usage(database_url)
    figures = summary(result, args.clients)
    figures |= {
        "clean_stop": clean_stop,
        "usage_records": records,
        "usage_records_200": ok_records,
    }
    print(markdown(figures, result))
    consistent = records == len(result.outcomes) and ok_records == len(result.answered)
    return 0 if consistent and not result.failed else 1


def markdown(figures: Mapping[str, Any], result: LoadResult) -> str:
    lines = ["| figure | value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in figures.items()]
    minutes: dict[int, list[int]] = {}
    for t, kib in result.rss_kib:
        if kib > 0:
            minutes.setdefault(int(t // 60), []).append(kib)
    per_minute = ", ".join(
        f"{m + 1}: {statistics.mean(v) / 1024:.1f}" for m, v in sorted(minutes.items())
    )
    samples = ", ".join(f"{t:.0f}: {kib / 1024:.1f}" for t, kib in result.rss_kib[::10])
    lines += ["", f"Mean RSS per minute (MiB): {per_minute}", "", f"RSS every 10 s: {samples}"]
    if result.failed:
        lines += ["", "Failures (up to 10):", ""]
        lines += [f"- {o.kind} status {o.status}: {o.error}" for o in result.failed[:10]]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
