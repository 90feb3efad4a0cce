"""The one guard every profile job runs behind: an erased profile is never touched, and the job
runs under the profile's lock on the profile as Omneo has it now."""
from __future__ import annotations

from typing import Callable, Iterable

from integration.profiles.profile_rules import live_profile
from integration.wiring import Context

ERASED = "erased"
GONE = "profile not found"


def skipped(reason: str) -> dict:
    return {"outcome": "skipped", "reason": reason}


def run_on_live_profile(ctx: Context, profile_id: str, job: Callable[[dict], dict], *,
                        also_lock: Iterable[str] = (), profile: dict | None = None,
                        skip: Callable[[str], dict] = skipped) -> dict:
    """`job(profile)` on the live, unerased profile, under its lock (and `also_lock`'s: all are
    taken in one stable order, so jobs over the same profiles meet at the first). Otherwise
    `skip(ERASED)` or `skip(GONE)`. `profile`: the caller just read it live, so it is not read
    again. LockBusy when another job holds a lock; an exception from `job` carries `profile_id`
    (the dead-letter store files it under that profile, so erasure finds it)."""
    profile_id = str(profile_id)
    if ctx.state.is_erased(profile_id):
        return skip(ERASED)
    try:
        with ctx.state.profile_locks(sorted({profile_id, *map(str, also_lock)})):
            if ctx.state.is_erased(profile_id):  # erased while this job waited for the lock
                return skip(ERASED)
            if profile is None:
                profile = live_profile(ctx, profile_id)
            if profile is None:
                return skip(GONE)
            return job(profile)
    except Exception as exc:
        exc.profile_id = profile_id
        raise
