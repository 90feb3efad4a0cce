"""Our small Redis-backed state: pending-sync marks, profile locks, watermarks, tombstones. The
receivers set the dedupe and pending-sync marks in workers.intake, with the TTLs given here."""
from __future__ import annotations

import contextlib
import hashlib
import json
import time

import redis

from integration.store import keys
from integration.errors import LockBusy
from integration.store.locks import RELEASE_IF_HELD, Lease

SEEN_TTL = 3 * 24 * 3600  # longer than either sender keeps retrying a delivery
PENDING_TTL = 3600


def email_digest(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


class State:
    def __init__(self, client: redis.Redis, lock_ttl_ms: int):
        self.r = client
        self.lock_ttl_ms = lock_ttl_ms
        self._release = client.register_script(RELEASE_IF_HELD)

    def release_pending_sync(self, profile_id: str, job_id: str | None = None) -> None:
        if job_id is None:
            self.r.delete(keys.pending_sync(profile_id))
        else:
            self._release(keys=[keys.pending_sync(profile_id)], args=[job_id])

    # one job per profile at a time
    @contextlib.contextmanager
    def profile_lock(self, profile_id: str, ttl_ms: int | None = None):
        """Hold the profile for one job; LockBusy if another job holds it. The lock expires by
        itself, so one left by a dead holder frees the profile after `ttl_ms`."""
        lock = Lease(self.r, keys.profile_lock(profile_id), (ttl_ms or self.lock_ttl_ms) / 1000)
        if not lock.acquire():
            raise LockBusy(profile_id)
        try:
            yield
        finally:
            lock.release()

    @contextlib.contextmanager
    def profile_locks(self, profile_ids: list[str]):
        """Hold several profiles, locked in the order given (callers sort it)."""
        with contextlib.ExitStack() as held:
            for profile_id in profile_ids:
                held.enter_context(self.profile_lock(profile_id))
            yield

    # watermarks
    def get_synced(self, profile_id: str) -> dict | None:
        raw = self.r.get(keys.synced(profile_id))
        return json.loads(raw) if raw else None

    def get_synced_many(self, profile_ids: list[str]) -> dict[str, dict | None]:
        raws = self.r.mget([keys.synced(pid) for pid in profile_ids])
        return {str(pid): json.loads(raw) if raw else None for pid, raw in zip(profile_ids, raws)}

    def set_synced(self, profile_id: str, *, fingerprint: str, updated_at: str | None,
                   zendesk_user_id, email: str | None = None) -> None:
        """`email`: the address Zendesk now has as the user's primary one, kept as a digest so a
        bulk sync can tell an unchanged email without asking Zendesk (no personal data stored)."""
        record = {"fingerprint": fingerprint, "updated_at": updated_at,
                  "zendesk_user_id": str(zendesk_user_id), "synced_at": time.time()}
        if email:
            record["email"] = email_digest(email)
        self.r.set(keys.synced(profile_id), json.dumps(record))

    def clear_synced(self, profile_id: str) -> None:
        self.r.delete(keys.synced(profile_id))

    # erasure
    def mark_erased(self, profile_id: str, ttl: int = 30 * 24 * 3600) -> None:
        self.r.set(keys.erased(profile_id), "1", ex=ttl)

    def is_erased(self, profile_id: str) -> bool:
        return bool(self.r.exists(keys.erased(profile_id)))
