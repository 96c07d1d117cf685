"""Pending feedback entries in the Redis the replicas share (``server.redis_url``).

Keys under ``<redis_prefix>pending:``, every one with a TTL of the feedback window at most::

    e:<request id>   the request's state as JSON: under way (its key only), or its entry
    k:<key id>       sorted set: the key's entries by the time they were kept (ms)
    keys             set: the keys holding entries
    n                the number of entries (counted up; counted again when over the bound)
    gone             sorted set: the requests pushed out for room, as "<len(key)>:<key><id>"

Keeping an entry is one Lua script (``_KEEP``), which Redis runs atomically: when the count is
over ``router.feedback_max_pending``, it drops the expired ids of every key, then takes the
oldest entry of the key holding the most until the count is within it. Times are Redis's own
(``TIME``), so replicas with clocks apart agree. The script names keys it was not given (the
keys' sets): like the counters, this targets a single Redis (or a primary with replicas), not a
cluster.

A failure of Redis while a request is served is logged and the request goes on (it cannot get
feedback then); a feedback call that cannot read Redis is a 503 (``SharedStateUnavailable``).
A request cancelled during a call (its client hung up) ends cancelled, whatever redis-py made
of the cancel (``redis_pool.in_request``): no Redis failure is reported for it.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

from stellwerk.errors import SharedStateUnavailable
from stellwerk.gateway.pending import Pending
from stellwerk.gateway.pending_store import Found, PendingStore, State
from stellwerk.governance.redis_pool import RedisHealth, in_request, pooled_client
from stellwerk.routing.graded_record import Evidence

log = logging.getLogger("stellwerk.feedback")

#: The part the entries report to the gateway's ``RedisHealth`` under.
FEEDBACK = "feedback entries"

# ARGV: prefix, request id, key id, entry (JSON), window (ms), bound. Returns: entries pushed out.
_KEEP = """
local p, id, k, entry = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local window, bound = tonumber(ARGV[5]), tonumber(ARGV[6])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ids, keys, count, gone = p .. 'k:' .. k, p .. 'keys', p .. 'n', p .. 'gone'
redis.call('SET', p .. 'e:' .. id, entry, 'PX', window)
if redis.call('ZADD', ids, now, id) == 1 then
  redis.call('INCR', count)
end
redis.call('SADD', keys, k)
for _, key in ipairs({ids, keys, count}) do
  redis.call('PEXPIRE', key, window)
end
if tonumber(redis.call('GET', count)) <= bound then
  return 0
end
local sizes, total = {}, 0
for _, key in ipairs(redis.call('SMEMBERS', keys)) do
  local z = p .. 'k:' .. key
  redis.call('ZREMRANGEBYSCORE', z, '-inf', now - window)
  local size = redis.call('ZCARD', z)
  if size == 0 then
    redis.call('SREM', keys, key)
  else
    sizes[key] = size
    total = total + size
  end
end
local function oldest(key)
  return tonumber(redis.call('ZRANGE', p .. 'k:' .. key, 0, 0, 'WITHSCORES')[2])
end
local evicted = 0
while total > bound do
  local most, size = nil, 0
  for key, n in pairs(sizes) do
    if n > size or (n == size and oldest(key) < oldest(most)) then
      most, size = key, n
    end
  end
  local popped = redis.call('ZPOPMIN', p .. 'k:' .. most)
  redis.call('DEL', p .. 'e:' .. popped[1])
  redis.call('ZADD', gone, now, string.len(most) .. ':' .. most .. popped[1])
  sizes[most] = size - 1
  total = total - 1
  evicted = evicted + 1
end
redis.call('SET', count, total, 'PX', window)
redis.call('ZREMRANGEBYSCORE', gone, '-inf', now - window)
redis.call('ZREMRANGEBYRANK', gone, 0, -(bound + 1))
redis.call('PEXPIRE', gone, window)
return evicted
"""


class RedisPending(PendingStore):
    shared = True

    def __init__(
        self,
        url: str,
        window_s: float,
        max_entries: int,
        *,
        prefix: str = "stellwerk:",
        password: str | None = None,
        max_connections: int = 16,
        health: RedisHealth | None = None,
    ) -> None:
        super().__init__(window_s, max_entries)
        self._health = health if health is not None else RedisHealth()
        self._prefix = prefix + "pending:"
        self._window_ms = max(1, int(window_s * 1000))
        self._redis: Any = pooled_client(url, password, max_connections)
        self._keep = self._redis.register_script(_KEEP)

    async def started(self, request_id: str, key_id: str) -> None:
        await self._mark(request_id, key_id, State.RUNNING, "PX", self._window_ms)

    async def finishing(self, request_id: str, key_id: str) -> None:
        await self._mark(request_id, key_id, State.FINISHING, "XX", "KEEPTTL")

    async def ended(self, request_id: str, entry: Pending | None) -> None:
        from redis.exceptions import RedisError

        try:
            if entry is None:
                await in_request(self._redis.delete(self._prefix + "e:" + request_id))
                return
            args: list[str | bytes | int] = [self._prefix, request_id, entry.key_id]
            args += [_dumps(entry), self._window_ms, self.max_entries]
            await in_request(self._keep(keys=[], args=args))
        except RedisError as exc:  # the outage is logged once, by the health
            self._health.failed(FEEDBACK, exc)
            log.debug("could not keep request %s for feedback in Redis", request_id)
            return
        self._health.answered(FEEDBACK)

    async def lookup(self, request_id: str, key_id: str) -> Found:
        from redis.exceptions import RedisError

        member = f"{len(key_id)}:{key_id}{request_id}"
        try:
            pipe = self._redis.pipeline(transaction=False)
            pipe.get(self._prefix + "e:" + request_id)
            pipe.zscore(self._prefix + "gone", member)
            pipe.time()
            value, evicted_at, (seconds, micros) = await in_request(pipe.execute())
        except RedisError as exc:
            raise SharedStateUnavailable(
                "feedback entries: Redis failed; try again shortly"
            ) from self._health.failed(FEEDBACK, exc)
        self._health.answered(FEEDBACK)
        held = orjson.loads(value) if value is not None else None
        if held is not None and held["key"] == key_id:
            state = State(held["state"])
            return Found(state, _loads(request_id, held) if state is State.READY else None)
        now_ms = seconds * 1000 + micros // 1000
        if evicted_at is not None and now_ms - evicted_at < self._window_ms:
            return Found(State.EVICTED)
        return Found(State.UNKNOWN)

    async def close(self) -> None:
        await self._redis.aclose()
        await self._redis.connection_pool.disconnect()

    async def _mark(self, request_id: str, key_id: str, state: State, *options: object) -> None:
        from redis.exceptions import RedisError

        if not self.on:
            return
        marker = orjson.dumps({"state": state.value, "key": key_id})
        try:
            await in_request(
                self._redis.execute_command(
                    "SET", self._prefix + "e:" + request_id, marker, *options
                )
            )
        except RedisError as exc:  # the outage is logged once, by the health
            self._health.failed(FEEDBACK, exc)
            log.debug("could not mark request %s %s in Redis", request_id, state.value)
            return
        self._health.answered(FEEDBACK)


def _dumps(entry: Pending) -> bytes:
    """The entry as JSON (floats as their shortest exact form: read back bit for bit)."""
    found = entry.evidence
    return orjson.dumps(
        {
            "state": State.READY.value,
            "key": entry.key_id,
            "department": entry.department,
            "route": entry.route,
            "model": entry.model,
            "base_version": found.base_version,
            "latent": found.latent,
            "base": dict(found.base),
            "stats": found.stats,
            "classification": entry.classification,
        }
    )


def _loads(request_id: str, held: dict[str, Any]) -> Pending:
    evidence = Evidence(
        held["base_version"], tuple(held["latent"]), held["base"], tuple(held["stats"])
    )
    return Pending(
        request_id,
        held["key"],
        held["department"],
        held["route"],
        held["model"],
        evidence,
        held.get("classification"),  # none: kept by a gateway from before it was kept
    )
