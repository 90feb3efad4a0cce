"""Reconciliation's three passes over the two sides (the Omneo changes, the Zendesk export, the
link sweep), each moving its watermark or cursor only over work done."""
from __future__ import annotations

from integration.profiles import user_rules
from integration.store import keys
from integration.apis.paging import PagingStalled
from integration.profiles.profile_rules import is_gone
from integration.reconcile.repairs import Repairs
from integration.store.decoding import text
from integration.profiles import user_rules
from integration.store import keys, marks
from integration.apis.paging import PagingStalled
from integration.profiles.profile_rules import is_gone
from integration.reconcile.repairs import Repairs

PAGE_SIZE = 100  # Omneo profiles a page, and so external ids a Zendesk show_many
EXPORT_PAGE_SIZE = 1000  # users a page of the incremental export (its maximum)
SWEEP_PER_RUN = 2000  # synced profiles checked for deletion a run (one Omneo read per 100)
SWEEP_BUCKETS_A_STEP = 32  # of marks.SYNCED_BUCKETS: about 2,400 profiles at five million


class Watermark:
    """The furthest point before which everything was done.

    `done(point)` moves it to `point` unless something earlier failed; `failed()` freezes it
    for the rest of the run. Points must come in ascending order."""

    def __init__(self, start):
        self.value = start
        self.frozen = False

    def done(self, point) -> None:
        if not self.frozen and point is not None:
            self.value = point

    def failed(self) -> None:
        self.frozen = True


class Run(Repairs):
    """One reconciliation: `omneo_side`, `zendesk_side`, `sweep_links`, then `finish`."""

    def omneo_side(self, since: str | None) -> None:
        mark = Watermark(since)
        page, seen_at_since, last_ids, repeats = 1, set(), None, 0
        while self.keep_going():
            try:
                rows, _ = self.ctx.omneo.profiles_page(page=page, page_size=PAGE_SIZE,
                                                       sort="updated_at,id", updated_since=since)
                # moving `since` up may fetch the same page once more; a third time, the API
                # is ignoring the filter and paging would never end
                ids = [str(p["id"]) for p in rows]
                repeats, last_ids = (repeats + 1 if ids and ids == last_ids else 0), ids
                if repeats >= 2:
                    raise PagingStalled("omneo", "reconciliation's profile pages: the API answered "
                                                 "the same page again; stopped")
                fresh = [p for p in rows if str(p["id"]) not in seen_at_since]
                ids = [str(p["id"]) for p in fresh]
                users = {(u.get("external_id") or "").lower(): u
                         for u in self.ctx.zendesk.show_many(external_ids=ids)} if ids else {}
            except Exception as exc:
                self._error(None, exc, "omneo profiles")
                self.complete = False
                return
            for profile in fresh:
                profile_id = str(profile["id"])
                self.counts["profiles_checked"] += 1
                self.seen_profiles.add(profile_id)
                user = users.get(profile_id.lower())
                if self.guarded(profile_id, lambda: self.check_profile(profile, user), "omneo profile"):
                    mark.done(profile.get("updated_at"))
                else:
                    mark.failed()
            if mark.value:
                self.ctx.redis.hset(keys.RECONCILE_STATE, "omneo_watermark", mark.value)
            if len(rows) < PAGE_SIZE:
                return
            # keyset on updated_at; page numbers only within one timestamp shared by many profiles
            last = rows[-1].get("updated_at")
            if last != since:
                since, page = last, 1
                seen_at_since = {str(p["id"]) for p in rows if p.get("updated_at") == last}
            else:
                page += 1
                seen_at_since |= {str(p["id"]) for p in rows}

    def zendesk_side(self, cursor: str | None) -> None:
        pages = self.ctx.zendesk.iter_users_since(start_time=0, cursor=cursor,
                                                  per_page=EXPORT_PAGE_SIZE)
        frozen = False
        while self.keep_going():
            try:
                users, page = next(pages)
            except StopIteration:
                return
            except Exception as exc:
                self._error(None, exc, "zendesk export")
                self.complete = False
                return
            ok = self.check_users(users)
            frozen = frozen or not ok
            if not frozen and page.get("after_cursor"):
                self.ctx.redis.hset(keys.RECONCILE_STATE, "zendesk_cursor", page["after_cursor"])
            if page.get("end_of_stream"):
                return

    def check_users(self, users: list[dict]) -> bool:
        ours = [u for u in users if u.get("external_id") and user_rules.is_end_user(u)
                and str(u["external_id"]) not in self.seen_profiles]
        if not ours:
            return True
        try:
            profiles = self.ctx.omneo.find_profiles([str(u["external_id"]) for u in ours])
        except Exception as exc:
            self._error(None, exc, "omneo profiles")
            return False
        all_ok = True
        for user in ours:
            profile_id = str(user["external_id"])
            self.counts["users_checked"] += 1
            self.seen_profiles.add(profile_id)

            def step(user=user, profile_id=profile_id):
                # absent from the batch answer: confirm one by one before calling it deleted
                profile = profiles.get(profile_id) or self.ctx.omneo.find_profile(profile_id)
                return self.check_user(user, profile)

            all_ok = self.guarded(profile_id, step, "zendesk user") and all_ok
        return all_ok

    def sweep_links(self, cursor: str | None) -> None:
        """Look at the next slice of synced profiles, bucket by bucket (`cursor`: the next bucket)."""
        bucket, checked = int(cursor or 0) % marks.SYNCED_BUCKETS, 0
        while checked < SWEEP_PER_RUN and self.keep_going():
            upto = min(bucket + SWEEP_BUCKETS_A_STEP, marks.SYNCED_BUCKETS)
            ids = [p for p in self.ctx.state.synced_profiles(range(bucket, upto))
                   if p not in self.seen_profiles]
            if ids and not self.check_links(ids):
                return  # hold the sweep cursor; this slice is looked at again next run
            checked += len(ids)
            bucket = upto % marks.SYNCED_BUCKETS
            self.ctx.redis.hset(keys.RECONCILE_STATE, "sweep_bucket", str(bucket))
            if bucket == 0:  # a whole pass is done; the next run starts another
                return

    def check_links(self, ids: list[str]) -> bool:
        try:
            profiles = self.ctx.omneo.find_profiles(ids)
        except Exception as exc:
            self._error(None, exc, "omneo profiles")
            return False
        all_ok = True
        for profile_id in ids:
            self.counts["links_checked"] += 1
            if profile_id in profiles:
                continue

            def step(profile_id=profile_id):
                mark = self.ctx.state.synced_mark(profile_id)
                profile = self.ctx.omneo.find_profile(profile_id)
                if mark is None or self.ctx.state.is_erased(profile_id) or \
                        not is_gone(profile):
                    return "in_step"
                return self.orphan(profile_id, {"id": mark["zendesk_user_id"]})

            all_ok = self.guarded(profile_id, step, "link sweep") and all_ok
        return all_ok
