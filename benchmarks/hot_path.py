"""The gateway's hot path as a governed installation runs it: ``model: "auto"`` (the shipped
learned router over three models), a configured key, a department with a rate limit, a token
limit and a budget (so every request reserves and settles its counters), the ledger on
PostgreSQL, the counters and the pending feedback in the process or in Redis. The backend is the
instant fixture (``benchmarks/instant_backend.py``), so what is measured is the gateway's own work.

    PYTHONPATH=src python -m benchmarks.hot_path [--before REV] [--redis off on] [--rounds 6]
        [--duration 3] [--clients 1 20] [--streams 1] [--profile DIR] [--json out]

Every variant (``off``: counters in process; ``on``: in Redis) is served once per source tree:
this checkout, and with ``--before REV`` that commit's ``src`` too (``git archive``), all at once,
each ``stellwerk serve`` with its own PostgreSQL schema and its own Redis key prefix (removed at
the end). The cells run in interleaved rounds whose order rotates (``benchmarks/gateway.py``);
CPU per request is the server's user + system time from ``/proc``; ``ratio`` is after / before
of that, taken round by round within a variant, then its median. ``--profile DIR`` samples every
server with py-spy (non-streamed and streamed load) into ``DIR`` before the rounds.

Needs ``STELLWERK_TEST_POSTGRES_URL`` (a ``postgresql+psycopg://`` URL) and, for ``--redis on``,
``STELLWERK_TEST_REDIS_URL``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import orjson
import yaml

from benchmarks import gateway, machine, profile, wrk
from benchmarks.procs import Server, free_port, start_server, stop_server
from benchmarks.results import emit, log
from benchmarks.targets import API_KEY, ROOT, Backend, start_instant
from benchmarks.versions import checkout_src, commit_of

#: Models of the shipped router's training set (their upstream names are what the instant
#: backend ignores), so the learned router ranks them from its own data.
MODELS = (
    ("qwen", "qwen2.5-7b-instruct", 7, "small", 0.2),
    ("llama", "llama-3.1-8b-instruct", 8, "small", 0.2),
    ("nemotron", "llama-3.1-nemotron-51b-instruct", 51, "large", 0.9),
)
LIMITS = {"requests_per_minute": 10**9, "tokens_per_minute": 10**9, "monthly_budget": 10**9}


def governed_config(
    backend: Backend, folder: Path, port: int, database_url: str, redis: tuple[str, str] | None
) -> Path:
    server: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "database_url": database_url,
        "limits": {"max_in_flight_per_key": 1024},
    }
    if redis is not None:
        server["redis_url"], server["redis_prefix"] = redis
    models = [
        {
            "id": name,
            "backend": backend.name,
            "upstream": upstream,
            "params_b": params,
            "size_class": size,
            "hosting": "on_prem",
            "lifecycle": "approved",
            "licence": "apache-2.0",
            "price": {"input_per_mtok": price, "output_per_mtok": price * 2},
        }
        for name, upstream, params, size, price in MODELS
    ]
    key = {"id": "bench-1", "key_sha256": hashlib.sha256(API_KEY.encode()).hexdigest()}
    config = {
        "server": server,
        "backends": [{"name": backend.name, "kind": "openai", "base_url": backend.url + "/v1"}],
        "models": models,
        "departments": [{"name": "bench", "keys": [key], "limits": LIMITS}],
    }
    path = folder / "stellwerk.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def start_governed(
    backend: Backend,
    folder: Path,
    src: Path,
    name: str,
    database_url: str,
    redis: tuple[str, str] | None,
) -> Server:
    port = free_port()
    config = governed_config(backend, folder, port, database_url, redis)
    argv = [sys.executable, "-m", "stellwerk", "serve", "--config", str(config)]
    argv += ["--log-level", "warning"]
    env = {"PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])}
    return start_server(
        name, argv, port=port, ready_path="/healthz", log_dir=folder, env=env, cwd=folder
    )


#: The user's message of each ``--prompt``: a short question, or a question about a text
#: (about 1,000 characters, the middle of the open9 test prompts' lengths, where the router's
#: reading of a prompt costs most of its time per character).
PROMPTS = {
    "short": "Explain in two sentences why the sky is blue, for a child.",
    "long": (
        "Here is the summary of our team's meeting notes from last week. Please rewrite it as a"
        " short status update for the department head, keep every decision and every date, and"
        " drop the small talk.\n\nNotes: The migration of the billing service to the new cluster"
        " is two weeks late because the database driver did not support the connection pooler;"
        " Anna found a workaround on Tuesday and the test environment has run on it since"
        " Wednesday without errors. We agreed to move the production switch to 14 March, with a"
        " rollback plan written by Tom before 10 March. The customer portal release 3.2 is on"
        " track for 21 March; two accessibility findings from the audit remain open and Lena"
        " will fix them this sprint. Hiring: one backend position is filled (start 1 April), the"
        " second is still open. Budget: we are 4% under plan for the quarter. Risks: the vendor"
        " of the payment gateway announced an API change for May, which we have not assessed yet."
    ),
}


def chat_body(prompt: str, *, stream: bool) -> bytes:
    return orjson.dumps(
        {
            "model": "auto",
            "messages": [
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": PROMPTS[prompt]},
            ],
            "max_tokens": 64,
            "temperature": 0,
            "stream": stream,
        }
    )


@contextmanager
def redis_prefix(url: str) -> Iterator[str]:
    """A key prefix of this run's own; its keys are deleted at the end (SCAN on the prefix)."""
    import redis

    prefix = f"bench-hot-{uuid.uuid4().hex[:10]}:"
    try:
        yield prefix
    finally:
        client = redis.Redis.from_url(url)
        try:
            for key in client.scan_iter(match=prefix + "*", count=1000):
                client.delete(key)
        finally:
            client.close()


def summary(cells: gateway.Cells, pairs: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """Per scenario and server: median requests/s and CPU per request; per variant the ratio
    after / before, paired round by round."""
    rows = []
    for scenario, by_target in cells.results.items():
        cpu: dict[str, list[float]] = {}
        for target, rounds in by_target.items():
            cpu[target] = [r.cpu_s / r.ok * 1000 if r.ok else float("nan") for r in rounds]
            rows.append(
                {
                    "scenario": scenario.label,
                    "server": target,
                    "requests_per_s": statistics.median(r.rate for r in rounds),
                    "cpu_ms_per_request": statistics.median(cpu[target]),
                    "cpu_ms_rounds": [round(v, 4) for v in cpu[target]],
                    "p50_ms": statistics.median(r.p50 * 1e3 for r in rounds),
                    "ttft_p50_ms": statistics.median(r.ttft_p50 * 1e3 for r in rounds),
                    "errors": sum(r.errors for r in rounds),
                }
            )
        for variant, (before, after) in pairs.items():
            paired = [a / b for a, b in zip(cpu.get(after, []), cpu.get(before, []), strict=False)]
            if paired:
                rows.append(
                    {
                        "scenario": scenario.label,
                        "server": f"ratio {variant}",
                        "ratio_rounds": [round(v, 3) for v in paired],
                        "ratio_median": round(statistics.median(paired), 3),
                    }
                )
    return rows


#: Steps of a request, by a frame that every sample spent in it has on its stack (py-spy's
#: collapsed stacks): each step's share of the busy samples, callees included.
STEPS = {
    "router decision (LearnedRouter.decide)": ("LearnedRouter.decide ",),
    "record noise after the answer (Evidence.noised)": ("Evidence.noised ",),
    "of which the noise's sensitivity": ("sensitivity (stellwerk/routing/record_noise.py",),
    "backend call (Caller.complete / open_stream)": ("Caller.complete ", "Caller.open_stream "),
    "reading the body (ChatExchange)": ("ChatExchange.__init__ ",),
    "budget reserve (Budget.reserve)": ("Budget.reserve ",),
    "usage record (Accounts.record)": ("Accounts.record ",),
    "Redis counters (RedisCounters)": ("RedisCounters.",),
    "Redis pending feedback (RedisPending)": ("RedisPending.",),
    "ledger insert, writer thread (Ledger.insert_usage)": ("Ledger.insert_usage ",),
}


def steps(raw: Path) -> dict[str, float]:
    """Each of ``STEPS``' share of the busy samples in a py-spy raw file."""
    found = dict.fromkeys(STEPS, 0)
    busy = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        if any(marker in stack.rsplit(";", 1)[-1] for marker in profile._IDLE_LEAVES):
            continue
        busy += int(count)
        for name, markers in STEPS.items():
            if any(marker in stack for marker in markers):
                found[name] += int(count)
    return {name: round(n / busy, 4) if busy else 0.0 for name, n in found.items()}


def profiles(
    runner: gateway.Runner, servers: dict[str, Server], folder: Path, seconds: float
) -> dict[str, Any]:
    """py-spy on each server: a closed-loop load of 20 clients, then streamed requests of 4
    clients."""
    found: dict[str, Any] = {}
    for name, server in servers.items():
        for kind, load in (
            ("plain", lambda s, server=server: runner.load(server, 20, s)),
            (
                "stream",
                lambda s, server=server: runner.measure(gateway.Scenario("stream", 4), server),
            ),
        ):
            out = folder / f"{name.replace(' ', '-')}-{kind}.txt"
            result = profile.profile_under_load(server.process.pid, seconds, out, load)
            if result is not None and out.exists():
                result["steps"] = steps(out)
            found[f"{name} {kind}"] = result
            gateway.settle(server)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.hot_path", description=__doc__)
    parser.add_argument("--before", help="serve this commit's src beside the checkout's")
    parser.add_argument("--redis", nargs="+", choices=("off", "on"), default=["off", "on"])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per cell")
    parser.add_argument("--clients", type=int, nargs="*", default=[1, 20])
    parser.add_argument("--streams", type=int, nargs="*", default=[1])
    parser.add_argument("--stream-count", type=int, default=150)
    parser.add_argument("--prompt", choices=sorted(PROMPTS), default="short")
    parser.add_argument("--profile", type=Path, help="py-spy profiles of every server go here")
    parser.add_argument("--profile-seconds", type=float, default=8.0)
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--no-wrk-install", action="store_true", help="never apt-get install wrk")
    args = parser.parse_args(argv)
    from stellwerk.ledger.scratch import scratch_schema

    postgres = os.environ.get("STELLWERK_TEST_POSTGRES_URL")
    redis_url = os.environ.get("STELLWERK_TEST_REDIS_URL")
    if not postgres or ("on" in args.redis and not redis_url):
        parser.error("set STELLWERK_TEST_POSTGRES_URL (and STELLWERK_TEST_REDIS_URL for Redis)")
    try:
        wrk_path: str | None = wrk.ensure_wrk(install=not args.no_wrk_install)
    except wrk.WrkMissing as exc:
        log(f"wrk unavailable ({exc}); the Python client makes the load")
        wrk_path = None
    with tempfile.TemporaryDirectory(prefix="stellwerk-hot-") as tmp, ExitStack() as stack:
        folder = Path(tmp)
        trees = {"after": ROOT / "src"}
        if args.before:
            trees = {f"before@{commit_of(args.before)}": checkout_src(args.before, folder), **trees}
        instant = start_instant(folder, workers=2)
        stack.callback(stop_server, instant)
        backend = Backend("instant", instant.url, "unused")
        servers: dict[str, Server] = {}
        pairs: dict[str, tuple[str, str]] = {}
        for variant in args.redis:
            names = []
            for tree, src in trees.items():
                name = f"{tree} redis-{variant}"
                home = folder / name.replace(" ", "_")
                home.mkdir()
                url = stack.enter_context(scratch_schema(postgres, prefix="bench_hot"))
                redis = None
                if variant == "on" and redis_url:
                    redis = (redis_url, stack.enter_context(redis_prefix(redis_url)))
                servers[name] = start_governed(backend, home, src, "stellwerk", url, redis)
                stack.callback(stop_server, servers[name])
                names.append(name)
            if len(names) == 2:
                pairs[variant] = (names[0], names[1])
        plan = gateway.Plan(
            scenarios=gateway.scenarios(args.clients, (), args.streams),
            duration=args.duration,
            rounds=args.rounds,
            stream_count=args.stream_count,
        )
        runner = gateway.Runner(servers, plan, folder, wrk_path)
        runner.plain = chat_body(args.prompt, stream=False)
        runner.streamed = chat_body(args.prompt, stream=True)
        if wrk_path:
            runner.script = wrk.write_script(folder, runner.plain, f"Bearer {API_KEY}")
        started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        described = machine.describe()
        found = {}
        if args.profile:
            runner.warm_up()
            found = profiles(runner, servers, args.profile, args.profile_seconds)
        cells = runner.run("instant", log) if args.rounds else None
    data = {
        "started": started,
        "machine": described,
        "commit_before": args.before and commit_of(args.before),
        "plan": {
            "rounds": args.rounds,
            "duration_s": args.duration,
            "redis": args.redis,
            "prompt": args.prompt,
            "prompt_chars": len(PROMPTS[args.prompt]),
        },
        "rows": summary(cells, pairs) if cells else [],
        "profiles": found,
    }
    emit(data, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
