"""Ticket events recovered from the incremental ticket event export (in-process sandboxes,
fakeredis): each update maps to the interaction its webhook makes, and the two paths share one
interaction per ticket and activity."""
from __future__ import annotations

import time

import pytest
import requests

from integration.reconcile import reconciliation
from integration.store import keys
from integration.apis.http import Limiter
from integration.interactions import build_interaction, classify, interaction_key, record_ticket_event, ticket_job
from integration.sandbox.base import omneo_time
from integration.reconcile.ticket_event_export import update_jobs
from integration.apis.zendesk_events import KNOWN_TICKET_EVENTS

pytestmark = pytest.mark.usefixtures("few_mark_buckets")

CREATED = "zen:event-type:ticket.created"
STATUS = "zen:event-type:ticket.status_changed"
CSAT = "zen:event-type:ticket.csat_received"
COMMENT = "zen:event-type:ticket.comment_added"


@pytest.fixture(autouse=True)
def readable_export(ctx, zendesk_sandbox):
    """The export serves what just happened (no excluded last minute) and is not paced here: the
    10-a-minute pacing is the limiter's business, tested with the limiter."""
    zendesk_sandbox.ticket_history.recent_seconds = 0
    ctx.zendesk.export_limiter = Limiter()


def customer(zendesk_sandbox, omneo_sandbox, profile_id, email):
    with omneo_sandbox.lock:
        omneo_sandbox.profiles[profile_id] = {"id": profile_id, "first_name": "Cass", "email": email,
                                              "identities": [], "profile_type": "active",
                                              "updated_at": omneo_time()}
    with zendesk_sandbox.lock:
        return zendesk_sandbox._create({"name": "Cass", "email": email, "external_id": profile_id})


def ticket(sandbox_url, user, subject="Zip broke on day two"):
    r = requests.post(sandbox_url + "/_sandbox/tickets", json={"requester_id": user["id"], "subject": subject},
                      timeout=5)
    r.raise_for_status()
    return r.json()["ticket"]


def happen(sandbox_url, ticket_id, type_, **data) -> dict:
    """The webhook event the sandbox made (no webhook subscribed: nothing is delivered)."""
    r = requests.post(f"{sandbox_url}/_sandbox/tickets/{ticket_id}/events", json=dict(data, type=type_),
                      timeout=5)
    r.raise_for_status()
    return r.json()["event"]


def export(ctx, start=0) -> list[dict]:
    return [u for page in ctx.zendesk.iter_ticket_events(start) for u in page["ticket_events"]]


def run(ctx, **kwargs):
    return reconciliation.run(ctx, erase=lambda p, u: None, **kwargs)


def comparable(interaction):
    """An interaction without the id of what described it (a webhook event id, an audit id)."""
    return dict(interaction, meta={k: v for k, v in interaction["meta"].items() if k != "zendesk_event_id"})


@pytest.mark.parametrize("type_, data", [
    (CREATED, {}),
    (STATUS, {"status": "solved"}),
    (CSAT, {"score": "good"}),
    (CSAT, {"score": "bad"}),
    (COMMENT, {"body": "any news?"}),
])
def test_each_matching_update_maps_to_the_interaction_its_webhook_makes(
        ctx, sandbox_servers, zendesk_sandbox, omneo_sandbox, type_, data):
    z = sandbox_servers[0].url
    user = customer(zendesk_sandbox, omneo_sandbox, "p-map", "map@example.com")
    made = ticket(z, user)
    if type_ == CSAT:
        happen(z, made["id"], STATUS, status="solved")
    event = happen(z, made["id"], type_, **data)
    by_webhook = ticket_job(event, classify(event))
    assert "subject" not in by_webhook  # ids only: the worker reads the subject when it runs
    by_webhook = dict(by_webhook, subject=ctx.zendesk.get_ticket(made["id"])["subject"])

    found = [job for update in export(ctx) for job in update_jobs(update, KNOWN_TICKET_EVENTS)
             if job["kind"] == by_webhook["kind"]]
    assert len(found) == 1
    [by_export] = found
    if by_export["requester_id"] is None:  # an update says only what changed: the ticket says the rest
        shown = {str(t["id"]): t for t in ctx.zendesk.show_many_tickets([made["id"]])}[str(made["id"])]
        by_export = dict(by_export, requester_id=str(shown["requester_id"]), subject=shown["subject"])
    assert interaction_key(by_export) == interaction_key(by_webhook)
    assert (by_export["requester_id"], by_export["subject"]) == (by_webhook["requester_id"], by_webhook["subject"])
    assert comparable(build_interaction(ctx, by_export, "p-map")) == \
        comparable(build_interaction(ctx, by_webhook, "p-map"))


def test_updates_that_are_no_interaction_make_no_job(ctx, sandbox_servers, zendesk_sandbox, omneo_sandbox):
    z = sandbox_servers[0].url
    made = ticket(z, customer(zendesk_sandbox, omneo_sandbox, "p-none", "none@example.com"))
    happen(z, made["id"], STATUS, status="open")
    happen(z, made["id"], STATUS, status="pending")
    happen(z, made["id"], COMMENT, body="hello")
    kinds = [j["kind"] for u in export(ctx) for j in update_jobs(u, (CREATED, STATUS, CSAT))]
    assert kinds == ["created"]  # comments are not in the default TICKET_EVENTS


def test_recovery_records_only_what_the_webhook_did_not_and_a_late_webhook_doubles_nothing(
        ctx, sandbox_servers, zendesk_sandbox, omneo_sandbox):
    z = sandbox_servers[0].url
    user = customer(zendesk_sandbox, omneo_sandbox, "p-rec", "rec@example.com")
    made = ticket(z, user)
    since = int(time.time()) - 1
    created = happen(z, made["id"], CREATED)
    assert record_ticket_event(ctx, ticket_job(created, classify(created)))["outcome"] == "created"  # delivered
    solved = happen(z, made["id"], STATUS, status="solved")  # these two webhooks are lost
    happen(z, made["id"], CSAT, score="good")

    report = run(ctx, ticket_events_since=since)
    counts = report["counts"]
    assert (counts["interactions_recovered"], counts["ticket_events_already_recorded"]) == (2, 1), report
    names = sorted(i["name"] for i in omneo_sandbox.interactions)
    assert names == ["Ticket created", "Ticket rated good", "Ticket solved"]
    # the lost webhook arrives after all: nothing more
    assert record_ticket_event(ctx, ticket_job(solved, classify(solved)))["outcome"] == "duplicate"
    # and the next run reads from its watermark: nothing more either
    assert run(ctx)["counts"]["interactions_recovered"] == 0
    assert len(omneo_sandbox.interactions) == 3


def test_first_run_starts_from_now_not_the_accounts_beginning(ctx, sandbox_servers, zendesk_sandbox,
                                                                 omneo_sandbox):
    z = sandbox_servers[0].url
    made = ticket(z, customer(zendesk_sandbox, omneo_sandbox, "p-old", "old@example.com"))
    with zendesk_sandbox.lock:  # that ticket was made an hour before the first run
        for update in zendesk_sandbox.ticket_history.updates:
            update["timestamp"] -= 3600
    before = time.time()
    report = run(ctx)
    assert report["counts"]["interactions_recovered"] == 0 and omneo_sandbox.interactions == []
    mark = float(ctx.redis.hget(keys.RECONCILE_STATE, keys.TICKET_EVENTS_WATERMARK))
    assert before - 1 <= mark <= time.time()
    # --since reaches back on purpose
    assert run(ctx, ticket_events_since=int(before) - 7200)["counts"]["interactions_recovered"] == 1
    assert [i["url"].rsplit("/", 1)[1] for i in omneo_sandbox.interactions] == [str(made["id"])]


def test_watermark_moves_page_by_page_and_holds_at_a_failure(ctx, sandbox_servers, zendesk_sandbox,
                                                              omneo_sandbox):
    z = sandbox_servers[0].url
    zendesk_sandbox.ticket_history.page_size = 2  # a page ends where the next starts: 2, 1+2, 1
    user = customer(zendesk_sandbox, omneo_sandbox, "p-page", "page@example.com")
    made = [ticket(z, user) for _ in range(3)]
    now = int(time.time())
    with zendesk_sandbox.lock:  # three updates half a minute apart
        at = [now - 120, now - 90, now - 60]
        for update, when in zip(zendesk_sandbox.ticket_history.updates, at):
            update["timestamp"] = when
    # the first interaction's post fails for a reason retrying fixes; the others go through
    omneo_sandbox.failures = [{"path": "interactions$", "method": "POST", "status": 503, "count": 1}]
    report = run(ctx, ticket_events_since=at[0] - 10)
    assert report["counts"]["interactions_recovered"] == 2 and report["counts"]["errors"] == 1, report
    mark = ctx.redis.hget(keys.RECONCILE_STATE, keys.TICKET_EVENTS_WATERMARK)
    assert int(mark) == at[0] - 10  # held before the page that failed
    report = run(ctx)
    assert report["counts"]["interactions_recovered"] == 1  # the failed one, looked at again
    assert report["counts"]["ticket_events_already_recorded"] == 2
    assert int(ctx.redis.hget(keys.RECONCILE_STATE, keys.TICKET_EVENTS_WATERMARK)) == at[2]
    assert sorted(i["url"].rsplit("/", 1)[1] for i in omneo_sandbox.interactions) == \
        sorted(str(t["id"]) for t in made)


def test_tickets_and_requesters_are_read_100_a_call(ctx, sandbox_servers, zendesk_sandbox,
                                                                       omneo_sandbox):
    z = sandbox_servers[0].url
    user = customer(zendesk_sandbox, omneo_sandbox, "p-many", "many@example.com")
    since = int(time.time()) - 1
    made = [ticket(z, user, subject=f"order {n}") for n in range(3)]
    for t in made:
        happen(z, t["id"], STATUS, status="solved")
    zendesk_sandbox.call_log.clear()
    report = run(ctx, ticket_events_since=since)
    assert report["counts"]["interactions_recovered"] == 6
    paths = [c["path"] for c in zendesk_sandbox.call_log]
    assert paths.count("/api/v2/tickets/show_many") == 1
    assert not [p for p in paths if p.rstrip("0123456789").endswith(("/tickets/", "/users/"))], paths
    solved = sorted(i["description"] for i in omneo_sandbox.interactions if i["name"] == "Ticket solved")
    assert solved == ["order 0", "order 1", "order 2"]


def test_too_recent_start_is_an_empty_export_not_an_error(ctx, zendesk_sandbox):
    zendesk_sandbox.ticket_history.recent_seconds = 60
    pages = list(ctx.zendesk.iter_ticket_events(int(time.time())))
    assert pages == [{"ticket_events": [], "end_time": None, "end_of_stream": True}]


def test_every_export_page_waits_for_the_export_limiter(ctx, sandbox_servers, zendesk_sandbox, omneo_sandbox):
    class Counting(Limiter):
        taken = 0

        def acquire(self):
            Counting.taken += 1

    z = sandbox_servers[0].url
    zendesk_sandbox.ticket_history.page_size = 2
    user = customer(zendesk_sandbox, omneo_sandbox, "p-lim", "lim@example.com")
    for _ in range(3):
        ticket(z, user)
    with zendesk_sandbox.lock:
        for n, update in enumerate(zendesk_sandbox.ticket_history.updates):
            update["timestamp"] = int(time.time()) - 100 + n * 10
    ctx.zendesk.export_limiter = Counting()
    pages = list(ctx.zendesk.iter_ticket_events(int(time.time()) - 200))
    assert len(pages) == Counting.taken == 2


def test_a_refused_export_is_reported_without_a_continuation(ctx, zendesk_sandbox):
    zendesk_sandbox.failures = [{"path": "incremental/ticket_events", "status": 403, "count": 1,
                                 "body": {"error": "Forbidden", "description": "missing scope"}}]
    since = int(time.time()) - 60
    report = run(ctx, ticket_events_since=since)
    assert report["complete"] and report["counts"]["errors"] == 1, report
    [error] = report["errors"]
    assert (error["stage"], error["status"]) == ("zendesk ticket event export", 403)
    assert int(ctx.redis.hget(keys.RECONCILE_STATE, keys.TICKET_EVENTS_WATERMARK)) == since  # held


def test_recovery_finds_an_interaction_whose_mark_is_gone(ctx, sandbox_servers, zendesk_sandbox, omneo_sandbox):
    """A mark expired, or written under an older key: the profile's interactions are looked at
    before anything is posted."""
    z = sandbox_servers[0].url
    user = customer(zendesk_sandbox, omneo_sandbox, "p-gone", "gone@example.com")
    made = ticket(z, user)
    since = int(time.time()) - 1
    created = happen(z, made["id"], CREATED)
    assert record_ticket_event(ctx, ticket_job(created, classify(created)))["outcome"] == "created"
    for key in ctx.redis.scan_iter(keys.interaction_done("*")):
        ctx.redis.delete(key)
    report = run(ctx, ticket_events_since=since)
    assert (report["counts"]["interactions_recovered"], report["counts"]["ticket_events_already_recorded"]) == (0, 1)
    assert len(omneo_sandbox.interactions) == 1
