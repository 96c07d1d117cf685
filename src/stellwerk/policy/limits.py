"""Rate limits and budgets: requests and tokens per minute, cost per calendar month.

Counters count always, limits only decide admission: every request is counted in its
department's and its key's minute and month counters whether a limit is in force or not (a
scope without a limit never refuses). So a limit set on a running gateway reads a counter that
already holds everything counted since the window began, the reservations of requests in flight
included, on every replica that shares the counters; nothing has to be seeded when it changes.

Each request is admitted in two steps (reserve-then-settle):

1. ``admit`` reserves, atomically across both scopes (the department and the key), one
   request, the request's maximal tokens and its maximal cost. If any counter would go over its
   limit nothing is reserved and ``RateLimited`` says which limit it was and when it resets.
2. ``settle`` replaces the reservation by what the request really used, once the backend's
   answer (or stream) has ended, whichever way it ended (``stellwerk.gateway.stream_end``);
   ``release`` returns a reservation of a request that used nothing. Each reservation has its
   own ``ident``, under which shared counters reserve and settle it once at most (a settlement
   sent again after a lost answer, or kept while Redis failed and sent when it answers).

A budget's reservation is *held* (``stellwerk.policy.counters``): it cannot outlive the process
that holds it, so a gateway killed with requests in flight leaves none behind. The limiter holds
no counters of its own: they are injected (``stellwerk.governance.counters``).

Since concurrent and streaming requests hold their maximal cost while they run, and that maximal
cost is an upper bound (the prompt's bound of ``stellwerk.backends.tokens``, the answer's
``max_tokens`` or the model's context), the spend of N concurrent requests never exceeds a
budget; it could only by what a request used beyond its bound, which the bound rules out.
Windows are fixed: the minute (UTC) and the calendar month (UTC).
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from stellwerk.config.schema import UsageLimits
from stellwerk.errors import RateLimited
from stellwerk.money import MICRO, micro_text
from stellwerk.policy.counters import Charge, Counters

_MINUTE_GRACE_S = 60
_MONTH_GRACE_S = 7 * 24 * 3600
UNLIMITED = UsageLimits()
"""No limit at all (a scope without limits of its own)."""


@dataclass(frozen=True, slots=True)
class Scope:
    """Something limits apply to: ``label`` is for messages, ``id`` for counter names; ``key``:
    a key's own limits (else a department's)."""

    label: str
    id: str
    limits: UsageLimits
    key: bool = False


def department_scope(department: str, limits: UsageLimits) -> Scope:
    return Scope(f"department {department!r}", f"dept:{department}", limits)


def key_scope(key_id: str, limits: UsageLimits | None) -> Scope:
    """A key's own counters; ``None``: the key has no limits of its own, it is counted all the
    same."""
    return Scope(f"key {key_id!r}", f"key:{key_id}", limits or UNLIMITED, key=True)


def scopes_for(
    department: str, department_limits: UsageLimits, key_id: str, key_limits: UsageLimits | None
) -> tuple[Scope, Scope]:
    """The department's scope and the key's, whatever limits either has."""
    return department_scope(department, department_limits), key_scope(key_id, key_limits)


@dataclass(frozen=True, slots=True)
class Reservation:
    """What ``admit`` reserved; hand it back to ``settle`` or ``release``."""

    token_keys: tuple[str, ...]
    cost_keys: tuple[str, ...]
    tokens: int
    cost_micro: int
    ident: str = ""  # its name in shared counters: reserved and settled once at most


@dataclass(frozen=True, slots=True)
class _Check:
    charge: Charge
    scope: Scope
    what: str
    resets_at: float


class Limiter:
    def __init__(self, counters: Counters, clock: Callable[[], float] = time.time) -> None:
        self._counters = counters
        self._clock = clock

    async def admit(
        self,
        scopes: Sequence[Scope],
        *,
        max_tokens: int,
        max_cost: float,
        lower_with: str | None = None,
    ) -> Reservation:
        """Reserve one request, ``max_tokens`` and ``max_cost`` in every scope, or raise
        ``RateLimited`` naming the limit and when it resets. ``lower_with``: the request's
        parameter that would lower its bound, which the client left to the model's context
        (``max_tokens``), for a refusal to name."""
        now = self._clock()
        cost_micro = math.ceil(max(0.0, max_cost) * MICRO)
        tokens = max(0, max_tokens)
        checks = self._checks(scopes, now, tokens, cost_micro)
        ident = secrets.token_hex(8)
        refused = await self._counters.reserve([c.charge for c in checks], ident)
        if refused is not None:  # said with the figure it was decided on, not one read later
            raise _refusal(checks[refused.index], refused.value, now, lower_with)
        return Reservation(
            token_keys=tuple(c.charge.key for c in checks if c.what == "tokens"),
            cost_keys=tuple(c.charge.key for c in checks if c.what == "budget"),
            tokens=tokens,
            cost_micro=cost_micro,
            ident=ident,
        )

    async def settle(self, reservation: Reservation, *, tokens: int, cost: float | Decimal) -> None:
        """Replace the reservation by the real use (may be more than reserved)."""
        token_delta = max(0, tokens) - reservation.tokens
        used_micro = math.ceil(max(0.0, cost) * MICRO)
        entries = [(k, 0, token_delta) for k in reservation.token_keys]  # not held: adjusted
        entries += [(k, reservation.cost_micro, used_micro) for k in reservation.cost_keys]
        await self._counters.settle(entries, reservation.ident)

    async def release(self, reservation: Reservation) -> None:
        """Give back the tokens and cost of a request that used nothing (it still counts as a
        request)."""
        await self.settle(reservation, tokens=0, cost=0.0)

    async def spent(self, scope: Scope) -> float:
        """This month's spend (settled plus reserved) of a scope, in internal currency."""
        month = _month_start(self._clock())
        return await self._counters.value(_budget_key(scope, month)) / MICRO

    async def seed_spent(self, scope: Scope, spent: float | Decimal) -> bool:
        """Start this month's counter at ``spent`` (from the ledger) unless it exists already."""
        now = self._clock()
        month = _month_start(now)
        ttl = int(_next_month(month) - now) + _MONTH_GRACE_S
        return await self._counters.seed(_budget_key(scope, month), math.ceil(spent * MICRO), ttl)

    def _checks(
        self, scopes: Sequence[Scope], now: float, tokens: int, cost_micro: int
    ) -> list[_Check]:
        minute = int(now // 60)
        minute_end = (minute + 1) * 60
        minute_ttl = int(minute_end - now) + _MINUTE_GRACE_S
        month = _month_start(now)
        month_end = _next_month(month)
        month_ttl = int(month_end - now) + _MONTH_GRACE_S
        checks: list[_Check] = []
        for scope in scopes:  # every counter, limited or not (a limit of None never refuses)
            limits = scope.limits
            budget = limits.monthly_budget
            budget_micro = None if budget is None else math.floor(budget * MICRO)
            rpm = Charge(f"rpm:{scope.id}:{minute}", 1, limits.requests_per_minute, minute_ttl)
            tpm = Charge(f"tpm:{scope.id}:{minute}", tokens, limits.tokens_per_minute, minute_ttl)
            cost = Charge(_budget_key(scope, month), cost_micro, budget_micro, month_ttl, True)
            checks.append(_Check(rpm, scope, "requests", minute_end))
            checks.append(_Check(tpm, scope, "tokens", minute_end))
            checks.append(_Check(cost, scope, "budget", month_end))
        return checks


def _refusal(check: _Check, used: int, now: float, lower_with: str | None) -> RateLimited:
    """The 429 of ``check``'s limit, its counter at ``used`` when the refusal was decided."""
    scope = check.scope
    resets = datetime.fromtimestamp(check.resets_at, UTC)
    wait = max(0.0, check.resets_at - now)
    if check.what == "requests":
        detail = f"limit of {scope.limits.requests_per_minute} requests per minute reached"
    else:
        detail = _over(check, used, lower_with)
    when = resets.strftime("%Y-%m-%d %H:%M:%S UTC")
    message = f"{scope.label}: {detail}; resets at {when} (in {math.ceil(wait)} s)"
    # the client's code is the same for either scope; its usage record keeps a key's apart
    if check.what == "budget":
        return RateLimited(
            message,
            retry_after_s=wait,
            code="budget_exceeded",
            recorded="key_budget_exceeded" if scope.key else None,
        )
    return RateLimited(
        message,
        retry_after_s=wait,
        code="rate_limited",
        recorded="key_rate_limited" if scope.key else None,
    )


def _over(check: _Check, used: int, lower_with: str | None) -> str:
    """Why a request's tokens or cost do not fit: the limit is reached (what was used or
    reserved is at it), or only this request's bound is more than what is left, which is an
    upper bound (its answer as long as ``max_tokens`` or, without one, as the model's context
    lets it be: ``lower_with`` names the parameter that lowers it)."""
    limit, amount = check.charge.limit or 0, check.charge.amount
    if check.what == "tokens":
        name, verb, counted = f"limit of {limit} tokens per minute", "use", "used or reserved"
        bound, left, spent = f"{amount} tokens", f"{limit - used} tokens", str(used)
    else:
        name, verb, counted = f"monthly budget of {micro_text(limit)}", "cost", "spent or reserved"
        bound, left, spent = micro_text(amount), micro_text(limit - used), micro_text(used)
    if used >= limit:
        return f"{name} reached ({spent} {counted}, this request may {verb} up to {bound})"
    why = (
        f" (its answer is bounded only by the model's context; set {lower_with} to lower it)"
        if lower_with
        else ""
    )
    return (
        f"this request may {verb} up to {bound}{why}, more than the {left} left of the {name}"
        f" ({spent} {counted})"
    )


def _budget_key(scope: Scope, month_start: float) -> str:
    month = datetime.fromtimestamp(month_start, UTC).strftime("%Y-%m")
    return f"budget:{scope.id}:{month}"


def _month_start(now: float) -> float:
    moment = datetime.fromtimestamp(now, UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC).timestamp()


def _next_month(month_start: float) -> float:
    moment = datetime.fromtimestamp(month_start, UTC)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return datetime(year, month, 1, tzinfo=UTC).timestamp()
