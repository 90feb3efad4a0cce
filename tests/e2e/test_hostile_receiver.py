"""The hostile-input battery over real HTTP: the receiver under gunicorn (with METRICS_TOKEN set),
a real Redis and a real Celery worker. Every answer is a clear 4xx, the receiver logs no traceback,
`/metrics` keeps a bounded set of series, and an id that would walk a path, arriving in an API's
answer, ends the job in the dead-letter store without any call off its route."""
from __future__ import annotations

import json
import time

import jwt
import pytest
import requests

from integration.store import keys
from integration.apis.signatures import omneo_signature, zendesk_signature
from tests.e2e.conftest import Stack, start_stack
from integration.sandbox.devstack import SANDBOX_APP_SECRET
from tests.helpers import HOSTILE_JSON_IDS, Tally

pytestmark = pytest.mark.e2e
METRICS_TOKEN = "metrics-token-0123456789"


@pytest.fixture(scope="module")
def hostile_stack(tmp_path_factory):
    dev = start_stack(tmp_path_factory.mktemp("hostile"), extra_env={"METRICS_TOKEN": METRICS_TOKEN})
    try:
        stack = Stack(dev)
        stack.reset()
        yield stack
    finally:
        dev.stop()


def post(stack, path: str, raw, headers: dict) -> requests.Response:
    return requests.post(stack.receiver + path, data=raw, headers=headers, timeout=30)


def omneo_headers(stack, event: str, raw: bytes, sig=None) -> dict:
    return {"Content-Type": "application/json", "X-Omneo-Event": event,
            "X-Omneo-Hmac-SHA256": sig if sig is not None else
            omneo_signature(stack.env["OMNEO_WEBHOOK_SECRET"], raw)}


def zendesk_headers(stack, raw: bytes, ts=None, sig=None) -> dict:
    ts = ts if ts is not None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {"Content-Type": "application/json", "X-Zendesk-Webhook-Signature-Timestamp": ts,
            "X-Zendesk-Webhook-Signature": sig if sig is not None else
            zendesk_signature(stack.env["ZENDESK_WEBHOOK_SECRET"], ts if isinstance(ts, str) else "", raw)}


def ticket_event(ticket_id="35436", **detail) -> dict:
    return {"type": "zen:event-type:ticket.created", "account_id": 1, "id": f"01HZX{ticket_id:0>21}",
            "time": "2026-11-27T10:00:00Z", "subject": f"zen:ticket:{ticket_id}",
            "detail": {"id": ticket_id, "requester_id": "20978392", "subject": "s", "status": "NEW",
                       **detail}, "event": {}}


def series(stack) -> list[str]:
    text = requests.get(stack.receiver + "/metrics", timeout=10,
                        headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    return [line for line in text.splitlines() if line.startswith("oz_webhooks_total{")]


def test_the_receiver_answers_every_hostile_request_with_a_4xx(hostile_stack):
    stack = hostile_stack
    tally = Tally("e2e: the receiver under gunicorn")

    def send(path, raw, headers, want):
        r = post(stack, path, raw, headers)
        tally.saw(r.status_code)
        assert r.status_code == want, (path, headers.get("X-Omneo-Event"), r.status_code, r.text[:200])
        return r

    # 1. ids that walk paths
    for value in HOSTILE_JSON_IDS:
        if value == "1" * 21:
            continue
        raw = json.dumps({"id": value}).encode()
        send("/webhooks/omneo", raw, omneo_headers(stack, "profile.deleted", raw), 400)
        raw = json.dumps(ticket_event(requester_id=value)).encode()
        send("/webhooks/zendesk", raw, zendesk_headers(stack, raw), 400)
    # 2. signature and header bytes (bytes values: sent as they are, not as text)
    raw = b'{"id": "p-1"}'
    for sig in ("é" * 64, "ü".encode() * 32, b"\xff" * 64):
        send("/webhooks/omneo", raw, omneo_headers(stack, "profile.updated", raw, sig=sig), 401)
    zraw = json.dumps(ticket_event()).encode()
    for ts in ("nan", "inf", str(int(time.time())), "ü".encode()):
        sig = zendesk_signature(stack.env["ZENDESK_WEBHOOK_SECRET"], ts if isinstance(ts, str) else "", zraw)
        send("/webhooks/zendesk", zraw, zendesk_headers(stack, zraw, ts=ts, sig=sig), 401)
    send("/webhooks/zendesk", zraw, zendesk_headers(stack, zraw, sig="é" * 44), 401)
    live = json.dumps({"id": "p-1", "email": "ada@example.com", "profile_type": "active"}).encode()
    send("/webhooks/omneo", live, omneo_headers(stack, "profile.deleted", live), 400)
    # 3. bodies
    deep = b'{"id": "p-1", "x": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    send("/webhooks/omneo", deep, omneo_headers(stack, "profile.updated", deep), 400)
    lone = b'{"id": "\\ud800"}'
    send("/webhooks/omneo", lone, omneo_headers(stack, "profile.updated", lone), 400)
    big = b'{"id": "p-1", "pad": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    chunks = lambda body: (body[i:i + 65536] for i in range(0, len(body), 65536))  # noqa: E731
    send("/webhooks/omneo", chunks(big), omneo_headers(stack, "profile.updated", big), 413)
    # a chunked body within the limit is read whole, and taken
    stack.put_profile(id="p-chunked", first_name="Ada")
    small = json.dumps({"id": "p-chunked", "pad": "y" * 200_000}).encode()
    send("/webhooks/omneo", chunks(small), omneo_headers(stack, "profile.updated", small), 202)
    # 5. metrics: thousands of paths, one series for all of them; /metrics wants the token
    before = series(stack)
    for i in range(2000):
        r = requests.post(f"{stack.receiver}/webhooks/omneo/{i}/ada{i}@example.com", data=b"{}", timeout=10)
        tally.saw(r.status_code)
    after = series(stack)
    print(f"\ndistinct paths sent: 2000; oz_webhooks_total series before {len(before)}, after {len(after)}")
    assert len(after) - len(before) <= 1 and not any("@" in line for line in after), after
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        r = requests.get(stack.receiver + "/metrics", headers=headers, timeout=10)
        tally.saw(r.status_code)
        assert r.status_code == 401
    # 6. sidebar claims
    for claims in ({"exp": str(int(time.time() + 60)), "zendesk_user_id": 1},
                   {"exp": int(time.time() + 60), "zendesk_user_id": "١٢٣"},
                   {"exp": int(time.time() + 60), "zendesk_user_id": "9" * 1000}):
        token = jwt.encode(claims, SANDBOX_APP_SECRET, algorithm="HS256")
        r = requests.get(stack.receiver + "/sidebar/profile", timeout=10,
                         headers={"Authorization": f"Bearer {token}"})
        tally.saw(r.status_code)
        assert r.status_code == 401, r.text
    receiver_log = next(p for p in stack.dev.processes if p.name == "receiver").log()
    assert "Traceback" not in receiver_log
    tally.check()


def test_a_path_walking_id_in_an_api_answer_is_dead_lettered_off_no_route(hostile_stack):
    """Zendesk answers the ticket with a requester id that would walk to /api/v2/tickets: the
    interaction job makes no call with it and is dead-lettered with the reason."""
    stack = hostile_stack
    tally = Tally("e2e: hostile id in an API answer")
    ticket = stack.zendesk_add_ticket("1/../../tickets")
    stack.wait(lambda: not stack.redis.llen("sync") and not stack.redis.llen("interactions"),
               what="earlier jobs to drain")
    earlier = len(stack.calls("zendesk"))
    raw = json.dumps(ticket_event(str(ticket["id"]), requester_id=None, subject=None)).encode()
    r = post(stack, "/webhooks/zendesk", raw, zendesk_headers(stack, raw))
    tally.saw(r.status_code)
    assert r.status_code == 202, r.text

    def dead_letter():
        for entry in stack.redis.hvals(keys.DLQ_ENTRIES):
            entry = json.loads(entry)
            if entry.get("task") == "omneo_zendesk.ticket_interaction":
                return entry
        return None

    entry = stack.wait(dead_letter, what="the dead letter")
    assert "malformed Zendesk user id" in json.dumps(entry), entry
    calls = stack.calls("zendesk")[earlier:]
    tally.off_route = [c for c in calls if c["path"] != f"/api/v2/tickets/{ticket['id']}"]
    assert any(c["path"] == f"/api/v2/tickets/{ticket['id']}" for c in calls)
    tally.check()
