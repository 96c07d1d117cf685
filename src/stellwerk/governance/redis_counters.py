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
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from stellwerk.errors import CountersUnavailable
from stellwerk.governance.redis_pool import COUNTERS, RedisHealth, pooled_client
from stellwerk.policy.counters import Charge, Counters

log = logging.getLogger("stellwerk.limits")

#: Seconds a gateway instance's held amounts live without a sign of life; it renews them every
#: third of that (``keep_alive``) and with every reservation.
LIVENESS_TTL_S = 15
#: While Redis fails, ``keep_alive`` tries every this many seconds: the gateway finds it back
#: (``/readyz`` ready again) soon after it is.
RETRY_S = 1.0
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

# KEYS: the counters; ARGV: prefix, instance, liveness ttl, the seeded marker ('': not looked
# at), then amount, limit (-1: none), ttl, held (0/1) for each key in turn. -1: not seeded,
# nothing done; 0: reserved; i: the i-th counter would go over its limit, nothing done.
_RESERVE = (
    _HELD
    + """
local prefix, instance = ARGV[1], ARGV[2]
if ARGV[4] ~= '' and redis.call('EXISTS', ARGV[4]) == 0 then
  return -1
end
redis.call('SET', prefix .. 'live:' .. instance, 1, 'EX', ARGV[3])
for i, key in ipairs(KEYS) do
  local amount = tonumber(ARGV[4 * i + 1])
  local limit = tonumber(ARGV[4 * i + 2])
  if limit >= 0 then
    local current = tonumber(redis.call('GET', key) or '0') + held(key, prefix)
    if current + amount > limit then
      return i
    end
  end
end
for i, key in ipairs(KEYS) do
  local amount = ARGV[4 * i + 1]
  local ttl = tonumber(ARGV[4 * i + 3])
  if ARGV[4 * i + 4] == '1' then
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
return 0
"""
)

# KEYS: the counters; ARGV: one delta per key. Ended windows (missing keys) are left alone.
_ADJUST = """
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    local value = redis.call('INCRBY', key, ARGV[i])
    if value < 0 then
      redis.call('SET', key, 0, 'KEEPTTL')
    end
  end
end
return 0
"""

# KEYS: the counters; ARGV: instance, then held and used for each key in turn. Ended windows
# (missing keys) are left alone; counters never go below zero.
_SETTLE = """
local instance = ARGV[1]
for i, key in ipairs(KEYS) do
  local held = tonumber(ARGV[2 * i])
  if held ~= 0 then
    local left = redis.call('HINCRBY', key .. ':held', instance, -held)
    if left <= 0 then
      redis.call('HDEL', key .. ':held', instance)
    end
  end
  if redis.call('EXISTS', key) == 1 then
    local value = redis.call('INCRBY', key, ARGV[2 * i + 1])
    if value < 0 then
      redis.call('SET', key, 0, 'KEEPTTL')
    end
  end
end
return 0
"""

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
        self._reserve = self._redis.register_script(_RESERVE)
        self._adjust = self._redis.register_script(_ADJUST)
        self._settle = self._redis.register_script(_SETTLE)
        self._value = self._redis.register_script(_VALUE)
        # this process, for its held amounts and its liveness (which governance notices read)
        self._instance = instance if instance is not None else secrets.token_hex(8)
        self._seeder: Callable[[], Awaitable[None]] | None = None

    async def reserve(self, charges: Sequence[Charge]) -> int | None:
        if not charges:
            return None
        keys = [self._prefix + c.key for c in charges]
        marker = "" if self._seeder is None else self._prefix + SEEDED
        args: list[int | str] = [self._prefix, self._instance, LIVENESS_TTL_S, marker]
        for charge in charges:
            limit = -1 if charge.limit is None else charge.limit
            args += [charge.amount, limit, max(1, charge.ttl_s), int(charge.held)]
        failed = int(await self._call(self._reserve, keys, args))
        if failed < 0 and self._seeder is not None:  # an emptied Redis: seed, then try again
            await self._seeder()
            failed = int(await self._call(self._reserve, keys, args))
        if failed < 0:
            raise CountersUnavailable(
                "limit counters: the month's spend is being read again from the ledger;"
                " try again shortly"
            )
        return None if failed == 0 else failed - 1

    async def adjust(self, deltas: Sequence[tuple[str, int]]) -> None:
        deltas = [(k, d) for k, d in deltas if d != 0]
        if deltas:
            await self._call(
                self._adjust, [self._prefix + k for k, _ in deltas], [d for _, d in deltas]
            )

    async def settle(self, entries: Sequence[tuple[str, int, int]]) -> None:
        if entries:
            args: list[int | str] = [self._instance]
            for _, held, used in entries:
                args += [held, used]
            await self._call(self._settle, [self._prefix + k for k, _, _ in entries], args)

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
                await self._call_plain("SET", live, 1, "EX", LIVENESS_TTL_S)
            except CountersUnavailable:
                failing = True
                await asyncio.sleep(RETRY_S)
                continue
            if failing:  # Redis is back, perhaps emptied: seed now, not at the next request
                failing = False
                if self._seeder is not None:
                    await self._seeder()
            await asyncio.sleep(LIVENESS_TTL_S / 3)

    async def warn_if_evicting(self) -> str | None:
        """Log a warning, and return the policy, when Redis may evict keys to free memory: an
        evicted month counter starts again from zero while the marker of its seeding stays, so
        its budget's spend so far is forgotten. Redis's default, ``noeviction``, keeps them (a
        full Redis then refuses writes: requests get 503, nothing is forgotten). A Redis that
        does not let ``CONFIG GET`` be asked (some hosted ones) is not warned about."""
        from redis.exceptions import RedisError

        try:
            reply = await self._redis.config_get("maxmemory-policy")
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
        done = await self._call_plain("SET", self._prefix + key, value, "NX", "EX", max(1, ttl_s))
        return bool(done)

    async def seeded(self) -> bool:
        return bool(await self._call_plain("EXISTS", self._prefix + SEEDED))

    async def mark_seeded(self) -> None:
        await self._call_plain("SET", self._prefix + SEEDED, 1)

    def seed_with(self, seeder: Callable[[], Awaitable[None]]) -> None:
        self._seeder = seeder

    async def close(self) -> None:
        try:  # a clean stop: nothing of this instance is held any more
            await self._call_plain("DEL", f"{self._prefix}live:{self._instance}")
        except CountersUnavailable:
            log.warning("could not remove this gateway's liveness key from Redis")
        await self._redis.aclose()
        await self._redis.connection_pool.disconnect()

    async def _call(self, script: Any, keys: list[str], args: Sequence[int | str]) -> Any:
        from redis.exceptions import RedisError

        try:
            done = await script(keys=keys, args=args)
        except RedisError as exc:
            raise CountersUnavailable(
                "limit counters: Redis failed; try again shortly"
            ) from self.health.failed(COUNTERS, exc)
        self.health.answered(COUNTERS)
        return done

    async def _call_plain(self, *command: object) -> Any:
        from redis.exceptions import RedisError

        try:
            done = await self._redis.execute_command(*command)
        except RedisError as exc:
            raise CountersUnavailable(
                "limit counters: Redis failed; try again shortly"
            ) from self.health.failed(COUNTERS, exc)
        self.health.answered(COUNTERS)
        return done
