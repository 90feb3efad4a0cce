"""The burst's drain: parked profiles (integration/bulk/parking.py) taken together and sent 100
users a Zendesk request.

One drain at a time (`drain`, a lease) takes the parked profiles in batches of up to 100 and
sends them through the backfill's bulk-job pipeline (integration/bulk/pipeline.py).

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

A profile linked without a mark of ours (linked before this deployment, or its Redis replaced)
goes in the job too when its identity names one user whose `external_id` is the profile: one
`show_many` a batch reads those users first. The job's result must land on that user, and the
mark is written from it; any other link is folded one at a time by the single sync.

The drain takes the newest parked profiles first: a backlog takes as long to clear either way,
and a change made while it drains is not made to wait behind the whole of it. Profiles whose
links need folding (a manual link, a merge) are synced one at a time under the lock held.
"""
from __future__ import annotations

import re
import time
from collections import deque

from integration.apis import paths
from integration.profiles import mapping, tier_field, user_changes, user_rules
from integration.store import keys
from integration.bulk.batch import Batch
from integration.bulk.pipeline import BATCH_SIZE, BackfillStopped, BulkJobs
from integration.bulk.parking import CLAIM, CLAIM_KEYS, DRAIN_LEASE_SECONDS, parked
from integration.wiring import Context
from integration.errors import ApiError, PermanentError, TransientError
from integration.store.locks import Lease, take_all
from integration.profiles.profile_rules import is_gone
from integration.store.state import email_digest
from integration.profiles.sync import _older, sync_locked
from integration.store.decoding import text

# While jobs are out, a part batch waits this long for more profiles before it is sent: a burst
# arriving at hundreds a second fills a batch in well under it, and each job sent part-full spends
# budget a full one would not.
FILL_SECONDS = 0.5
# An idle drain stays this long for more parked profiles before it ends (then a new drain job
# must go through the broker), checking every LINGER_POLL_SECONDS.
LINGER_SECONDS, LINGER_POLL_SECONDS = 3.0, 0.05


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
        self._claim = ctx.redis.register_script(CLAIM)
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
                    keys=list(CLAIM_KEYS),
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
        got = take_all(r, list(locks.values()))
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
        found = []
        for pid in live:
            profile = profiles.get(pid) or self._call(self.ctx.omneo.find_profile, pid)
            if is_gone(profile):
                self._count("skipped")
                continue
            found.append(profile)
        marks = self.ctx.state.synced_marks([str(p["id"]) for p in found]) if found else {}
        named = self._named_users(found, marks)
        for profile in found:
            self._add(batch, profile, marks[str(profile["id"])], named)

    def _named_users(self, profiles: list[dict], marks: dict) -> dict[str, dict]:
        """The Zendesk users named by the identities of profiles we hold no mark for (linked
        before this deployment, or its Redis replaced), by id: one `show_many` a batch."""
        handle = self.ctx.settings.omneo_identity_handle
        ids = {linked[0] for p in profiles if not marks.get(str(p["id"]))
               for linked in [mapping.identity_of(p, handle)]
               if len(linked) == 1 and paths.is_id(linked[0], paths.ZENDESK_ID)}
        if not ids:
            return {}
        try:
            users = self._call(self.ctx.zendesk.show_many, ids=sorted(ids))
        except PermanentError:  # then each is folded one at a time, as before
            return {}
        return {str(u["id"]): u for u in users}

    def _not_yet_synced(self, live: list[str], announced: dict) -> list[str]:
        """Drop the profiles already synced at least as new as every webhook about them said
        (a duplicate or a late, reordered delivery): no Omneo read for those."""
        told = [pid for pid in live if announced.get(pid)]
        if not told:
            return live
        done = {pid for pid, mark in self.ctx.state.synced_marks(told).items()
                if mark and _synced_since(mark.get("updated_at"), announced[pid])}
        self.totals.unchanged += len(done)
        return [pid for pid in live if pid not in done]

    def _add(self, batch: Batch, profile: dict, mark: dict | None, named: dict) -> None:
        s = self.ctx.settings
        profile_id = str(profile["id"])
        payload = mapping.zendesk_user(profile, s.sync_attributes)
        linked = mapping.identity_of(profile, s.omneo_identity_handle)
        expected = [mark["zendesk_user_id"]] if mark else []
        if mark and _older(profile.get("updated_at"), mark.get("updated_at")):
            self._count("skipped")
            return
        if user_changes.blocks_recreation(self.ctx, profile, linked):
            self._count("skipped")
            return
        if mark and mark["fingerprint"] == mapping.fingerprint(payload) and linked == expected:
            self._count("unchanged")
            return
        if linked and linked != expected:
            user = named.get(linked[0]) if not mark and len(linked) == 1 else None
            if user is None or not user_rules.stands_for(user, profile_id):
                self.fold(profile)  # links to fold: the single sync does that
                return
            # linked already, to the user whose external_id is this profile: the job updates
            # that user; its result says whether it landed there (`JobResults`)
            batch.extra.setdefault("named", {})[profile_id] = str(user["id"])
            same = (user.get("email") or "").lower() == (payload.get("email") or "").lower()
            if not same and payload.get("email"):  # its primary email before the job: no lookup after it
                batch.extra.setdefault("before", {})[str(user["id"])] = user
            batch.add(profile, payload, email_known=same)
            return
        known = bool(mark and payload.get("email") and linked == expected
                     and mark.get("email") == email_digest(payload["email"]))
        batch.add(profile, payload, email_known=known)

    def fold(self, profile: dict) -> None:
        """The single sync, under the lock this drain holds: folds links, or dead-letters."""
        try:
            self._count(sync_locked(self.ctx, profile)["outcome"])
        except ApiError as exc:
            self._dead_letter(str(profile["id"]), exc.describe())

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
