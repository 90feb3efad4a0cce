"""Erasures waiting for the customer's tickets to close (ERASURE_TICKETS=wait).

Zendesk refuses to delete an end user who still requests a ticket that is not closed. Such an
erasure clears the user at once but for the email (`erasure_tickets.clear_user`) and is kept
here, in Redis, until a later run of the same erasure finds no such ticket left and finishes it.
Beat re-checks them every ERASURE_RECHECK_SECONDS (`take_due`): no job waits, no attempt is
spent, nothing is dead-lettered, nobody replays anything.

A pending record is the audit record the erasure will end with, `outcome: pending`, with the
count of tickets holding it and `pending_since`; `erasures list` shows it until it is `erased`.
Nothing personal in it: ids, counts and times.
"""
from __future__ import annotations

import json
import time

from integration.store import keys

# Several beat processes may run: an erasure re-checked this recently (a share of the interval)
# is not sent again.
RECHECK_SHARE = 0.5
TAKE_AT_MOST = 500  # re-checks sent by one beat run; the rest wait for the next


def hold(client, record: dict) -> dict:
    """Keep (or refresh) the pending record of `record["profile_id"]`; keeps the first
    `pending_since` and the first request's id and time. Returns the record kept."""
    profile_id = record["profile_id"]
    earlier = get(client, profile_id)
    now = time.time()
    kept = dict(record, pending_since=now, checked_at=now)
    if earlier is not None:
        kept.update(id=earlier["id"], pending_since=earlier["pending_since"],
                    requested_at=earlier.get("requested_at") or record.get("requested_at"))
    pipe = client.pipeline()
    pipe.hset(keys.ERASURE_PENDING, profile_id, json.dumps(kept))
    pipe.zadd(keys.ERASURE_PENDING_SINCE, {profile_id: kept["pending_since"]})
    pipe.zadd(keys.ERASURE_PENDING_CHECKED, {profile_id: now})
    pipe.execute()
    return kept


def release(client, profile_id: str) -> dict | None:
    """Drop the pending record of a profile whose erasure finished; returns it (None if none)."""
    earlier = get(client, profile_id)
    pipe = client.pipeline()
    pipe.hdel(keys.ERASURE_PENDING, profile_id)
    pipe.zrem(keys.ERASURE_PENDING_SINCE, profile_id)
    pipe.zrem(keys.ERASURE_PENDING_CHECKED, profile_id)
    pipe.execute()
    return earlier


def get(client, profile_id: str) -> dict | None:
    raw = client.hget(keys.ERASURE_PENDING, profile_id)
    return json.loads(raw) if raw else None


def user_ids(client, profile_id: str) -> list[str]:
    """The Zendesk users a pending erasure still has to delete (their external id is cleared,
    so only this record finds them)."""
    record = get(client, profile_id) or {}
    return [u["zendesk_user_id"] for u in record.get("users") or [] if u.get("outcome") == "pending"]


def records(client) -> list[dict]:
    """Every pending record, newest first."""
    ids = [i.decode() if isinstance(i, bytes) else i
           for i in client.zrevrange(keys.ERASURE_PENDING_SINCE, 0, -1)]
    raws = client.hmget(keys.ERASURE_PENDING, ids) if ids else []
    return [json.loads(raw) for raw in raws if raw]


def take_due(client, interval_seconds: float, now: float | None = None) -> list[str]:
    """Profiles whose pending erasure was last checked at least a share of `interval_seconds`
    ago, marked checked now (so another beat does not send them again); oldest check first."""
    now = time.time() if now is None else now
    due = client.zrangebyscore(keys.ERASURE_PENDING_CHECKED, "-inf", now - interval_seconds * RECHECK_SHARE,
                               start=0, num=TAKE_AT_MOST)
    ids = [i.decode() if isinstance(i, bytes) else i for i in due]
    if ids:
        client.zadd(keys.ERASURE_PENDING_CHECKED, {i: now for i in ids}, xx=True)
    return ids


def summary(client, now: float | None = None) -> tuple[int, float]:
    """How many erasures are pending, and the age in seconds of the oldest (0 when none)."""
    now = time.time() if now is None else now
    pipe = client.pipeline()
    pipe.zcard(keys.ERASURE_PENDING_SINCE)
    pipe.zrange(keys.ERASURE_PENDING_SINCE, 0, 0, withscores=True)
    count, oldest = pipe.execute()
    return int(count), (max(0.0, now - oldest[0][1]) if oldest else 0.0)
