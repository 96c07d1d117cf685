"""Everything one running gateway holds: built at start-up from the config, closed at shutdown."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from secrets import token_bytes

from stellwerk.backends.base import Backend
from stellwerk.backends.breaker import CircuitBreaker
from stellwerk.backends.build import build_backends, build_client
from stellwerk.backends.health import HealthMonitor
from stellwerk.backends.transport import Transport
from stellwerk.config.loader import config_hash
from stellwerk.config.schema import ShadowConfig, StellwerkConfig
from stellwerk.gateway.accounting import Accounts
from stellwerk.gateway.auth import Keyring, Principal
from stellwerk.gateway.budget import Budget
from stellwerk.gateway.calls import Caller
from stellwerk.gateway.config_secrets import Secrets
from stellwerk.gateway.cuts import Cuts
from stellwerk.gateway.governance import classify, permit
from stellwerk.gateway.limits import StreamSlots
from stellwerk.gateway.metrics import Metrics
from stellwerk.gateway.pending_memory import InProcessPending
from stellwerk.gateway.pending_open import build_pending
from stellwerk.gateway.pending_store import PendingStore
from stellwerk.gateway.selection import Selector
from stellwerk.gateway.shadow import ShadowGrader
from stellwerk.gateway.unknown_params import Allowed, allowed_by
from stellwerk.governance.baseline import References
from stellwerk.governance.redis_pool import RedisHealth
from stellwerk.governance.service import Governance
from stellwerk.ledger.graded import GradedStore
from stellwerk.ledger.writer import LedgerWriter
from stellwerk.routing.base import Router
from stellwerk.routing.record_noise import RecordNoise


@dataclass
class Runtime:
    """The parts the stages of a request use (``stellwerk.gateway.pipeline``)."""

    config: StellwerkConfig
    config_hash: str
    client: Transport
    backends: dict[str, Backend]
    keyring: Keyring
    selector: Selector
    caller: Caller
    metrics: Metrics
    breakers: dict[str, CircuitBreaker]
    health: HealthMonitor
    streams: StreamSlots
    governance: Governance
    budget: Budget
    accounts: Accounts
    cuts: Cuts
    """The requests running, cut when a governance change forbids them (``cuts``)."""
    pending: PendingStore = field(default_factory=lambda: InProcessPending(0, 0))
    """Routed requests that may still get feedback (``pending_store``)."""
    shadow: ShadowGrader = field(default_factory=lambda: ShadowGrader(ShadowConfig()))
    graded: GradedStore | None = None
    """Where graded requests are kept (the ledger's ``graded_records``), set at start-up."""
    writer: LedgerWriter | None = None
    """The ledger's batched writer, whose state ``/readyz`` and ``/metrics`` show."""
    redis: RedisHealth | None = None
    """What this gateway's uses of Redis found (``None``: no ``server.redis_url``)."""
    record_noise: RecordNoise = field(default_factory=lambda: RecordNoise(0.5, token_bytes(32)))
    """What a graded request's record is kept with (``router.record_noise``, the record key)."""

    @cached_property
    def allowed(self) -> Allowed:
        """What a request for a model or route may carry that the gateway does not know
        (``backends[].pass_params``: ``stellwerk.gateway.unknown_params``)."""
        return allowed_by(self.config, self.selector.configured_name)

    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        """The caller of a model API's request: its key (401 if unknown or revoked), with the
        request's data classification (``x-stellwerk-classification`` may raise the key's
        default, never lower it); 503 while this replica's governance is stale
        (``governance.staleness``: a change announced elsewhere it could not read)."""
        principal = classify(self.key_principal(headers), headers)
        self.governance.staleness.check()
        return principal

    def operator(self, headers: Mapping[str, str]) -> Principal:
        """The caller of the admin API, as ``authenticate`` but answered while governance is
        stale: what the admin API changes or reads is in the database, which refuses it (503)
        while unreachable, and an operator may read the replica's state meanwhile."""
        return classify(self.key_principal(headers), headers)

    def key_principal(self, headers: Mapping[str, str]) -> Principal:
        """The principal of the request's key (401 if unknown or revoked), at the key's own
        classification."""
        return self.keyring.authenticate(headers.get("authorization"))

    def backend_ready(self, name: str) -> bool:
        """Whether the backend serves now: it answered its last health probe, and its circuit
        is not open (``/readyz``, and the models ``/api/ps`` lists)."""
        return self.health.last_errors.get(name) is None and self.breakers[name].state != "open"


def build_runtime(
    config: StellwerkConfig,
    secrets: Secrets,
    router: Router,
    ledger: LedgerWriter,
    governance: Governance,
    *,
    file_hash: str | None = None,
    password: str | None = None,
    redis: RedisHealth | None = None,
) -> Runtime:
    """The runtime serving ``config``. ``file_hash``: the hash of the config as the file gave it,
    when ``config`` is derived from it (calibrated costs applied), so that usage records name the
    same config as the audit log's ``config.load``; default the hash of ``config``. ``password``:
    Redis's, for the feedback entries the replicas share; ``redis``: the health the gateway's
    Redis clients report to."""
    client = build_client()
    backends = build_backends(config, client, secrets.backend_keys)
    breakers = {
        b.name: CircuitBreaker(b.breaker.failures, b.breaker.cooldown_s) for b in config.backends
    }
    metrics = Metrics()
    metrics.watch_breakers(breakers)
    metrics.watch_ledger(lambda: ledger.stats)
    if redis is not None:
        metrics.watch_redis(redis)
        metrics.watch_notices(governance.notices)
        metrics.watch_staleness(governance.staleness)
    health = HealthMonitor(backends, breakers)
    budget = Budget(governance)
    the_hash = file_hash or config_hash(config)
    return Runtime(
        config=config,
        config_hash=the_hash,
        client=client,
        backends=backends,
        keyring=Keyring(secrets.key_digests, governance),
        selector=Selector(config, router, permit(governance)),
        caller=Caller(backends, breakers, metrics, confirm=health.confirm),
        metrics=metrics,
        breakers=breakers,
        health=health,
        streams=StreamSlots(config.server.limits.max_streams_per_key),
        governance=governance,
        budget=budget,
        accounts=Accounts(ledger, metrics, budget, the_hash, references=References(governance).of),
        cuts=Cuts(governance),
        shadow=ShadowGrader(config.router.shadow, metrics=metrics),
        pending=build_pending(config, password, redis),
        writer=ledger,
        redis=redis,
        record_noise=RecordNoise(config.router.record_noise, secrets.record_key),
    )
