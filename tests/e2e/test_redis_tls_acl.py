"""The whole stack on a Redis that speaks only TLS, asks for client certificates and knows the
product as the least-privilege ACL user of README (integration/sandbox/redis_topology.py): receiver, worker,
beat, Flower and the CLI all work, no command of theirs is refused, and the user can do nothing
else."""
from __future__ import annotations

import json

import pytest
import redis
import requests

from integration.profiles import user_changes
from integration.store import keys
from integration.wiring import build_context
from tests.e2e.redis_stacks import client_for, start_tls_stack, tls_stack
from integration.sandbox.devstack import cli_argv, free_port, wait_until
from integration.sandbox.redis_topology import ACL_USER, ADMIN_USER
from integration.settings.declared import load_settings
from tests.e2e.helpers import bearer, sidebar

pytestmark = pytest.mark.e2e

FLOWER_AUTH = ("ops", "flower-password-1")
CREATED = "zen:event-type:ticket.created"


@pytest.fixture(scope="module")
def tls_dev(tmp_path_factory):
    dev = start_tls_stack(tmp_path_factory.mktemp("tls-stack"),
                          {"FLOWER_BASIC_AUTH": ":".join(FLOWER_AUTH)})
    try:
        dev.start_beat()
        port = free_port()
        dev._spawn("flower", cli_argv("flower", "--port", str(port), "--address", "127.0.0.1"))
        dev.urls["flower"] = f"http://127.0.0.1:{port}"
        yield dev
    finally:
        dev.stop()


@pytest.fixture
def stack(tls_dev):
    s = tls_stack(tls_dev)
    s.reset()
    s.redis.acl_log_reset()
    return s


def test_the_whole_stack_works_as_the_acl_user_over_tls(stack):
    # a sync that fails once: its retry waits in the due set and comes back through the poller
    stack.configure("zendesk", fail=[{"path": "/users/create_or_update", "method": "POST",
                                      "status": 503, "count": 1}])
    profile = stack.put_profile(id="p-tls", first_name="Tess", email="tess@example.com", tier="gold")
    sent = stack.post_omneo("profile.created", profile)
    assert sent.status_code == 202, sent.text
    job_id = sent.json()["job_id"]
    user = stack.wait(lambda: stack.zendesk_user("p-tls"), 40, what="the synced user")
    assert stack.wait(lambda: stack.job_outcome(job_id), 20, what="the sync's outcome")
    assert any(r.get("message") == "job will retry" for r in stack.log_records(job_id))

    # the sidebar reads the profile and caches it in Redis
    stack.put_profile(id="p-tls", first_name="Tess", email="tess@example.com", tier="gold",
                      identities=[{"handle": "zendesk", "identifier": str(user["id"])}])
    shown = sidebar(stack, bearer(stack, zendesk_user_id=user["id"]))
    assert shown.status_code == 200 and shown.json()["found"] is True

    # a ticket event that fails for good, so the CLI has a dead letter to list and replay
    stack.configure("omneo", fail=[{"path": "/interactions$", "method": "POST", "status": 422,
                                    "count": 1}])
    ticket = stack.zendesk_add_ticket(user["id"])
    stack.subscribe_receiver(CREATED)
    assert [d["status"] for d in stack.ticket_event(ticket["id"], CREATED)["deliveries"]] == [202]
    listed = stack.wait(lambda: json.loads(stack.cli("dlq", "list", "--json").stdout), 30,
                        what="the dead letter")
    replayed = stack.cli("dlq", "replay", listed[0]["id"])
    assert replayed.returncode == 0, replayed.stderr
    stack.wait(lambda: [i for i in stack.interactions() if i.get("profile_id") == "p-tls"], 30,
               what="the replayed interaction")
    stack.wait(lambda: json.loads(stack.cli("dlq", "list", "--json").stdout) == [], 20,
               what="the replayed dead letter to leave the store")

    # erasure, and the CLI's audit trail of it (the ticket closed: with the default
    # ERASURE_TICKETS=wait an open one would hold the user's deletion back)
    stack.ticket_event(ticket["id"], "zen:event-type:ticket.status_changed", status="closed")
    requests.delete(f"{stack.omneo}/_sandbox/profiles/p-tls", timeout=5).raise_for_status()
    erased = stack.post_omneo("profile.deleted", {"id": "p-tls"})
    assert erased.status_code == 202
    stack.wait(lambda: user["id"] in stack.zendesk_state()["purged"], 30, what="the erasure")
    audit = stack.wait(lambda: json.loads(stack.cli("erasures", "list", "--json").stdout), 20,
                       what="the erasure's audit record")
    assert audit[0]["profile_id"] == "p-tls"
    status = stack.cli("reconcile", "status", "--json")
    assert status.returncode == 0, status.stderr

    # Flower sees the worker through the broker (remote control replies)
    workers = wait_until(lambda: requests.get(stack.dev.urls["flower"] + "/api/workers?refresh=1",
                                              auth=FLOWER_AUTH, timeout=10).json(), 40,
                         interval=1, what="Flower to list the worker")
    assert len(workers) >= 1

    # nothing the product did was refused, and every connection but ours is the ACL user's
    assert stack.redis.acl_log() == []
    users = {c["user"] for c in stack.redis.client_list()}
    assert users == {ACL_USER, ADMIN_USER}


def test_the_acl_user_can_do_nothing_else(stack):
    ours = client_for(stack.env["REDIS_URL"])
    assert ours.set(keys.erased("p-x"), "1")
    for denied in (lambda: ours.set("someone-elses-key", "1"), ours.flushall, ours.keys,
                   lambda: ours.config_get("*"), lambda: ours.acl_list(), ours.shutdown):
        with pytest.raises(redis.exceptions.NoPermissionError):
            denied()


def test_the_burst_drain_and_user_event_stores_are_allowed_to_the_acl_user(stack):
    """Commands only the burst drain (MGET of watermarks) and Zendesk user events (HSETNX of an
    email change) use, which the whole-stack run above does not reach."""
    ctx = build_context(load_settings(stack.env))
    assert ctx.state.synced_marks(["p-acl-1", "p-acl-2"]) == {"p-acl-1": None, "p-acl-2": None}
    change = {"event_id": "ev-acl-1", "kind": "identity_changed", "time": "2026-12-01T00:00:00Z"}
    assert user_changes.record_email_change(ctx, "p-acl-1", change) is True
    assert stack.redis.acl_log() == []


def test_a_client_without_its_certificate_or_on_plain_tcp_is_refused(stack):
    url = stack.env["REDIS_URL"]
    with pytest.raises(redis.ConnectionError):
        client_for(url.split("&ssl_certfile")[0]).ping()
    with pytest.raises(redis.ConnectionError):
        client_for("redis://" + url.split("://", 1)[1].split("?")[0]).ping()
    assert client_for(url).ping()
