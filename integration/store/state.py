"""Our small Redis-backed state: pending-sync marks, profile locks, watermarks, tombstones. The
receivers set the dedupe and pending-sync marks in workers.intake, with the TTLs given here and
in integration.store.marks, which lays out the watermarks and dedupe marks."""
from __future__ import annotations

import contextlib
import hashlib
import time

import redis

from integration.store import keys
from integration.store import keys, marks
from integration.store.decoding import text
from integration.errors import LockBusy
from integration.store.locks import RELEASE_IF_HELD, Lease

PENDING_TTL = 3600


def email_digest(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:marks.FINGERPRINT_HEX]


class State:
    def __init__(self, client: redis.Redis, lock_ttl_ms: int):
        self.r = client
        self.lock_ttl_ms = lock_ttl_ms
        self._release = client.register_script(RELEASE_IF_HELD)
        self._move = client.register_script(marks.MOVE)
        self._no_legacy = False

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

    # watermarks (sync marks): integration.store.marks lays them out; read and written only here
    def synced_mark(self, profile_id: str) -> dict | None:
        return self.synced_marks([profile_id])[str(profile_id)]

    def synced_marks(self, profile_ids: list[str]) -> dict[str, dict | None]:
        """Each profile's watermark (None: never synced, or forgotten); one round trip. A mark
        still in the old layout is moved to the new one as it is read."""
        return self._read_marks([str(pid) for pid in profile_ids], legacy=not self._legacy_gone())

    def _read_marks(self, ids: list[str], legacy: bool) -> dict[str, dict | None]:
        pipe = self.r.pipeline(transaction=False)
        for pid in ids:
            pipe.hget(marks.synced_key(pid), pid)
            if legacy:
                pipe.get(keys.legacy_synced(pid))
        found = iter(pipe.execute())
        out: dict[str, dict | None] = {}
        for pid in ids:
            raw, old = next(found), next(found) if legacy else None
            out[pid] = marks.unpack(raw) if raw is not None else None
            if raw is None and old is not None:
                out[pid] = marks.from_legacy(old)
                self._move(keys=[keys.legacy_synced(pid), marks.synced_key(pid)],
                           args=[old, pid, marks.pack(out[pid])])
        return out

    def mark_synced(self, profile_id: str, *, fingerprint: str, updated_at: str | None,
                    zendesk_user_id, email: str | None = None, contact: str | None = None) -> None:
        """`email`: the address Zendesk now has as the user's primary one, kept as a digest so a
        bulk sync can tell an unchanged email without asking Zendesk (no personal data stored);
        `contact`: the digest of the contact details synced (`mapping.contact_digest`)."""
        self.mark_synced_many({profile_id: dict(fingerprint=fingerprint, updated_at=updated_at,
                                                zendesk_user_id=zendesk_user_id, email=email,
                                                contact=contact)})

    def mark_synced_many(self, synced: dict[str, dict]) -> None:
        """`mark_synced` for many profiles in one round trip: profile id -> its arguments."""
        now = time.time()
        pipe = self.r.pipeline(transaction=True)
        for pid, mark in synced.items():
            pid = str(pid)
            pipe.hset(marks.synced_key(pid), pid, marks.pack(_record(mark, now)))
            pipe.delete(keys.legacy_synced(pid))
        pipe.execute()

    def adopt_marks(self, synced: dict[str, dict]) -> int:
        """`mark_synced_many` for profiles found in step without a sync, each only while it still
        has no mark (a sync that wrote one meanwhile knows better); returns how many it wrote."""
        now = time.time()
        pipe = self.r.pipeline(transaction=True)
        for pid, mark in synced.items():
            pipe.hsetnx(marks.synced_key(str(pid)), str(pid), marks.pack(_record(mark, now)))
        return sum(pipe.execute())

    def clear_synced(self, *profile_ids: str) -> None:
        pipe = self.r.pipeline(transaction=True)
        for pid in map(str, profile_ids):
            pipe.hdel(marks.synced_key(pid), pid)
            pipe.delete(keys.legacy_synced(pid))
        pipe.execute()

    def synced_profiles(self, buckets: range) -> list[str]:
        """The profiles with a watermark in these buckets (of 0 .. marks.SYNCED_BUCKETS - 1)."""
        pipe = self.r.pipeline(transaction=False)
        for bucket in buckets:
            pipe.hkeys(keys.synced_marks(bucket))
        return [text(pid) for found in pipe.execute() for pid in found]

    def migrate_marks(self, cursor: int = 0, count: int = 500) -> tuple[int, int]:
        """Move one SCAN step's watermarks of the old layout to their buckets; returns the next
        cursor (0: a whole pass done) and how many it found."""
        cursor, found = self.r.scan(cursor, match=keys.LEGACY_SYNCED_PATTERN, count=count)
        prefix = keys.legacy_synced("")
        self._read_marks([text(key)[len(prefix):] for key in found], legacy=True)
        return int(cursor), len(found)

    def legacy_marks_gone(self) -> None:
        """A whole pass found no watermark of the old layout: readers stop looking for them."""
        self.r.set(keys.LEGACY_SYNCED_GONE, "1")

    def _legacy_gone(self) -> bool:
        if not self._no_legacy:
            self._no_legacy = bool(self.r.exists(keys.LEGACY_SYNCED_GONE))
        return self._no_legacy

    # erasure
    def mark_erased(self, profile_id: str, ttl: int = 30 * 24 * 3600) -> None:
        self.r.set(keys.erased(profile_id), "1", ex=ttl)

    def is_erased(self, profile_id: str) -> bool:
        return bool(self.r.exists(keys.erased(profile_id)))


def _record(mark: dict, now: float) -> dict:
    return {"fingerprint": mark["fingerprint"], "updated_at": mark.get("updated_at"),
            "zendesk_user_id": str(mark["zendesk_user_id"]), "synced_at": now,
            "email": email_digest(mark["email"]) if mark.get("email") else None,
            "contact": mark.get("contact")}
