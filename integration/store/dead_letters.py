"""The dead-letter store: jobs that failed for good, kept with their reason until replayed.

An entry holds what a person needs to understand and replay the job, and nothing a customer
wrote or an API echoed: the task and its arguments (ids: jobs re-read the rest when they run), the
profile and Zendesk user it is about, the error's type, API, status and a short summary of the
API's error (its codes and the fields it names, never the raw body), attempts and times. All of it
goes through the one scrubber (`integration.redaction`): no email, phone or card-like number.

The store is bounded: an entry expires DLQ_RETENTION_DAYS after it last failed, and past
MAX_ENTRIES the oldest go (each logged). The keys themselves expire with the newest entry, so a
store nobody writes to empties itself.
"""
from __future__ import annotations

import json
import logging
import time
import uuid

import redis

from integration import jobs
from integration.store import keys
from integration.store.decoding import text
from integration.redaction import scrub, scrub_text

log = logging.getLogger("omneo_zendesk.dlq")

MAX_ENTRIES = 10_000
DEFAULT_RETENTION_DAYS = 30
MESSAGE_CHARS = 300
# what is kept of an API's error body: its codes (Zendesk's `error`, `errors[].code`) and the
# fields it names (Zendesk's `details`, Omneo's `errors`); its free text can quote what was sent
_CODE_KEYS = ("error", "code", "type")


class DeadLetters:
    def __init__(self, client: redis.Redis, retention_days: int = DEFAULT_RETENTION_DAYS,
                 max_entries: int = MAX_ENTRIES):
        self.r = client
        self.retention_seconds = retention_days * 86400
        self.max_entries = max_entries

    def add(self, *, task: str, args: list, kwargs: dict, error: dict, attempts: int,
            profile_id: str | None = None, zendesk_user_id: str | None = None,
            first_attempt_at: float | None = None, entry_id: str | None = None) -> str:
        """Store a failed job, listed under the profile and the Zendesk user it is about (for
        erasure); with `entry_id` (a replay that failed again) replace that entry, keeping when
        it first failed and how often it was replayed."""
        now = time.time()
        earlier = self.get(entry_id) if entry_id else None
        entry_id = entry_id or uuid.uuid4().hex[:12]
        entry = {"id": entry_id, "task": task, "args": scrub(list(args)), "kwargs": scrub(dict(kwargs)),
                 "error": kept_error(error), "attempts": attempts, "profile_id": profile_id,
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
            pipe.expire(key, self.retention_seconds)
        pipe.expire(keys.DLQ_ENTRIES, self.retention_seconds)
        pipe.expire(keys.DLQ_INDEX, self.retention_seconds)
        pipe.execute()
        self.prune()
        return entry_id

    def prune(self) -> int:
        """Drop the entries past their retention, then the oldest beyond MAX_ENTRIES."""
        cutoff = time.time() - self.retention_seconds
        doomed = [text(i) for i in self.r.zrangebyscore(keys.DLQ_INDEX, "-inf", cutoff)]
        for entry_id in doomed:
            self.remove(entry_id)
        excess = self.count() - self.max_entries
        if excess > 0:
            for entry_id in [text(i) for i in self.r.zrange(keys.DLQ_INDEX, 0, excess - 1)]:
                entry = self.get(entry_id) or {}
                log.error("dead letter dropped: the store is full", extra={
                    "dead_letter_id": entry_id, "task": entry.get("task"),
                    "max_entries": self.max_entries})
                self.remove(entry_id)
        return len(doomed) + max(0, excess)

    def add_failed_sync(self, profile_id: str, error: dict, reason: str) -> str:
        """A profile that a run outside the sync task (reconciliation, bulk sync) could not sync:
        replayed as its sync job."""
        return self.add(task=jobs.SYNC_PROFILE.name, args=[profile_id], kwargs={},
                        error=dict(error, reason=reason), attempts=1, profile_id=profile_id)

    def get(self, entry_id: str) -> dict | None:
        raw = self.r.hget(keys.DLQ_ENTRIES, entry_id)
        entry = json.loads(raw) if raw else None
        if entry and float(entry.get("failed_at") or 0) < time.time() - self.retention_seconds:
            return None  # expired; the next prune drops it
        return entry

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
        self.prune()
        return [text(i) for i in self.r.zrevrange(keys.DLQ_INDEX, 0, -1)]

    def list(self, limit: int | None = None) -> list[dict]:
        self.prune()
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


def kept_error(error: dict) -> dict:
    """What a dead letter keeps of an error: its kind and a scrubbed summary, no raw body."""
    kept = {k: error[k] for k in ("type", "api", "status", "reason", "setting") if k in error}
    if error.get("message") is not None:
        kept["message"] = scrub_text(str(error["message"]))[:MESSAGE_CHARS]
    if error.get("body") is not None:
        kept["api_error"] = scrub(_summary(error["body"]))
    for key, value in error.items():  # what a caller added (counts, ids), scrubbed
        if key not in kept and key not in ("message", "body"):
            kept[key] = scrub(value)
    return kept


def _summary(body, depth: int = 0):
    """The codes and field names of an API's error body."""
    if isinstance(body, list):
        return [_summary(b, depth + 1) for b in body[:5]] if depth < 3 else None
    if not isinstance(body, dict):
        return None
    out: dict = {k: str(body[k])[:80] for k in _CODE_KEYS if isinstance(body.get(k), (str, int))}
    details = body.get("details")
    if isinstance(details, dict):  # Zendesk: {field: [{error, description}]}
        out["fields"] = [{"field": str(f)[:60], "errors": sorted({str(d.get("error"))[:60] for d in v
                                                                if isinstance(d, dict) and d.get("error")})}
                         for f, v in list(details.items())[:10] if isinstance(v, list)]
    errors = body.get("errors")
    if isinstance(errors, dict):  # Omneo/Laravel: {field: [message]}
        out["fields"] = sorted(str(f)[:60] for f in list(errors)[:10])
    elif isinstance(errors, list) and depth < 3:
        out["errors"] = [_summary(e, depth + 1) for e in errors[:5]]
    return out


def _indexes(entry: dict) -> list[str]:
    """The erasure indexes listing this entry."""
    found = []
    if entry.get("profile_id"):
        found.append(keys.dlq_by_profile(entry["profile_id"]))
    if entry.get("zendesk_user_id"):
        found.append(keys.dlq_by_zendesk_user(entry["zendesk_user_id"]))
    return found
