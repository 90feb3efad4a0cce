"""A token bucket per API, kept in Redis and shared by every worker process on every machine.

Each call reserves a token atomically in Lua and learns how long to wait for it. A 429 pauses the
whole API until its Retry-After has passed, for every process, not only the one that met it.
"""
from __future__ import annotations

import time
from typing import Callable

import redis

from integration import keys
from integration.errors import RateLimited
from integration.http import Limiter

# Zendesk's incremental exports have their own limit besides the account's budget (30 with the
# High Volume add-on; we assume the plain 10).
ZENDESK_EXPORT_PER_MINUTE = 10

# KEYS: bucket, pause. ARGV: tokens per second, capacity, longest wait a caller accepts.
# Returns the seconds to wait: 0 to go now; a reservation is only made when the wait is accepted.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then
  return {'pause', tostring(paused - now)}
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
                 on_wait: Callable[[str, float], None] | None = None):
        self.api = api
        self.rate = per_minute / (60.0 + BURST_SECONDS)
        self.capacity = max(1.0, BURST_SECONDS * self.rate)
        self.max_wait = max_wait
        self.sleep = sleep
        self.on_wait = on_wait
        self._take = client.register_script(_TAKE)
        self._pause = client.register_script(_PAUSE)
        self._keys = [keys.ratelimit_bucket(api), keys.ratelimit_pause(api)]

    def acquire(self) -> None:
        """Block until a token is ours; raise RateLimited if that would take over `max_wait`."""
        deadline = time.monotonic() + self.max_wait
        while True:
            left = deadline - time.monotonic()
            verdict, wait = self._take(keys=self._keys, args=[self.rate, self.capacity, max(0.0, left)])
            verdict, wait = _text(verdict), float(_text(wait))
            if verdict == "ok":
                if wait > 0:
                    self._wait(wait)
                return
            if wait > left:
                raise RateLimited(self.api, wait, status=None)
            self._wait(wait)

    def pause(self, seconds: float) -> None:
        self._pause(keys=self._keys[1:], args=[seconds])

    def _wait(self, seconds: float) -> None:
        if self.on_wait:
            self.on_wait(self.api, seconds)
        self.sleep(seconds)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
