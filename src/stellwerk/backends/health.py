"""Active health probes: every backend is probed on its own interval. A probe that cannot connect
or gets an error opens the backend's breaker at once, so requests skip it before any of them has
to wait; a probe that times out counts as one failure (a busy server, such as llama.cpp's, may hold
its model list behind a running generation); an answered probe closes the breaker.

A request that a backend answered with an error (``BackendAnswered``: a 5xx, a broken answer)
does not count against its circuit by itself, as a request can make a healthy server fail; the
gateway asks for a confirming probe instead (``HealthMonitor.confirm``): one that cannot connect
or gets an error trips the breaker, one that answers or times out (a busy server is not a broken
one) leaves it as it is."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from stellwerk.backends.base import Backend
from stellwerk.backends.breaker import CircuitBreaker
from stellwerk.errors import BackendTimeout, UpstreamError

log = logging.getLogger("stellwerk.health")


async def probe_once(backend: Backend, breaker: CircuitBreaker) -> str | None:
    """Probe one backend, update its breaker; the error message if it did not answer."""
    try:
        async with asyncio.timeout(backend.config.breaker.probe_timeout_s):
            await backend.probe()
    except (TimeoutError, BackendTimeout):
        breaker.failure()
        return "health probe timed out"
    except UpstreamError as exc:
        if breaker.state != "open":
            log.warning("backend %r failed its health probe: %s", backend.name, exc.message)
        breaker.trip()
        return exc.message
    if breaker.state != "closed":
        log.info("backend %r answers again; circuit closed", backend.name)
    breaker.success()
    return None


async def confirm_once(backend: Backend, breaker: CircuitBreaker) -> str | None:
    """The probe after an answered failure: trips the breaker only if the backend fails it."""
    try:
        async with asyncio.timeout(backend.config.breaker.probe_timeout_s):
            await backend.probe()
    except (TimeoutError, BackendTimeout):
        return None
    except UpstreamError as exc:
        if breaker.state != "open":
            log.warning("backend %r failed, and so did its health probe: %s", backend.name, exc)
        breaker.trip()
        return exc.message
    return None


class HealthMonitor:
    """Runs the probes in the background while the gateway serves."""

    def __init__(
        self, backends: Mapping[str, Backend], breakers: Mapping[str, CircuitBreaker]
    ) -> None:
        self.backends = backends
        self.breakers = breakers
        #: each probed backend's last probe: None if it answered, else why not (``/readyz``)
        self.last_errors: dict[str, str | None] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._confirming: dict[str, asyncio.Task[str | None]] = {}

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._watch(name), name=f"probe:{name}") for name in self.backends
        ]

    def confirm(self, name: str) -> None:
        """Backend ``name`` answered a request with an error: probe it now (``confirm_once``),
        at most one such probe at a time per backend."""
        if name in self._confirming:
            return
        task = asyncio.create_task(
            confirm_once(self.backends[name], self.breakers[name]), name=f"confirm:{name}"
        )
        self._confirming[name] = task
        task.add_done_callback(lambda _: self._confirming.pop(name, None))

    async def stop(self) -> None:
        tasks = [*self._tasks, *self._confirming.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks = []

    async def _watch(self, name: str) -> None:
        backend, breaker = self.backends[name], self.breakers[name]
        while True:
            await asyncio.sleep(backend.config.breaker.probe_interval_s)
            self.last_errors[name] = await probe_once(backend, breaker)
