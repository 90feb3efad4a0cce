"""The Zendesk sandbox's user events: what its merges, deletions and edits send to the
event-subscribed webhooks subscribed to them, signed and enveloped as its ticket events are.

Zendesk delivers asynchronously, so here a background thread delivers, in order. Control routes:
`GET /_sandbox/user_events` (every event emitted), `POST /_sandbox/user_events/config`
`{"hold": true}` (keep deliveries back) and `POST /_sandbox/user_events/release`
`{"order": "reverse", "times": 2}` (deliver what was held, reordered and repeated, as Zendesk may).

Documented by Zendesk's user-events reference: the type names, the envelope, `detail` (the
user's id, external_id (`""` when empty), email, role, ... ids as strings) and
`user.active_changed`'s `{current, previous}`. The reference shows no other event object, so
these follow Zendesk's published client libraries: `user.merged` `{user: {id: survivor}}`,
`user.external_id_changed` `{current, previous}`, `user.identity_created|deleted`
`{identity: {...}}` and `user.identity_changed` `{current: {...}, previous: {...}}`, every id a
string.
"""
from __future__ import annotations

import collections
import json
import queue
import threading
import uuid

from integration.sandbox.base import json_response

PREFIX = "zen:event-type:user."
LOG_LENGTH = 10_000  # events kept for GET /_sandbox/user_events


class UserEvents:
    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.log: collections.deque[dict] = collections.deque(maxlen=LOG_LENGTH)
        self.held: list[tuple[list[dict], bytes]] = []
        self.hold = False
        self._outbox: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, daemon=True, name="zendesk-user-events")
        self._thread.start()
        r = sandbox.route
        r("/_sandbox/user_events", ["GET"], self.ctl_events, control=True)
        r("/_sandbox/user_events/config", ["POST"], self.ctl_config, control=True)
        r("/_sandbox/user_events/release", ["POST"], self.ctl_release, control=True)

    def reset(self) -> None:
        self.log.clear()
        self.held.clear()
        self.hold = False

    # what the sandbox's own changes call (with its lock held)
    def merged(self, source: dict, target: dict) -> None:
        self.active_changed(source, False)
        self._emit("merged", source, {"user": {"id": str(target["id"])}})

    def deleted(self, user: dict) -> None:
        self.active_changed(user, False)
        self._emit("deleted", user, {})

    def active_changed(self, user: dict, current: bool) -> None:
        self._emit("active_changed", user, {"current": current, "previous": not current})

    def external_id_changed(self, user: dict, previous) -> None:
        if (previous or None) != (user.get("external_id") or None):
            self._emit("external_id_changed", user, {"current": user.get("external_id") or "",
                                                     "previous": previous or ""})

    def identity(self, change: str, user: dict, identity: dict, previous: dict | None = None) -> None:
        shown = _identity(identity)
        inner = ({"current": shown, "previous": _identity(previous or identity)} if change == "changed"
                 else {"identity": shown})
        self._emit(f"identity_{change}", user, inner)

    def _emit(self, name: str, user: dict, inner: dict) -> None:
        event = {"type": PREFIX + name, "account_id": 1, "id": str(uuid.uuid4()),
                 "time": self.sandbox._now(), "zendesk_event_version": "2022-06-20",
                 "subject": f"zen:user:{user['id']}", "detail": _detail(user), "event": inner}
        self.log.append(event)
        hooks = [dict(h) for h in self.sandbox.webhooks.values()
                 if h.get("status", "active") == "active" and event["type"] in (h.get("subscriptions") or [])]
        if hooks:
            item = (hooks, json.dumps(event).encode())
            self.held.append(item) if self.hold else self._outbox.put(item)

    def _run(self) -> None:
        while True:
            hooks, raw = self._outbox.get()
            for hook in hooks:
                self.sandbox._deliver(hook, raw)

    # control routes
    def ctl_events(self, request):
        with self.sandbox.lock:
            return json_response({"events": list(self.log)})

    def ctl_config(self, request):
        body = request.get_json(force=True) or {}
        with self.sandbox.lock:
            if "hold" in body:
                self.hold = bool(body["hold"])
        return json_response({"ok": True})

    def ctl_release(self, request):
        """Deliver the held events now, in `order` ("reverse" or as emitted), each `times` times
        (all of them once, then all again); answers each delivery's status."""
        body = request.get_json(force=True) or {}
        with self.sandbox.lock:
            items, self.held = list(self.held), []
            self.hold = bool(body.get("keep_holding", False))
        if body.get("order") == "reverse":
            items.reverse()
        deliveries = []
        for _ in range(int(body.get("times", 1))):
            for hooks, raw in items:
                deliveries += [dict(self.sandbox._deliver(h, raw), event_id=json.loads(raw)["id"])
                               for h in hooks]
        return json_response({"deliveries": deliveries})


def _identity(identity: dict) -> dict:
    return {"id": str(identity["id"]), "type": identity["type"], "value": identity["value"],
            "primary": identity["primary"], "verified": identity.get("verified", False)}


def _detail(user: dict) -> dict:
    """A user as a user event's `detail` shows it: ids as strings."""
    return {"id": str(user["id"]), "external_id": user.get("external_id") or "",
            "email": user.get("email"), "role": user.get("role", "end-user"),
            "default_group_id": "0", "organization_id": "0",
            "created_at": user.get("created_at"), "updated_at": user.get("updated_at")}
