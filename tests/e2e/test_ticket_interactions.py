"""Ticket events over the real stack: the Zendesk sandbox delivers signed events to the receiver,
a Celery worker resolves the requester and writes Omneo interactions in the Omneo sandbox."""
from __future__ import annotations

import pytest

from integration import jobs
from integration.store import keys
from integration.settings.declared import load_settings

pytestmark = pytest.mark.e2e

CREATED = "zen:event-type:ticket.created"
STATUS = "zen:event-type:ticket.status_changed"
CSAT = "zen:event-type:ticket.csat_received"


def customer(stack, profile_id, email, linked=True):
    """An Omneo profile and its Zendesk user (linked by external_id, or only sharing the email)."""
    stack.put_profile(id=profile_id, first_name="Cass", email=email)
    return stack.zendesk_add_user(email=email, **({"external_id": profile_id} if linked else {}))


def one_interaction(stack, **match):
    found = stack.wait(lambda: [i for i in stack.interactions()
                                if all(i.get(k) == v for k, v in match.items())],
                       what=f"an interaction {match}")
    return found


def test_ticket_created_becomes_one_interaction_with_the_right_fields(stack):
    user = customer(stack, "p-200", "cass@example.com")
    ticket = stack.zendesk_add_ticket(user["id"], subject="Zip broke on day two")
    stack.subscribe_receiver(CREATED, STATUS, CSAT)

    sent = stack.ticket_event(ticket["id"], CREATED)
    assert [d["status"] for d in sent["deliveries"]] == [202]
    [made] = one_interaction(stack, profile_id="p-200")
    event = sent["event"]
    assert made["action"] == "service" and made["channel"] == "support"
    assert made["namespace"] == stack.env.get("OMNEO_NAMESPACE", "zendesk")
    assert (made["name"], made["signal"]) == ("Ticket created", 0)
    assert made["description"] == "Zip broke on day two"
    assert made["url"] == f"{stack.env['ZENDESK_BASE_URL']}/agent/tickets/{ticket['id']}"
    assert made["interacted_at"] == event["time"].replace("T", " ").rstrip("Z")
    assert made["meta"] == {"zendesk_ticket_id": str(ticket["id"]), "zendesk_event_id": event["id"],
                            "zendesk_event_type": CREATED}


def test_solved_ticket_is_signal_plus_one_and_bad_rating_minus_one(stack):
    user = customer(stack, "p-201", "sol@example.com")
    ticket = stack.zendesk_add_ticket(user["id"])
    stack.subscribe_receiver(CREATED, STATUS, CSAT)

    opened = stack.ticket_event(ticket["id"], STATUS, status="open")
    assert [d["status"] for d in opened["deliveries"]] == [200]  # not an interaction
    assert [d["status"] for d in stack.ticket_event(ticket["id"], STATUS, status="solved")["deliveries"]] == [202]
    [solved] = one_interaction(stack, name="Ticket solved")
    assert (solved["profile_id"], solved["signal"]) == ("p-201", 1)

    assert [d["status"] for d in stack.ticket_event(ticket["id"], CSAT, score="bad")["deliveries"]] == [202]
    [bad] = one_interaction(stack, name="Ticket rated bad")
    assert (bad["profile_id"], bad["signal"]) == ("p-201", -1)
    assert len(stack.interactions()) == 2


def test_duplicate_delivery_and_rerun_job_make_one_interaction(stack):
    user = customer(stack, "p-202", "dup@example.com")
    ticket = stack.zendesk_add_ticket(user["id"])
    stack.subscribe_receiver(CREATED)

    sent = stack.ticket_event(ticket["id"], CREATED, times=2)
    assert sorted(d["status"] for d in sent["deliveries"]) == [200, 202]
    assert stack.post_zendesk(sent["event"]).status_code == 200
    one_interaction(stack, profile_id="p-202")

    # The same job run again (as after a worker died before acking): the worker does nothing.
    from workers import enqueue
    from workers.celery_app import create_celery
    from integration.interactions import classify, ticket_job

    app = create_celery(load_settings(stack.env))
    job_id = enqueue.send(app, jobs.TICKET_INTERACTION,
                          ticket_job(sent["event"], classify(sent["event"])))
    assert stack.wait(lambda: stack.job_outcome(job_id), what="the re-run") == "duplicate"
    assert len(stack.interactions()) == 1


def test_requester_found_only_by_email_gets_interaction_and_link(stack):
    user = customer(stack, "p-203", "walkin@example.com", linked=False)
    ticket = stack.zendesk_add_ticket(user["id"])
    stack.subscribe_receiver(CREATED)

    assert [d["status"] for d in stack.ticket_event(ticket["id"], CREATED)["deliveries"]] == [202]
    one_interaction(stack, profile_id="p-203")
    identities = [(i["handle"], i["identifier"]) for i in stack.profile("p-203")["identities"]]
    assert identities == [("zendesk", str(user["id"]))]
    linked = stack.wait(lambda: stack.zendesk_user("p-203"), what="external_id on the Zendesk user")
    assert linked["id"] == user["id"]


def test_unknown_requester_is_skipped_counted_and_not_dead_lettered(stack):
    stranger = stack.zendesk_add_user(email="stranger@example.com")
    ticket = stack.zendesk_add_ticket(stranger["id"])
    stack.subscribe_receiver(CREATED)

    sent = stack.ticket_event(ticket["id"], CREATED)
    assert [d["status"] for d in sent["deliveries"]] == [202]
    stack.wait(lambda: stack.redis.get(keys.INTERACTIONS_SKIPPED), what="the skip to be counted")
    assert int(stack.redis.get(keys.INTERACTIONS_SKIPPED)) == 1
    assert stack.redis.zcard(keys.DLQ_INDEX) == 0
    assert stack.interactions() == []
    assert "stranger@example.com" not in stack.worker_log()


def test_bad_signature_and_stale_timestamp_are_401(stack):
    body = {"type": CREATED, "id": "01HSTALE", "time": "2026-01-01T00:00:00Z",
            "detail": {"id": "1", "requester_id": "2"}, "event": {}}
    assert stack.post_zendesk(body, secret="not-our-secret").status_code == 401
    assert stack.post_zendesk(body, timestamp="2020-01-01T00:00:00Z").status_code == 401
    assert stack.post_zendesk(b"{broken").status_code == 400
    assert stack.redis.keys(keys.seen_marks("*", "*")) == []
