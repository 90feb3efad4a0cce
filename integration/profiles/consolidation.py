"""One profile, one Zendesk user, one `zendesk` identity: folding extra users into one.

Profile merges, manual links and the sync job's repair of a profile carrying two links all end
here. Folding uses Zendesk's user merge (`PUT /users/{source}/merge`), so tickets and email
identities follow the customer; a lone user is re-pointed (its `external_id` set to the profile).
Nothing here takes a lock: callers hold the profile lock(s).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from integration.apis import paths
from integration.profiles import user_rules
from integration.wiring import Context
from integration.errors import Conflict, NotFound, PermanentError
from integration.profiles.profile_rules import live_profile

@dataclass
class Folded:
    survivor: str | None = None  # the Zendesk user id that now stands for the profile
    folded: list[str] = field(default_factory=list)  # users merged into the survivor
    repointed: bool = False  # the survivor's external_id was changed to the profile id

    @property
    def changed(self) -> bool:
        return bool(self.folded or self.repointed)


def merged_from(profile: dict, handle: str) -> set[str]:
    """Profiles whose `handle` identities Omneo moved onto this one when merging them into it."""
    return {str(i["merged_from"]) for i in profile.get("identities") or []
            if i.get("handle") == handle and i.get("merged_from")}


def consolidate(ctx: Context, profile: dict, candidates: Iterable[str],
                released: Iterable[str] = ()) -> Folded:
    """Fold every Zendesk user standing for `profile` into one and point that one at it.

    The survivor is the user whose external_id already names the profile, else the first of
    `candidates` (ids in order of preference) that still exists. A candidate claimed by another
    live profile, or a staff user, is a Conflict; so is a merge Zendesk refuses. `released`
    names profiles whose users may move here without asking Omneo (a merge's losers).
    Idempotent: users merged away by an earlier attempt are simply gone now.
    """
    profile_id = str(profile["id"])
    released = {str(p).lower() for p in released}
    own = _present(ctx.zendesk.find_user_by_external_id(profile_id))
    users: list[dict] = [own] if own else []
    seen = {str(own["id"])} if own else set()
    for user_id in map(str, candidates):
        if user_id in seen:
            continue
        seen.add(user_id)
        user = _present(ctx.zendesk.find_user(user_id)) if paths.is_id(user_id, paths.ZENDESK_ID) else None
        if user is not None:
            users.append(user)
    if not users:
        return Folded()
    for user in users:
        _check_claim(ctx, profile_id, user, released)

    survivor, result = users[0], Folded(survivor=str(users[0]["id"]))
    for user in users[1:]:
        fold_user(ctx, str(user["id"]), result.survivor)
        result.folded.append(str(user["id"]))
    if (survivor.get("external_id") or "").lower() != profile_id.lower():
        ctx.zendesk.update_user(survivor["id"], {"external_id": profile_id})
        result.repointed = True
    return result


def _present(user: dict | None) -> dict | None:
    return user if user_rules.is_present(user) else None


def _check_claim(ctx: Context, profile_id: str, user: dict, released: set[str]) -> None:
    user_id = user["id"]
    if not user_rules.is_end_user(user):
        raise Conflict("zendesk", f"Zendesk user {user_id} is staff ({user.get('role')}), not an end "
                                  f"user: it cannot stand for Omneo profile {profile_id}")
    theirs = (user.get("external_id") or "").strip()
    if not theirs or theirs.lower() == profile_id.lower() or theirs.lower() in released:
        return
    if live_profile(ctx, theirs) is not None:
        raise Conflict("zendesk", f"Zendesk user {user_id} is claimed by another live Omneo profile "
                                  f"({theirs}); it was not moved to profile {profile_id}: unlink it "
                                  f"there or merge the two profiles in Omneo")


def fold_user(ctx: Context, source_id: str, target_id: str) -> None:
    """Merge end user `source_id` into `target_id`; a refusal is a Conflict for a person."""
    try:
        ctx.zendesk.merge_users(source_id, target_id)
    except NotFound:
        if _present(ctx.zendesk.find_user(source_id)) is None:  # merged by an earlier attempt
            return
        raise
    except PermanentError as exc:
        if exc.status not in (400, 403, 409, 422):
            raise
        refused = Conflict("zendesk", f"Zendesk refused to merge user {source_id} into user "
                                      f"{target_id} (HTTP {exc.status}; staff, SSO and users with "
                                      f"over 10,000 tickets cannot be merged): merge or unlink them "
                                      f"by hand", body=exc.body)
        refused.status = exc.status
        raise refused from None
