"""Whether Zendesk bears out a `user.merged` event before anything is folded on its word.

A Zendesk merge cannot be undone, and folding on a misread or forged event would join two live
customers. So the event only says where to look, and Zendesk is read: the merged user must be
gone (or inactive, as Zendesk shows a merged-away user), and the survivor must be live and, where
the merged user had the profile's email, the user now holding that email identity (a merge moves
the merged user's email identities to the survivor). The survivor is named by `event.user.id`
only; without it, the user now holding that email is the one fallback. Anything else is refused:
counted, kept in a short list of ids and reasons, logged with ids only, and never acted on.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from integration.profiles import user_rules
from integration.store import keys
from integration.wiring import Context
from integration.apis.paths import same_email

log = logging.getLogger(__name__)

REFUSED_LOG_LENGTH = 1000


@dataclass
class Verdict:
    survivor: str | None = None  # the user to follow the profile to, when Zendesk bears it out
    refused: str | None = None  # why not, otherwise


def verify(ctx: Context, job: dict, profile: dict) -> Verdict:
    source, named = job["user_id"], job.get("survivor_id")
    if user_rules.is_present(ctx.zendesk.find_user(source)):
        return Verdict(refused="the merged user is still live in Zendesk")
    holder = _email_holder(ctx, profile.get("email"), source)
    if named is None:
        if holder is None:
            return Verdict(refused="the event names no survivor and no live user holds the "
                                   "profile's email")
        return Verdict(survivor=holder)
    if not user_rules.is_present(ctx.zendesk.find_user(named)):
        return Verdict(refused="the survivor the event names is not live in Zendesk")
    if holder is not None and holder != named:
        return Verdict(refused="the survivor the event names does not hold the merged user's email")
    return Verdict(survivor=named)


def _email_holder(ctx: Context, email: str | None, source: str) -> str | None:
    """The live user (other than `source`) holding `email` as one of its identities."""
    if not email:
        return None
    for user in ctx.zendesk.search_users_by_email(email):
        user_id = str(user["id"])
        if user_id == source or not user_rules.is_present(user):
            continue
        if any(i.get("type") == "email" and same_email(i.get("value"), email)
               for i in ctx.zendesk.list_identities(user_id)):
            return user_id
    return None


def record_refused(ctx: Context, job: dict, profile_id: str, reason: str) -> dict:
    """Count and keep the refusal (ids and the reason: nothing personal); the event is not acted on."""
    record = {"event_id": job["event_id"], "zendesk_user_id": job["user_id"],
              "survivor_id": job.get("survivor_id"), "reason": reason,
              "at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    pipe = ctx.redis.pipeline()
    pipe.incr(keys.USER_MERGES_REFUSED)
    pipe.lpush(keys.USER_MERGES_REFUSED_LOG, json.dumps(record))
    pipe.ltrim(keys.USER_MERGES_REFUSED_LOG, 0, REFUSED_LOG_LENGTH - 1)
    pipe.execute()
    log.warning("user.merged not borne out by Zendesk: not acted on",
                extra={"event_id": job["event_id"], "zendesk_user_id": job["user_id"],
                       "survivor_id": job.get("survivor_id"), "profile_id": profile_id, "reason": reason})
    return {"outcome": "refused", "reason": reason}
