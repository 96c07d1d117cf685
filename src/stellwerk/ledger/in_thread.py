"""Database work in a worker thread that a cancelled caller still lets finish.

The gateway's background loops (the governance snapshot, the models' answer lengths) read the
ledger in a worker thread. ``asyncio.to_thread`` abandons the thread when its caller is cancelled,
so at shutdown the ledger could be closed while a thread still held one of its connections (on
PostgreSQL the connection was then left to the garbage collector, open). ``in_thread`` waits for
the thread before the cancellation goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def in_thread(work: Callable[[], T]) -> T:
    """``work()`` in a worker thread; cancelling the caller waits for ``work`` to return (its
    result or error is dropped) and then re-raises the cancellation."""
    running = asyncio.ensure_future(asyncio.to_thread(work))
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        await asyncio.wait({running})
        raise
