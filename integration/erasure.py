"""Right to be forgotten: erase a deleted Omneo profile's Zendesk user and our traces of it.

`erase_profile(ctx, profile_id)` is a plain function (the erasure task is glue over it). Under the
profile's lock it:
1. refuses while Omneo still shows the profile live (a retry waits for Omneo to catch up);
2. leaves the `erased` tombstone first, so no sync that starts later can re-create the user;
3. finds the profile's Zendesk users: by `external_id`, by the identity the webhook carried, by
   the user id of our last sync;
4. for each: if a live Omneo profile still claims the user through its `zendesk` identity (after
   a merge Omneo moves the loser's identities to the winner), the user is handed over to that
   profile as a merge would (re-pointed, or folded into its own user), never deleted; otherwise
   it is deleted, then deleted permanently. A user already gone at either step counts as done.
   Its tickets first (`integration.erasure_tickets`, ERASURE_TICKETS): deleted for good with
   `delete`; with `wait` a user who still requests a ticket that is not closed is cleared but for
   the email and the erasure is pending (`integration.store.pending_erasures`) until beat finds none;
5. drops every per-profile key of ours (`keys.profile_keys`), the dead letters about the profile
   or its Zendesk users, and caches, and appends an audit record (a capped list) with ids, times
   and the outcome, nothing personal.
"""
from __future__ import annotations

import json
import logging
import time
import uuid

from integration.apis import paths
from integration.profiles import sync, user_rules
from integration.store import keys
from integration.wiring import Context
from integration.errors import Conflict, NotFound, TransientError
from integration.profiles.profile_rules import live_profile
from integration.profiles.requesters import linked_profile
from integration import erasure_tickets
from integration.apis import paths
from integration.profiles import sync, user_rules
from integration.store import keys, pending_erasures
from integration.wiring import Context
from integration.errors import Conflict, NotFound, PermanentError, RateLimited, TransientError
from integration.profiles.profile_rules import live_profile
from integration.profiles.requesters import linked_profile

log = logging.getLogger(__name__)

ERASED = "erased"
ALREADY_GONE = "already gone"
REPOINTED = "re-pointed"
PENDING = "pending"
PURGE_ENDPOINT = "permanent user deletion"

AUDIT_LENGTH = 10_000  # erasure audit records kept, newest first
_AUDIT_LOOKBACK = 200  # how far back a re-run of the same job looks for its own audit record


class ProfileStillLive(TransientError):
    """Omneo still shows the profile; retry, and erase only once Omneo has deleted it."""


def erase_profile(ctx: Context, profile_id: str, *, zendesk_user_id: str | None = None,
                  requested_at: float | None = None, job_id: str | None = None) -> dict:
    """Erase the Zendesk user of a deleted profile and our own traces of it; return the audit
    record. Idempotent: a re-run finds what is left and finishes it."""
    profile_id = str(profile_id)
    started = time.time()
    _wait_for_purges(ctx)
    with ctx.state.profile_lock(profile_id):
        if live_profile(ctx, profile_id) is not None:
            raise ProfileStillLive("omneo", f"profile {profile_id} is still live in Omneo; "
                                            "erasure waits until Omneo has deleted it")
        ctx.state.mark_erased(profile_id)
        earlier = _audit_of_job(ctx, job_id)
        if earlier is not None:  # this very job finished before (redelivered after a crash)
            forget(ctx, profile_id, earlier["users"])
            return earlier
        results = [_erase_user(ctx, profile_id, user_id, user)
                   for user_id, user in _candidates(ctx, profile_id, zendesk_user_id)]
        forget(ctx, profile_id, results)
        record = _audit_record(profile_id, results, job_id, requested_at, started)
        if record["outcome"] == PENDING:
            record = pending_erasures.hold(ctx.redis, record)
        else:
            held = pending_erasures.release(ctx.redis, profile_id)
            if held is not None:  # the end of a pending erasure: one record, the request's
                record.update(id=held["id"], requested_at=held.get("requested_at"),
                              pending_since=held["pending_since"])
            pipe = ctx.redis.pipeline()
            pipe.lpush(keys.ERASURE_AUDIT, json.dumps(record))
            pipe.ltrim(keys.ERASURE_AUDIT, 0, AUDIT_LENGTH - 1)
            pipe.execute()
    log.info("profile erased", extra={"profile_id": profile_id, "outcome": record["outcome"],
                                      "zendesk_user_id": record["zendesk_user_id"]})
    return record


def _wait_for_purges(ctx: Context) -> None:
    """While the permanent deletion endpoint is paused by its own 429, wait (in Redis, as a retry)
    before spending any call or taking the lock: every erasure would meet that limit at its end."""
    left = ctx.zendesk.purge_limiter.paused_for()
    if left > 0:
        raise RateLimited("zendesk", left, status=None, endpoint=PURGE_ENDPOINT)


# finding the profile's Zendesk users
def _candidates(ctx: Context, profile_id: str, hinted: str | None) -> list[tuple[str, dict | None]]:
    """(user id, user or None when Zendesk no longer shows it) for each user this profile had:
    by external id, the hinted id, our last sync's, and those a pending erasure cleared."""
    found: dict[str, dict | None] = {}
    user = ctx.zendesk.find_user_by_external_id(profile_id)
    if user is not None:
        found[str(user["id"])] = user
    mark = ctx.state.synced_mark(profile_id) or {}
    for user_id in (hinted, mark.get("zendesk_user_id"), *pending_erasures.user_ids(ctx.redis, profile_id)):
        user_id = str(user_id or "").strip()
        if not paths.is_id(user_id, paths.ZENDESK_ID) or user_id in found:
            continue
        user = ctx.zendesk.find_user(user_id)
        if user is not None and not _names(user, profile_id):
            continue  # now someone else's (linked by hand or re-pointed): not ours to touch
        found[user_id] = user
    return list(found.items())


def _names(user: dict, profile_id: str) -> bool:
    """The user carries no external_id or this profile's (Zendesk compares case-insensitively)."""
    return (user.get("external_id") or profile_id).lower() == profile_id.lower()


def _erase_user(ctx: Context, profile_id: str, user_id: str, user: dict | None) -> dict:
    active = user_rules.is_present(user)
    claimant = _live_claimant(ctx, profile_id, user_id)
    if claimant is not None:
        if not active:  # nothing left to hand over, and not ours to purge
            return {"zendesk_user_id": user_id, "outcome": ALREADY_GONE}
        return _repoint(ctx, profile_id, user_id, user, claimant)
    if user is not None and not user_rules.is_end_user(user):
        raise Conflict("zendesk", f"Zendesk user {user_id} of profile {profile_id} is staff "
                                  f"({user.get('role')}); not erased, check it by hand")
    deleted = purged = False
    tickets_deleted = 0
    if active:
        if ctx.settings.erasure_tickets == erasure_tickets.DELETE:
            tickets_deleted = erasure_tickets.delete_all(ctx, profile_id, user_id)
        else:
            held = erasure_tickets.open_tickets(ctx, user_id)
            if held:
                return _pending(ctx, user_id, user, held)
        try:
            ctx.zendesk.delete_user(user_id)
            deleted = True
        except NotFound:
            pass
        except PermanentError as exc:  # a ticket opened meanwhile: Zendesk refuses with 422
            held = erasure_tickets.open_tickets(ctx, user_id) if exc.status == 422 else 0
            if not held:
                raise
            if ctx.settings.erasure_tickets == erasure_tickets.DELETE:
                raise TransientError("zendesk", f"Zendesk user {user_id} requests {held} ticket(s) "
                                                "opened during its erasure; erasure tries again") from None
            return _pending(ctx, user_id, user, held)
    try:  # also a user soft-deleted earlier by hand, which search no longer shows
        purged = ctx.zendesk.delete_user_permanently(user_id)
    except NotFound:
        pass
    return {"zendesk_user_id": user_id, "outcome": ERASED if deleted or purged else ALREADY_GONE,
            "tickets_deleted": tickets_deleted}


def _pending(ctx: Context, user_id: str, user: dict | None, held: int) -> dict:
    erasure_tickets.clear_user(ctx, user_id, user)
    return {"zendesk_user_id": user_id, "outcome": PENDING, "open_tickets": held}


def _live_claimant(ctx: Context, profile_id: str, user_id: str) -> str | None:
    """Id of another live Omneo profile whose `zendesk` identity names this user, if any."""
    other = linked_profile(ctx, user_id)
    if other is None or str(other.get("id")) == profile_id:
        return None
    return str(other["id"])


def _repoint(ctx: Context, profile_id: str, user_id: str, user: dict, live_id: str) -> dict:
    """Hand the user over to the live profile that claims it: the same path as a merge (the one
    place that re-points or folds users), so it is re-pointed, or folded into the live profile's
    own user when it has one, and synced with the live profile's attributes."""
    # the live profile's lock too: its own sync must not run in between
    with ctx.state.profile_lock(live_id):
        live = live_profile(ctx, live_id)
        if live is None:
            raise TransientError("omneo", f"profile {live_id}, which claims Zendesk user {user_id}, "
                                          "went away meanwhile; erasure retries")
        result = sync.sync_locked(ctx, live, also=[user_id], released=[profile_id])
    return {"zendesk_user_id": user_id, "outcome": REPOINTED, "profile": live_id,
            "survivor": result.get("zendesk_user_id")}


# our own stores
def forget(ctx: Context, profile_id: str, users: list[dict] = ()) -> None:
    """Drop every per-profile key of ours but the tombstone: watermark, pending mark, dead
    letters, caches, and what pointed the profile's Zendesk users (`users`: each result of
    `_erase_user`) at it. Dead letters naming only a Zendesk user (a ticket event's) go with a
    user that was erased; a user handed to a live profile keeps them, they are that customer's."""
    gone = [u["zendesk_user_id"] for u in users if u["outcome"] != REPOINTED]
    ctx.dead_letters.purge_profile(profile_id, gone)
    ctx.state.clear_synced(profile_id)
    doomed = set(keys.profile_keys(profile_id))
    for user in users:
        doomed.update(keys.zendesk_user_keys(user["zendesk_user_id"]))
    doomed.discard(keys.erased(profile_id))
    doomed.discard(keys.profile_lock(profile_id))  # ours right now; released on the way out
    if doomed:
        ctx.redis.delete(*doomed)


# the audit trail
def _outcome(results: list[dict]) -> tuple[str, str | None, str | None]:
    """The record's outcome, Zendesk user and live profile, from each user's result."""
    for wanted in (PENDING, ERASED, REPOINTED, ALREADY_GONE):
        for r in results:
            if r["outcome"] == wanted:
                return wanted, r["zendesk_user_id"], r.get("profile")
    return ALREADY_GONE, None, None


def _audit_record(profile_id: str, results: list[dict], job_id: str | None,
                  requested_at: float | None, started: float) -> dict:
    outcome, user_id, live_id = _outcome(results)
    record = {"id": job_id or uuid.uuid4().hex, "profile_id": profile_id, "zendesk_user_id": user_id,
              "outcome": outcome, "repointed_to": live_id if outcome == REPOINTED else None,
              "users": results, "requested_at": requested_at, "started_at": started,
              "tickets_deleted": sum(r.get("tickets_deleted", 0) for r in results),
              "finished_at": time.time()}
    if outcome == PENDING:  # not finished: how many tickets hold it (since when: pending_erasures)
        record.update(finished_at=None, open_tickets=sum(r.get("open_tickets", 0) for r in results))
    return record


def _audit_of_job(ctx: Context, job_id: str | None) -> dict | None:
    if not job_id:
        return None
    for raw in ctx.redis.lrange(keys.ERASURE_AUDIT, 0, _AUDIT_LOOKBACK - 1):
        record = json.loads(raw)
        if record.get("id") == job_id:
            return record
    return None


def audit_records(client, limit: int | None = None) -> list[dict]:
    """The erasure audit trail, newest first: the pending erasures, then those finished."""
    pending = pending_erasures.records(client)
    raws = client.lrange(keys.ERASURE_AUDIT, 0, -1 if limit is None else limit - 1)
    return (pending + [json.loads(raw) for raw in raws])[:limit]
