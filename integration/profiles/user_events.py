"""Zendesk user events: agents' merges, deletions and edits of a linked user, repaired at once.

The receiver calls `user_job` (the small job it enqueues, or None for an event not acted on);
the worker calls `handle` with that job. Every handler works from the state Zendesk and Omneo
hold now, the event only saying where to look, and under the profile's lock; so a duplicate or
a late, out-of-order delivery finds nothing left to do. An erased profile is never touched.

- merged: the profile's user was merged into another (the survivor, `event.user.id`). Once
  Zendesk bears the merge out (`zendesk_merge_check`; else it is recorded and not acted on) the
  survivor gets the profile's external_id and the `zendesk` identity names it (the sync's own
  folding does both, so a survivor claimed by another live profile is a Conflict, dead-lettered).
- deleted (`user.deleted`, or `user.active_changed` to inactive): the profile's link and our
  marks go; with ZENDESK_RECREATE_DELETED_USERS off the next sync does not re-create the user.
- external_id_changed: the rule is *put back*: the profile's identity is the link, and an id
  typed in Zendesk cannot say which profile was meant (re-link in CX Manager, or merge).
- identity_*: an email identity change on a linked user is kept for the next sync to report.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from integration.apis import paths
from integration.profiles import mapping, sync, user_changes, user_rules
from integration.store import keys
from integration.wiring import Context
from integration.apis import paths
from integration.profiles import mapping, merge_check, sync, user_changes, user_rules
from integration.store import keys
from integration.wiring import Context
from integration.errors import Conflict, PermanentError
from integration.profiles.guard import run_on_live_profile
from integration.profiles.profile_rules import live_profile
from integration.profiles.requesters import linked_profile
from integration.store.decoding import text
from integration.apis.zendesk_events import USER_EVENT_PREFIX

log = logging.getLogger(__name__)

DONE_TTL = 30 * 24 * 3600
MERGED, DELETED, EXTERNAL_ID, IDENTITY = "merged", "deleted", "external_id", "identity"
_KINDS = {"merged": MERGED, "deleted": DELETED, "active_changed": DELETED,
          "external_id_changed": EXTERNAL_ID,
          "identity_created": IDENTITY, "identity_changed": IDENTITY, "identity_deleted": IDENTITY}
# which aspect of a user an event is about, for ordering (a merge is final: it has none)
_CLOCKS = {DELETED: "active", EXTERNAL_ID: "external_id"}


# the receiver's half ---------------------------------------------------------------------------
def _id(value) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    candidate = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    return candidate if paths.is_id(candidate, paths.ZENDESK_ID) else None


def survivor_of(event: dict, source_id: str) -> str | None:
    """The user a `user.merged` event's subject was merged into: `event.user.id`, the one field
    Zendesk's payload names it by (a string). Nothing else is read as a survivor."""
    user = event.get("user")
    found = _id(user) if isinstance(user, dict) else None
    return found if found != source_id else None


def event_identity(event: dict) -> dict:
    """The identity a `user.identity_*` event is about: `event.identity`, or `event.current`
    (the two shapes Zendesk's payloads have been read in), else `event.previous`."""
    for key in ("identity", "current", "previous"):
        if isinstance(event.get(key), dict):
            return event[key]
    return {}


def user_job(payload: dict) -> dict | None:
    """The job for a validated user event (no email, no names), or None when it needs nothing."""
    name = payload["type"][len(USER_EVENT_PREFIX):]
    kind = _KINDS.get(name)
    detail, event = payload["detail"], payload.get("event") or {}
    if name == "active_changed" and event.get("current") is not False:
        return None  # re-activation: nothing of ours to repair
    job = {"event_id": str(payload["id"]), "event_type": payload["type"], "kind": kind,
           "time": payload["time"], "user_id": detail["id"],
           "external_id": (detail.get("external_id") or "").strip() or None}
    if kind == MERGED:
        job["survivor_id"] = survivor_of(event, detail["id"])
    elif kind == EXTERNAL_ID:
        previous = event.get("previous")
        job["previous_external_id"] = str(previous).strip() or None if isinstance(previous, (str, int)) else None
    elif kind == IDENTITY:
        identity = event_identity(event)
        job["identity"] = {"id": _id(identity.get("id")), "type": identity.get("type"),
                           "primary": identity.get("primary")}
    return job


# the worker's half -----------------------------------------------------------------------------
def handle(ctx: Context, job: dict) -> dict:
    """Act on one user event; idempotent. Returns what happened."""
    done_key = keys.zendesk_user_event_done(job["event_id"])
    if ctx.redis.exists(done_key):
        return {"outcome": "duplicate"}
    profile_id = _profile_of(ctx, job)
    if profile_id is None:
        result = {"outcome": "skipped", "reason": "not a user of ours"}
        if job["kind"] == MERGED and job.get("survivor_id"):
            _drop_views(ctx, None, [job["user_id"], job["survivor_id"]])
    else:
        result = run_on_live_profile(ctx, profile_id, lambda profile: _act(ctx, job, profile))
        result["profile_id"] = profile_id
    ctx.redis.set(done_key, result["outcome"], ex=DONE_TTL)
    log.info("zendesk user event", extra={"event_id": job["event_id"], "kind": job["kind"],
                                          "outcome": result["outcome"]})
    return result


def _act(ctx: Context, job: dict, profile: dict) -> dict:
    if _stale(ctx, job):
        return {"outcome": "skipped", "reason": "older than an event already acted on"}
    return {MERGED: _merged, DELETED: _deleted, EXTERNAL_ID: _external_id_changed,
            IDENTITY: _identity_changed}[job["kind"]](ctx, job, profile)


def _profile_of(ctx: Context, job: dict) -> str | None:
    """The live profile the event's user stands for: the external_id it had (or had before an
    edit), else the profile whose `zendesk` identity names it."""
    for candidate in (job.get("previous_external_id"), job.get("external_id")):
        if candidate and live_profile(ctx, candidate) is not None:
            return candidate
    found = linked_profile(ctx, job["user_id"])
    return str(found["id"]) if found is not None else None


def _stale(ctx: Context, job: dict) -> bool:
    """An event about an aspect of the user older than one acted on already; else note its time."""
    aspect = _CLOCKS.get(job["kind"])
    if aspect is None or not job.get("time"):
        return False
    clock = keys.zendesk_user_event_clock(job["user_id"])
    newest = ctx.redis.hget(clock, aspect)
    newest = text(newest)
    if newest and _when(job["time"]) < _when(newest):
        return True
    ctx.redis.hset(clock, aspect, job["time"])
    ctx.redis.expire(clock, DONE_TTL)
    return False


def _when(iso: str) -> datetime:
    when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _ours(ctx: Context, profile: dict, user_id: str) -> bool:
    """The profile's link, or our last sync, names this user."""
    if user_id in mapping.identity_of(profile, ctx.settings.omneo_identity_handle):
        return True
    mark = ctx.state.synced_mark(str(profile["id"])) or {}
    return mark.get("zendesk_user_id") == user_id


def _drop_views(ctx: Context, profile_id: str | None, user_ids: list[str]) -> None:
    doomed = [k for u in user_ids if u for k in keys.sidebar_requester_links(u)]
    if profile_id:
        doomed += keys.sidebar_views(profile_id)
    if doomed:
        ctx.redis.delete(*doomed)


def _merged(ctx: Context, job: dict, profile: dict) -> dict:
    profile_id, source = str(profile["id"]), job["user_id"]
    linked = mapping.identity_of(profile, ctx.settings.omneo_identity_handle)
    if linked and not set(linked) & {source, job.get("survivor_id")}:
        return {"outcome": "skipped", "reason": "the profile is linked to another Zendesk user"}
    if not linked and not _ours(ctx, profile, source) and job.get("external_id") != profile_id \
            and user_changes.deleted_user(ctx, profile_id) != source:
        return {"outcome": "skipped", "reason": "the merged user was not the profile's"}
    verdict = merge_check.verify(ctx, job, profile)
    if verdict.refused:
        return merge_check.record_refused(ctx, job, profile_id, verdict.refused)
    survivor = verdict.survivor
    if linked and not set(linked) & {source, survivor}:
        return {"outcome": "skipped", "reason": "the profile is linked to another Zendesk user"}
    user = ctx.zendesk.find_user(survivor)
    if linked == [survivor] and user and (user.get("external_id") or "").lower() == profile_id.lower():
        outcome = {"outcome": "unchanged", "zendesk_user_id": survivor}
    else:
        # the sync's own folding re-points the survivor and refuses one claimed by another profile
        outcome = sync.sync_locked(ctx, profile, also=[survivor])
    user_changes.clear_deleted(ctx, profile_id)
    _drop_views(ctx, profile_id, [source, survivor])
    return dict(outcome, merged=source, survivor=survivor)


def _deleted(ctx: Context, job: dict, profile: dict) -> dict:
    profile_id, user_id = str(profile["id"]), job["user_id"]
    user = ctx.zendesk.find_user(user_id)
    if user_rules.is_present(user):
        return {"outcome": "skipped", "reason": "the user is active in Zendesk"}
    if not _ours(ctx, profile, user_id):
        return {"outcome": "skipped", "reason": "not the profile's Zendesk user (any more)"}
    handle = ctx.settings.omneo_identity_handle
    for identity in profile.get("identities") or []:
        if identity.get("handle") == handle and str(identity.get("identifier")) == user_id:
            ctx.omneo.delete_identity_by_id(profile_id, identity["id"])
    ctx.state.clear_synced(profile_id)
    _drop_views(ctx, profile_id, [user_id])
    if not ctx.settings.zendesk_recreate_deleted_users:
        user_changes.mark_deleted(ctx, profile_id, user_id)
    return {"outcome": "unlinked", "zendesk_user_id": user_id,
            "recreate": ctx.settings.zendesk_recreate_deleted_users}


def _external_id_changed(ctx: Context, job: dict, profile: dict) -> dict:
    profile_id, user_id = str(profile["id"]), job["user_id"]
    if user_id not in mapping.identity_of(profile, ctx.settings.omneo_identity_handle):
        return {"outcome": "skipped", "reason": "not the profile's linked user"}
    user = ctx.zendesk.find_user(user_id)
    if not user_rules.is_present(user):
        return {"outcome": "skipped", "reason": "the user is gone from Zendesk"}
    if (user.get("external_id") or "").lower() == profile_id.lower():
        return {"outcome": "unchanged", "zendesk_user_id": user_id}
    try:
        ctx.zendesk.update_user(user_id, {"external_id": profile_id})
    except PermanentError as exc:
        if exc.status != 422:
            raise
        raise Conflict("zendesk", f"Zendesk user {user_id}'s external_id was edited and cannot be put "
                                  f"back to profile {profile_id}: another Zendesk user carries it; "
                                  "merge the two users in Zendesk", body=exc.body) from None
    _drop_views(ctx, profile_id, [user_id])
    log.warning("external_id edited in Zendesk, put back",
                extra={"profile_id": profile_id, "zendesk_user_id": user_id})
    return {"outcome": "restored", "zendesk_user_id": user_id}


def _identity_changed(ctx: Context, job: dict, profile: dict) -> dict:
    identity = job.get("identity") or {}
    if identity.get("type") not in ("email", None):
        return {"outcome": "skipped", "reason": f"a {identity.get('type')} identity"}
    if not _ours(ctx, profile, job["user_id"]):
        return {"outcome": "skipped", "reason": "not the profile's linked user"}
    change = {"event_id": job["event_id"], "change": job["event_type"][len(USER_EVENT_PREFIX):],
              "time": job["time"], "zendesk_user_id": job["user_id"],
              "identity_id": identity.get("id"), "primary": identity.get("primary")}
    kept = user_changes.record_email_change(ctx, str(profile["id"]), change)
    return {"outcome": "recorded" if kept else "duplicate"}
