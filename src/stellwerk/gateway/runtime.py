"""Everything one running gateway holds: built at start-up from the config, closed at shutdown."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from stellwerk.backends.aiohttp_transport import AiohttpTransport
from stellwerk.backends.base import Backend
from stellwerk.backends.breaker import CircuitBreaker
from stellwerk.backends.health import HealthMonitor
from stellwerk.backends.registry import builtin_backends
from stellwerk.backends.transport import Transport
from stellwerk.config.loader import config_hash, resolve_env
from stellwerk.config.schema import ShadowConfig, StellwerkConfig
from stellwerk.errors import StellwerkError
from stellwerk.gateway.auth import Keyring, Principal
from stellwerk.gateway.calls import Call, Caller
from stellwerk.gateway.governance import Admission, GovernedPolicy, classify
from stellwerk.gateway.limits import StreamSlots
from stellwerk.gateway.metrics import Metrics
from stellwerk.gateway.pending import PendingGrades
from stellwerk.gateway.selection import Selector
from stellwerk.gateway.shadow import ShadowGrader
from stellwerk.governance.service import Governance
from stellwerk.ledger.graded import GradedStore
from stellwerk.ledger.record import UsageRecord
from stellwerk.routing.base import Router

log = logging.getLogger("stellwerk.gateway")


class UsageSink(Protocol):
    """Where usage records go: the ledger's batched writer."""

    async def submit(self, record: UsageRecord) -> None: ...


@dataclass
class Runtime:
    config: StellwerkConfig
    config_hash: str
    client: Transport
    backends: dict[str, Backend]
    keyring: Keyring
    selector: Selector
    caller: Caller
    metrics: Metrics
    ledger: UsageSink
    breakers: dict[str, CircuitBreaker]
    health: HealthMonitor
    streams: StreamSlots
    governance: Governance | None = None
    pending: PendingGrades = field(default_factory=lambda: PendingGrades(0, 0))
    """Routed requests that may still get feedback (``pending``)."""
    shadow: ShadowGrader = field(default_factory=lambda: ShadowGrader(ShadowConfig()))
    graded: GradedStore | None = None
    """Where graded requests are kept (the ledger's ``graded_records``), set at start-up."""

    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        """The caller of a request: its key (401 if unknown or revoked), with the request's data
        classification (``x-stellwerk-classification`` may raise the key's default, never lower
        it)."""
        principal = self.keyring.authenticate(headers.get("authorization"))
        return classify(principal, headers)

    async def record(self, call: Call) -> None:
        """Write the call's one usage record, settle its reservation on its usage and update
        the metrics; a second call for the same request does nothing."""
        if call.recorded:
            return
        call.recorded = True
        ended = call.ended or time.perf_counter()
        principal = call.principal
        model = call.model
        usage = call.usage
        prompt = usage.prompt_tokens if usage else 0
        completion = usage.completion_tokens if usage else 0
        cost_micro, energy = 0, 0.0
        if model is not None:
            cost_micro = model.price.cost_micro(prompt, completion)
            energy = model.energy_wh(prompt + completion)
        decision = call.selection.decision if call.selection else None
        record = UsageRecord(
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
            config_hash=self.config_hash,
        )
        await self.ledger.submit(record)
        self._observe(call, record)
        self._keep_for_grading(call)
        if call.reservation is not None and self.governance is not None:
            reservation, call.reservation = call.reservation, None
            try:
                await self.governance.limiter.settle(
                    reservation, tokens=prompt + completion, cost=record.cost
                )
            except StellwerkError:
                log.exception("could not settle the limits of request %s", call.request_id)

    def _keep_for_grading(self, call: Call) -> None:
        evidence, call.evidence = call.evidence, None
        ticket, call.shadow = call.shadow, None
        selection, principal = call.selection, call.principal
        if evidence is None or call.status != 200 or call.model is None:
            return
        if selection is None or selection.route is None or principal is None:
            return
        if ticket is not None and ticket.answer:
            self.shadow.start(self, call, ticket, evidence, selection.route)
        self.pending.put(
            call.request_id,
            key_id=principal.key_id,
            department=principal.department,
            route=selection.route,
            model=call.model.id,
            evidence=evidence,
        )

    def _observe(self, call: Call, record: UsageRecord) -> None:
        model = record.model or "-"
        department = record.department or "-"
        m = self.metrics
        m.requests.labels(record.api, record.endpoint, model, department, str(record.status)).inc()
        m.latency.labels(record.endpoint, model).observe(record.latency_ms / 1000)
        if record.ttft_ms is not None and call.stream:
            m.ttft.labels(model).observe(record.ttft_ms / 1000)
        if record.prompt_tokens:
            m.tokens.labels(model, department, "prompt").inc(record.prompt_tokens)
        if record.completion_tokens:
            m.tokens.labels(model, department, "completion").inc(record.completion_tokens)


def build_backends(
    config: StellwerkConfig, client: Transport, secrets: Mapping[str, str]
) -> dict[str, Backend]:
    registry = builtin_backends()
    return {
        b.name: registry[b.kind](b, client, secrets.get(b.api_key_env or ""))
        for b in config.backends
    }


def build_client() -> Transport:
    """The one pooled transport shared by every backend: aiohttp's, which needs a fraction of
    httpx's CPU per request (see ``backends/aiohttp_transport.py``).

    Idle connections are dropped after 4 s, before the backend's server does: uvicorn (vLLM,
    llama-cpp-python) closes them after 5 s, and a request sent on a connection the server is
    closing at that moment fails with a ReadError (1 in 17,000 requests in benchmarks/load.py).
    """
    return AiohttpTransport(max_connections=512, keepalive_s=4)


@dataclass(frozen=True)
class Secrets:
    """What the config references by env var name, resolved once before anything starts."""

    keyring: Keyring
    backend_keys: Mapping[str, str]

    @classmethod
    def resolve(cls, config: StellwerkConfig, environ: Mapping[str, str]) -> Secrets:
        keyring = Keyring.from_config(config, environ)
        names = [b.api_key_env for b in config.backends if b.api_key_env]
        return cls(keyring, resolve_env(names, environ))


def build_runtime(
    config: StellwerkConfig,
    secrets: Secrets,
    router: Router,
    ledger: UsageSink,
    governance: Governance | None = None,
    *,
    file_hash: str | None = None,
) -> Runtime:
    """The runtime serving ``config``. ``file_hash``: the hash of the config as the file gave it,
    when ``config`` is derived from it (calibrated costs applied), so that usage records name the
    same config as the audit log's ``config.load``; default the hash of ``config``."""
    client = build_client()
    backends = build_backends(config, client, secrets.backend_keys)
    breakers = {
        b.name: CircuitBreaker(b.breaker.failures, b.breaker.cooldown_s) for b in config.backends
    }
    metrics = Metrics()
    metrics.watch_breakers(breakers)
    health = HealthMonitor(backends, breakers)
    admission = Admission(governance) if governance else None
    return Runtime(
        config=config,
        config_hash=file_hash or config_hash(config),
        client=client,
        backends=backends,
        keyring=secrets.keyring.governed_by(governance) if governance else secrets.keyring,
        selector=Selector(config, router, GovernedPolicy(governance) if governance else None),
        caller=Caller(backends, breakers, metrics, admission, confirm=health.confirm),
        metrics=metrics,
        ledger=ledger,
        breakers=breakers,
        health=health,
        streams=StreamSlots(config.server.limits.max_streams_per_key),
        governance=governance,
        shadow=ShadowGrader(config.router.shadow),
        pending=PendingGrades(config.router.feedback_window_s, config.router.feedback_max_pending),
    )
