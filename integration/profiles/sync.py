"""Profile sync: one Omneo profile becomes (or updates) one Zendesk end user."""
from __future__ import annotations

import logging
from typing import Iterable

from integration.profiles import consolidation, mapping, tier_field, user_changes, user_rules
from integration.wiring import Context
from integration.errors import Conflict, NotFound, PermanentError
from integration.profiles.guard import run_on_live_profile
from integration.profiles.profile_rules import set_link

log = logging.getLogger(__name__)


def sync_profile(ctx: Context, profile_id: str, force: bool = False) -> dict:
    """Bring the Zendesk user of `profile_id` in line with the profile as Omneo has it now.

    Idempotent: an unchanged profile makes no Zendesk write, unless `force` (reconciliation found
    the Zendesk user missing or edited, so our watermark no longer says what Zendesk holds).
    Returns what happened.
    """
    profile_id = str(profile_id)

    def job(profile: dict) -> dict:
        if user_changes.blocks_recreation(
                ctx, profile, mapping.identity_of(profile, ctx.settings.omneo_identity_handle)):
            return _reporting(ctx, profile_id, {
                "outcome": "skipped", "reason": "its Zendesk user was deleted in Zendesk "
                                                "(ZENDESK_RECREATE_DELETED_USERS is off)"})
        return sync_locked(ctx, profile, force=force)
    return run_on_live_profile(ctx, profile_id, job)


def sync_locked(ctx: Context, profile: dict, *, also: Iterable[str] = (),
                released: Iterable[str] = (), force: bool = False) -> dict:
    """Sync a profile whose lock the caller holds.

    When the profile's `zendesk` identities are not the one user we last synced (a manual link,
    two links after an Omneo merge) or `also` names more users (a merge's loser), those users
    are first folded into one (`consolidation.consolidate`); `released` is passed on to it.
    """
    s = ctx.settings
    profile_id = str(profile["id"])
    payload = mapping.zendesk_user(profile, s.sync_attributes)
    digest = mapping.fingerprint(payload)
    mark = ctx.state.synced_mark(profile_id)
    linked = mapping.identity_of(profile, s.omneo_identity_handle)
    also = [str(u) for u in also]

    if mark and _older(profile.get("updated_at"), mark.get("updated_at")):
        return {"outcome": "skipped", "reason": "older than last sync"}
    expected = [mark["zendesk_user_id"]] if mark else []
    if not force and mark and not also and mark["fingerprint"] == digest and linked == expected:
        return _reporting(ctx, profile_id, {"outcome": "unchanged",
                                            "zendesk_user_id": mark["zendesk_user_id"]})

    folded = consolidation.Folded()
    if also or (linked and linked != expected):
        released = set(released) | consolidation.merged_from(profile, s.omneo_identity_handle)
        folded = consolidation.consolidate(ctx, profile, linked + also, released)

    if "user_fields" in payload:
        tier_field.ensure_for_sync(ctx)
    user, created = upsert_user(ctx, payload)
    if "email" in payload:
        # a linked or folded contact keeps the addresses it writes in from
        make_email_primary(ctx, user, payload["email"], retire_others=not folded.changed)
    user_id = str(user["id"])
    set_link(ctx, profile_id, profile.get("identities") or [], user_id)
    ctx.state.mark_synced(profile_id, fingerprint=digest, updated_at=profile.get("updated_at"),
                         zendesk_user_id=user_id, email=payload.get("email"),
                         contact=mapping.contact_digest(payload))
    user_changes.clear_deleted(ctx, profile_id)
    result = {"outcome": "created" if created else "updated", "zendesk_user_id": user_id}
    if folded.changed:
        result.update(folded=folded.folded, repointed=folded.repointed)
    return _reporting(ctx, profile_id, result)


def _reporting(ctx: Context, profile_id: str, result: dict) -> dict:
    """The decision, with the email identity changes made in Zendesk since the last one."""
    changes = user_changes.pending_email_changes(ctx, profile_id)
    if changes:
        result["zendesk_email_changes"] = changes
        log.info("email identities changed in Zendesk since the last sync",
                 extra={"profile_id": profile_id, "changes": len(changes)})
        user_changes.reported(ctx, profile_id, changes)
    return result


def _older(a: str | None, b: str | None) -> bool:
    # Omneo timestamps ("2025-06-15 14:32:00") sort as text.
    return bool(a and b and a < b)


def upsert_user(ctx: Context, payload: dict) -> tuple[dict, bool]:
    """Create-or-update by external_id; link a hand-made user that holds the email."""
    try:
        return ctx.zendesk.create_or_update_user(payload)
    except PermanentError as exc:
        if exc.status != 422 or "email" not in payload or "mail" not in str(exc.body).lower():
            raise
        refused = exc
    owners = ctx.zendesk.find_users_by_email(payload["email"])
    owner = owners[0] if owners else None
    if owner is None:  # not taken, so refused for itself (e.g. malformed): keep Zendesk's answer
        raise refused
    theirs = (owner.get("external_id") or "").lower()
    if theirs and theirs != payload["external_id"].lower():
        raise Conflict("zendesk", f"the profile's email belongs to Zendesk user {owner['id']}, "
                                  f"which is linked to another profile (external_id {owner['external_id']})")
    if not user_rules.is_end_user(owner):
        raise Conflict("zendesk", f"the profile's email belongs to Zendesk staff user {owner['id']}")
    mine = ctx.zendesk.find_user_by_external_id(payload["external_id"])
    if mine and str(mine["id"]) != str(owner["id"]):
        raise Conflict("zendesk", f"the profile has Zendesk user {mine['id']} while its email belongs "
                                  f"to user {owner['id']}: merge them in Zendesk or Omneo")
    return ctx.zendesk.update_user(owner["id"], payload), False


def make_email_primary(ctx: Context, user: dict, email: str, retire_others: bool = True) -> bool:
    """On an existing user a new email lands as a secondary identity: promote it, drop the old.

    `user` is the user as Zendesk answered (its `email` is the primary one); no call is made when
    that is already `email`. Safe to run again after a partial failure. True if it promoted."""
    if (user.get("email") or "").lower() == email.lower():
        return False
    identities = ctx.zendesk.list_identities(user["id"])
    emails = [i for i in identities if i.get("type") == "email"]
    new = next((i for i in emails if (i.get("value") or "").lower() == email.lower()), None)
    if new is None:
        return False
    ctx.zendesk.make_identity_primary(user["id"], new["id"])
    for old in emails if retire_others else ():
        if old["id"] != new["id"]:
            try:
                ctx.zendesk.delete_identity(user["id"], old["id"])
            except NotFound:
                pass
    user["email"] = email
    return True
