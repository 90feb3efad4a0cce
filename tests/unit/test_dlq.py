"""The dead-letter store: entries keep what an operator needs; a failed replay keeps its place."""
from __future__ import annotations

import fakeredis

from integration.dlq import DeadLetters


def test_entries_keep_task_args_error_attempts_and_times():
    store = DeadLetters(fakeredis.FakeRedis())
    error = {"type": "PermanentError", "status": 422, "body": {"error": "RecordInvalid"}}
    entry_id = store.add(task="omneo_zendesk.sync_profile", args=["p1"], kwargs={}, error=error,
                         attempts=1, profile_id="p1", first_attempt_at=100.0)
    entry = store.get(entry_id)
    assert entry["task"] == "omneo_zendesk.sync_profile" and entry["args"] == ["p1"]
    assert entry["error"]["status"] == 422 and entry["attempts"] == 1
    assert entry["first_attempt_at"] == 100.0 and entry["failed_at"] >= 100.0
    assert [e["id"] for e in store.list()] == [entry_id] and store.count() == 1


def test_a_replay_that_fails_again_replaces_its_entry_under_the_same_id():
    store = DeadLetters(fakeredis.FakeRedis())
    entry_id = store.add(task="t", args=["p1"], kwargs={}, error={"status": 422}, attempts=1,
                         profile_id="p1", first_attempt_at=100.0)
    store.mark_replayed(entry_id)
    again = store.add(task="t", args=["p1"], kwargs={}, error={"status": 503}, attempts=4,
                      profile_id="p1", first_attempt_at=500.0, entry_id=entry_id)
    assert again == entry_id and store.count() == 1
    entry = store.get(entry_id)
    assert entry["error"]["status"] == 503 and entry["attempts"] == 4
    assert entry["replays"] == 1 and entry["first_attempt_at"] == 100.0


def test_remove_and_purge_profile_drop_the_indexes_too():
    r = fakeredis.FakeRedis()
    store = DeadLetters(r)
    a = store.add(task="t", args=["p1"], kwargs={}, error={}, attempts=1, profile_id="p1")
    store.add(task="t", args=["p1"], kwargs={}, error={}, attempts=1, profile_id="p1")
    assert store.remove(a) and not store.remove(a)
    assert store.purge_profile("p1") == 1 and store.count() == 0 and r.keys("oz:dlq:*") == []
