"""What the e2e tests share: polls, a synced customer, the sandboxes' controls, the sidebar's
bearer, a fake Sentry ingest, Chromium's flags. Fixtures live in conftest.py; no test file
imports another."""
from __future__ import annotations

import gzip
import json
import os
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import jwt
import requests

from integration.store import keys
from integration.store.dead_letters import DeadLetters

CREATE_OR_UPDATE = "/api/v2/users/create_or_update"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "sidebar"


def processes_of(log_dir: Path) -> list[str]:
    """Live processes started for a DevStack whose logs are in `log_dir` (its children carry the
    stack's metrics directory, under the log directory, in their environment)."""
    mark = str(log_dir).encode()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            proc = Path("/proc", pid)
            if mark in proc.joinpath("cmdline").read_bytes() or mark in proc.joinpath("environ").read_bytes():
                found.append(pid)
        except OSError:
            pass
    return found


def calls_to(stack, which, method, path):
    return sorted((c for c in stack.calls(which) if c["method"] == method and c["path"] == path),
                  key=lambda c: c["started"])


def finished(stack, job_id):
    """The record a worker logged when the job ended: done, or dead-lettered."""
    return next((r for r in stack.log_records(job_id)
                 if r.get("message") in ("job done", "job dead-lettered")), None)


def in_flight(stack, before: int):
    return stack.stats()["calls"] > before


def bearer(stack, lifetime: float | None = 300, secret: str | None = None, **claims) -> dict:
    claims.setdefault("zendesk_user_id", 555)
    if lifetime is not None:
        claims["exp"] = int(time.time() + lifetime)
    signed = jwt.encode(claims, secret or stack.env["ZENDESK_APP_SECRET"], algorithm="HS256")
    return {"Authorization": f"Bearer {signed}"}


def sidebar(stack, headers: dict) -> requests.Response:
    return requests.get(stack.receiver + "/sidebar/profile", headers=headers, timeout=20)


def subscribe(stack, *events):
    """Register the receiver as Omneo's webhook for `events`, as `setup` would."""
    for event in events:
        requests.post(stack.omneo + "/api/v3/webhooks", timeout=5,
                      headers={"Authorization": f"Bearer {stack.env['OMNEO_API_TOKEN']}"},
                      json={"trigger": event, "url": stack.receiver + "/webhooks/omneo"}).raise_for_status()


def until(stack, predicate, what: str):
    """A bounded poll, generous: other suites load this 2-core machine at the same time."""
    return stack.wait(predicate, timeout=60, what=what)


def links(stack, profile_id):
    return [i["identifier"] for i in stack.profile(profile_id)["identities"] if i["handle"] == "zendesk"]


def synced(stack, profile_id, **fields):
    """A profile synced through the receiver and worker; returns its Zendesk user."""
    profile = stack.put_profile(id=profile_id, **fields)
    assert stack.post_omneo("profile.created", profile).status_code == 202
    user = until(stack, lambda: stack.zendesk_user(profile_id), what=f"the user of {profile_id}")
    until(stack, lambda: links(stack, profile_id) == [str(user["id"])], what=f"the link of {profile_id}")
    return user


def hand_made_user(stack, **fields) -> dict:
    r = requests.post(stack.zendesk + "/_sandbox/users", json=dict({"name": "Walk In"}, **fields), timeout=5)
    r.raise_for_status()
    return r.json()["user"]


def user_ids(stack) -> list[int]:
    return sorted(u["id"] for u in stack.zendesk_users())


def dead_letter(stack, task):
    entries = [e for e in DeadLetters(stack.redis).list() if e["task"] == task]
    return entries[0] if entries else None


def omneo_merge(stack, loser_id, winner_id):
    requests.post(f"{stack.omneo}/_sandbox/profiles/{loser_id}/merge", json={"into": winner_id},
                  timeout=5).raise_for_status()


def synced_customer(stack, profile_id, **fields) -> dict:
    profile = stack.put_profile(id=profile_id, first_name="Erin", last_name="Rasure",
                                email=f"{profile_id}@example.com", mobile_phone="+61400000099", **fields)
    assert stack.post_omneo("profile.created", profile).status_code == 202
    user = stack.wait(lambda: stack.zendesk_user(profile_id), what="the synced Zendesk user")
    stack.wait(lambda: stack.synced_mark(profile_id), what="the sync watermark")
    return user


def delete_profile(stack, profile_id) -> None:
    requests.delete(f"{stack.omneo}/_sandbox/profiles/{profile_id}", timeout=5).raise_for_status()


def erase(stack, body: dict) -> str:
    r = stack.post_omneo("profile.deleted", body)
    assert r.status_code == 202, r.text
    return r.json()["job_id"]


def audit(stack) -> list[dict]:
    return [json.loads(raw) for raw in stack.redis.lrange(keys.ERASURE_AUDIT, 0, -1)]


def audit_of(stack, profile_id) -> dict | None:
    return next((r for r in audit(stack) if r["profile_id"] == profile_id), None)


def redis_value(r, key) -> bytes:
    """Everything a key holds, as plain bytes (DUMP may compress, hiding what it holds)."""
    kind = r.type(key)
    if kind == b"string":
        return r.get(key) or b""
    if kind == b"hash":
        return b" ".join(k + b"=" + v for k, v in r.hgetall(key).items())
    if kind == b"list":
        return b" ".join(r.lrange(key, 0, -1))
    if kind == b"set":
        return b" ".join(r.smembers(key))
    if kind == b"zset":
        return b" ".join(r.zrange(key, 0, -1))
    return b""


class Ingest(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        Ingest.received.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass
