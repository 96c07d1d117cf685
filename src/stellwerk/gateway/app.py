"""``create_app(config)``: the whole gateway as one FastAPI app; nothing happens at import.

Start-up (the lifespan) opens the ledger and migrates it (or takes the one ``stellwerk serve``
opened and migrated before the server started: ``ledger``), puts the catalog costs accepted from a
calibration over the configured ones, starts its batched writer, builds the backends on one
pooled HTTP client, loads the router (and its newest promoted version, followed from then on:
``router_versions``) and reads the models' answer lengths (refreshed in the
background from then on); it follows governance changes made elsewhere (their notices on Redis,
and the poll); shutdown drains the ledger writer.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from secrets import token_hex
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from stellwerk import __version__
from stellwerk.calibration.costs import with_measured_costs
from stellwerk.calibration.records import CalibrationStore
from stellwerk.config.base import same_origin
from stellwerk.config.loader import config_hash
from stellwerk.config.schema import StellwerkConfig
from stellwerk.config.weights import refuse_split_hosting
from stellwerk.dashboard import install_dashboard
from stellwerk.gateway import admin_api, data_plane, errors, openapi, ops
from stellwerk.gateway.access_log import AccessLog
from stellwerk.gateway.answer_lengths import AnswerLengths
from stellwerk.gateway.body_limit import BodyLimit
from stellwerk.gateway.config_secrets import Secrets, env_key_hashes
from stellwerk.gateway.gate import Gate
from stellwerk.gateway.limits import InFlight
from stellwerk.gateway.refusal import count_unknown_key
from stellwerk.gateway.router_versions import RouterVersions
from stellwerk.gateway.runtime import Runtime, build_runtime
from stellwerk.governance.counters import build_counters, redis_password
from stellwerk.governance.notices import build_notices
from stellwerk.governance.redis_pool import RedisHealth
from stellwerk.governance.service import SEED_DELAY_S, Governance
from stellwerk.learning.schedule import adapt_schedule
from stellwerk.ledger.graded import GradedStore
from stellwerk.ledger.ledger import Ledger, open_ledger
from stellwerk.ledger.writer import LedgerWriter
from stellwerk.routing.loader import load_router

if TYPE_CHECKING:
    from stellwerk.dashboard.services import Runtime as DashboardRuntime

    def _read_by_dashboard(runtime: Runtime) -> DashboardRuntime:
        """The dashboard reads the runtime as its own ``Runtime``: mypy checks that it is one."""
        return runtime


def create_app(
    config: StellwerkConfig,
    *,
    environ: Mapping[str, str] | None = None,
    ledger: Ledger | None = None,
) -> FastAPI:
    """Build the app. ``environ`` holds the referenced secrets (default: the process env).
    ``ledger``: the ledger of ``config``, opened (and so migrated) already, which the app's
    first start takes over instead of opening it again (and closes at its shutdown); without
    it, and at any later start, the start opens its own. A config whose ids of the same weights
    state different hosting is refused (``ConfigError``), as ``parse_config`` refuses it: one
    built in code (``StellwerkConfig.model_validate``, ``model_copy``) has not been through it."""
    refuse_split_hosting(config, config.source or "<config>")
    env = os.environ if environ is None else environ
    secrets = Secrets.resolve(config, env)
    password = redis_password(config, env)
    router = load_router(config.router)
    handed = [ledger] if ledger is not None else []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ledger = handed.pop() if handed else open_ledger(config.server.database_url)
        # Catalog costs an operator accepted from a calibration replace the configured ones.
        calibrations = CalibrationStore(ledger)
        served = with_measured_costs(config, calibrations.current_costs())
        writer = LedgerWriter(ledger)
        await writer.start()
        file_hash = config_hash(config)
        redis = RedisHealth() if config.server.redis_url else None  # what /readyz reads
        instance = token_hex(8)  # this replica in Redis: its liveness, its notices' acks
        governance = Governance(
            ledger,
            served,
            evaluated=calibrations.evaluated,
            config_hash=file_hash,
            counters=build_counters(config, password, redis, instance),
            notices=build_notices(
                config.server.redis_url,
                prefix=config.server.redis_prefix,
                password=password,
                health=redis,
                instance=instance,
            ),
            seed_delay_s=SEED_DELAY_S if config.server.redis_url else 0.0,
            key_hashes=env_key_hashes(config, env),  # recorded in the config.load entry
        )
        await asyncio.to_thread(governance.start)
        await governance.seed_month_spend()
        versions = RouterVersions(router, ledger)  # a promoted correction of the artifact
        await asyncio.to_thread(versions.load)
        runtime = build_runtime(
            served,
            secrets,
            router,
            writer,
            governance,
            file_hash=file_hash,
            password=password,
            redis=redis,
        )
        app.state.runtime = runtime
        app.state.ledger = ledger
        runtime.graded = GradedStore(ledger)
        answers = AnswerLengths(ledger, runtime.selector, config.router)
        await answers.refresh()
        runtime.health.start()
        background = asyncio.create_task(governance.run(config.governance.refresh_seconds))
        measuring = asyncio.create_task(answers.run())
        alive = asyncio.create_task(governance.counters.keep_alive())  # held reservations
        following = asyncio.create_task(versions.run(config.governance.refresh_seconds))
        noticing = asyncio.create_task(governance.follow())  # changes elsewhere, at once
        tasks = {background, measuring, alive, following, noticing}
        schedule = adapt_schedule(config, router, ledger, config_hash=file_hash)
        if schedule is not None:  # router.adapt_every_s: adapt on its own, one replica at a time
            check_s = min(config.router.adapt_every_s, config.governance.refresh_seconds)
            tasks.add(asyncio.create_task(schedule.run(check_s)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            # their database work in flight ends before the ledger closes (ledger.in_thread)
            await asyncio.wait(tasks)
            await runtime.shadow.close()
            await runtime.pending.close()
            await runtime.health.stop()
            await runtime.client.aclose()
            await writer.close()
            await governance.counters.close()
            governance.notices.close()
            ledger.close()

    app = FastAPI(
        title="Stellwerk",
        version=__version__,
        description="One OpenAI- and Ollama-compatible endpoint for an organisation's own models.",
        lifespan=lifespan,
        # Stellwerk exports its own Prometheus metrics; FastAPI's OpenTelemetry hook would look
        # up the global providers (and read the environment) on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        # FastAPI's own /docs and /redoc load their scripts from a CDN: see openapi.install_pages
        docs_url=None,
        redoc_url=None,
        # A path with a slash too many is an unknown one (404 in the API's format), not a 307 to
        # an absolute URL built from the client's Host header (Starlette's default)
        redirect_slashes=False,
    )
    # The data plane's exact routes at once; CORS and the guards, added after, wrap them.
    app.add_middleware(data_plane.Lane, on_refused=count_unknown_key)
    # Before anything reads a body: the key's in-flight share (and auth first on /admin), and,
    # around everything, the body limit. CORS, added after, wraps their answers too.
    app.add_middleware(Gate, in_flight=InFlight.of(config))
    app.add_middleware(BodyLimit, max_bytes=config.server.max_body_bytes)
    if config.server.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            # as browsers send them (``HTTP://Intranet.example/`` would match none)
            allow_origins=[same_origin(origin) for origin in config.server.cors_origins],
            allow_methods=["GET", "POST"],
            allow_headers=["authorization", "content-type", "x-stellwerk-classification"],
            expose_headers=["x-stellwerk-model", "x-stellwerk-decision", "x-stellwerk-request-id"],
        )
    errors.install(app, count_unknown_key)
    # The data plane through the router too: its 405s (and a request under a root path).
    app.router.routes.extend(data_plane.routes())
    app.include_router(ops.router)
    app.include_router(admin_api.router)
    install_dashboard(app, config, env)
    passable = [name for backend in config.backends for name in backend.pass_params]
    openapi.install(
        app, data_plane.ENDPOINTS, ops_keyed=config.server.ops_require_key, passable=passable
    )
    openapi.install_pages(app, config.server)
    app.add_middleware(errors.Bugs)  # a bug's 500, inside the access log, which logs it
    app.add_middleware(AccessLog)  # added last: the outermost, it sees every answer
    return app


@asynccontextmanager
async def started(app: FastAPI) -> AsyncIterator[Runtime]:
    """Start ``app`` (its lifespan) without a server and yield its runtime; shutdown runs when the
    block ends. What uvicorn does around serving, for callers that hand the app requests
    themselves (``httpx.ASGITransport``)."""
    async with app.router.lifespan_context(app):
        runtime: Runtime = app.state.runtime
        yield runtime
