"""Counters in Redis, shared by every gateway replica that points at the same Redis.

Each operation is one Lua script, which Redis runs atomically: no other client's command runs
between the check and the increment, so N replicas together never admit more than the limit
(the known failure of per-replica limits, where the real limit becomes limit x replicas). Every
counter key carries a TTL, so ended windows disappear by themselves. With Redis Cluster, the keys
of one reservation must share a slot; Stellwerk targets a single Redis (or a primary with
replicas), as one reservation touches a department's and a key's counters together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stellwerk.errors import CountersUnavailable
from stellwerk.policy.counters import Charge, Counters

# KEYS: the counters; ARGV: amount, limit, ttl for each key in turn.
_RESERVE = """
for i, key in ipairs(KEYS) do
  local amount = tonumber(ARGV[3 * i - 2])
  local limit = tonumber(ARGV[3 * i - 1])
  local current = tonumber(redis.call('GET', key) or '0')
  if current + amount > limit then
    return i
  end
end
for i, key in ipairs(KEYS) do
  redis.call('INCRBY', key, ARGV[3 * i - 2])
  local ttl = tonumber(ARGV[3 * i])
  if redis.call('TTL', key) < ttl then
    redis.call('EXPIRE', key, ttl)
  end
end
return 0
"""

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


class RedisCounters(Counters):
    """Counters under ``prefix`` in the Redis at ``url`` (``redis://host:6379/0``)."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "stellwerk:",
        password: str | None = None,
        max_connections: int = 32,
    ) -> None:
        from redis.asyncio import BlockingConnectionPool, Redis

        self._prefix = prefix
        # A blocking pool: under a burst, requests wait (up to 5 s) for a free connection
        # instead of failing with "Too many connections".
        options: dict[str, Any] = {"max_connections": max_connections, "timeout": 5}
        if password is not None:
            options["password"] = password
        pool = BlockingConnectionPool.from_url(url, **options)
        self._redis: Any = Redis(connection_pool=pool)
        self._reserve = self._redis.register_script(_RESERVE)
        self._adjust = self._redis.register_script(_ADJUST)

    async def reserve(self, charges: Sequence[Charge]) -> int | None:
        if not charges:
            return None
        keys = [self._prefix + c.key for c in charges]
        args: list[int] = []
        for charge in charges:
            args += [charge.amount, charge.limit, max(1, charge.ttl_s)]
        failed = int(await self._call(self._reserve, keys, args))
        return None if failed == 0 else failed - 1

    async def adjust(self, deltas: Sequence[tuple[str, int]]) -> None:
        deltas = [(k, d) for k, d in deltas if d != 0]
        if deltas:
            await self._call(
                self._adjust, [self._prefix + k for k, _ in deltas], [d for _, d in deltas]
            )

    async def value(self, key: str) -> int:
        raw = await self._call_plain("GET", self._prefix + key)
        return int(raw) if raw is not None else 0

    async def seed(self, key: str, value: int, ttl_s: int) -> bool:
        done = await self._call_plain("SET", self._prefix + key, value, "NX", "EX", max(1, ttl_s))
        return bool(done)

    async def close(self) -> None:
        await self._redis.aclose()
        await self._redis.connection_pool.disconnect()

    async def _call(self, script: Any, keys: list[str], args: list[int]) -> Any:
        from redis.exceptions import RedisError

        try:
            return await script(keys=keys, args=args)
        except RedisError as exc:
            raise CountersUnavailable(f"limit counters: Redis failed: {exc}") from exc

    async def _call_plain(self, *command: object) -> Any:
        from redis.exceptions import RedisError

        try:
            return await self._redis.execute_command(*command)
        except RedisError as exc:
            raise CountersUnavailable(f"limit counters: Redis failed: {exc}") from exc
