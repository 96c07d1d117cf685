"""A request that ends before its answer by something else than a ``StellwerkError`` (cancelled
by a client that hung up, or a bug in a backend) gives its budget reservation back: nothing was
used that could be counted, so it cannot hold a department's budget until the month ends. Its
usage record (written by ``stellwerk.gateway.pipeline.accounted`` whatever was raised) releases
it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from stellwerk.backends.base import Backend
from stellwerk.backends.breaker import CircuitBreaker
from stellwerk.backends.httpx_transport import HttpxTransport
from stellwerk.backends.tokens import PromptSize
from stellwerk.backends.types import ChatChunk, ChatRequest, ChatResult, EmbedResult
from stellwerk.calibration.records import CalibrationStore
from stellwerk.gateway.accounting import Accounts
from stellwerk.gateway.auth import Principal
from stellwerk.gateway.budget import Budget, chat_bound
from stellwerk.gateway.calls import Call, Caller
from stellwerk.gateway.metrics import Metrics
from stellwerk.gateway.selection import Selection
from stellwerk.governance.baseline import References
from stellwerk.governance.service import Governance
from stellwerk.ledger.ledger import open_ledger
from stellwerk.ledger.record import UsageRecord
from stellwerk.policy.limits import scopes_for
from stellwerk.routing.base import Decision
from tests.governance.factories import config, model


class HangingBackend(Backend):
    """A backend that never answers (the client gives up first), or fails with a bug."""

    kind = "test"

    def __init__(self, *args: object, broken: bool = False, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.broken = broken
        self.called = asyncio.Event()  # set when asked: after the reservation was made

    async def complete(self, model: str, request: ChatRequest) -> ChatResult:
        self.called.set()
        if self.broken:
            raise RuntimeError("a bug in a backend")
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def stream(self, model: str, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        await asyncio.Event().wait()
        yield ChatChunk(content="never")  # pragma: no cover

    async def embed(
        self, model: str, inputs: list[str], params: dict[str, object] | None = None
    ) -> EmbedResult:
        raise RuntimeError("a bug in a backend")

    async def probe(self) -> None:
        return None


class _Sink:
    async def submit(self, record: UsageRecord) -> None:
        return None


@pytest.mark.parametrize("how", ["cancelled", "bug"])
def test_an_unrecorded_request_gives_its_reservation_back(tmp_path: Path, how: str) -> None:
    cfg = config(
        models=[model("m", price={"input_per_mtok": 1000, "output_per_mtok": 1000})],
        departments=[{"name": "it", "limits": {"monthly_budget": 100}}],
    )
    ledger = open_ledger(f"sqlite:///{tmp_path / 'l.db'}")
    gov = Governance(ledger, cfg, evaluated=CalibrationStore(ledger).evaluated)
    gov.start()
    scope = scopes_for("it", cfg.departments[0].limits, "", None)[0]

    async def run() -> tuple[float, float]:
        async with httpx.AsyncClient() as client:
            backend = HangingBackend(cfg.backends[0], HttpxTransport(client), broken=how == "bug")
            metrics, budget = Metrics(), Budget(gov)
            caller = Caller({"local": backend}, {"local": CircuitBreaker(3, 10)}, metrics)
            accounts = Accounts(_Sink(), metrics, budget, "hash", references=References(gov).of)
            call = Call("r1", "openai", "chat", "m", stream=False)
            call.principal = Principal("key-1", "it", "user", "internal", None)
            selection = Selection(None, Decision("m", ("m",), (), "named", "none"), cfg.models)
            request = ChatRequest(messages=[{"role": "user", "content": "hi"}])
            bound = chat_bound(selection.models, PromptSize.of(request), None)
            call.reservation = await budget.reserve(call.principal, *bound)
            task = asyncio.create_task(caller.complete(call, selection, request))
            await backend.called.wait()
            held = await gov.limiter.spent(scope)
            if how == "cancelled":
                task.cancel()  # the client hung up
            with pytest.raises((asyncio.CancelledError, RuntimeError)):
                await task
            await accounts.record(call)  # what ``accounted`` does, whatever was raised
            return held, await gov.limiter.spent(scope)

    try:
        held, after = asyncio.run(run())
    finally:
        ledger.close()
    if how == "cancelled":
        assert held > 0  # the request's maximal cost was reserved while it ran
    assert after == 0.0  # and given back when it ended without a record
