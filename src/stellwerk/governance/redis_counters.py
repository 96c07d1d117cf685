"""Counters in Redis, shared by every gateway replica that points at the same Redis.

Each operation is one Lua script, which Redis runs atomically: no other client's command runs
between the check and the increment, so N replicas together never admit more than the limit
(the known failure of per-replica limits, where the real limit becomes limit x replicas). Every
counter key carries a TTL, so ended windows disappear by themselves. With Redis Cluster, the keys
of one reservation must share a slot; Stellwerk targets a single Redis (or a primary with
replicas), as one reservation touches a department's and a key's counters together.

Held amounts (a budget's reservations of requests in flight) are kept per gateway instance, in a
hash beside their counter, and count only while the instance's liveness key exists: it expires
``LIVENESS_TTL_S`` after the instance's last sign of life, so a replica killed with requests in
flight (SIGKILL, a lost machine) leaves no reservation behind for longer than that. A settled
amount goes into the counter itself.

The month's counters start at the ledger's spend, and ``<prefix>seeded`` says they did. A Redis
emptied under running replicas (restarted without persistence, flushed, failed over to an empty
replica) loses that marker with the counters; from then on every reservation is refused inside
its script (one ``EXISTS``, no round trip more) until a gateway has seeded the month's counters
again (``seed_with``: the governance's ``ensure_seeded``), so no request counts from zero on an
emptied Redis: a request that finds it unseeded waits for its gateway's seeding and is reserved
after it, or gets 503 (``CountersUnavailable``) if the seeding could not be done. Counters
without a seeder (tests, benchmarks) do not look at the marker.

Every request counts in every counter of its scopes, limited or not (a limit of -1 only
counts): a limit set later reads a counter that holds everything, on every replica.

A reservation with an ident (the limiter's) is reserved and settled once at most, however often
its script is sent (``_OPEN``): redis-py sends a command once more when its connection broke
(``redis_pool``), and a settlement Redis did not take while it failed is kept by the replica
(``pending_settlements``) and sent again when Redis answers (``keep_alive``, every ``RETRY_S``)
and at ``close``. The request was answered and recorded: its cost must reach the counter.

A reservation whose outcome is unknown (Redis failed on it, its answer lost with the connection and
the retry failed too, or its request was cancelled while it was sent) may have run in Redis: its
hold would then stay as long as the replica lives, counted against the budget of a request that
got a 503. So it is undone under its ident, as a settlement kept like the others: a hold that
Redis has is released once it answers, and one it never took changes nothing. The undo leaves a
marker under the ident (``UNDONE_TTL_S``) that the reservation's script looks at: a reservation
that reaches Redis only after its undo (held back on the network) reserves nothing. The kept
settlements are sent ``BATCH`` to a pipeline, two round trips a batch (10,000 undone
reservations after a long outage took about 3 s, a round trip each).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from stellwerk.errors import CountersUnavailable
from stellwerk.governance.pending_settlements import PendingSettlements, Settlement
from stellwerk.governance.redis_pool import (
    COUNTERS,
    RedisHealth,
    in_loop,
    pooled_client,
    rest,
)
from stellwerk.policy.counters import Charge, Counters, Refused

log = logging.getLogger("stellwerk.limits")

#: Seconds a gateway instance's held amounts live without a sign of life; it renews them every
#: third of that (``keep_alive``) and with every reservation.
LIVENESS_TTL_S = 15
#: While Redis fails, ``keep_alive`` tries every this many seconds: the gateway finds it back
#: (``/readyz`` ready again) soon after it is.
RETRY_S = 1.0
#: Seconds the open reservations of a gateway instance (``_OPEN``) are kept after its last one:
#: a settlement kept through a longer outage finds its reservation gone and adds nothing.
OPEN_TTL_S = 7 * 24 * 3600
#: Seconds an undone reservation's marker is kept: a reservation held back on the network reaches
#: Redis within TCP's retransmissions (Linux: about 15 minutes at most) or never.
UNDONE_TTL_S = 20 * 60
#: Kept settlements sent to Redis in one pipeline when it answers again (two round trips: the
#: pipeline asks whether Redis knows the script first).
BATCH = 500
#: The marker (under the prefix) that the month's counters were seeded from the ledger.
SEEDED = "seeded"

# The held amounts of a counter ``K`` are the hash ``K:held``, instance -> amount; an instance is
# alive while ``<prefix>live:<instance>`` exists. A counter's value is K plus the held amounts
# of live instances; those of dead ones are dropped when seen. (The liveness keys are named in
# the scripts, not in KEYS: Stellwerk targets a single Redis, not a cluster.)
_HELD = """
local function held(key, prefix)
  local total = 0
  local entries = redis.call('HGETALL', key .. ':held')
  for j = 1, #entries, 2 do
    if redis.call('EXISTS', prefix .. 'live:' .. entries[j]) == 1 then
      total = total + tonumber(entries[j + 1])
    else
      redis.call('HDEL', key .. ':held', entries[j])
    end
  end
  return total
end
"""

# A reservation with an ident is a member of the set ``<prefix>open:<instance>`` from its
# reservation to its settlement: a reservation sent again (redis-py's retry after a lost answer)
# adds nothing more, and a settlement sent again (or kept while Redis failed and sent later)
# applies nothing more. An emptied Redis forgets the set with the counters it seeds again from
# the ledger, so a settlement kept across an emptying adds nothing either.
_OPEN = f"local open, open_ttl = prefix .. 'open:' .. instance, {OPEN_TTL_S}\n"
# An undone reservation leaves this marker (``UNDONE_TTL_S``), which its reservation finds if
# it reaches Redis later.
_UNDONE = "prefix .. 'undone:' .. instance .. ':' .. ident"

# A reservation whose undo reached Redis before it (held back on the network) is refused: -2,
# nothing done. One ``EXISTS`` for each reservation that is not open yet (its cost is measured
# in benchmarks/budget_path.py, against the reservation's script without it).
UNDONE_CHECK = f"""
if ident ~= '' and redis.call('EXISTS', {_UNDONE}) == 1 then
  return -2
end
"""

# KEYS: the counters; ARGV: prefix, instance, liveness ttl, the seeded marker ('': not looked
# at), ident ('': none), then amount, limit (-1: none), ttl, held (0/1) for each key in turn.
# -1: not seeded, nothing done; -2: undone before, nothing done; 0: reserved (now or before);
# {i, value}: the i-th counter, at value, would go over its limit, nothing done.
RESERVE = (
    _HELD
    + """
local prefix, instance, ident = ARGV[1], ARGV[2], ARGV[5]
"""
    + _OPEN
    + """
if ARGV[4] ~= '' and redis.call('EXISTS', ARGV[4]) == 0 then
  return -1
end
redis.call('SET', prefix .. 'live:' .. instance, 1, 'EX', ARGV[3])
if ident ~= '' and redis.call('SISMEMBER', open, ident) == 1 then
  return 0
end
"""
    + UNDONE_CHECK
    + """
for i, key in ipairs(KEYS) do
  local amount = tonumber(ARGV[4 * i + 2])
  local limit = tonumber(ARGV[4 * i + 3])
  if limit >= 0 then
    local current = tonumber(redis.call('GET', key) or '0') + held(key, prefix)
    if current + amount > limit then
      return {i, current}
    end
  end
end
for i, key in ipairs(KEYS) do
  local amount = ARGV[4 * i + 2]
  local ttl = tonumber(ARGV[4 * i + 4])
  if ARGV[4 * i + 5] == '1' then
    redis.call('HINCRBY', key .. ':held', instance, amount)
    redis.call('SET', key, 0, 'NX')
    if redis.call('TTL', key .. ':held') < ttl then
      redis.call('EXPIRE', key .. ':held', ttl)
    end
  else
    redis.call('INCRBY', key, amount)
  end
  if redis.call('TTL', key) < ttl then
    redis.call('EXPIRE', key, ttl)
  end
end
if ident ~= '' then
  redis.call('SADD', open, ident)
  redis.call('EXPIRE', open, open_ttl)
end
return 0
"""
)

# KEYS: the counters; ARGV: prefix, instance, ident ('': none), the seconds an undo's marker is
# kept (0: not an undo), then held and used for each key in turn. Ended windows (missing keys)
# are left alone; counters never go below zero. 0: settled; 1: its reservation is not open
# (settled before, never reserved, or Redis was emptied since).
_SETTLE = (
    """
local prefix, instance, ident = ARGV[1], ARGV[2], ARGV[3]
"""
    + _OPEN
    + f"""
if ident ~= '' and ARGV[4] ~= '0' then
  redis.call('SET', {_UNDONE}, 1, 'EX', ARGV[4])
end
"""
    + """
if ident ~= '' and redis.call('SREM', open, ident) == 0 then
  return 1
end
for i, key in ipairs(KEYS) do
  local held = tonumber(ARGV[2 * i + 3])
  if held ~= 0 then
    local left = redis.call('HINCRBY', key .. ':held', instance, -held)
    if left <= 0 then
      redis.call('HDEL', key .. ':held', instance)
    end
  end
  if redis.call('EXISTS', key) == 1 then
    local value = redis.call('INCRBY', key, ARGV[2 * i + 4])
    if value < 0 then
      redis.call('SET', key, 0, 'KEEPTTL')
    end
  end
end
return 0
"""
)

# KEYS: the counter; ARGV: prefix.
_VALUE = (
    _HELD
    + """
return tonumber(redis.call('GET', KEYS[1]) or '0') + held(KEYS[1], ARGV[1])
"""
)


class RedisCounters(Counters):
    """Counters under ``prefix`` in the Redis at ``url`` (``redis://host:6379/0``)."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "stellwerk:",
        password: str | None = None,
        max_connections: int = 32,
        health: RedisHealth | None = None,
        instance: str | None = None,
    ) -> None:
        self._prefix = prefix
        self.health = health if health is not None else RedisHealth()
        self._redis: Any = pooled_client(url, password, max_connections)
        self._reserve = self._redis.register_script(RESERVE)
        self._settle = self._redis.register_script(_SETTLE)
        self._value = self._redis.register_script(_VALUE)
        # this process, for its held amounts and its liveness (which governance notices read)
        self._instance = instance if instance is not None else secrets.token_hex(8)
        self._seeder: Callable[[], Awaitable[None]] | None = None
        self._pending = PendingSettlements()

    async def reserve(self, charges: Sequence[Charge], ident: str = "") -> Refused | None:
        if not charges:
            return None
        keys = [self._prefix + c.key for c in charges]
        marker = "" if self._seeder is None else self._prefix + SEEDED
        args: list[int | str] = [self._prefix, self._instance, LIVENESS_TTL_S, marker, ident]
        for charge in charges:
            limit = -1 if charge.limit is None else charge.limit
            args += [charge.amount, limit, max(1, charge.ttl_s), int(charge.held)]
        try:
            answer = await self._call(self._reserve, keys, args)
            if answer == -1 and self._seeder is not None:  # an emptied Redis: seed, try again
                await self._seeder()
                answer = await self._call(self._reserve, keys, args)
        except (CountersUnavailable, asyncio.CancelledError):
            if ident:  # Redis may have run it (its answer lost): undone once Redis answers
                self._pending.keep(self._undo(keys, charges, ident))
            raise
        if answer == -1:
            raise CountersUnavailable(
                "limit counters: the month's spend is being read again from the ledger;"
                " try again shortly"
            )
        if answer == -2:  # undone before it reached Redis: its caller had its answer
            raise CountersUnavailable("limit counters: Redis failed; try again shortly")
        if isinstance(answer, list):  # {i, value}: Lua's 1-based index
            return Refused(int(answer[0]) - 1, int(answer[1]))
        return None

    def _undo(self, keys: list[str], charges: Sequence[Charge], ident: str) -> Settlement:
        """The settlement of a reservation whose outcome is unknown as if it used nothing and
        counted no request: its holds taken off, its counted amounts taken back. Applied under
        its ``ident``, it does nothing if Redis never ran the reservation (``_SETTLE``)."""
        args: list[int | str] = [self._prefix, self._instance, ident, UNDONE_TTL_S]
        for charge in charges:
            args += [charge.amount, 0] if charge.held else [0, -charge.amount]
        return Settlement(tuple(keys), tuple(args), undo=True)

    async def settle(self, entries: Sequence[tuple[str, int, int]], ident: str = "") -> None:
        """Settle now; with an ``ident``, a settlement Redis fails to take is kept and applied
        when Redis answers again (``apply_pending``), not lost: the request was answered."""
        if not entries:
            return
        args: list[int | str] = [self._prefix, self._instance, ident, 0]
        for _, held, used in entries:
            args += [held, used]
        settlement = Settlement(tuple(self._prefix + k for k, _, _ in entries), tuple(args))
        try:
            await self._call(self._settle, list(settlement.keys), settlement.args)
        except CountersUnavailable:
            if not ident:  # no way to tell a repeat from a first: not kept
                raise
            log.debug("settlement %s kept until Redis answers again", ident)
            self._pending.keep(settlement)

    async def apply_pending(self) -> int:
        """Apply the settlements kept while Redis failed, oldest first, ``BATCH`` in a round
        trip, until a batch fails again; how many are still waiting. A settlement that reached
        Redis before (its answer lost) or whose reservation an emptied Redis forgot applies
        nothing (``_SETTLE``), so a batch that failed part way is sent again whole."""
        return await self._apply_pending(looped=False)

    async def _apply_pending(self, looped: bool) -> int:
        """``apply_pending``; ``looped``: in the liveness loop, which a cancel stops
        (``in_loop``), not at ``close``, which must try them all."""
        while batch := self._pending.first(BATCH):
            pipe = self._redis.pipeline(transaction=False)
            for settlement in batch:  # queued in the pipeline, sent by ``execute``
                await self._settle(keys=list(settlement.keys), args=settlement.args, client=pipe)
            sent = pipe.execute()
            try:
                voids = await self._answer(in_loop(sent) if looped else sent)
            except CountersUnavailable:  # all sent again later: each applies once at most
                break
            for void in voids:
                self._pending.done(applied=int(void) == 0)
        return len(self._pending)

    async def value(self, key: str) -> int:
        return int(await self._call(self._value, [self._prefix + key], [self._prefix]))

    async def keep_alive(self) -> None:
        """Renew this instance's liveness every third of ``LIVENESS_TTL_S`` until cancelled; a
        failed renewal is tried again every ``RETRY_S`` (``health`` logs the outage once;
        requests see Redis's failure themselves), and the first one that succeeds has the
        counters seeded again if Redis came back emptied."""
        live = f"{self._prefix}live:{self._instance}"
        failing = False
        await self.warn_if_evicting()
        while True:
            try:
                await self._loop_call("SET", live, 1, "EX", LIVENESS_TTL_S)
            except CountersUnavailable:
                failing = True
                await rest(RETRY_S)
                continue
            if failing:  # Redis is back, perhaps emptied: seed now, not at the next request
                failing = False
                if self._seeder is not None:
                    await self._seeder()
            waiting = await self._apply_pending(looped=True)  # of requests ended meanwhile
            await rest(RETRY_S if waiting else LIVENESS_TTL_S / 3)

    async def warn_if_evicting(self) -> str | None:
        """Log a warning, and return the policy, when Redis may evict keys to free memory: an
        evicted month counter starts again from zero while the marker of its seeding stays, so
        its budget's spend so far is forgotten. Redis's default, ``noeviction``, keeps them (a
        full Redis then refuses writes: requests get 503, nothing is forgotten). A Redis that
        does not let ``CONFIG GET`` be asked (some hosted ones) is not warned about."""
        from redis.exceptions import RedisError

        try:
            reply = await in_loop(self._redis.config_get("maxmemory-policy"))
        except RedisError:
            return None
        policy = reply.get("maxmemory-policy") if isinstance(reply, dict) else None
        if not policy or policy == "noeviction":
            return None
        log.warning(
            "Redis may evict keys (maxmemory-policy %s): an evicted budget counter would count"
            " the month from zero; set maxmemory-policy noeviction (docs/governance.md)",
            policy,
        )
        return str(policy)

    async def seed(self, key: str, value: int, ttl_s: int) -> bool:
        done = await self._loop_call("SET", self._prefix + key, value, "NX", "EX", max(1, ttl_s))
        return bool(done)

    async def seeded(self) -> bool:
        return bool(await self._loop_call("EXISTS", self._prefix + SEEDED))

    async def mark_seeded(self) -> None:
        await self._loop_call("SET", self._prefix + SEEDED, 1)

    def seed_with(self, seeder: Callable[[], Awaitable[None]]) -> None:
        self._seeder = seeder

    async def close(self) -> None:
        if await self.apply_pending():
            self._pending.abandoned()
        try:  # a clean stop: nothing of this instance is held any more
            await self._call_plain("DEL", f"{self._prefix}live:{self._instance}")
        except CountersUnavailable:
            log.warning("could not remove this gateway's liveness key from Redis")
        await self._redis.aclose()
        await self._redis.connection_pool.disconnect()

    async def _call(self, script: Any, keys: list[str], args: Sequence[int | str]) -> Any:
        return await self._answer(script(keys=keys, args=args))

    async def _call_plain(self, *command: object) -> Any:
        return await self._answer(self._redis.execute_command(*command))

    async def _loop_call(self, *command: object) -> Any:
        """A command of the liveness loop or the seeding: a cancel stops it (``in_loop``)."""
        return await self._answer(in_loop(self._redis.execute_command(*command)))

    async def _answer(self, call: Awaitable[Any]) -> Any:
        from redis.exceptions import RedisError

        try:
            done = await call
        except RedisError as exc:
            raise CountersUnavailable(
                "limit counters: Redis failed; try again shortly"
            ) from self.health.failed(COUNTERS, exc)
        self.health.answered(COUNTERS)
        return done
