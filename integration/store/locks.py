"""A Redis lease: a lock with an expiry, held by one token, released or extended only by its holder.

For work that must run once across every process of a deployment (reconciliation). The expiry
frees the lease when its holder dies; a long holder extends it as it goes.
"""
from __future__ import annotations

import uuid

import redis

from integration.store.decoding import text

# gives a key up only while it still holds the caller's token; the profile locks (State) use it too
RELEASE_IF_HELD = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class Lease:
    def __init__(self, client: redis.Redis, key: str, ttl_seconds: float):
        self.r, self.key = client, key
        self.ttl_ms = int(ttl_seconds * 1000)
        self.token = uuid.uuid4().hex
        self._release = client.register_script(RELEASE_IF_HELD)
        self._extend = client.register_script(_EXTEND)

    def acquire(self) -> bool:
        """Take the lease if nobody holds it; False when another holder has it."""
        return bool(self.r.set(self.key, self.token, nx=True, px=self.ttl_ms))

    def extend(self, pipe=None) -> bool:
        """Push the expiry out again; False if the lease was lost (expired and taken by another).
        With `pipe`, only queued on that pipeline."""
        if pipe is not None:
            self._extend(keys=[self.key], args=[self.token, self.ttl_ms], client=pipe)
            return True
        return bool(self._extend(keys=[self.key], args=[self.token, self.ttl_ms]))

    def release(self) -> bool:
        """Give the lease up, unless it already passed to another holder."""
        return bool(self._release(keys=[self.key], args=[self.token]))

    def holder(self) -> str | None:
        value = self.r.get(self.key)
        return text(value)
