"""Backend health for the overview: a live probe bounded in time, and the last hour's failures
(5xx; a request refused for what it asked, a 4xx, is not the backend's)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from stellwerk.backends.base import Backend
from stellwerk.backends.breaker import CircuitBreaker
from stellwerk.config.schema import StellwerkConfig
from stellwerk.errors import UpstreamError

PROBE_TIMEOUT_S = 0.25


@dataclass(frozen=True, slots=True)
class BackendHealth:
    name: str
    kind: str
    reachable: bool
    error: str | None
    requests_last_hour: int
    errors_last_hour: int
    circuit: str | None = None  # the backend's circuit breaker: closed, half_open or open

    @property
    def error_rate(self) -> float | None:
        if not self.requests_last_hour:
            return None
        return self.errors_last_hour / self.requests_last_hour


async def _probe(backend: Backend) -> str | None:
    try:
        await asyncio.wait_for(backend.probe(), PROBE_TIMEOUT_S)
    except TimeoutError:
        return f"no answer within {int(PROBE_TIMEOUT_S * 1000)} ms"
    except UpstreamError as exc:
        return exc.message
    return None


async def backend_health(
    config: StellwerkConfig,
    backends: Mapping[str, Backend],
    last_hour: Mapping[str, tuple[int, int]],
    breakers: Mapping[str, CircuitBreaker] | None = None,
) -> list[BackendHealth]:
    """``last_hour``: backend -> (requests, failures) in the last hour; ``breakers``: the gateway's
    circuit breakers, whose state is shown beside the probe's answer."""
    names = [n for n in (b.name for b in config.backends) if n in backends]
    errors = await asyncio.gather(*(_probe(backends[n]) for n in names))
    probed = dict(zip(names, errors, strict=True))
    return [
        BackendHealth(
            name=b.name,
            kind=b.kind,
            reachable=b.name in probed and probed[b.name] is None,
            error=probed.get(b.name, "not started"),
            requests_last_hour=last_hour.get(b.name, (0, 0))[0],
            errors_last_hour=last_hour.get(b.name, (0, 0))[1],
            circuit=breakers[b.name].state if breakers and b.name in breakers else None,
        )
        for b in config.backends
    ]
