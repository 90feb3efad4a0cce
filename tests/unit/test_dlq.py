"""The dead-letter store: entries keep what an operator needs; a failed replay keeps its place."""
from __future__ import annotations

import json

import fakeredis

from integration.store import keys
from integration.store.dead_letters import DeadLetters
from tests.helpers import GOOD
from integration.store import dead_letters, keys
from integration.store.dead_letters import DeadLetters


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


def test_an_entry_keeps_no_raw_body_subject_email_phone_or_card_number():
    store = DeadLetters(fakeredis.FakeRedis())
    echoed = {"error": "RecordInvalid", "description": "Email a@example.com is taken by Ann Lee",
              "details": {"email": [{"error": "DuplicateValue", "description": "a@example.com taken"}]}}
    job = {"event_id": "e1", "ticket_id": "12", "requester_id": "1234567890123456",
           "subject": "My card 4111 1111 1111 1111", "note": "ring +61 400 123 456"}
    entry_id = store.add(task="t", args=[job], kwargs={"email": "b@example.com"}, attempts=1,
                         error={"type": "PermanentError", "api": "zendesk", "status": 422,
                                "message": "zendesk: POST /users: 422 for a@example.com", "body": echoed,
                                "reason": "refused", "card": "4111-1111-1111-1111"})
    entry = store.get(entry_id)
    text = json.dumps(entry)
    for never in ("a@example.com", "b@example.com", "Ann Lee", "4111", "400 123", "My card"):
        assert never not in text, never
    assert "body" not in entry["error"]
    assert entry["error"]["api_error"] == {"error": "RecordInvalid", "fields": [{"field": "email", "errors": ["DuplicateValue"]}]}
    assert (entry["error"]["status"], entry["error"]["reason"]) == (422, "refused")
    # ids stay as they are, however long (a bare number is an id, not a card)
    assert entry["args"][0]["requester_id"] == "1234567890123456"
    assert entry["args"][0]["ticket_id"] == "12" and entry["args"][0]["subject"] == "[Filtered]"


def test_entries_expire_after_the_retention_days(monkeypatch):
    r = fakeredis.FakeRedis()
    store = DeadLetters(r, retention_days=2)
    now = [1_000_000.0]
    monkeypatch.setattr(dead_letters.time, "time", lambda: now[0])
    old = store.add(task="t", args=["p1"], kwargs={}, error={}, attempts=1, profile_id="p1")
    assert 0 < r.ttl(keys.DLQ_ENTRIES) <= 2 * 86400
    now[0] += 2 * 86400 + 1
    assert store.get(old) is None  # expired, even before anything prunes it
    new = store.add(task="t", args=["p2"], kwargs={}, error={}, attempts=1, profile_id="p2")
    assert store.ids() == [new] and not r.hexists(keys.DLQ_ENTRIES, old)
    assert not r.exists(keys.dlq_by_profile("p1"))


def test_the_store_keeps_a_bounded_number_of_entries_dropping_the_oldest(monkeypatch):
    store = DeadLetters(fakeredis.FakeRedis(), max_entries=3)
    now = [1_000_000.0]
    monkeypatch.setattr(dead_letters.time, "time", lambda: now[0])
    made = []
    for n in range(5):
        now[0] += 1
        made.append(store.add(task="t", args=[f"p{n}"], kwargs={}, error={}, attempts=1))
    assert store.count() == 3 and store.ids() == made[:1:-1]


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


def test_purge_drops_entries_naming_the_profile_or_its_zendesk_users_and_their_indexes():
    r = fakeredis.FakeRedis()
    store = DeadLetters(r)
    ticket = {"requester_id": "42", "subject": "Rash after the cream"}
    store.add(task="omneo_zendesk.ticket_interaction", args=[ticket], kwargs={}, error={},
              attempts=1, zendesk_user_id="42")
    store.add(task="omneo_zendesk.ticket_interaction", args=[dict(ticket, requester_id="43")],
              kwargs={}, error={}, attempts=1, profile_id="p1", zendesk_user_id="43")
    kept = store.add(task="omneo_zendesk.ticket_interaction", args=[dict(ticket, requester_id="99")],
                     kwargs={}, error={}, attempts=1, zendesk_user_id="99")
    assert r.smembers(keys.dlq_by_zendesk_user("42"))

    assert store.purge_profile("p1", ["42", "43"]) == 2
    assert [e["id"] for e in store.list()] == [kept]
    assert sorted(r.keys("oz:dlq:*")) == sorted(
        k.encode() for k in (keys.DLQ_ENTRIES, keys.DLQ_INDEX, keys.dlq_by_zendesk_user("99")))
    assert store.remove(kept) and r.keys("oz:dlq:*") == []


def test_a_failed_replay_about_someone_else_is_filed_under_them_only():
    r = fakeredis.FakeRedis()
    store = DeadLetters(r)
    entry_id = store.add(task="t", args=[{}], kwargs={}, error={}, attempts=1, zendesk_user_id="42")
    store.add(task="t", args=[{}], kwargs={}, error={}, attempts=1, profile_id="p2",
              zendesk_user_id="43", entry_id=entry_id)
    assert not r.exists(keys.dlq_by_zendesk_user("42"))
    assert store.purge_profile("p2") == 1 and store.count() == 0


def test_cli_says_clearly_when_redis_cannot_be_reached(monkeypatch):
    import socket

    from click.testing import CliRunner

    from web.cli import main

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(GOOD, REDIS_URL=f"redis://:hunter2-secret@127.0.0.1:{port}/0")
    result = CliRunner().invoke(main, ["dlq", "list"], env=env)
    assert result.exit_code == 1
    assert "cannot reach Redis at REDIS_URL" in result.output
    assert "hunter2-secret" not in result.output and result.exc_info[0] is SystemExit


def test_cli_lists_json_shows_and_purges(monkeypatch):
    import json

    from click.testing import CliRunner

    from web.cli import dead_letters
    from web.cli import main

    r = fakeredis.FakeRedis()
    monkeypatch.setattr(dead_letters, "connect_redis", lambda url: r)
    store = DeadLetters(r)
    entry_id = store.add(task="omneo_zendesk.sync_profile", args=["p9"], kwargs={},
                         error={"type": "PermanentError", "status": 422, "reason": "permanent error"},
                         attempts=1, profile_id="p9")
    runner = CliRunner()
    listed = runner.invoke(main, ["dlq", "list", "--json"], env=GOOD)
    assert listed.exit_code == 0
    [row] = json.loads(listed.output)
    assert {"id", "task", "error", "attempts"} <= set(row) and row["id"] == entry_id
    table = runner.invoke(main, ["dlq", "list"], env=GOOD)
    assert entry_id in table.output and "PermanentError 422 (permanent error)" in table.output
    assert json.loads(runner.invoke(main, ["dlq", "show", entry_id], env=GOOD).output)["args"] == ["p9"]
    unknown = runner.invoke(main, ["dlq", "purge", "nope"], env=GOOD)
    assert unknown.exit_code == 1 and "no dead letter with id 'nope'" in unknown.output
    both = runner.invoke(main, ["dlq", "purge", entry_id, "--all"], env=GOOD)
    assert both.exit_code == 2
    assert runner.invoke(main, ["dlq", "purge", entry_id], env=GOOD).exit_code == 0
    assert store.count() == 0
