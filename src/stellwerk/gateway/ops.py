"""Operations: ``/healthz`` (process up), ``/readyz`` (backends ready), ``/metrics``; and ``/``,
Ollama's answer to a probe (``Ollama is running``).

``/readyz`` reports what the background health probes (``backends.health``) last found and the
state of each backend's circuit breaker; it probes nothing itself, so calling it costs the
backends nothing. With ``server.ops_require_key`` (the default) ``/metrics`` and the per-backend
detail of ``/readyz`` need a key of the role ``metrics`` or ``admin``: they name departments and
backends. ``/readyz`` without a key still answers 200 or 503 (for load balancers and probes);
``/healthz`` is always open. Both take ``HEAD`` as ``GET`` (the same status, no body): load
balancers probe with it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import PlainTextResponse, Response

from stellwerk.errors import PermissionDenied
from stellwerk.gateway import openapi
from stellwerk.gateway.deps import RuntimeDep
from stellwerk.gateway.response_schema import BackendReadiness, Health, Readiness
from stellwerk.gateway.runtime import Runtime

router = APIRouter(tags=["Operations"])

#: The roles whose keys may read ``/metrics`` and ``/readyz``'s detail.
OPS_ROLES = ("metrics", "admin")


@router.get("/", response_class=PlainTextResponse, tags=["Ollama API"])
@router.head("/", include_in_schema=False)
async def root() -> Response:
    """``Ollama is running`` (plain text), as Ollama answers ``GET /`` and ``HEAD /``: tools
    that probe a URL for an Ollama server find one. Open, as ``/api/version`` is."""
    return PlainTextResponse("Ollama is running")


@router.get("/healthz", response_model=Health)
@router.head("/healthz", include_in_schema=False)  # load balancers probe with HEAD
async def healthz() -> Response:
    """The gateway process is up (``HEAD`` too: load balancers probe with it)."""
    return Response(b'{"status":"ok"}', media_type="application/json")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={
        503: {"description": "A backend does not answer.", "model": Readiness},
        **openapi.errors("openai", (401, 403)),
    },
    openapi_extra={"security": [{}, {"bearer": []}]},
)
@router.head("/readyz", include_in_schema=False)  # load balancers probe with HEAD
async def readyz(request: Request, runtime: RuntimeDep) -> Response:
    """200 if every backend answered its last health probe and its circuit is not open, else
    503; the per-backend detail for a ``metrics`` or ``admin`` key (or for anyone, with
    ``server.ops_require_key: false``). ``HEAD`` too: the same status, without the body."""
    errors = runtime.health.last_errors
    backends = {
        name: BackendReadiness(
            ready=runtime.backend_ready(name),
            error=errors.get(name),
            circuit=breaker.state,
        )
        for name, breaker in runtime.breakers.items()
    }
    ready = all(b.ready for b in backends.values())
    detailed = _may_read(runtime, request, optional=True)
    answer = Readiness(
        status="ready" if ready else "not_ready", backends=backends if detailed else None
    )
    return Response(
        answer.model_dump_json(exclude_none=not detailed),
        status_code=200 if ready else 503,
        media_type="application/json",
    )


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses=openapi.errors("openai", (401, 403)),
    openapi_extra={"security": [{"bearer": []}]},
)
async def metrics(request: Request, runtime: RuntimeDep) -> Response:
    """Prometheus metrics: requests, latency, tokens by model and department, upstream errors
    (a ``metrics`` or ``admin`` key, unless ``server.ops_require_key`` is false)."""
    _may_read(runtime, request, optional=False)
    for name, error in runtime.health.last_errors.items():
        runtime.metrics.backend_up.labels(name).set(0 if error else 1)
    return Response(runtime.metrics.render(), media_type=CONTENT_TYPE_LATEST)


def _may_read(runtime: Runtime, request: Request, *, optional: bool) -> bool:
    """Whether the caller may read the operations detail; 401/403 for a key that may not (and
    for no key unless ``optional``)."""
    if not runtime.config.server.ops_require_key:
        return True
    if optional and "authorization" not in request.headers:
        return False
    principal = runtime.keyring.authenticate(request.headers.get("authorization"))
    if principal.role not in OPS_ROLES:
        raise PermissionDenied(
            f"key {principal.key_id!r} has the role {principal.role!r}; this needs a key with"
            f" the role {' or '.join(repr(r) for r in OPS_ROLES)}",
            code="not_ops",
        )
    return True
