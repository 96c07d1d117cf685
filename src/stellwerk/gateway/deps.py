"""FastAPI dependencies as ``Annotated`` aliases, so routes stay short."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from stellwerk.gateway.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    """``async``: FastAPI runs a plain ``def`` dependency in its thread pool, on every request."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
