"""Locks in Redis: redis-py's own `Lock` (SET NX PX with a token; released and extended by Lua only
while that token still holds the key), never blocking, and expiring by itself so a dead holder's
lock frees after its ttl. One lease guards work that runs once across the deployment
(reconciliation, the burst drain), one a profile (`State.profile_lock`); `take_all` takes many
profiles' at once (the drain locks a batch of up to 100 in one round trip).
"""
from __future__ import annotations

import uuid

import redis
from redis.exceptions import LockError
from redis.lock import Lock

from integration.store.decoding import text

# gives a key up only while it still holds the caller's value (the pending-sync marks use it)
RELEASE_IF_HELD = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Lease(Lock):
    # redis-py's extend reads PTTL, which the ACL (README, Redis in production) does not grant; a
    # lease only ever renews its full ttl, so GET and PEXPIRE do
    LUA_EXTEND_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
    lua_extend = None  # registered for this class, not inherited from Lock

    def __init__(self, client: redis.Redis, key: str, ttl_seconds: float):
        super().__init__(client, key, timeout=ttl_seconds, blocking=False, thread_local=False)

    def extend(self, pipe=None) -> bool:
        """Push the expiry out to the full ttl again; False if the lease was lost (expired and
        taken by another). With `pipe`, only queued on that pipeline."""
        if pipe is not None:
            self.lua_extend(keys=[self.name], args=[self.local.token, self._ttl_ms(), "1"], client=pipe)
            return True
        try:
            return super().extend(self.timeout, replace_ttl=True)
        except LockError:
            return False

    def release(self) -> bool:
        """Give the lease up, unless it already passed to another holder."""
        try:
            super().release()
        except LockError:
            return False
        return True

    @property
    def token(self) -> str | None:
        return text(self.local.token)

    def holder(self) -> str | None:
        return text(self.redis.get(self.name))

    def _ttl_ms(self) -> int:
        return int(self.timeout * 1000)


def take_all(client: redis.Redis, leases: list[Lease]) -> list[bool]:
    """Take many leases in one round trip, each as `Lease.acquire` would; which ones were taken."""
    pipe = client.pipeline(transaction=False)
    tokens = [uuid.uuid1().hex.encode() for _ in leases]
    for lease, token in zip(leases, tokens):
        pipe.set(lease.name, token, nx=True, px=lease._ttl_ms())
    taken = [bool(ok) for ok in pipe.execute()]
    for lease, token, ok in zip(leases, tokens, taken):
        if ok:
            lease.local.token = token
    return taken
