"""Reconciliation's watermarks and its once-only lock (in-process sandboxes, fakeredis)."""
from __future__ import annotations

import pytest
import requests

from integration.reconcile import passes, reconciliation
from integration.store import keys
from integration.apis.http import Limiter
from integration.store.locks import Lease
from integration.profiles.sync import sync_profile

pytestmark = pytest.mark.usefixtures("few_mark_buckets")


@pytest.fixture(autouse=True)
def unpaced_export(ctx):
    """The export's own 10-a-minute pacing is the limiter's business, tested with the limiter."""
    ctx.zendesk.export_limiter = Limiter()


def put(omneo_sandbox_url: str, **fields) -> dict:
    r = requests.post(omneo_sandbox_url + "/_sandbox/profiles?emit=0", json=fields, timeout=5)
    r.raise_for_status()
    return r.json()["data"]


def run(ctx, erased=None, **kwargs):
    erased = [] if erased is None else erased
    return reconciliation.run(ctx, erase=lambda p, u: erased.append((p, u)), **kwargs)


# the watermark itself
def test_watermark_advances_over_done_points_only():
    mark = passes.Watermark("2025-01-01 00:00:00")
    mark.done("2025-01-01 00:00:05")
    mark.done("2025-01-01 00:00:07")
    mark.failed()
    mark.done("2025-01-01 00:00:09")  # done after a failure: the failure must be looked at again
    assert mark.value == "2025-01-01 00:00:07"


def test_watermark_without_work_stays_put():
    mark = passes.Watermark(None)
    mark.failed()
    mark.done("2025-01-01 00:00:01")
    assert mark.value is None


# watermarks through a real run
def test_failed_repair_holds_the_omneo_watermark_until_it_is_done(ctx, sandbox_servers, zendesk_sandbox):
    z, o = sandbox_servers
    first = put(o.url, id="w-1", first_name="Early", email="early@example.com")
    second = put(o.url, id="w-2", first_name="Late", email="late@example.com")
    assert first["updated_at"] < second["updated_at"]
    # the sync of w-1 fails for a reason retrying fixes; w-2 goes through
    zendesk_sandbox.failures = [{"path": "create_or_update$", "method": "POST", "status": 503, "count": 1}]
    report = run(ctx)
    assert report["counts"]["errors"] == 1 and report["counts"]["missing_created"] == 1
    state = reconciliation.read_state(ctx)
    assert state.get("omneo_watermark") in (None, "", ) or state["omneo_watermark"] < first["updated_at"]

    report = run(ctx)
    assert report["counts"]["missing_created"] == 1  # w-1, looked at again
    assert reconciliation.read_state(ctx)["omneo_watermark"] == second["updated_at"]
    assert {u["external_id"] for u in zendesk_sandbox.users.values()} == {"w-1", "w-2"}


def test_watermark_skips_unchanged_profiles_next_time(ctx, sandbox_servers):
    z, o = sandbox_servers
    put(o.url, id="w-3", first_name="Once", email="once@example.com")
    run(ctx)
    later = put(o.url, id="w-4", first_name="Twice", email="twice@example.com")
    report = run(ctx)
    # only profiles at or after the watermark are read again, not the whole tenant
    assert report["counts"]["profiles_checked"] <= 2
    assert reconciliation.read_state(ctx)["omneo_watermark"] == later["updated_at"]


def test_permanent_failure_is_dead_lettered_and_does_not_hold_the_watermark(ctx, sandbox_servers,
                                                                            zendesk_sandbox):
    z, o = sandbox_servers
    profile = put(o.url, id="w-5", first_name="Refused", email="refused@example.com")
    zendesk_sandbox.failures = [{"path": "create_or_update$", "method": "POST", "status": 422, "count": 1,
                                 "body": {"error": "RecordInvalid"}}]
    report = run(ctx)
    assert report["counts"]["dead_lettered"] == 1
    [entry] = ctx.dead_letters.list()
    assert entry["task"] == "omneo_zendesk.sync_profile" and entry["args"] == ["w-5"]
    assert reconciliation.read_state(ctx)["omneo_watermark"] == profile["updated_at"]


def test_export_cursor_is_kept_when_a_page_fails(ctx, sandbox_servers, zendesk_sandbox):
    z, o = sandbox_servers
    put(o.url, id="w-6", first_name="Cursor", email="cursor@example.com")
    sync_profile(ctx, "w-6")
    ctx.redis.hset(keys.RECONCILE_STATE, "omneo_watermark", "9999-01-01 00:00:00")  # Omneo side idle
    # both reads of the profile list fail: the Omneo side's, then the export page's lookup
    o.server.app.failures = [{"path": "/profiles$", "method": "GET", "status": 503, "count": 2}]
    report = run(ctx)
    assert report["counts"]["errors"] >= 1
    assert not reconciliation.read_state(ctx).get("zendesk_cursor")
    report = run(ctx)
    assert report["counts"]["users_checked"] == 1 and report["counts"]["errors"] == 0
    assert reconciliation.read_state(ctx).get("zendesk_cursor")


# once only
def test_a_second_run_is_refused_while_the_lock_is_held(ctx):
    holder = Lease(ctx.redis, keys.RECONCILE_LOCK, 60)
    assert holder.acquire()
    report = run(ctx)
    assert report == {"outcome": "skipped", "reason": "another reconciliation is running"}
    assert ctx.redis.llen(keys.RECONCILE_RUNS) == 0
    assert holder.release()
    assert run(ctx)["outcome"] == "done"
    assert not ctx.redis.exists(keys.RECONCILE_LOCK)  # released after the run


def test_lease_expires_and_is_released_only_by_its_holder(ctx):
    first = Lease(ctx.redis, keys.RECONCILE_LOCK, 0.05)
    assert first.acquire()
    assert not Lease(ctx.redis, keys.RECONCILE_LOCK, 60).acquire()
    assert reconcile_lock_free(ctx)  # its holder died: the expiry frees it
    second = Lease(ctx.redis, keys.RECONCILE_LOCK, 60)
    assert second.acquire()
    assert not first.release()  # the late first holder must not free the second's lock
    assert not first.extend()
    assert second.holder() == second.token
    assert second.extend() and second.release()


def reconcile_lock_free(ctx) -> bool:
    from integration.sandbox.devstack import wait_until

    return wait_until(lambda: not ctx.redis.exists(keys.RECONCILE_LOCK), 5, what="the lease to expire")


def test_scheduled_run_is_skipped_when_one_just_finished(ctx):
    assert run(ctx, trigger="beat", min_interval_seconds=1800)["outcome"] == "done"
    again = run(ctx, trigger="beat", min_interval_seconds=1800)
    assert again == {"outcome": "skipped", "reason": "a reconciliation finished recently"}
    assert run(ctx, trigger="manual")["outcome"] == "done"  # by hand it always runs
    assert [r["trigger"] for r in reconciliation.last_runs(ctx)] == ["manual", "beat"]


def test_beat_sends_reconciliation_every_configured_interval(settings):
    from workers.celery_app import create_celery

    app = create_celery(settings.replace(reconcile_interval_seconds=900))
    entry = app.conf.beat_schedule["reconcile"]
    assert entry["task"] == "omneo_zendesk.reconcile"
    assert entry["schedule"] == 900
    assert entry["options"]["queue"] == "reconcile"
