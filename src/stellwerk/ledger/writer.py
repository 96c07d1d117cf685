"""The batched usage writer: requests hand over their record and move on; a task writes batches.

Durability guarantee (for users in docs/ledger.md; checked by tests/ledger/test_durability.py):

* ``await submit(record)`` returns once the record is accepted into memory. It is committed by the
  batch that contains it: when ``batch_size`` records are waiting, or ``flush_interval_ms`` after it
  arrived, whichever comes first, plus the time of the write itself.
* ``await submit(record, wait=True)`` and ``await flush()`` return only after the commit: from then
  on the record survives a SIGKILL of the process (and, on SQLite in WAL mode with
  ``synchronous=NORMAL``, anything but a power loss or OS crash).
* A SIGKILL loses exactly the records accepted but not yet committed: in normal operation those of
  the last ``flush_interval_ms``; while the database is down, up to ``capacity`` records.

Nothing is dropped: a failed write is logged as an error and retried with exponential backoff,
the records stay in memory, and when ``capacity`` records are held ``submit`` waits (backpressure)
instead of dropping. Writes are idempotent (``(request_id, time)`` is the primary key and
duplicates are skipped), so a batch retried after a lost acknowledgement is not counted twice.

The event loop never blocks on the database: the default ``write_batch`` runs
:meth:`Ledger.insert_usage` in a worker thread (``asyncio.to_thread``); any coroutine function
taking a sequence of records can be given instead (an async driver, a test double).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType

from sqlalchemy.exc import DataError, IntegrityError

from stellwerk.errors import LedgerError
from stellwerk.ledger.ledger import Ledger
from stellwerk.ledger.record import UsageRecord
from stellwerk.ledger.rows import check_record

logger = logging.getLogger(__name__)

BatchWriter = Callable[[Sequence[UsageRecord]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class WriterStats:
    """A snapshot for health checks and metrics."""

    accepted: int
    written: int
    held: int
    consecutive_failures: int
    last_error: str | None
    failing_since: float | None
    set_aside: int = 0
    """Records the database refused for what they hold, logged whole and not stored."""
    capacity: int = 0
    """The most records held before ``submit`` waits (backpressure: requests slow down)."""
    last_error_kind: str | None = None
    """The type of the last failure (``OperationalError``): ``last_error`` without the
    database's own words (an address), for what callers of ``/readyz`` may read."""
    running: bool = True
    """False once the writer stopped (closed, or stopped by an error it logged)."""

    @property
    def healthy(self) -> bool:
        return self.consecutive_failures == 0

    @property
    def full(self) -> bool:
        """``capacity`` records are held: ``submit`` waits for room, requests slow down."""
        return self.held >= self.capacity


class LedgerWriter:
    """Batch usage records into the ledger off the request path (see the module docstring)."""

    def __init__(
        self,
        ledger: Ledger | None = None,
        *,
        write_batch: BatchWriter | None = None,
        batch_size: int = 500,
        flush_interval_ms: float = 200.0,
        capacity: int = 50_000,
        retry_initial_s: float = 0.05,
        retry_max_s: float = 5.0,
    ) -> None:
        if write_batch is None:
            if ledger is None:
                raise LedgerError("LedgerWriter needs a ledger or a write_batch function")
            write_batch = _threaded(ledger)
        if not 1 <= batch_size <= capacity:
            raise LedgerError(f"need 1 <= batch_size ({batch_size}) <= capacity ({capacity})")
        if flush_interval_ms <= 0 or retry_initial_s <= 0 or retry_max_s < retry_initial_s:
            raise LedgerError("flush interval and retry delays must be positive")
        self._write_batch = write_batch
        self._batch_size = batch_size
        self._interval_s = flush_interval_ms / 1000.0
        self._capacity = capacity
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._pending: deque[tuple[float, UsageRecord]] = deque()
        self._in_flight: list[UsageRecord] = []
        self._accepted = 0
        self._written = 0
        self._flush_target = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._space = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._failures = 0
        self._set_aside = 0  # records the database refused for what they hold (_write_apart)
        self._last_error: str | None = None
        self._last_kind: str | None = None
        self._failing_since: float | None = None

    # lifecycle -----------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="stellwerk-ledger-writer")
            self._task.add_done_callback(self._stopped)

    def _stopped(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            logger.error(
                "ledger writer stopped by %r with %d usage records held",
                task.exception(),
                self._held(),
            )

    async def __aenter__(self) -> LedgerWriter:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self, timeout: float | None = None) -> None:
        """Write everything accepted so far, then stop; further submits are refused.

        If ``timeout`` seconds pass first (the database is down), stop retrying and raise
        :class:`LedgerError` saying how many records are unwritten; :meth:`unwritten` returns them.
        (A parameter rather than ``asyncio.timeout``: giving up must also stop the writer.)
        """
        self._closing = True
        self._wake.set()
        self._space.set()
        if self._task is None:
            if self._pending:
                raise LedgerError(f"writer closed before start: {len(self._pending)} unwritten")
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except TimeoutError:
            self._task.cancel()
            error = LedgerError(
                f"ledger writer closed with {self._held()} usage records unwritten "
                f"(last error: {self._last_error})"
            )
            for _, future in self._waiters:
                if not future.done():
                    future.set_exception(error)
            self._waiters = []
            logger.error("%s", error)
            raise error from None

    def unwritten(self) -> list[UsageRecord]:
        """Records accepted but not known to be committed (for a last-resort dump after close)."""
        return [*self._in_flight, *(record for _, record in self._pending)]

    @property
    def stats(self) -> WriterStats:
        return WriterStats(
            accepted=self._accepted,
            written=self._written,
            held=len(self._in_flight) + len(self._pending),
            consecutive_failures=self._failures,
            last_error=self._last_error,
            failing_since=self._failing_since,
            set_aside=self._set_aside,
            capacity=self._capacity,
            last_error_kind=self._last_kind if self._failures else None,
            running=self._task is not None and not self._task.done() and not self._closing,
        )

    # producers -----------------------------------------------------------------------------------

    async def submit(self, record: UsageRecord, *, wait: bool = False) -> None:
        """Accept ``record``; with ``wait=True`` return only once it is committed.

        A malformed record is refused here with a :class:`LedgerError` naming the field. When
        ``capacity`` records are held, this waits for room (backpressure) rather than drop one.
        """
        check_record(record)
        if self._task is None:
            raise LedgerError("ledger writer not started (use 'async with' or await start())")
        if self._task.done() and not self._closing:
            raise LedgerError("ledger writer has stopped; see the error logged when it did")
        while not self._closing and self._held() >= self._capacity:
            self._space.clear()
            await self._space.wait()
        if self._closing:
            raise LedgerError("ledger writer is closed; the record was not accepted")
        self._pending.append((time.monotonic(), record))
        self._accepted += 1
        if len(self._pending) == 1 or len(self._pending) >= self._batch_size:
            self._wake.set()
        if wait:
            await self._wait_written(self._accepted)

    async def flush(self) -> None:
        """Return once every record accepted before this call is committed.

        While the database is down this waits; bound it with ``asyncio.timeout`` if needed.
        """
        await self._wait_written(self._accepted)

    # internals -----------------------------------------------------------------------------------

    def _held(self) -> int:
        return len(self._in_flight) + len(self._pending)

    async def _wait_written(self, target: int) -> None:
        if self._written >= target:
            return
        if self._task is None or self._task.done():
            raise LedgerError("ledger writer is not running; records cannot be written")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((target, future))
        self._flush_target = max(self._flush_target, target)
        self._wake.set()
        await asyncio.shield(future)

    def _urgent(self) -> bool:
        return (
            self._closing
            or len(self._pending) >= self._batch_size
            or self._flush_target > self._written
        )

    async def _run(self) -> None:
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            while not self._urgent():
                remaining = self._pending[0][0] + self._interval_s - time.monotonic()
                if remaining <= 0:
                    break
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), remaining)
                except TimeoutError:
                    break
            count = min(self._batch_size, len(self._pending))
            self._in_flight = [self._pending.popleft()[1] for _ in range(count)]
            await self._write_with_retry(self._in_flight)
            self._written += count
            self._in_flight = []
            self._space.set()
            self._resolve_waiters()

    def _resolve_waiters(self) -> None:
        keep: list[tuple[int, asyncio.Future[None]]] = []
        for target, future in self._waiters:
            if target <= self._written:
                if not future.done():
                    future.set_result(None)
            else:
                keep.append((target, future))
        self._waiters = keep

    async def _write_with_retry(self, batch: Sequence[UsageRecord]) -> None:
        delay = self._retry_initial_s
        while True:
            try:
                await self._write_batch(batch)
            except (DataError, IntegrityError) as exc:  # a record the database cannot hold
                await self._write_apart(batch, exc)
                return
            except Exception as exc:  # every other failure is retried, never dropped
                self._failures += 1
                self._last_error = _describe(exc)
                self._last_kind = type(exc).__name__
                if self._failing_since is None:
                    self._failing_since = time.time()
                logger.error(
                    "ledger write failed (%s); %d usage records held in memory, retry in %.2f s",
                    self._last_error,
                    self._held(),
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max_s)
                continue
            if self._failures:
                logger.warning("ledger writes recovered after %d failed attempts", self._failures)
            self._failures = 0
            self._failing_since = None
            return

    async def _write_apart(self, batch: Sequence[UsageRecord], exc: BaseException) -> None:
        """``batch`` failed for what a record holds, which no retry changes: written in halves,
        so that the rest is stored and only the record the database refuses is set aside, in
        the log whole (at error level, with why), never retried for ever: a batch retried for
        ever stops every write after it, and a full queue stops every request."""
        if len(batch) == 1:
            self._set_aside += 1
            logger.error(
                "ledger: usage record set aside, the database refuses it (%s): %s",
                _describe(exc),
                batch[0],
            )
            return
        middle = len(batch) // 2
        for half in (batch[:middle], batch[middle:]):
            try:
                await self._write_batch(half)
            except (DataError, IntegrityError) as refused:
                await self._write_apart(half, refused)
            except Exception:  # the database went away meanwhile: retried as any batch
                await self._write_with_retry(half)


def _describe(exc: BaseException) -> str:
    lines = str(exc).splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _threaded(ledger: Ledger) -> BatchWriter:
    async def write(batch: Sequence[UsageRecord]) -> None:
        await asyncio.to_thread(ledger.insert_usage, batch)

    return write
