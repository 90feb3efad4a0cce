"""Ticket events lost while the receiver was down, recovered over the real stack: redis-server,
both sandboxes, the receiver under gunicorn, a Celery worker, and `omneo-zendesk reconcile` as a
subprocess reading the Zendesk sandbox's incremental ticket event export."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest
import requests

from tests.e2e.conftest import Stack, start_stack

pytestmark = pytest.mark.e2e

CREATED = "zen:event-type:ticket.created"
STATUS = "zen:event-type:ticket.status_changed"
CSAT = "zen:event-type:ticket.csat_received"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    dev = start_stack(tmp_path_factory.mktemp("recovery"))
    try:
        s = Stack(dev)
        s.reset()
        # the export leaves out its last minute; here it serves what just happened, so the run
        # needs no minute's wait (the 60 s window itself is met in the unit tests)
        requests.post(s.zendesk + "/_sandbox/ticket_export/config", json={"recent_seconds": 0},
                      timeout=5).raise_for_status()
        yield s
    finally:
        dev.stop()


def stop_receiver(stack) -> int:
    proc = next(p for p in stack.dev.processes if p.name == "receiver" and p.alive())
    proc.stop()
    stack.dev.processes.remove(proc)
    return int(stack.receiver.rsplit(":", 1)[1])


def reconcile(stack, *args) -> dict:
    done = stack.cli("reconcile", "run", "--json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def timeline(stack) -> list[tuple[str, str, str]]:
    return sorted((i["profile_id"], i["url"].rsplit("/", 1)[1], i["name"]) for i in stack.interactions())


def test_events_missed_while_the_receiver_was_down_are_recorded_once_after_it_is_back(stack):
    for pid, email in (("p-ann", "ann@example.com"), ("p-bo", "bo@example.com")):
        stack.put_profile(id=pid, first_name=pid, email=email)
    ann = stack.zendesk_add_user(email="ann@example.com", external_id="p-ann")
    bo = stack.zendesk_add_user(email="bo@example.com", external_id="p-bo")
    stack.subscribe_receiver(CREATED, STATUS, CSAT)
    started = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    first = reconcile(stack)  # the first run reads from its own time: nothing before it
    assert first["counts"]["interactions_recovered"] == 0 and first["complete"], first

    # delivered before the outage
    a = stack.zendesk_add_ticket(ann["id"], subject="Zip broke on day two")
    assert [d["status"] for d in stack.ticket_event(a["id"], CREATED)["deliveries"]] == [202]
    stack.wait(lambda: len(stack.interactions()) == 1, what="the delivered ticket's interaction")

    # the receiver is down: Zendesk's deliveries fail
    port = stop_receiver(stack)
    lost = [stack.ticket_event(a["id"], STATUS, status="solved"),
            stack.ticket_event(a["id"], CSAT, score="good")]
    b = stack.zendesk_add_ticket(bo["id"], subject="Refund for order 1182")
    lost += [stack.ticket_event(b["id"], CREATED), stack.ticket_event(b["id"], STATUS, status="solved"),
             stack.ticket_event(b["id"], CSAT, score="bad")]
    assert all(d["status"] != 202 for sent in lost for d in sent["deliveries"])
    stack.dev.start_receiver(port=port)
    assert len(stack.interactions()) == 1

    report = reconcile(stack)
    counts = report["counts"]
    assert report["complete"] and counts["errors"] == 0, report
    assert (counts["interactions_recovered"], counts["ticket_events_already_recorded"]) == (5, 1), counts
    expected = sorted([("p-ann", str(a["id"]), "Ticket created"), ("p-ann", str(a["id"]), "Ticket solved"),
                       ("p-ann", str(a["id"]), "Ticket rated good"), ("p-bo", str(b["id"]), "Ticket created"),
                       ("p-bo", str(b["id"]), "Ticket solved"), ("p-bo", str(b["id"]), "Ticket rated bad")])
    assert timeline(stack) == expected
    # each as the webhook would have made it: subject, agent URL, the event's time
    by_key = {(i["url"].rsplit("/", 1)[1], i["name"]): i for i in stack.interactions()}
    for sent in lost:
        event = sent["event"]
        made = by_key[(event["detail"]["id"], {CREATED: "Ticket created", STATUS: "Ticket solved"}.get(
            event["type"]) or f"Ticket rated {event['event']['satisfaction_score']['score']}")]
        assert made["interacted_at"] == event["time"].replace("T", " ").rstrip("Z")
        assert made["description"] == event["detail"]["subject"]
        assert made["url"] == f"{stack.env['ZENDESK_BASE_URL']}/agent/tickets/{event['detail']['id']}"
        assert (made["action"], made["channel"]) == ("service", "support")

    # Zendesk delivers one of the lost events late, after the run: accepted, and nothing doubled
    late = stack.post_zendesk(lost[1]["event"])
    assert late.status_code == 202, late.text
    assert stack.wait(lambda: stack.job_outcome(late.json()["job_id"]), what="the late delivery") == "duplicate"
    # a run from before it all (--since) reads everything again and makes nothing new
    again = reconcile(stack, "--since", started)
    assert again["counts"]["interactions_recovered"] == 0, again
    assert again["counts"]["ticket_events_already_recorded"] == 6
    assert timeline(stack) == expected

    status = stack.cli("reconcile", "status", "--json")
    assert status.returncode == 0, status.stderr
    state = json.loads(status.stdout)["state"]
    assert state["interactions_recovered"] == 5 and state["ticket_events_watermark"]
    assert 0 <= state["ticket_events_behind_seconds"] < 120
    shown = stack.cli("reconcile", "status")
    assert shown.returncode == 0 and "5 interactions recovered in the last 3 runs" in shown.stdout, shown
    metrics = requests.get(stack.receiver + "/metrics", timeout=5).text
    assert re.search(r"^oz_interactions_recovered_total 5\.0$", metrics, re.M), metrics
    assert re.search(r"^oz_ticket_events_export_lag_seconds \d", metrics, re.M)
