"""Operations: ``/healthz`` (process up), ``/readyz`` (backends reachable), ``/metrics``."""

from __future__ import annotations

import asyncio

import orjson
from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import PlainTextResponse, Response

from stellwerk.backends.health import probe_once
from stellwerk.gateway.deps import RuntimeDep
from stellwerk.gateway.response_schema import Health, Readiness

router = APIRouter(tags=["Operations"])


@router.get("/healthz", response_model=Health)
async def healthz() -> Response:
    """The gateway process is up."""
    return Response(b'{"status":"ok"}', media_type="application/json")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"description": "A backend does not answer.", "model": Readiness}},
)
async def readyz(runtime: RuntimeDep) -> Response:
    """Probe every backend; 200 if all answer, 503 naming the ones that do not."""

    async def probe(name: str) -> tuple[str, str | None]:
        error = await probe_once(runtime.backends[name], runtime.breakers[name])
        runtime.metrics.backend_up.labels(name).set(0 if error else 1)
        return name, error

    results = await asyncio.gather(*(probe(name) for name in runtime.backends))
    backends = {
        name: {"ready": error is None, "error": error, "circuit": runtime.breakers[name].state}
        for name, error in results
    }
    ready = all(error is None for _, error in results)
    return Response(
        orjson.dumps({"status": "ready" if ready else "not_ready", "backends": backends}),
        status_code=200 if ready else 503,
        media_type="application/json",
    )


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(runtime: RuntimeDep) -> Response:
    """Prometheus metrics: requests, latency, tokens by model and department, upstream errors."""
    return Response(runtime.metrics.render(), media_type=CONTENT_TYPE_LATEST)
