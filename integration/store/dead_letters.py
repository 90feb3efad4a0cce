"""The dead-letter store: jobs that failed for good, kept with their reason until replayed."""
from __future__ import annotations

import json
import time
import uuid

import redis

from integration import jobs
from integration.store import keys
from integration.store.decoding import text


class DeadLetters:
    def __init__(self, client: redis.Redis):
        self.r = client

    def add(self, *, task: str, args: list, kwargs: dict, error: dict, attempts: int,
            profile_id: str | None = None, zendesk_user_id: str | None = None,
            first_attempt_at: float | None = None, entry_id: str | None = None) -> str:
        """Store a failed job, listed under the profile and the Zendesk user it is about (for
        erasure); with `entry_id` (a replay that failed again) replace that entry, keeping when
        it first failed and how often it was replayed."""
        now = time.time()
        earlier = self.get(entry_id) if entry_id else None
        entry_id = entry_id or uuid.uuid4().hex[:12]
        entry = {"id": entry_id, "task": task, "args": list(args), "kwargs": dict(kwargs),
                 "error": error, "attempts": attempts, "profile_id": profile_id,
                 "zendesk_user_id": zendesk_user_id,
                 "first_attempt_at": first_attempt_at or now, "failed_at": now,
                 "replays": 0, "replayed_at": None}
        if earlier:
            entry["first_attempt_at"] = earlier.get("first_attempt_at", entry["first_attempt_at"])
            entry["first_failed_at"] = earlier.get("first_failed_at", earlier.get("failed_at"))
            entry["replays"] = earlier.get("replays", 0)
            entry["replayed_at"] = earlier.get("replayed_at")
        pipe = self.r.pipeline()
        for key in _indexes(earlier or {}):  # the replay may have resolved someone else
            pipe.srem(key, entry_id)
        pipe.hset(keys.DLQ_ENTRIES, entry_id, json.dumps(entry, default=str))
        pipe.zadd(keys.DLQ_INDEX, {entry_id: now})
        for key in _indexes(entry):
            pipe.sadd(key, entry_id)
        pipe.execute()
        return entry_id

    def add_failed_sync(self, profile_id: str, error: dict, reason: str) -> str:
        """A profile that a run outside the sync task (reconciliation, bulk sync) could not sync:
        replayed as its sync job."""
        return self.add(task=jobs.SYNC_PROFILE.name, args=[profile_id], kwargs={},
                        error=dict(error, reason=reason), attempts=1, profile_id=profile_id)

    def get(self, entry_id: str) -> dict | None:
        raw = self.r.hget(keys.DLQ_ENTRIES, entry_id)
        return json.loads(raw) if raw else None

    def mark_replayed(self, entry_id: str) -> dict | None:
        """Note that the entry was sent to run again; it stays until that run succeeds."""
        entry = self.get(entry_id)
        if entry is None:
            return None
        entry["replays"] = entry.get("replays", 0) + 1
        entry["replayed_at"] = time.time()
        self.r.hset(keys.DLQ_ENTRIES, entry_id, json.dumps(entry, default=str))
        return entry

    def ids(self) -> list[str]:
        return [text(i) for i in self.r.zrevrange(keys.DLQ_INDEX, 0, -1)]

    def list(self, limit: int | None = None) -> list[dict]:
        ids = self.r.zrevrange(keys.DLQ_INDEX, 0, -1 if limit is None else limit - 1)
        if not ids:
            return []
        raws = self.r.hmget(keys.DLQ_ENTRIES, ids)
        return [json.loads(raw) for raw in raws if raw]

    def count(self) -> int:
        return int(self.r.zcard(keys.DLQ_INDEX))

    def remove(self, entry_id: str) -> bool:
        entry = self.get(entry_id)
        pipe = self.r.pipeline()
        pipe.hdel(keys.DLQ_ENTRIES, entry_id)
        pipe.zrem(keys.DLQ_INDEX, entry_id)
        for key in _indexes(entry or {}):
            pipe.srem(key, entry_id)
        return bool(pipe.execute()[0])

    def purge_profile(self, profile_id: str, zendesk_user_ids=()) -> int:
        """Drop every dead letter about a profile or any of its Zendesk users, and those
        indexes (erasure)."""
        indexes = [keys.dlq_by_profile(profile_id)]
        indexes += [keys.dlq_by_zendesk_user(str(u)) for u in zendesk_user_ids]
        ids = {text(i)
               for key in indexes for i in self.r.smembers(key)}
        for entry_id in ids:
            self.remove(entry_id)
        self.r.delete(*indexes)
        return len(ids)


def _indexes(entry: dict) -> list[str]:
    """The erasure indexes listing this entry."""
    found = []
    if entry.get("profile_id"):
        found.append(keys.dlq_by_profile(entry["profile_id"]))
    if entry.get("zendesk_user_id"):
        found.append(keys.dlq_by_zendesk_user(entry["zendesk_user_id"]))
    return found
