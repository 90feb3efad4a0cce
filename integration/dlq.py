"""The dead-letter store: jobs that failed for good, kept with their reason until replayed."""
from __future__ import annotations

import json
import time
import uuid

import redis

from integration import keys


class DeadLetters:
    def __init__(self, client: redis.Redis):
        self.r = client

    def add(self, *, task: str, args: list, kwargs: dict, error: dict, attempts: int,
            profile_id: str | None = None, first_attempt_at: float | None = None) -> str:
        now = time.time()
        entry_id = uuid.uuid4().hex[:12]
        entry = {"id": entry_id, "task": task, "args": list(args), "kwargs": dict(kwargs),
                 "error": error, "attempts": attempts, "profile_id": profile_id,
                 "first_attempt_at": first_attempt_at or now, "failed_at": now}
        pipe = self.r.pipeline()
        pipe.hset(keys.DLQ_ENTRIES, entry_id, json.dumps(entry, default=str))
        pipe.zadd(keys.DLQ_INDEX, {entry_id: now})
        if profile_id:
            pipe.sadd(keys.dlq_by_profile(profile_id), entry_id)
        pipe.execute()
        return entry_id

    def get(self, entry_id: str) -> dict | None:
        raw = self.r.hget(keys.DLQ_ENTRIES, entry_id)
        return json.loads(raw) if raw else None

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
        if entry and entry.get("profile_id"):
            pipe.srem(keys.dlq_by_profile(entry["profile_id"]), entry_id)
        return bool(pipe.execute()[0])

    def purge_profile(self, profile_id: str) -> int:
        """Drop every dead letter about a profile (erasure)."""
        ids = [i.decode() if isinstance(i, bytes) else i
               for i in self.r.smembers(keys.dlq_by_profile(profile_id))]
        for entry_id in ids:
            self.remove(entry_id)
        self.r.delete(keys.dlq_by_profile(profile_id))
        return len(ids)
