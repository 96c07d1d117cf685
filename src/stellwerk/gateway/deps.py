"""FastAPI dependencies as ``Annotated`` aliases, so routes stay short; ``runtime_of`` for the
data plane's handlers (:mod:`stellwerk.gateway.data_plane`), which are plain Starlette routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from stellwerk.gateway.runtime import Runtime


def runtime_of(request: Request) -> Runtime:
    """The app's runtime (set at start-up), for handlers that take only the request."""
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_runtime(request: Request) -> Runtime:
    """``async``: FastAPI runs a plain ``def`` dependency in its thread pool, on every request."""
    return runtime_of(request)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
