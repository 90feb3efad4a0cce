"""`backfill --adopt`: taking over links made before this deployment, without writing.

A retailer moving here from an earlier Omneo–Zendesk integration has every profile linked already
(a `zendesk` identity naming the user, the profile id as the user's `external_id`), but our Redis
holds no sync marks for them; so does a deployment whose Redis was replaced. Adoption walks the
profiles in id order (keyset pages of 100), reads the users their identities name in one
`show_many` a page, and records a mark for each profile whose user is present, stands for it and
holds what a sync would write (`mapping.drifted` finds nothing), as if we had synced it. Nothing
is written to Zendesk or Omneo: profiles out of step, or linked to a user that is not theirs, are
left unmarked for their next sync (a burst takes the first kind in bulk, the single sync folds or
dead-letters the second). Cost: one Omneo read and at most one Zendesk read per 100 profiles.
A rerun skips marked profiles without a Zendesk read.
"""
from __future__ import annotations

import threading
from collections import Counter
from typing import Callable

from integration.apis import paths
from integration.profiles import mapping, user_rules
from integration.bulk.pipeline import BATCH_SIZE
from integration.wiring import Context
from integration.apis.paging import advance
from integration.profiles.profile_rules import is_gone


def adopt(ctx: Context, *, stop: threading.Event | None = None,
          on_progress: Callable[[int], None] = lambda n: None) -> dict:
    """Mark every linked profile already in step; returns counts by what was found."""
    stop = stop or threading.Event()
    counts: Counter = Counter()
    after_id = None
    while not stop.is_set():
        rows, _ = ctx.omneo.profiles_page(page_size=BATCH_SIZE, after_id=after_id)
        if rows:
            after_id = advance("omneo", "adoption's profile pages", after_id, str(rows[-1]["id"]))
            counts.update(_page(ctx, rows))
            on_progress(len(rows))
        if len(rows) < BATCH_SIZE:
            break
    return {"finished": not stop.is_set(), **{k: counts[k] for k in OUTCOMES}}


OUTCOMES = ("adopted", "out_of_step", "not_theirs", "marked_already", "unlinked", "skipped")


def _page(ctx: Context, rows: list[dict]) -> Counter:
    s = ctx.settings
    counts: Counter = Counter()
    live = [p for p in rows if not is_gone(p) and not ctx.state.is_erased(str(p["id"]))]
    counts["skipped"] += len(rows) - len(live)
    marks = ctx.state.synced_marks([str(p["id"]) for p in live])
    wanted: dict[str, str] = {}  # profile id -> the user its identity names
    for profile in live:
        pid = str(profile["id"])
        linked = mapping.identity_of(profile, s.omneo_identity_handle)
        if marks[pid]:
            counts["marked_already"] += 1
        elif len(linked) != 1 or not paths.is_id(linked[0], paths.ZENDESK_ID):
            counts["unlinked" if not linked else "not_theirs"] += 1  # the single sync folds them
        else:
            wanted[pid] = linked[0]
    users = ({str(u["id"]): u for u in ctx.zendesk.show_many(ids=sorted(set(wanted.values())))}
             if wanted else {})
    adopted: dict[str, dict] = {}
    for profile in live:
        pid = str(profile["id"])
        if pid not in wanted:
            continue
        user = users.get(wanted[pid])
        if user is None or not user_rules.stands_for(user, pid):
            counts["not_theirs"] += 1
            continue
        payload = mapping.zendesk_user(profile, s.sync_attributes)
        if mapping.drifted(payload, user):
            counts["out_of_step"] += 1
            continue
        adopted[pid] = dict(fingerprint=mapping.fingerprint(payload), updated_at=profile.get("updated_at"),
                            zendesk_user_id=str(user["id"]), email=user.get("email"),
                            contact=mapping.contact_digest(payload))
    counts["adopted"] += ctx.state.adopt_marks(adopted) if adopted else 0
    return counts

