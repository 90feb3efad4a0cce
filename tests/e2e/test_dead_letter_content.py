"""What a dead letter keeps, over the real stack (receiver, Celery worker, redis-server, both
sandboxes, the real `omneo-zendesk dlq` command): ids, the reason and what replay needs; no
subject, no raw response body, no email, phone or card number; a bounded life; replay still works."""
from __future__ import annotations

import json

import pytest

from integration.store import keys
from tests.e2e.helpers import redis_value

pytestmark = pytest.mark.e2e

CREATED = "zen:event-type:ticket.created"
SUBJECT = "Card 4111 1111 1111 1111 declined, call me on +61 400 123 456 or zeph.words@example.com"
# what a customer wrote or an API echoed, piece by piece
NEVER = ("4111", "400 123 456", "+61", "zeph.words", "declined", "Zephyrine", "Quillfeather",
         "zephyrine.q@example.com", "is already being used")


def stored(stack) -> str:
    """Everything the dead-letter store holds in Redis, as text."""
    return "".join(redis_value(stack.redis, k).decode("utf-8", "replace")
                   for k in stack.redis.scan_iter(match="oz:dlq:*"))


def shown(stack, entry_id: str) -> str:
    listed = stack.cli("dlq", "list", "--json")
    one = stack.cli("dlq", "show", entry_id)
    assert listed.returncode == 0 and one.returncode == 0, listed.stderr + one.stderr
    return listed.stdout + one.stdout


def assert_clean(text: str) -> None:
    for piece in NEVER:
        assert piece.lower() not in text.lower(), piece


def test_a_ticket_events_dead_letter_keeps_ids_not_the_subject_and_replays(stack):
    stack.put_profile(id="p-dl", first_name="Dee", email="dee@example.com")
    user = stack.zendesk_add_user(email="dee@example.com", external_id="p-dl")
    ticket = stack.zendesk_add_ticket(user["id"], subject=SUBJECT)
    stack.subscribe_receiver(CREATED)
    # Omneo refuses the interaction, quoting what it was sent (as Laravel's validation does)
    stack.configure("omneo", fail=[{"path": "/interactions$", "method": "POST", "status": 422, "count": 1,
                                    "body": {"message": f"The description '{SUBJECT}' is invalid.",
                                             "errors": {"description": [f"'{SUBJECT}' is too long"]}}}])

    sent = stack.ticket_event(ticket["id"], CREATED)
    assert [d["status"] for d in sent["deliveries"]] == [202]
    stack.wait(lambda: stack.redis.zcard(keys.DLQ_INDEX), 30, what="the dead letter")
    [entry] = json.loads(stack.cli("dlq", "list", "--json").stdout)

    # ids and the reason: enough to know what failed, and to run it again
    [job] = entry["args"]
    assert job == {"event_id": sent["event"]["id"], "event_type": CREATED, "kind": "created",
                   "time": sent["event"]["time"], "ticket_id": str(ticket["id"]),
                   "requester_id": str(user["id"])}
    assert (entry["profile_id"], entry["zendesk_user_id"]) == ("p-dl", str(user["id"]))
    assert entry["error"]["status"] == 422 and entry["error"]["api"] == "omneo"
    assert entry["error"]["api_error"] == {"fields": ["description"]}
    assert "body" not in entry["error"]
    assert_clean(shown(stack, entry["id"]))
    assert_clean(stored(stack))
    # the store's keys expire with its newest entry (DLQ_RETENTION_DAYS, 30 by default)
    assert 29 * 86400 < stack.redis.ttl(keys.DLQ_ENTRIES) <= 30 * 86400

    # replay: the worker reads the subject from Zendesk again
    replayed = stack.cli("dlq", "replay", entry["id"])
    assert replayed.returncode == 0, replayed.stderr
    made = stack.wait(lambda: [i for i in stack.interactions() if i["profile_id"] == "p-dl"], 30,
                      what="the replayed interaction")
    assert made[0]["description"] == SUBJECT
    stack.wait(lambda: stack.redis.zcard(keys.DLQ_INDEX) == 0, 30, what="the entry to leave the store")


def test_a_refused_sync_keeps_the_error_code_and_fields_not_the_echoed_body(stack):
    stack.configure("zendesk", fail=[{
        "path": "/users/create_or_update", "method": "POST", "status": 422, "count": 1,
        "body": {"error": "RecordInvalid", "description": "Record validation errors", "details": {
            "email": [{"error": "DuplicateValue",
                       "description": "Email zephyrine.q@example.com is already being used by "
                                      "Zephyrine Quillfeather"}]}}}])
    profile = stack.put_profile(id="p-dl2", first_name="Zephyrine", last_name="Quillfeather",
                                email="zephyrine.q@example.com", mobile_phone="+61400123456")
    assert stack.post_omneo("profile.created", profile).status_code == 202
    stack.wait(lambda: stack.redis.zcard(keys.DLQ_INDEX), 30, what="the dead letter")
    [entry] = json.loads(stack.cli("dlq", "list", "--json").stdout)
    assert entry["args"] == ["p-dl2"] and entry["profile_id"] == "p-dl2"
    assert entry["error"]["api_error"] == {"error": "RecordInvalid",
                                           "fields": [{"field": "email", "errors": ["DuplicateValue"]}]}
    assert_clean(shown(stack, entry["id"]))
    assert_clean(stored(stack))
