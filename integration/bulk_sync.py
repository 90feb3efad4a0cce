"""Bursts: when syncs back up, they are taken together and sent 100 users a Zendesk request.

What counts as backed up is decided here alone (`LUA`): the syncs waiting (the Celery sync
queue's length plus the profiles parked here and those a drain has taken) against
BULK_SYNC_THRESHOLD. The receiver's intake script asks it for every sync it stores: below it the
sync is queued as a job and runs alone (`sync.sync_profile`), at or above it the profile is parked
in that same atomic step, with no job of its own, and a drain job is queued unless one runs or was
just queued. A sync job that still finds syncs backed up when it starts parks its profile too.
One drain at a time (`drain`, a lease) takes the parked profiles in batches of up to 100 and
sends them through the backfill's bulk-job pipeline (integration/bulk_jobs.py).

Why the threshold is a backlog of 20 by default: one by one, a backlog of N waits N / R minutes
for its last sync; a bulk job costs a few seconds of Zendesk's queue whatever its size. At
R = 400 a minute the single path clears 20 syncs in 3 s, about what one bulk job takes, so from
there on batching is no slower for anyone and costs a hundredth of the budget per profile.

What every sync guarantees, the batch keeps:
- coalescing: a profile is parked once however often it changes before a drain takes it;
- the newest state, never an older one over it: the drain takes each profile's lock, then reads
  the profiles from Omneo in one `GET /profiles?filter[id][in]=...` call per 100 (not the webhook
  bodies: a body can be older than Omneo's state by the time a backlog drains, and a body need
  not hold every synced attribute), and skips any older than the watermark. The newest
  `updated_at` the webhooks announced is kept with a parked profile: one already synced at least
  that new (a duplicate, a late delivery) is dropped without being read;
- erasure: under the lock, an erased profile is skipped; an erasure waits for the lock;
- crash safety: a taken profile stays in `BULK_CLAIMED` until its job's results are written;
  a drain that finds claims older than a profile lock's lifetime (their holder died, its locks
  have expired) parks them again, and the drain job itself is acknowledged late;
- once-only effects: create-or-update by `external_id` never makes a second user, and the
  identity is written only for a profile that lacks it (a new user).

The drain takes the newest parked profiles first: a backlog takes as long to clear either way,
and a change made while it drains is not made to wait behind the whole of it. Profiles whose
links need folding (a manual link, a merge) are synced one at a time under the lock held.
"""
from __future__ import annotations

import re
import time
from collections import deque

from integration import keys, mapping, tier_field, zendesk_user_changes
from integration.bulk_jobs import BATCH_SIZE, BackfillStopped, Batch, BulkJobs
from integration.context import Context
from integration.errors import ApiError, TransientError
from integration.lease import Lease
from integration.profiles import is_gone
from integration.state import email_digest
from integration.sync import _older, sync_locked
from integration.redis_values import text

DRAIN_LEASE_SECONDS = 15.0  # renewed as the drain goes; short, so a dead drain's lease frees soon
# While jobs are out, a part batch waits this long for more profiles before it is sent: a burst
# arriving at hundreds a second fills a batch in well under it, and each job sent part-full spends
# budget a full one would not.
FILL_SECONDS = 0.5
# An idle drain stays this long for more parked profiles before it ends (then a new drain job
# must go through the broker), checking every LINGER_POLL_SECONDS.
LINGER_SECONDS, LINGER_POLL_SECONDS = 3.0, 0.05

# What counts as backed up, and parking, as Lua functions: the sync task runs them here, and the
# receiver's intake script (workers/intake.py) runs them in the step that stores a delivery, so a
# webhook in a burst is parked without a Celery job of its own. `bulk_park` records the newest
# `updated_at` a webhook announced for the profile (none known: forgotten, so the drain reads it)
# and returns 1 when the caller should queue a drain (none running, none just queued).
LUA = """
local function bulk_backed_up(queue, waiting, claimed, threshold)
  threshold = tonumber(threshold)
  return threshold > 0 and redis.call('LLEN', queue) + redis.call('ZCARD', waiting)
    + redis.call('ZCARD', claimed) >= threshold
end
local function bulk_park(waiting, announced, lease, queued, id, updated_at, queued_ttl)
  local t = redis.call('TIME')
  redis.call('ZADD', waiting, tonumber(t[1]) + tonumber(t[2]) / 1000000, id)
  local known = redis.call('HGET', announced, id)
  if updated_at == '' then
    redis.call('HDEL', announced, id)
  elseif not known or known < updated_at then
    redis.call('HSET', announced, id, updated_at)
  end
  if redis.call('EXISTS', lease) == 1 then return 0 end
  if redis.call('SET', queued, '1', 'NX', 'EX', queued_ttl) then return 1 end
  return 0
end
"""
# the keys bulk_backed_up takes after the queue's, and those of bulk_park, in their order
BACKLOG_KEYS = (keys.BULK_WAITING, keys.BULK_CLAIMED)
PARK_KEYS = (keys.BULK_WAITING, keys.BULK_ANNOUNCED, keys.BULK_DRAIN_LOCK, keys.BULK_DRAIN_QUEUED)
_BACKED_UP = LUA + "return bulk_backed_up(KEYS[1], KEYS[2], KEYS[3], ARGV[1]) and 1 or 0"
_PARK = LUA + "return bulk_park(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2], ARGV[3])"

# KEYS: waiting, claimed, announced. ARGV: how many, claims older than this many seconds are stale, fill
# seconds, eager (1 or 0). Parks stale claims again, then moves the newest `how many` waiting ids
# to the claimed set; unless eager, a batch short of `how many` waits until its oldest profile has
# waited `fill seconds`, so that jobs go full while a burst keeps arriving. Returns the ids and the
# `updated_at` each was announced with (false: none), which are forgotten.
_CLAIM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[2]))
for _, id in ipairs(stale) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[1], 'NX', now, id)
end
if ARGV[4] ~= '1' and redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if oldest[2] and tonumber(oldest[2]) > now - tonumber(ARGV[3]) then return {{}, {}} end
end
local ids = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #ids == 0 then return {{}, {}} end
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZADD', KEYS[2], now, id)
end
local announced = redis.call('HMGET', KEYS[3], unpack(ids))
redis.call('HDEL', KEYS[3], unpack(ids))
return {ids, announced}
"""


def backed_up(ctx: Context, queue: str) -> bool:
    """Whether syncs are backing up: `queue` is the Redis list of the sync queue."""
    script = ctx.redis.register_script(_BACKED_UP)
    return bool(script(keys=[queue, *BACKLOG_KEYS], args=[ctx.settings.bulk_sync_threshold]))


def park(ctx: Context, profile_id: str, updated_at: str | None = None) -> bool:
    """Leave the profile for a bulk drain; True when the caller must queue a drain job."""
    script = ctx.redis.register_script(_PARK)
    return bool(script(keys=list(PARK_KEYS), args=park_args(profile_id, updated_at)))


def park_args(profile_id: str, updated_at: str | None) -> list:
    """bulk_park's arguments after its keys."""
    return [str(profile_id), updated_at or "", int(DRAIN_LEASE_SECONDS)]


def parked(ctx: Context) -> int:
    """Profiles parked and not yet taken by a drain."""
    return int(ctx.redis.zcard(keys.BULK_WAITING))


def drain(ctx: Context, budget_seconds: float) -> dict:
    """Sync parked profiles in bulk for up to `budget_seconds`; `more` says whether some are left
    (the caller then queues another drain). One drain runs at a time."""
    lease = Lease(ctx.redis, keys.BULK_DRAIN_LOCK, DRAIN_LEASE_SECONDS)
    if not lease.acquire():
        return {"outcome": "skipped", "reason": "another drain is running", "more": False}
    ctx.redis.delete(keys.BULK_DRAIN_QUEUED)
    run = BulkSync(ctx, lease)
    try:
        run.run(time.monotonic() + budget_seconds)
    except BackfillStopped as exc:  # an outage: the drain job retries; the profiles are parked again
        raise TransientError("zendesk", str(exc)) from None
    finally:
        lease.release()
    more = parked(ctx) > 0 or ctx.redis.zcard(keys.BULK_CLAIMED) > 0
    return {"outcome": "drained", "more": more, **run.totals.as_dict()}


class BulkSync(BulkJobs):
    """A drain: claimed profiles, locked, read in bulk, sent as bulk jobs, released in order."""

    def __init__(self, ctx: Context, lease: Lease, **kwargs):
        super().__init__(ctx, **kwargs)
        self.lease = lease
        self.claim_seconds = ctx.settings.profile_lock_ttl_seconds
        self._claim = ctx.redis.register_script(_CLAIM)
        self._renewed = time.monotonic()

    def run(self, deadline: float) -> None:
        outstanding: deque[Batch] = deque()
        tier_field.ensure_for_sync(self.ctx)
        self.open()
        try:
            idle_since = None
            while time.monotonic() < deadline:
                self._renew(outstanding)
                eager = not any(not b.finished for b in outstanding)
                taken, announced = self._claim(
                    keys=[keys.BULK_WAITING, keys.BULK_CLAIMED, keys.BULK_ANNOUNCED],
                    args=[BATCH_SIZE, self.claim_seconds, FILL_SECONDS, int(eager)])
                ids = [text(i) for i in taken]
                if not ids:
                    if outstanding:
                        self._wait(outstanding, FILL_SECONDS)  # a part batch fills meanwhile
                    elif self.ctx.redis.zcard(keys.BULK_CLAIMED):
                        self.sleep(self.poll_seconds)  # a dead drain's claims, until stale
                    elif idle_since is None or time.monotonic() - idle_since < LINGER_SECONDS:
                        idle_since = idle_since or time.monotonic()
                        self.sleep(LINGER_POLL_SECONDS)  # more may be parked: no new drain needed
                    else:
                        break
                    continue
                idle_since = None
                batch = self._prepare(ids, [a and text(a) for a in announced])
                try:
                    self.send(batch)
                except BaseException:
                    self._release(batch, repark=True)
                    raise
                if not batch.payloads and not outstanding and batch.extra["busy"]:
                    self.sleep(self.poll_seconds)  # only locked profiles: give their holders time
                self.feed(outstanding, batch)
            while outstanding:
                self._renew(outstanding)
                self._wait(outstanding)
        except BaseException:
            # Stopped (an outage, the time limit): unfinished batches are parked again for the
            # next drain. One whose results are being written keeps its locks and claims: they
            # expire, and the claims are taken back once stale, as after a crash.
            self.abort.set()  # writes under way end after their current call
            self._pool.shutdown(wait=False, cancel_futures=True)
            for batch in outstanding:
                if batch.applied is None or batch.applied.cancelled():
                    self._release(batch, repark=True)
            raise
        finally:
            self.close(outstanding)

    def _renew(self, outstanding: deque[Batch]) -> None:
        """Keep the drain's lease, and the locks of batches still out, from expiring under it
        (a batch waits behind the ones sent before it); a dead drain's locks expire."""
        self.lease.extend()
        now = time.monotonic()
        if now - self._renewed < self.claim_seconds / 3:
            return
        self._renewed = now
        pipe = self.ctx.redis.pipeline(transaction=False)
        for batch in outstanding:
            for lock in batch.extra["locks"]:
                lock.extend(pipe)
        pipe.execute()

    def _prepare(self, ids: list[str], announced: list | None = None) -> Batch:
        """Lock the profiles, drop the erased and the unchanged, map the rest; `announced`: the
        newest `updated_at` a webhook gave each (None: unknown)."""
        r = self.ctx.redis
        locks = {pid: Lease(r, keys.profile_lock(pid), self.claim_seconds) for pid in ids}
        pipe = r.pipeline(transaction=False)
        for pid, lock in locks.items():
            pipe.set(lock.key, lock.token, nx=True, px=lock.ttl_ms)
        got = pipe.execute()
        busy = [pid for pid, ok in zip(ids, got) if not ok]
        mine = [pid for pid, ok in zip(ids, got) if ok]
        batch = Batch(last_id=ids[-1], rows=len(mine),
                      extra={"ids": ids, "locks": [locks[p] for p in mine], "busy": busy})
        if busy:  # a sync or an erasure holds them: they go back to wait, behind the rest
            r.zadd(keys.BULK_WAITING, {pid: 0 for pid in busy})
            r.zrem(keys.BULK_CLAIMED, *busy)
        try:
            self._read(batch, mine, dict(zip(ids, announced or [])))
        except BaseException:
            self._release(batch, repark=True)
            raise
        return batch

    def _read(self, batch: Batch, mine: list[str], announced: dict) -> None:
        r = self.ctx.redis
        pipe = r.pipeline(transaction=False)
        for pid in mine:
            pipe.exists(keys.erased(pid))
        live = [pid for pid, erased in zip(mine, pipe.execute()) if not erased]
        self.totals.skipped += len(mine) - len(live)
        live = self._not_yet_synced(live, announced)
        profiles = self._call(self.ctx.omneo.find_profiles, live) if live else {}
        for pid in live:
            profile = profiles.get(pid) or self._call(self.ctx.omneo.find_profile, pid)
            if is_gone(profile):
                self._count("skipped")
                continue
            self._add(batch, profile)

    def _not_yet_synced(self, live: list[str], announced: dict) -> list[str]:
        """Drop the profiles already synced at least as new as every webhook about them said
        (a duplicate or a late, reordered delivery): no Omneo read for those."""
        told = [pid for pid in live if announced.get(pid)]
        if not told:
            return live
        done = {pid for pid, mark in self.ctx.state.get_synced_many(told).items()
                if mark and _synced_since(mark.get("updated_at"), announced[pid])}
        self.totals.unchanged += len(done)
        return [pid for pid in live if pid not in done]

    def _add(self, batch: Batch, profile: dict) -> None:
        s = self.ctx.settings
        profile_id = str(profile["id"])
        payload = mapping.zendesk_user(profile, s.sync_attributes)
        mark = self.ctx.state.get_synced(profile_id)
        linked = mapping.identity_of(profile, s.omneo_identity_handle)
        expected = [mark["zendesk_user_id"]] if mark else []
        if mark and _older(profile.get("updated_at"), mark.get("updated_at")):
            self._count("skipped")
            return
        if zendesk_user_changes.blocks_recreation(self.ctx, profile, linked):
            self._count("skipped")
            return
        if mark and mark["fingerprint"] == mapping.fingerprint(payload) and linked == expected:
            self._count("unchanged")
            return
        if linked and linked != expected:  # links to fold: the single sync does that
            try:
                self._count(sync_locked(self.ctx, profile)["outcome"])
            except ApiError as exc:
                self._dead_letter(profile_id, exc.describe())
            return
        known = bool(mark and payload.get("email") and linked == expected
                     and mark.get("email") == email_digest(payload["email"]))
        batch.add(profile, payload, email_known=known)

    def one_at_a_time(self, batch: Batch) -> None:
        for profile in batch.profiles.values():  # under the locks this drain holds
            try:
                self._count(sync_locked(self.ctx, profile)["outcome"])
            except ApiError as exc:
                self._dead_letter(str(profile["id"]), exc.describe())

    def finished(self, batch: Batch) -> None:
        self._release(batch, repark=False)
        self.lease.extend()

    def _release(self, batch: Batch, repark: bool) -> None:
        """Unlock the batch's profiles and drop their claims; with `repark`, park them again."""
        r = self.ctx.redis
        if batch.extra.get("released"):
            return
        batch.extra["released"] = True
        taken = [pid for pid in batch.extra["ids"] if pid not in batch.extra["busy"]]
        if taken:
            if repark:
                r.zadd(keys.BULK_WAITING, {pid: time.time() for pid in taken}, nx=True)
            r.zrem(keys.BULK_CLAIMED, *taken)
        for lock in batch.extra["locks"]:
            lock.release()


_STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")  # Omneo's, which sorts as text


def _synced_since(synced: str | None, announced: str) -> bool:
    """Whether the watermark is at least as new as the webhook said; only trusted when both are in
    Omneo's own form (another form would compare wrongly, and then the profile is read)."""
    return bool(synced and _STAMP.match(synced) and _STAMP.match(announced)
                and not _older(synced, announced))
