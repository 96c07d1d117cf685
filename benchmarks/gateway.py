"""Gateway overhead: the same load against the backend directly, Stellwerk and LiteLLM's proxy, in
interleaved rounds (the order of the targets rotates every round), so that drift of the shared
machine hits all of them alike. Every cell records the server's CPU seconds (``/proc``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import uvloop

from benchmarks import loadgen, wrk
from benchmarks.procs import Server
from benchmarks.results import Result, median_of
from benchmarks.targets import API_KEY, MODEL


@dataclass(frozen=True)
class Scenario:
    """One kind of load: ``closed`` (clients), ``rate`` (requests/s) or ``stream`` (clients)."""

    kind: str
    level: int

    @property
    def label(self) -> str:
        unit = {"closed": "clients", "rate": "req/s", "stream": "streaming client(s)"}[self.kind]
        return f"{self.level} {unit}"


@dataclass
class Plan:
    """What one backend gets: the scenarios, how long each cell runs, how many rounds."""

    scenarios: list[Scenario]
    duration: float
    rounds: int
    stream_count: int
    max_tokens: int = 16


@dataclass
class Cells:
    """results[scenario][target] -> one Result per round."""

    backend: str
    targets: list[str]
    results: dict[Scenario, dict[str, list[Result]]] = field(default_factory=dict)

    def add(self, scenario: Scenario, target: str, result: Result) -> None:
        self.results.setdefault(scenario, {}).setdefault(target, []).append(result)

    def as_data(self) -> list[dict[str, Any]]:
        """One row per scenario and target: every round and their field-wise median."""
        return [
            {
                "kind": scenario.kind,
                "level": scenario.level,
                "target": target,
                "rounds": [r.as_dict() for r in rounds],
                "median": median_of(rounds).as_dict(),
            }
            for scenario, by_target in self.results.items()
            for target, rounds in by_target.items()
        ]


def chat_body(*, stream: bool, max_tokens: int) -> bytes:
    return orjson.dumps(
        {
            "model": MODEL,
            "messages": [
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "Say hello to the benchmark in one short sentence."},
            ],
            "max_tokens": max_tokens,
            "temperature": 0,
            "stream": stream,
        }
    )


def settle(
    server: Server, *, quiet_cpu: float = 0.03, interval: float = 0.3, limit: float = 20
) -> None:
    """Wait until the server is idle (a backlog of a saturated run is worked off)."""
    deadline = time.monotonic() + limit
    before = server.cpu()
    while time.monotonic() < deadline:
        time.sleep(interval)
        now = server.cpu()
        if now - before < quiet_cpu:
            return
        before = now


class Runner:
    """Runs the cells of one backend against its targets."""

    def __init__(self, servers: dict[str, Server], plan: Plan, folder: Path, wrk_path: str | None):
        self.servers = servers
        self.plan = plan
        self.wrk = wrk_path
        auth = f"Bearer {API_KEY}"
        body = chat_body(stream=False, max_tokens=plan.max_tokens)
        self.script = wrk.write_script(folder, body, auth) if wrk_path else None
        self.headers = {"authorization": auth}
        self.plain = body
        self.streamed = chat_body(stream=True, max_tokens=plan.max_tokens)

    def _request(self, server: Server, body: bytes) -> tuple[str, int, bytes]:
        parts = urlsplit(server.url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        path = "/v1/chat/completions"
        return host, port, loadgen.build_request(host, port, path, body, self.headers)

    def measure(self, scenario: Scenario, server: Server) -> Result:
        plan = self.plan
        cpu_before = server.cpu()
        if scenario.kind == "closed" and self.wrk and self.script:
            url = server.url + "/v1/chat/completions"
            result = wrk.run(
                self.wrk, url, self.script, clients=scenario.level, duration=plan.duration
            )
        else:
            result = Result.of(uvloop.run(self._python_load(scenario, server)))
        result.cpu_s = server.cpu() - cpu_before
        return result

    async def _python_load(self, scenario: Scenario, server: Server) -> loadgen.Sample:
        plan = self.plan
        if scenario.kind == "stream":
            host, port, request = self._request(server, self.streamed)
            return await loadgen.streamed(
                host, port, request, count=plan.stream_count, clients=scenario.level
            )
        host, port, request = self._request(server, self.plain)
        if scenario.kind == "rate":
            return await loadgen.open_loop(
                host, port, request, rate=scenario.level, duration=plan.duration
            )
        return await loadgen.closed_loop(
            host, port, request, clients=scenario.level, duration=plan.duration
        )

    def soak(self, server: Server, rate: int, seconds: float) -> Result:
        """One long fixed-rate run (memory is sampled meanwhile by the caller)."""
        host, port, request = self._request(server, self.plain)
        cpu_before = server.cpu()
        sample = uvloop.run(loadgen.open_loop(host, port, request, rate=rate, duration=seconds))
        result = Result.of(sample)
        result.cpu_s = server.cpu() - cpu_before
        return result

    def load(self, server: Server, clients: int, seconds: float) -> Result:
        """Closed-loop load for a given time (the profile runs under it)."""
        saved = self.plan.duration
        self.plan.duration = seconds
        try:
            return self.measure(Scenario("closed", clients), server)
        finally:
            self.plan.duration = saved

    def warm_up(self) -> None:
        for server in self.servers.values():
            self.measure(Scenario("closed", 4), server)
            settle(server)

    def run(self, backend: str, log: Callable[[str], None]) -> Cells:
        names = list(self.servers)
        cells = Cells(backend, names)
        self.warm_up()
        for round_no in range(self.plan.rounds):
            order = names[round_no % len(names) :] + names[: round_no % len(names)]
            for scenario in self.plan.scenarios:
                for name in order:
                    server = self.servers[name]
                    result = self.measure(scenario, server)
                    cells.add(scenario, name, result)
                    log(
                        f"  round {round_no + 1}/{self.plan.rounds} {backend:8} {scenario.label:22}"
                        f" {name:10} {result.rate:8.0f} req/s  p50 {result.p50 * 1e3:8.2f} ms"
                        f"  p99 {result.p99 * 1e3:8.2f} ms  errors {result.errors}"
                    )
                    settle(server)
        return cells


def scenarios(
    concurrency: Sequence[int], rates: Sequence[int], streams: Sequence[int]
) -> list[Scenario]:
    return (
        [Scenario("closed", c) for c in concurrency]
        + [Scenario("rate", r) for r in rates]
        + [Scenario("stream", s) for s in streams]
    )
