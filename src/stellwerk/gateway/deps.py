"""FastAPI dependencies as ``Annotated`` aliases, so routes stay short; ``runtime_of``, the one
typed way to the app's runtime, for the data plane's handlers (:mod:`stellwerk.gateway.data_plane`),
which are plain Starlette routes, and for the dashboard."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from stellwerk.errors import NotStarted
from stellwerk.gateway.runtime import Runtime


def runtime_of(request: Request) -> Runtime:
    """The app's runtime (set at start-up), for handlers that take only the request; 503
    (:class:`~stellwerk.errors.NotStarted`) before the app started."""
    runtime = getattr(request.app.state, "runtime", None)
    if not isinstance(runtime, Runtime):
        raise NotStarted(
            "the gateway has not started: its runtime is built at start-up (the app's lifespan)"
        )
    return runtime


async def get_runtime(request: Request) -> Runtime:
    """``async``: FastAPI runs a plain ``def`` dependency in its thread pool, on every request."""
    return runtime_of(request)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
