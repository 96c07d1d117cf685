"""The last step of a request: its one usage record, its metrics, its budget settled.

``Accounts.record`` is called once a request ended, whichever way (answered, refused, failed,
cancelled, a stream cut short; ``stellwerk.gateway.pipeline.accounted`` sees to it), and writes
the record only the first time for a call: every request of a known key leaves exactly one (a
request refused before its key was known leaves none: it is counted, ``keyless``). The record
goes to the ledger's batched writer (off the request path), the Prometheus metrics follow it,
and the request's budget reservation is settled on its usage, or released when it has none.

A routed request (``auto...``) that reached a model records its reference too: the model it is
compared with (``stellwerk.governance.baseline``, the rule of the reports and the dashboard),
what that model would have charged for the same tokens at its price now and the energy it would
have used for them, so that a later change of the catalog alters no saving already made. The
reference is taken when the request is routed (``pipeline.route``): a request cut because its
model was withdrawn meanwhile keeps the one it was routed under. (Its
latency is not stored: nothing at request time measures how long the reference would have
taken; the dashboard estimates it from the reference's own requests of the month it shows.)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from stellwerk.config.schema import ModelConfig
from stellwerk.errors import StellwerkError
from stellwerk.gateway.budget import Budget
from stellwerk.gateway.calls import Call
from stellwerk.gateway.keyless import Keyless
from stellwerk.gateway.metrics import Metrics
from stellwerk.governance.principal import Principal
from stellwerk.ledger.chargeback import ROUTED_PREFIX
from stellwerk.ledger.record import UsageRecord

log = logging.getLogger("stellwerk.gateway")


class UsageSink(Protocol):
    """Where usage records go: the ledger's batched writer."""

    async def submit(self, record: UsageRecord) -> None: ...


class Accounts:
    """Writes each call's usage record once, with its metrics and its budget settled."""

    def __init__(
        self,
        ledger: UsageSink,
        metrics: Metrics,
        budget: Budget,
        config_hash: str,
        *,
        references: Callable[[Principal], ModelConfig | None],
    ):
        self.ledger = ledger
        self.metrics = metrics
        self.budget = budget
        self.config_hash = config_hash
        self.references = references  # a principal's reference now (baseline.References.of)
        self.keyless = Keyless(metrics.unauthenticated)

    async def record(self, call: Call) -> bool:
        """Write the call's one usage record, update the metrics and settle its reservation;
        False (and nothing done) when the call has its record already, False too (counted, no
        record) for a request refused before its key was known."""
        if call.recorded:
            return False
        call.recorded = True
        if call.principal is None:  # no reservation either: nothing is reserved before the key
            record = usage_record(call, self.config_hash)
            observe(self.metrics, record)
            self.keyless.refused(record.api, record.endpoint, record.error_kind or "internal")
            return False
        reference = call.reference if routed(call) else None  # in force when it was routed
        record = usage_record(call, self.config_hash, reference)
        await self.ledger.submit(record)
        observe(self.metrics, record)
        reservation, call.reservation = call.reservation, None
        if reservation is not None:
            try:
                if call.usage is None:
                    await self.budget.release(reservation)
                else:
                    tokens = record.prompt_tokens + record.completion_tokens
                    await self.budget.settle(reservation, tokens=tokens, cost=record.cost)
            except StellwerkError:
                log.exception("could not settle the limits of request %s", call.request_id)
        return True


def routed(call: Call) -> bool:
    """The client asked for a route (``auto...``) and a model was reached: what is compared."""
    return call.model is not None and call.requested_model.startswith(ROUTED_PREFIX)


def usage_record(call: Call, config_hash: str, reference: ModelConfig | None = None) -> UsageRecord:
    """What ``call`` becomes in the ledger (never the prompt, never the key); ``reference``: a
    routed call's reference model (stored with its cost for the call's tokens), else None."""
    ended = call.ended or time.perf_counter()
    principal, model, usage = call.principal, call.model, call.usage
    prompt = usage.prompt_tokens if usage else 0
    completion = usage.completion_tokens if usage else 0
    cost_micro, energy = 0, 0.0
    if model is not None:
        cost_micro = model.price.cost_micro(prompt, completion)
        energy = model.energy_wh(prompt + completion)
    decision = call.selection.decision if call.selection else None
    reference_cost, reference_energy = None, None
    if reference is not None and routed(call):
        reference_cost = reference.price.cost_micro(prompt, completion)
        reference_energy = reference.energy_wh(prompt + completion)
    else:
        reference = None
    return UsageRecord(
        request_id=call.request_id,
        time=datetime.now(UTC),
        department=principal.department if principal else "",
        key_id=principal.key_id if principal else "",
        api=call.api,
        endpoint=call.endpoint,
        requested_model=call.requested_model[:128],
        model=model.id if model else None,
        backend=model.backend if model else None,
        decision_reason=decision.reason if decision else None,
        router=decision.router if decision else None,
        classification=principal.classification if principal else None,
        stream=call.stream,
        prompt_tokens=prompt,
        completion_tokens=completion,
        usage_source=usage.source if usage else "none",
        latency_ms=(ended - call.started) * 1000,
        ttft_ms=(call.first_token - call.started) * 1000 if call.first_token else None,
        status=call.status,
        error_kind=call.error_kind,
        fallback_from=",".join(call.fallback_from) or None,
        cost_micro=cost_micro,
        energy_wh=energy,
        config_hash=config_hash,
        familiarity=decision.familiarity if decision else None,
        unfamiliar=decision.unfamiliar if decision and decision.familiarity is not None else None,
        reference_model=reference.id if reference else None,
        reference_cost_micro=reference_cost,
        reference_energy_wh=reference_energy,
    )


def observe(metrics: Metrics, record: UsageRecord) -> None:
    """The request's counters and histograms, from its record."""
    model = record.model or "-"
    department = record.department or "-"
    metrics.requests.labels(
        record.api, record.endpoint, model, department, str(record.status)
    ).inc()
    metrics.latency.labels(record.endpoint, model).observe(record.latency_ms / 1000)
    if record.ttft_ms is not None and record.stream:
        metrics.ttft.labels(model).observe(record.ttft_ms / 1000)
    if record.prompt_tokens:
        metrics.tokens.labels(model, department, "prompt").inc(record.prompt_tokens)
    if record.completion_tokens:
        metrics.tokens.labels(model, department, "completion").inc(record.completion_tokens)
