"""Prometheus metrics of one app instance, in its own registry (no process-global state)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from stellwerk.backends.breaker import CircuitBreaker
from stellwerk.governance.notices import Notices
from stellwerk.governance.redis_pool import RedisHealth
from stellwerk.governance.staleness import Staleness
from stellwerk.ledger.writer import WriterStats

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "stellwerk_requests",
            "Requests answered, by API, endpoint, model, department and HTTP status.",
            ["api", "endpoint", "model", "department", "status"],
            registry=self.registry,
        )
        self.unauthenticated = Counter(
            "stellwerk_unauthenticated_requests",
            "Requests refused before their key was known (no key, a malformed or unknown one,"
            " Authorization sent twice, a body over the limit; on any endpoint, failed dashboard"
            " logins too), by API, endpoint and the refusal's code; they leave no usage record"
            " (docs/api.md).",
            ["api", "endpoint", "reason"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "stellwerk_request_latency_seconds",
            "Time from request to the end of the answer.",
            ["endpoint", "model"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.ttft = Histogram(
            "stellwerk_time_to_first_token_seconds",
            "Time from request to the first streamed token.",
            ["model"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.tokens = Counter(
            "stellwerk_tokens",
            "Tokens by model, department and kind (prompt or completion).",
            ["model", "department", "kind"],
            registry=self.registry,
        )
        self.upstream_errors = Counter(
            "stellwerk_upstream_errors",
            "Backend failures by backend and kind (unavailable, circuit_open, failed, timeout);"
            " never a request refused for what it asked (a prompt over the context is a 400).",
            ["backend", "kind"],
            registry=self.registry,
        )
        self.shadow_skipped = Counter(
            "stellwerk_shadow_skipped",
            "Routed requests shadow grading would have graded but skipped, by reason (busy,"
            " paused, rate, department_share, judge_context; docs/router.md, Shadow grading).",
            ["reason"],
            registry=self.registry,
        )
        self.backend_up = Gauge(
            "stellwerk_backend_up",
            "1 if the backend answered its last probe, else 0.",
            ["backend"],
            registry=self.registry,
        )

    def watch_breakers(self, breakers: Mapping[str, CircuitBreaker]) -> None:
        """Expose each backend's breaker state, read at scrape time."""
        gauge = Gauge(
            "stellwerk_backend_circuit_state",
            "Circuit breaker of each backend: 0 closed, 1 half open, 2 open (skipped).",
            ["backend"],
            registry=self.registry,
        )
        for name, breaker in breakers.items():
            gauge.labels(name).set_function(_state_of(breaker))

    def watch_ledger(self, stats: Callable[[], WriterStats]) -> None:
        """Expose the ledger writer's state (``stats``: its ``stats``), read at scrape time."""
        figures: dict[str, tuple[str, Callable[[WriterStats], float]]] = {
            "held": (
                "Usage records accepted and not yet written: while the ledger's database fails"
                " they are held in memory, up to stellwerk_ledger_capacity.",
                lambda s: s.held,
            ),
            "capacity": (
                "The most usage records held before requests wait for room (backpressure).",
                lambda s: s.capacity,
            ),
            "consecutive_failures": (
                "Ledger writes failed in a row; 0 once one succeeds.",
                lambda s: s.consecutive_failures,
            ),
            "failing_since_seconds": (
                "Unix time of the first failed ledger write of the failures now; 0 while writes"
                " succeed.",
                lambda s: s.failing_since or 0.0,
            ),
        }
        for name, (documentation, figure) in figures.items():
            gauge = Gauge(f"stellwerk_ledger_{name}", documentation, registry=self.registry)
            gauge.set_function(_read(stats, figure))

    def watch_redis(self, health: RedisHealth) -> None:
        """Expose whether the limit counters reach Redis, read at scrape time."""
        gauge = Gauge(
            "stellwerk_redis_up",
            "1 if the limit counters' last use of Redis succeeded, else 0 (model requests get"
            " 503 while it fails).",
            registry=self.registry,
        )
        gauge.set_function(lambda: 0.0 if health.error() else 1.0)

    def watch_notices(self, notices: Notices) -> None:
        """Expose whether this replica listens for governance notices, read at scrape time."""
        gauge = Gauge(
            "stellwerk_governance_notices_up",
            "1 while this replica listens for governance notices on Redis, else 0 (it follows"
            " changes at its poll, governance.refresh_seconds, meanwhile).",
            registry=self.registry,
        )
        gauge.set_function(lambda: 1.0 if notices.listening else 0.0)

    def watch_staleness(self, staleness: Staleness) -> None:
        """Expose whether this replica's governance is stale, read at scrape time."""
        gauge = Gauge(
            "stellwerk_governance_stale",
            "1 while this replica could not read a governance change announced by another"
            " replica (model requests get 503 governance_stale, /readyz is not ready), else 0.",
            registry=self.registry,
        )
        gauge.set_function(lambda: 1.0 if staleness.stale else 0.0)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _state_of(breaker: CircuitBreaker) -> Callable[[], float]:
    return lambda: float(breaker.code)


def _read(
    stats: Callable[[], WriterStats], figure: Callable[[WriterStats], float]
) -> Callable[[], float]:
    return lambda: float(figure(stats()))
