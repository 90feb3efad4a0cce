"""Compact marks (integration.store.marks, integration.state): what is written reads back the same, an
old deployment's watermarks are found and moved, and dedupe marks span the days they must."""
from __future__ import annotations

import json

import pytest
from celery import Celery

from integration.store import keys, marks
from integration.jobs import TICKET_INTERACTION
from integration.store.state import State, email_digest
from workers.intake import DUPLICATE, QUEUED, Intake, Job


@pytest.fixture
def state(fake_redis):
    return State(fake_redis, 1000)


@pytest.mark.parametrize("mark", [
    {"fingerprint": "0a" * 8, "zendesk_user_id": "36000000001", "updated_at": "2025-06-15 14:32:00",
     "email": "ff" * 8, "synced_at": 1767225600.123},
    {"fingerprint": "f", "zendesk_user_id": "", "updated_at": None, "synced_at": 0.0},
    {"fingerprint": "1234", "zendesk_user_id": "007", "updated_at": "2025-02-30 00:00:00",
     "email": "Ab", "synced_at": 1.5},
    {"fingerprint": "x" * 300, "zendesk_user_id": "18446744073709551616",
     "updated_at": "2025-06-15T14:32:00.123456+00:00", "synced_at": 2.0},
])
def test_a_packed_mark_reads_back_exactly(mark):
    assert marks.unpack(marks.pack(mark)) == mark


def test_a_usual_mark_fits_a_listpack_value():
    mark = {"fingerprint": "ab" * 8, "zendesk_user_id": "36000000001234",
            "updated_at": "2025-06-15 14:32:00", "email": email_digest("a@example.com"),
            "synced_at": 1767225600.5, "contact": "0badc0de"}
    assert len(marks.pack(mark)) <= 48 < 64
    assert marks.unpack(marks.pack(mark)) == mark


def test_a_mark_packed_before_the_contact_digest_reads_back_without_it():
    mark = {"fingerprint": "ab" * 8, "zendesk_user_id": "36000000001234",
            "updated_at": "2025-06-15 14:32:00", "synced_at": 1767225600.5}
    old = b"".join(marks._pack_one(v) for v in (mark["fingerprint"], mark["zendesk_user_id"],
                                                 mark["updated_at"], None, 1767225600500))
    assert marks.unpack(old) == mark


def test_watermarks_share_bucket_hashes_and_stay_listpack(state, fake_redis):
    for i in range(300):
        state.mark_synced(f"p{i}", fingerprint="ab" * 8, updated_at="2025-06-15 14:32:00",
                          zendesk_user_id=str(36000000000 + i), email="a@example.com")
    assert state.synced_mark("p7")["zendesk_user_id"] == "36000000007"
    assert state.synced_marks(["p1", "nope"])["nope"] is None
    assert not fake_redis.keys(keys.LEGACY_SYNCED_PATTERN)
    state.clear_synced("p7", "p8")
    assert state.synced_marks(["p7", "p8"]) == {"p7": None, "p8": None}
    assert sorted(state.synced_profiles(range(marks.SYNCED_BUCKETS))) == sorted(
        f"p{i}" for i in range(300) if i not in (7, 8))


def test_an_old_watermark_is_still_found_and_moves_when_read(state, fake_redis):
    old = {"fingerprint": "c" * 64, "updated_at": "2025-06-15 14:32:00", "zendesk_user_id": "42",
           "synced_at": 1767225600.25, "email": "d" * 32}
    fake_redis.set(keys.legacy_synced("old-1"), json.dumps(old))
    mark = state.synced_mark("old-1")
    # digests keep their prefix: a profile unchanged since is still seen as unchanged
    assert mark["fingerprint"] == "c" * 16 and mark["email"] == "d" * 16
    assert mark["zendesk_user_id"] == "42" and mark["updated_at"] == old["updated_at"]
    assert not fake_redis.exists(keys.legacy_synced("old-1"))
    assert fake_redis.hget(marks.synced_key("old-1"), "old-1") is not None
    assert state.synced_mark("old-1") == mark


def test_a_newer_write_is_never_undone_by_an_old_mark_moving(state, fake_redis):
    fake_redis.set(keys.legacy_synced("p"), json.dumps({"fingerprint": "old", "zendesk_user_id": "1"}))
    state.mark_synced("p", fingerprint="new", updated_at=None, zendesk_user_id="2")
    assert not fake_redis.exists(keys.legacy_synced("p"))
    assert state.synced_mark("p")["fingerprint"] == "new"


def test_migrate_moves_every_old_watermark_then_reads_stop_looking(state, fake_redis):
    for i in range(1200):
        fake_redis.set(keys.legacy_synced(f"m{i}"), json.dumps({"fingerprint": "e" * 64,
                                                                "zendesk_user_id": str(i)}))
    cursor, found = 0, 0
    while True:
        cursor, step = state.migrate_marks(cursor)
        found += step
        if cursor == 0:
            break
    assert found == 1200 and not fake_redis.keys(keys.LEGACY_SYNCED_PATTERN)
    assert state.synced_mark("m999")["zendesk_user_id"] == "999"
    state.legacy_marks_gone()
    fake_redis.set(keys.legacy_synced("late"), "{}")
    assert State(fake_redis, 1000).synced_mark("late") is None


def test_dedupe_marks_last_three_days_in_hashes_that_expire_whole(fake_redis):
    day = marks.DAY
    intake = Intake(Celery("t", set_as_current=False), fake_redis)
    job = Job(TICKET_INTERACTION, [{"event_id": "e1"}])
    now = 20000 * day + 23 * 3600
    hashes, field, expires = marks.seen_keys("zendesk", "e1", now)
    assert expires - now > marks.SEEN_TTL and len(field) == 12
    # accepted late on one day; a retry three days later is still a duplicate, the next is not
    later = marks.seen_keys("zendesk", "e1", now + 3 * day)[0]
    assert hashes[0] in later and later.index(hashes[0]) == 4
    assert hashes[0] not in marks.seen_keys("zendesk", "e1", now + 4 * day + 3600)[0]
    assert intake.accept("zendesk", "e1", job).status == QUEUED
    assert intake.accept("zendesk", "e1", job).status == DUPLICATE
    assert intake.accept("omneo", "e1", job).status == QUEUED  # another sender's id space
    # a delivery accepted before the upgrade (old layout) is still a duplicate
    fake_redis.set(keys.legacy_seen("zendesk", "e2"), "1", ex=3600)
    assert intake.accept("zendesk", "e2", Job(TICKET_INTERACTION, [{"event_id": "e2"}])).status == DUPLICATE
    assert all(fake_redis.ttl(k) > 0 for k in fake_redis.keys("oz:marks:seen:*"))
