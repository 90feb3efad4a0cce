"""What the tests share: a valid environment, profiles and users put straight into the in-process
sandboxes, a ticket event, a queued job read back as a worker sees it, and the hostile-input
battery's ids and tally. Fixtures live in the conftest files; no test file imports another."""
from __future__ import annotations

import base64
import json
from collections import Counter
from datetime import datetime, timedelta, timezone

from integration.apis.signatures import omneo_signature, zendesk_signature
from integration.interactions import classify, ticket_job
from integration.profiles import user_events
from integration.profiles.sync import sync_profile
from integration.sandbox.zaf import SAMPLE_AGENTS

GOOD = {
    "REDIS_URL": "redis://localhost:6379/0",
    "OMNEO_TENANT": "acme",
    "OMNEO_API_TOKEN": "tok-omneo-secret",
    "OMNEO_WEBHOOK_SECRET": "omneo-hook-secret",
    "ZENDESK_SUBDOMAIN": "acme",
    "ZENDESK_EMAIL": "ops@acme.example",
    "ZENDESK_API_TOKEN": "zd-secret-token",
    "ZENDESK_WEBHOOK_SECRET": "zd-hook-secret",
    "ZENDESK_APP_SECRET": "zd-app-secret-0123456789abcdef012345",
}


# the sandboxes' state, set directly (no webhook is sent)
def put(omneo, profile_id: str | None = None, **fields) -> dict:
    """Add or change a profile in the Omneo sandbox; a `tier` given as a handle becomes Omneo's object."""
    profile_id = profile_id or fields["id"]
    with omneo.lock:
        profile = omneo.profiles.get(profile_id) or {
            "id": profile_id, "first_name": None, "last_name": None, "email": None,
            "mobile_phone": None, "tier": None, "identities": [], "profile_type": "active"}
        profile.update(fields)
        if isinstance(profile.get("tier"), str):
            profile["tier"] = {"handle": profile["tier"]}
        profile["updated_at"] = omneo._stamp()
        omneo.profiles[profile_id] = profile
        return profile


def add_user(zendesk, **fields) -> dict:
    """A Zendesk user made by hand (no external_id unless given)."""
    with zendesk.lock:
        return zendesk._create(dict({"name": "Walk In"}, **fields))


def links(omneo, profile_id):
    return [i["identifier"] for i in omneo.profiles[profile_id]["identities"] if i["handle"] == "zendesk"]


def zendesk_name(zendesk, external_id):
    return user_of(zendesk, external_id)["name"]


def user_of(zendesk, external_id):
    return next(u for u in zendesk.users.values() if u.get("external_id") == external_id)


# ticket events
CREATED = "zen:event-type:ticket.created"
STATUS = "zen:event-type:ticket.status_changed"
CSAT = "zen:event-type:ticket.csat_received"


def event(type_=CREATED, event=None, **detail):
    body = {"id": "100", "requester_id": "36000000001", "subject": "Where is my order?",
            "status": "NEW"}
    body.update(detail)
    return {"type": type_, "id": "01HEVENT0001", "time": "2026-11-27T10:15:30Z", "account_id": 1,
            "subject": f"zen:ticket:{body['id']}", "detail": body, "event": event or {}}


def job_for(user_id, type_=CREATED, inner=None, event_id="01HEVENT0001"):
    payload = event(type_, inner, requester_id=str(user_id))
    payload["id"] = event_id
    return ticket_job(payload, classify(payload))


def post_omneo(client, event: str, raw: bytes | dict, sig: str | None = None, **kwargs):
    raw = raw if isinstance(raw, bytes) else json.dumps(raw).encode()
    headers = {"X-Omneo-Event": event,
               "X-Omneo-Hmac-SHA256": sig if sig is not None else omneo_signature("om-hook-secret", raw)}
    return client.post("/webhooks/omneo", data=raw, content_type="application/json",
                       headers=headers, **kwargs)


def stamp(offset_seconds=0):
    when = datetime.now(timezone.utc) + timedelta(seconds=offset_seconds)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def post_zendesk(client, settings, body, secret=None, ts=None, sig=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    ts = ts or stamp()
    sig = sig or zendesk_signature(secret or settings.zendesk_webhook_secret, ts, raw)
    return client.post("/webhooks/zendesk", data=raw, content_type="application/json",
                       headers={"X-Zendesk-Webhook-Signature": sig,
                                "X-Zendesk-Webhook-Signature-Timestamp": ts})


# queued jobs
def decode(raw: bytes) -> dict:
    message = json.loads(raw)
    assert message["properties"]["body_encoding"] == "base64"
    args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
    return {"name": message["headers"]["task"], "task_id": message["headers"]["id"], "args": args,
            "kwargs": kwargs, "queue": message["properties"]["delivery_info"]["routing_key"]}


def jobs(r, queue="interactions"):
    """The jobs on a queue, oldest first, read back from their messages."""
    return [decode(raw) for raw in reversed(r.lrange(queue, 0, -1))]


# the hostile-input battery
HOSTILE_IDS = ["..", ".", "", "../identities", "1/../../tickets", "a?b=c", "a#b", "%2e%2e", "a/b",
               "a\\b", "1,2", " ", "a b", "1\n2", "١٢٣", "１２", "é", "\ud800", "x" * 65, "1" * 21, True, 1.5,
               None, ["1"], {"id": "1"}]
# the same, as a JSON body can carry them (a lone surrogate is written as its escape)
HOSTILE_JSON_IDS = [v for v in HOSTILE_IDS if v is not None]


class Tally:
    """Counts what one class of the battery tried and saw; `check()` prints the totals and fails
    on any 5xx, any API call off its route or any key of another profile touched."""

    def __init__(self, name: str):
        self.name = name
        self.tried = 0
        self.statuses: Counter = Counter()
        self.off_route: list = []
        self.foreign_keys: list = []

    def saw(self, status) -> None:
        self.tried += 1
        self.statuses[status] += 1

    @property
    def server_errors(self) -> int:
        return sum(n for s, n in self.statuses.items() if isinstance(s, int) and s >= 500)

    def check(self, allowed_5xx: set[int] = frozenset()) -> None:
        errors = sum(n for s, n in self.statuses.items()
                     if isinstance(s, int) and s >= 500 and s not in allowed_5xx)
        print(f"\n[{self.name}] requests tried: {self.tried}; statuses seen: "
              f"{dict(sorted(self.statuses.items(), key=str))}; answered 5xx: {errors}; "
              f"API calls off their route: {len(self.off_route)}; keys of another profile "
              f"touched: {len(self.foreign_keys)}")
        assert self.tried > 0
        assert errors == 0, self.statuses
        assert not self.off_route, self.off_route[:5]
        assert not self.foreign_keys, self.foreign_keys[:5]


def synced_user(ctx, omneo, zendesk, profile_id, **fields):
    put(omneo, id=profile_id, first_name="Ada", email=f"{profile_id}@example.com", **fields)
    sync_profile(ctx, profile_id)
    return next(u for u in zendesk.users.values() if u["external_id"] == profile_id)


def delete_in_omneo(omneo, profile_id):
    with omneo.lock:
        del omneo.profiles[profile_id]


def events(zendesk, name, user_id=None):
    """Jobs for the events of type `name` the sandbox emitted (about `user_id`), oldest first."""
    with zendesk.lock:
        found = [e for e in zendesk.user_events.log if e["type"] == "zen:event-type:user." + name
                 and (user_id is None or e["detail"]["id"] == str(user_id))]
    return [user_events.user_job(e) for e in found]


def only(zendesk, name, user_id=None):
    [job] = events(zendesk, name, user_id)
    return job


def synced(ctx, omneo, zendesk, profile_id, **fields):
    put(omneo, profile_id, **fields)
    assert sync_profile(ctx, profile_id)["outcome"] == "created"
    return user_of(zendesk, profile_id)


# agent actions from the sidebar (tests/unit/conftest.py has their fixtures)
INSTALLATION = "1122334455"
ADMIN, AGENT, LEAD, LIGHT, END_USER = (a["id"] for a in SAMPLE_AGENTS)
ADA, BOB = 9001, 9002
TICKET_ADA, TICKET_BOB = 501, 502


def run_ctx(app):
    return app.extensions["omneo_zendesk_sidebar"]


def omneo_writes(omneo_sandbox) -> tuple[int, int]:
    return len(omneo_sandbox.issued_rewards.issued), len(omneo_sandbox.interactions)


def notes(zendesk_sandbox, ticket_id) -> list[dict]:
    return zendesk_sandbox.ticket_comments.comments.get(ticket_id, [])


def open_app(client, zaf_token) -> tuple[int, str | None]:
    resp = client.post("/sidebar/app", data={"token": zaf_token})
    if resp.status_code != 200:
        return resp.status_code, None
    page = resp.get_data(as_text=True)
    return 200, page.split('name="oz-session" content="', 1)[1].split('"', 1)[0]


def ticket_token(client, signer, agent_id, ticket_id) -> str:
    status, session = open_app(client, signer.token(agent_id))
    assert status == 200
    resp = client.post("/sidebar/session", json={"ticket_id": ticket_id},
                       headers={"Authorization": f"Bearer {session}"})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["token"]
