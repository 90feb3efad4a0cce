"""What a finished bulk job (integration/bulk/pipeline.py) leaves behind, as a single sync would.

When a job completes, each profile gets its `zendesk` identity (an Omneo write only where it lacks
it) and its sync watermark, exactly as a single sync leaves them, so a later webhook about an
unchanged profile makes no Zendesk write. Zendesk adds a changed email to an existing user as a
secondary address, so for users the job updated whose primary email (one `show_many` lookup a job)
may not be the profile's, the new address is made primary and the old ones retired, as a single
sync does; a profile whose watermark says its email is the one last synced needs no lookup.
Per-user failures go to the dead-letter store as replayable sync jobs.
"""
from __future__ import annotations

import threading
from typing import Callable

from integration.bulk.batch import Batch
from integration.profiles import mapping
from integration.errors import ApiError, PermanentError
from integration.profiles.profile_rules import set_link
from integration.redaction import scrub_text
from integration.wiring import Context
from integration.profiles.sync import make_email_primary


class JobResults:
    """Writes a finished batch's results back for the pipeline (`BulkJobs`): its API calls go
    through `call`, its outcomes to `count` and `dead_letter`, a profile whose job landed on
    another user than the one it is linked to to `fold`; once `abort` is set it stops."""

    def __init__(self, ctx: Context, *, call: Callable, count: Callable[[str], None],
                 dead_letter: Callable[[str, dict], None], fold: Callable[[dict], None],
                 abort: threading.Event):
        self.ctx, self.abort = ctx, abort
        self._call, self._count, self._dead_letter, self._fold = call, count, dead_letter, fold

    def apply(self, batch: Batch) -> None:
        job = batch.job
        results = job.get("results") if isinstance(job.get("results"), list) else []
        by_external = {str(p["external_id"]).lower(): p for p in batch.payloads}
        handled: set[str] = set()
        written: list[tuple[dict, dict]] = []  # (payload, result) of each user the job wrote
        for result in results:
            external = result.get("external_id")
            if external is None and isinstance(result.get("index"), int):
                external = batch.payloads[result["index"]]["external_id"]
            payload = by_external.get(str(external).lower()) if external is not None else None
            if payload is None:
                continue
            profile_id = payload["external_id"]
            handled.add(profile_id)
            if result.get("error") or result.get("success") is False or not result.get("id"):
                self._dead_letter(profile_id, {"type": "BulkImportFailed", "api": "zendesk",
                                               "status": None, "error": result.get("error"),
                                               "message": _scrub(str(result.get("details") or ""),
                                                                 payload)})
                continue
            written.append((payload, result))
        named = batch.extra.get("named", {})  # profile -> the user its identity names
        before = batch.extra.get("before", {})  # users read before the job, by id
        current = self._primary_emails([str(r["id"]) for p, r in written
                                        if "email" in p and not _created(r)
                                        and p["external_id"] not in batch.email_known
                                        and str(r["id"]) not in before])
        current.update({i: u for i, u in before.items() if i not in current})
        for payload, result in written:
            if self.abort.is_set():  # aborted: the rest is redone by the next run
                return
            profile_id, user_id = payload["external_id"], str(result["id"])
            if named.get(profile_id, user_id) != user_id:  # landed on another user
                self._fold(batch.profiles[profile_id])
                continue
            try:
                # before the watermark: a user dead-lettered here is synced in full on replay
                if user_id in current and self._call(make_email_primary, self.ctx,
                                                     current[user_id], payload["email"]):
                    self._count("emails_promoted")
                self._link(batch.profiles[profile_id], payload, user_id)
            except ApiError as exc:
                self._dead_letter(profile_id, exc.describe())
                continue
            self._count("created" if _created(result) else "updated")
        for payload in batch.payloads:  # a failed job, or users its results left out
            if payload["external_id"] not in handled:
                self._dead_letter(payload["external_id"], {
                    "type": "BulkImportFailed", "api": "zendesk", "status": None,
                    "message": f"bulk job {job.get('id')} ended {job.get('status')} without this user"})

    def _primary_emails(self, user_ids: list[str]) -> dict[str, dict]:
        """The updated users as Zendesk holds them now (`email` is the primary address), by id.
        The job's results do not say; one lookup covers a whole job (at most 100 ids)."""
        if not user_ids:
            return {}
        try:
            users = self._call(self.ctx.zendesk.show_many, ids=user_ids)
        except PermanentError:  # then each user's identities are read instead
            users = []
        found = {str(u["id"]): u for u in users}
        return {i: found.get(i, {"id": i}) for i in user_ids}

    def _link(self, profile: dict, payload: dict, user_id: str) -> None:
        """What a single sync leaves behind: the identity and the watermark."""
        profile_id = str(profile["id"])
        set_link(self.ctx, profile_id, profile.get("identities") or [], user_id)
        self.ctx.state.mark_synced(profile_id, fingerprint=mapping.fingerprint(payload),
                                  updated_at=profile.get("updated_at"), zendesk_user_id=user_id,
                                  email=payload.get("email"), contact=mapping.contact_digest(payload))



def _created(result: dict) -> bool:
    return str(result.get("status", "")).lower() == "created" or result.get("action") == "create"


def _scrub(text: str, payload: dict) -> str:
    """Zendesk's per-user errors quote the values (an email); dead letters keep no personal data."""
    for key in ("email", "name", "phone"):
        if payload.get(key):
            text = text.replace(str(payload[key]), f"<{key}>")
    return scrub_text(text)[:300]
