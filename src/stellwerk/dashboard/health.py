"""Backend health for the overview: a live probe bounded in time, and the last hour's errors."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stellwerk.backends.base import Backend
from stellwerk.config.schema import StellwerkConfig
from stellwerk.dashboard.queries import Totals
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
    config: StellwerkConfig, backends: Mapping[str, Backend], last_hour: Sequence[Totals]
) -> list[BackendHealth]:
    """``last_hour``: totals per model over the last hour (mapped to backends by the config)."""
    names = [b.name for b in config.backends]
    errors = await asyncio.gather(*(_probe(backends[n]) for n in names if n in backends))
    probed = dict(zip([n for n in names if n in backends], errors, strict=True))
    backend_of = {m.id: m.backend for m in config.models}
    requests: dict[str, int] = {}
    failed: dict[str, int] = {}
    for totals in last_hour:
        name = backend_of.get(totals.group)
        if name is not None:
            requests[name] = requests.get(name, 0) + totals.requests
            failed[name] = failed.get(name, 0) + totals.errors
    return [
        BackendHealth(
            name=b.name,
            kind=b.kind,
            reachable=b.name in probed and probed[b.name] is None,
            error=probed.get(b.name, "not started"),
            requests_last_hour=requests.get(b.name, 0),
            errors_last_hour=failed.get(b.name, 0),
        )
        for b in config.backends
    ]
