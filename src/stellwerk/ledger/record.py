"""One usage record per request: what was asked of whom and what it cost; never the text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from stellwerk.money import from_micro


@dataclass(frozen=True, slots=True)
class UsageRecord:
    request_id: str
    time: datetime
    department: str
    key_id: str
    api: str
    endpoint: str
    requested_model: str
    model: str | None
    backend: str | None
    decision_reason: str | None
    router: str | None
    classification: str | None
    stream: bool
    prompt_tokens: int
    completion_tokens: int
    usage_source: str
    latency_ms: float
    ttft_ms: float | None
    status: int
    error_kind: str | None
    fallback_from: str | None
    cost_micro: int  # what the request was charged, in micro-units (stellwerk.money)
    energy_wh: float
    config_hash: str
    familiarity: float | None = None
    """How familiar the routed prompt was to the router, in [0, 1] (``Decision.familiarity``);
    None: not routed, or the router does not measure it. A number, never the prompt."""
    unfamiliar: bool | None = None
    """Whether the router called the prompt unfamiliar (below its threshold at the time)."""
    reference_model: str | None = None
    """A routed request's reference: the model it is compared with, the largest its key might
    use when it was made (``stellwerk.governance.baseline``); None: not routed, no model
    reached, no model the key might use, or written before the ledger kept it."""
    reference_cost_micro: int | None = None
    """What ``reference_model`` would have charged for the same tokens, at its price then, in
    micro-units (None exactly when ``reference_model`` is)."""
    reference_energy_wh: float | None = None
    """What ``reference_model`` would have used in energy for the same tokens, by its energy per
    token then, in Wh (None when ``reference_model`` is; also None for the records written
    between migrations 1100 and 1200, which kept the cost only)."""

    @property
    def cost(self) -> Decimal:
        """What the request was charged, exactly (six decimals)."""
        return from_micro(self.cost_micro)
