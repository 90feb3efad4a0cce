"""Parking, claiming and parking again (integration/bulk/parking.py, integration/bulk/drain.py) on
fakeredis and in-process sandboxes: a parked profile is synced once, newest state, never lost,
never over an erasure."""
from __future__ import annotations

import functools
import time

import pytest

from integration.bulk import drain, parking
from integration.store import keys
from integration.store.locks import Lease
from integration.profiles.sync import sync_profile
from tests.helpers import put, zendesk_name


def test_a_profile_is_parked_once_however_often_it_changes(ctx):
    assert parking.park(ctx, "p1") is True  # the first asks for a drain
    assert parking.park(ctx, "p1") is False  # a drain is already queued
    assert parking.park(ctx, "p2") is False
    assert parking.parked(ctx) == 2


def test_no_drain_is_queued_while_one_runs(ctx):
    assert Lease(ctx.redis, keys.BULK_DRAIN_LOCK, 10).acquire()
    assert parking.park(ctx, "p1") is False
    assert parking.parked(ctx) == 1


def test_backed_up_counts_the_queue_and_the_parked(ctx):
    import dataclasses
    three = dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, bulk_sync_threshold=3))
    off = dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, bulk_sync_threshold=0))
    ctx.redis.rpush("sync", "a", "b")
    assert not parking.backed_up(three, "sync")
    parking.park(ctx, "p1")
    assert parking.backed_up(three, "sync")
    assert not parking.backed_up(off, "sync")  # off: every sync goes alone


def test_a_drain_writes_the_newest_state_in_one_bulk_job(ctx, linked, zendesk_sandbox):
    for pid in linked:
        parking.park(ctx, pid)
    before = zendesk_sandbox.stats["writes:POST /api/v2/users/create_or_update_many"]
    result = drain.drain(ctx, budget_seconds=5)
    assert result["updated"] == 3 and not result["more"]
    assert zendesk_sandbox.stats["writes:POST /api/v2/users/create_or_update_many"] == before + 1
    assert [zendesk_name(zendesk_sandbox, p) for p in linked] == ["New 1", "New 2", "New 3"]
    assert parking.parked(ctx) == 0 and ctx.redis.zcard(keys.BULK_CLAIMED) == 0
    # the watermark is a single sync's: nothing left to write
    assert sync_profile(ctx, "b1")["outcome"] == "unchanged"


def test_an_erased_profile_is_not_written_again(ctx, linked, zendesk_sandbox):
    ctx.redis.set(keys.erased("b2"), "1")
    for pid in linked:
        parking.park(ctx, pid)
    result = drain.drain(ctx, budget_seconds=5)
    assert result["updated"] == 2 and result["skipped"] == 1
    assert zendesk_name(zendesk_sandbox, "b2") == "Old 2"


def test_a_locked_profile_waits_for_its_holder_and_is_not_lost(ctx, linked, zendesk_sandbox):
    held = Lease(ctx.redis, keys.profile_lock("b3"), 30)
    assert held.acquire()  # a single sync or an erasure is at it
    for pid in linked:
        parking.park(ctx, pid)
    ids = drain.BulkSync(ctx, Lease(ctx.redis, keys.BULK_DRAIN_LOCK, 10))
    batch = ids._prepare(["b1", "b2", "b3"])
    assert sorted(batch.profiles) == ["b1", "b2"] and batch.extra["busy"] == ["b3"]
    assert ctx.redis.zscore(keys.BULK_WAITING, "b3") is not None  # parked again, behind the rest
    ids._release(batch, repark=False)
    held.release()
    assert drain.drain(ctx, budget_seconds=5)["updated"] >= 1
    assert zendesk_name(zendesk_sandbox, "b3") == "New 3"


def test_a_dead_drains_claims_are_taken_back_once_stale(ctx, linked, zendesk_sandbox):
    stale = time.time() - 10 * ctx.settings.profile_lock_ttl_seconds
    ctx.redis.zadd(keys.BULK_CLAIMED, {"b1": stale, "b2": time.time() + 3600})  # b2: a live drain's
    result = drain.drain(ctx, budget_seconds=1)
    assert zendesk_name(zendesk_sandbox, "b1") == "New 1"
    assert zendesk_name(zendesk_sandbox, "b2") == "Old 2"  # still claimed by a live drain
    assert result["more"]  # and the next drain looks again


def test_a_batch_is_parked_again_when_zendesk_stays_down(ctx, linked, zendesk_sandbox, monkeypatch):
    from integration.errors import TransientError

    def down(*args, **kwargs):
        raise TransientError("zendesk", "503")

    monkeypatch.setattr(ctx.zendesk, "create_or_update_many", down)
    monkeypatch.setattr(drain, "BulkSync", functools.partial(drain.BulkSync, sleep=lambda s: None))
    for pid in linked:
        parking.park(ctx, pid)
    with pytest.raises(TransientError):
        drain.drain(ctx, budget_seconds=5)
    assert sorted(m.decode() for m in ctx.redis.zrange(keys.BULK_WAITING, 0, -1)) == linked
    assert ctx.redis.zcard(keys.BULK_CLAIMED) == 0
    assert all(ctx.redis.get(keys.profile_lock(p)) is None for p in linked)  # nobody kept out


def test_a_part_batch_waits_to_fill_while_jobs_are_out(ctx):
    claim = ctx.redis.register_script(parking.CLAIM)
    parking.park(ctx, "p1")

    def take(eager):
        return claim(keys=[keys.BULK_WAITING, keys.BULK_CLAIMED, keys.BULK_ANNOUNCED], args=[100, 60, 5.0, int(eager)])

    assert take(eager=False) == [[], []]  # parked just now: more may join it
    assert take(eager=True) == [[b"p1"], [None]]  # nothing out: sent at once, a lone update is not held


def test_a_profile_parked_at_intake_and_erased_meanwhile_is_not_recreated(ctx, linked, zendesk_sandbox,
                                                                          omneo_sandbox):
    from integration import erasure
    from integration.erasure import erase_profile

    parking.park(ctx, "b2", "2030-01-01 00:00:00")  # what the receiver's intake script does
    with omneo_sandbox.lock:
        omneo_sandbox.profiles.pop("b2")
    assert erase_profile(ctx, "b2")["outcome"] == erasure.ERASED
    parking.park(ctx, "b1")
    result = drain.drain(ctx, budget_seconds=5)
    assert result["updated"] == 1
    assert not any(u["external_id"] == "b2" for u in zendesk_sandbox.users.values())


def test_an_announced_state_already_synced_costs_no_omneo_read(ctx, linked, omneo_sandbox):
    mark = ctx.state.synced_mark("b1")
    parking.park(ctx, "b1", mark["updated_at"])  # a late duplicate of what was synced
    reads = omneo_sandbox.stats["calls"]
    result = drain.drain(ctx, budget_seconds=2)
    assert result["unchanged"] == 1 and omneo_sandbox.stats["calls"] == reads
    assert ctx.redis.hlen(keys.BULK_ANNOUNCED) == 0  # forgotten once taken


def test_profiles_linked_without_our_marks_go_in_the_bulk_job(ctx, linked, zendesk_sandbox,
                                                               omneo_sandbox):
    ctx.state.clear_synced(*linked)  # linked by an earlier integration: no mark of ours
    for pid in linked:
        parking.park(ctx, pid)
    writes = zendesk_sandbox.stats["writes"]
    result = drain.drain(ctx, budget_seconds=5)
    assert result["updated"] == 3 and result["failed"] == 0
    assert zendesk_sandbox.stats["writes:POST /api/v2/users/create_or_update"] == 3  # the first syncs only
    assert zendesk_sandbox.stats["writes"] == writes + 1  # one bulk job, nothing else
    for pid in linked:
        user = next(u for u in zendesk_sandbox.users.values() if u["external_id"] == pid)
        assert user["name"] == f"New {pid[1:]}"
        assert ctx.state.synced_mark(pid)["zendesk_user_id"] == str(user["id"])


def test_a_job_that_lands_on_another_user_than_the_linked_one_is_folded(
        ctx, linked, zendesk_sandbox, omneo_sandbox, monkeypatch):
    ctx.state.clear_synced(*linked)
    put(omneo_sandbox, id="b1", email="b1-new@example.com")
    first = next(u for u in zendesk_sandbox.users.values() if u["external_id"] == "b1")
    real = ctx.zendesk.show_many

    def then_repointed(**kwargs):  # read as linked, then its external_id changes before the job
        users = real(**kwargs)
        first["external_id"] = "moved-elsewhere"
        zendesk_sandbox._by_external.pop("b1", None)
        return users
    monkeypatch.setattr(ctx.zendesk, "show_many", then_repointed)
    parking.park(ctx, "b1")
    result = drain.drain(ctx, budget_seconds=5)
    own = next(u for u in zendesk_sandbox.users.values() if u["external_id"] == "b1")
    assert own["id"] != first["id"]  # the job made a user for b1; the fold merged the linked one in
    assert zendesk_sandbox.merged_into.get(first["id"]) == own["id"]
    assert result["updated"] == 1 and result["failed"] == 0
    assert ctx.state.synced_mark("b1")["zendesk_user_id"] == str(own["id"])
