"""A token bucket per API, kept in Redis and shared by every worker process on every machine.

Each call reserves a token atomically in Lua and learns how long to wait for it. A 429 pauses the
whole API until its Retry-After has passed, for every process, not only the one that met it.

The budget is the account's, not ours alone: agents' apps and other integrations spend it too.
With a reserve (ZENDESK_BUDGET_RESERVE_PERCENT), every response's rate-limit headers tell the
bucket what share of the account's minute is left, and the refill slows as that share falls
towards the reserve: full speed while at least twice the reserve is left, a trickle
(`MIN_SHARE` of the rate, so fresh headers keep coming) at the reserve. We slow down before
anyone meets a 429; the bucket stays the one place that decides.
"""
from __future__ import annotations

import time
from typing import Callable

import redis

from integration.store import keys
from integration.errors import RateLimited
from integration.apis.http import Limiter
from integration.store.decoding import text

# Zendesk's incremental exports have their own limit besides the account's budget (30 with the
# High Volume add-on; we assume the plain 10).
ZENDESK_EXPORT_PER_MINUTE = 10
# Permanent user deletion: "700 users every 10 minutes" (Permanently Delete User), as a rate a minute.
ZENDESK_PURGE_PER_MINUTE = 70
# An erasure waits for the purge bucket only this long in a worker; past it, it waits in Redis.
PURGE_MAX_WAIT_SECONDS = 0.5

# The slowest the bucket refills when the account's remaining budget is at the reserve.
MIN_SHARE = 0.05
# An observation of the account's budget counts for this long; then the bucket runs at full rate
# again until the next response says otherwise.
OBSERVED_TTL_MS = 5000

# KEYS: bucket, pause, observed share left. ARGV: tokens per second, capacity, longest wait a
# caller accepts, reserve (a fraction; 0 for none), MIN_SHARE.
# Returns the seconds to wait: 0 to go now; a reservation is only made when the wait is accepted.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local reserve = tonumber(ARGV[4])
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then
  return {'pause', tostring(paused - now)}
end
if reserve > 0 then
  local left = tonumber(redis.call('GET', KEYS[3]) or '1')
  local factor = math.max(tonumber(ARGV[5]), math.min(1, (left - reserve) / reserve))
  rate = rate * factor
end
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or capacity
local ts = tonumber(b[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens < 1 then wait = (1 - tokens) / rate end
if wait > max_wait then
  return {'busy', tostring(wait)}
end
tokens = tokens - 1
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity / rate + wait) * 1000) + 1000)
return {'ok', tostring(wait)}
"""

# KEYS: pause. ARGV: seconds. Moves the pause forward, never back.
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local until_ = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > current then
  redis.call('SET', KEYS[1], tostring(until_), 'PX', math.ceil(tonumber(ARGV[1]) * 1000) + 1000)
end
return tostring(until_)
"""


BURST_SECONDS = 2.0


class RedisTokenBucket(Limiter):
    """At most `per_minute` calls in any one minute to one API, with a burst of two seconds' worth.

    The APIs count calls per minute, and one minute can see a full bucket plus a minute of refill,
    so the refill leaves room for the burst: capacity + 60 s x rate = per_minute. A bucket that
    refilled at per_minute / 60 would overrun the budget by the burst and meet 429s
    (bench/sync_throughput.py).
    """

    def __init__(self, client: redis.Redis, api: str, per_minute: int, max_wait: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep,
                 on_wait: Callable[[str, float], None] | None = None,
                 reserve_percent: float = 0.0, endpoint: str | None = None):
        self.api = api
        self.endpoint = endpoint  # the endpoint whose own limit this bucket holds, if one
        self.r = client
        self.reserve = max(0.0, min(0.9, reserve_percent / 100.0))
        self.rate = per_minute / (60.0 + BURST_SECONDS)
        self.capacity = max(1.0, BURST_SECONDS * self.rate)
        self.max_wait = max_wait
        self.sleep = sleep
        self.on_wait = on_wait
        self._take = client.register_script(_TAKE)
        self._pause = client.register_script(_PAUSE)
        self._keys = [keys.ratelimit_bucket(api), keys.ratelimit_pause(api),
                      keys.ratelimit_observed(api)]

    def acquire(self) -> None:
        """Block until a token is ours; raise RateLimited if that would take over `max_wait`."""
        deadline = time.monotonic() + self.max_wait
        while True:
            left = deadline - time.monotonic()
            verdict, wait = self._take(keys=self._keys, args=[self.rate, self.capacity, max(0.0, left),
                                                              self.reserve, MIN_SHARE])
            verdict, wait = text(verdict), float(text(wait))
            if verdict == "ok":
                if wait > 0:
                    self._wait(wait)
                return
            if wait > left:
                raise RateLimited(self.api, wait, status=None, endpoint=self.endpoint)
            self._wait(wait)

    def pause(self, seconds: float) -> None:
        self._pause(keys=self._keys[1:2], args=[seconds])

    def paused_for(self) -> float:
        """Seconds left of the pause a 429 set, by Redis's clock (0 when none)."""
        until, now = self.r.pipeline().get(self._keys[1]).time().execute()
        left = float(text(until) or 0) - (now[0] + now[1] / 1e6)
        return max(0.0, left)

    def observe(self, headers) -> None:
        """Note the share of the account's budget a response says is left (Zendesk's
        `ratelimit-limit`/`-remaining`, or the older `X-Rate-Limit`/`X-Rate-Limit-Remaining`)."""
        if not self.reserve:
            return
        limit = headers.get("ratelimit-limit") or headers.get("X-Rate-Limit")
        remaining = headers.get("ratelimit-remaining") or headers.get("X-Rate-Limit-Remaining")
        try:
            limit, remaining = float(limit), float(remaining)
        except (TypeError, ValueError):
            return
        if limit > 0:
            self.r.set(self._keys[2], f"{max(0.0, remaining) / limit:.4f}", px=OBSERVED_TTL_MS)

    def _wait(self, seconds: float) -> None:
        if self.on_wait:
            self.on_wait(self.api, seconds)
        self.sleep(seconds)

