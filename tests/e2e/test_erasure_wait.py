"""ERASURE_TICKETS=wait (the default) over the real stack, beat included: a customer who still
requests an open ticket is cleared at once but for the email, the erasure waits without a dead
letter, and beat finishes it once the ticket is closed."""
from __future__ import annotations

import json
import time

import pytest
import requests

from integration.store import keys
from tests.e2e.conftest import Stack, start_stack
from tests.e2e.helpers import delete_profile, erase, synced_customer

pytestmark = pytest.mark.e2e
RECHECK_SECONDS = 4


@pytest.fixture(scope="module")
def wait_stack(tmp_path_factory):
    dev = start_stack(tmp_path_factory.mktemp("erasure-wait"),
                      {"ERASURE_RECHECK_SECONDS": str(RECHECK_SECONDS)})
    try:
        dev.start_beat()
        yield dev
    finally:
        dev.stop()


def listed(stack, profile_id) -> dict | None:
    out = stack.cli("erasures", "list", "--json")
    assert out.returncode == 0, out.stderr
    return next((r for r in json.loads(out.stdout) if r["profile_id"] == profile_id), None)


def test_an_open_ticket_holds_the_erasure_until_it_closes(wait_stack):
    stack = Stack(wait_stack)
    stack.reset()
    user = synced_customer(stack, "hold-1", tier="gold")
    open_ticket = stack.zendesk_add_ticket(user["id"])
    closed_ticket = stack.zendesk_add_ticket(user["id"], subject="Thanks")
    stack.ticket_event(closed_ticket["id"], "zen:event-type:ticket.status_changed", status="closed")
    delete_profile(stack, "hold-1")
    job_id = erase(stack, {"id": "hold-1"})

    def cleared():
        found = next((u for u in stack.zendesk_users() if u["id"] == user["id"]), None)
        return found if found and found["external_id"] is None else None

    left = stack.wait(cleared, timeout=60, what="the user cleared but for the email")
    assert (left["name"], left["phone"], left["tags"]) == ("Erased customer", None, [])
    assert left["email"] == "hold-1@example.com"
    assert all(value is None for value in left["user_fields"].values())
    assert stack.wait(lambda: stack.job_outcome(job_id), what="the job's outcome") == "pending"
    record = listed(stack, "hold-1")
    assert (record["outcome"], record["open_tickets"], record["id"]) == ("pending", 1, job_id)
    assert record["pending_since"] <= time.time() and "Erin" not in json.dumps(record)
    assert stack.redis.zcard(keys.DLQ_INDEX) == 0
    metrics = requests.get(stack.receiver + "/metrics", timeout=5).text
    assert "oz_erasures_pending 1.0" in metrics

    # the ticket closes (an agent, or the account's automation days after it was solved)
    stack.ticket_event(open_ticket["id"], "zen:event-type:ticket.status_changed", status="closed")
    closed_at = time.monotonic()
    stack.wait(lambda: user["id"] in stack.zendesk_state()["purged"], timeout=RECHECK_SECONDS + 30,
               what="the user deleted and purged by beat's re-check")
    took = time.monotonic() - closed_at
    print(f"\nerased {took:.1f}s after the ticket closed (ERASURE_RECHECK_SECONDS={RECHECK_SECONDS})")

    record = stack.wait(lambda: (r := listed(stack, "hold-1")) and r["outcome"] == "erased" and r,
                        what="the audit saying erased")
    assert record["id"] == job_id and record["pending_since"] <= record["finished_at"]
    assert record["tickets_deleted"] == 0
    tickets = requests.get(stack.zendesk + "/_sandbox/tickets", timeout=5).json()["tickets"]
    assert {open_ticket["id"], closed_ticket["id"]} <= {t["id"] for t in tickets}  # `wait` keeps them
    assert stack.redis.zcard(keys.DLQ_INDEX) == 0
    assert "oz_erasures_pending 0.0" in requests.get(stack.receiver + "/metrics", timeout=5).text
