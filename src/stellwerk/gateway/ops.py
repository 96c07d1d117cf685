"""Operations: ``/healthz`` (process up), ``/readyz`` (ready to serve), ``/metrics``; and ``/``,
Ollama's answer to a probe (``Ollama is running``).

``/readyz`` reports what the background health probes (``backends.health``) last found and the
state of each backend's circuit breaker, whether the limit counters reach Redis (``redis``: the
last use of it, by a request or the liveness renewal every few seconds) and the ledger writer's
state (``ledger``); it probes nothing itself, so calling it costs nothing. The replica is ready
when every backend is, the counters reach Redis (without them every model request is a 503) and
the ledger writer has room: failing writes alone leave it ready, for requests are answered and
their records held until the database is back; once the writer holds its ``capacity`` requests
wait for room, and the replica is not ready. With Redis, a replica that could not read a
governance change announced to it (``governance``: ``governance.staleness``) refuses every model
request and is not ready until it has read it; ``/healthz`` stays ok (the process is fine).
With ``server.ops_require_key`` (the default) ``/metrics`` and the detail of ``/readyz`` need a
key of the role ``metrics`` or ``admin``: they name departments and backends. ``/readyz``
without a key, or with a key of another role, still answers 200 or 503 with its status only (for
load balancers and probes; an unknown key is a 401, as everywhere); ``/healthz`` is always open.
Both take ``HEAD`` as ``GET`` (the same status, no body): load balancers probe with it. No error
shown here carries a server's own message (Redis's and the database's name their addresses): the
log has those.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import PlainTextResponse, Response

from stellwerk.errors import PermissionDenied
from stellwerk.gateway import openapi
from stellwerk.gateway.deps import RuntimeDep
from stellwerk.gateway.response_schema import (
    BackendReadiness,
    GovernanceReadiness,
    Health,
    LedgerReadiness,
    NoticesReadiness,
    Readiness,
    RedisReadiness,
)
from stellwerk.gateway.runtime import Runtime
from stellwerk.governance.redis_pool import RedisHealth
from stellwerk.ledger.writer import WriterStats

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
        503: {
            "description": "A backend does not answer, the limit counters cannot reach Redis,"
            " the ledger writer is full, or a governance change announced to the replica could"
            " not be read.",
            "model": Readiness,
        },
        **openapi.errors("openai", (401, 403)),
    },
    openapi_extra={"security": [{}, {"bearer": []}]},
)
@router.head("/readyz", include_in_schema=False)  # load balancers probe with HEAD
async def readyz(request: Request, runtime: RuntimeDep) -> Response:
    """200 if every backend answered its last health probe and its circuit is not open, the
    limit counters reach Redis, the ledger writer has room and the replica has read every
    governance change announced to it, else 503; the detail (each backend, ``redis``,
    ``ledger``, ``governance``) for a ``metrics`` or ``admin`` key (or for anyone, with
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
    redis = None if runtime.redis is None else redis_readiness(runtime.redis)
    ledger = None if runtime.writer is None else ledger_readiness(runtime.writer.stats)
    governance = None if runtime.redis is None else governance_readiness(runtime)
    parts = [*backends.values(), *(p for p in (redis, ledger, governance) if p is not None)]
    ready = all(p.ready for p in parts)
    status = "ready" if ready else "not_ready"
    if _may_read(runtime, request, optional=True):
        listening = runtime.governance.notices.listening  # told, not counted: see its model
        notices = (
            None
            if listening is None
            else NoticesReadiness(listening=listening, error=runtime.governance.notices.error)
        )
        answer = Readiness(
            status=status,
            backends=backends,
            redis=redis,
            ledger=ledger,
            governance_notices=notices,
            governance=governance,
        )
        optional = (("redis", redis), ("governance_notices", notices), ("governance", governance))
        unset = {n for n, v in optional if v is None}
        body = answer.model_dump_json(exclude=unset or None)
    else:
        body = Readiness(status=status).model_dump_json(exclude_none=True)
    return Response(body, status_code=200 if ready else 503, media_type="application/json")


def redis_readiness(health: RedisHealth) -> RedisReadiness:
    """The limit counters' Redis: not ready while their last use of it failed."""
    error = health.error()
    if error is not None:
        error += "; model requests are refused with 503 until it answers (the log has its error)"
    return RedisReadiness(ready=error is None, error=error)


def governance_readiness(runtime: Runtime) -> GovernanceReadiness:
    """The governance snapshot: not ready while the replica knows it missed a change announced
    to it (``governance.staleness``), for it refuses every model request meanwhile."""
    staleness = runtime.governance.staleness
    error = staleness.error()
    return GovernanceReadiness(ready=error is None, error=error, stale_since=staleness.since())


def ledger_readiness(stats: WriterStats) -> LedgerReadiness:
    """The ledger writer: ready while it runs and has room, failing writes or not (its records
    are held and written once the database is back); not ready once it holds ``capacity``
    records (requests wait for room) or has stopped."""
    error = None
    if stats.consecutive_failures:
        error = (
            f"ledger writes fail ({stats.last_error_kind}); the usage records are held and"
            " written once the database answers (the log has its error)"
        )
    if stats.full:
        error = (error or "the ledger writer is full") + (
            f"; {stats.held} of {stats.capacity} records held: requests wait for room"
        )
    if not stats.running:
        error = "the ledger writer has stopped (the log says why)"
    since = stats.failing_since
    return LedgerReadiness(
        ready=stats.running and not stats.full,
        error=error,
        held=stats.held,
        capacity=stats.capacity,
        consecutive_failures=stats.consecutive_failures,
        failing_since=None if since is None else datetime.fromtimestamp(since, UTC),
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
    """Whether the caller may read the operations detail; 401 for an unknown key, 403 for a key
    of another role (and 401 for no key) unless ``optional``: then only the status is told."""
    if not runtime.config.server.ops_require_key:
        return True
    if optional and "authorization" not in request.headers:
        return False
    principal = runtime.keyring.authenticate(request.headers.get("authorization"))
    if principal.role not in OPS_ROLES:
        if optional:  # /readyz: the status, as without a key (a probe may forward a user key)
            return False
        raise PermissionDenied(
            f"key {principal.key_id!r} has the role {principal.role!r}; this needs a key with"
            f" the role {' or '.join(repr(r) for r in OPS_ROLES)}",
            code="not_ops",
        )
    return True
