"""The Zendesk sandbox's ticket history, served as the Incremental Ticket Event Export
(`GET /api/v2/incremental/ticket_events`) and read back by `GET /api/v2/tickets/show_many`.

As "Using the Incremental Exports API" and the endpoint's reference describe it: time-based,
`start_time` required (unix seconds), admins only, the most recent minute left out and a
`start_time` inside it refused (422 "Too recent start_time"), pages of up to 1000 updates oldest
first with `end_time` (the last update's time, the next page's `start_time`, so the boundary
second is served again), `next_page` and `end_of_stream`; held with the user export to the
incremental exports' 10 requests a minute. Each update is an `Audit` with its `child_events`,
each child naming the field it set as a key of its own (`{"status": "solved", "previous_value":
"open", "event_type": "Change"}`); comments appear only as `comment_present`/`comment_public`
(no `comment_events` sideload here).

Control: `POST /_sandbox/ticket_export/config` `{"recent_seconds": 60, "page_size": 1000}` (a
shorter excluded window lets a test read what it just did; a small page shows paging).
"""
from __future__ import annotations

import itertools
import time
from datetime import datetime

from integration.sandbox.base import ApiFailure, json_response

API = "/api/v2"
PAGE_SIZE = 1000  # updates a page of a time-based export
RECENT_SECONDS = 60  # "excluding events occurring within one minute of the request"
SHOW_MANY_LIMIT = 100  # "This endpoint will return up to 100 tickets records"
VIA = "Web form"


def _unix(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


class TicketHistory:
    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.updates: list[dict] = []
        self._ids = itertools.count(926_000_000_001)
        self.reset()
        r = sandbox.route
        r(f"{API}/incremental/ticket_events", ["GET"], self.export)
        r(f"{API}/tickets/show_many", ["GET"], self.show_many)
        r("/_sandbox/ticket_export/config", ["POST"], self.ctl_config, control=True)

    def reset(self) -> None:
        self.updates = []
        self.scores: dict[int, str] = {}
        self.recent_seconds = RECENT_SECONDS
        self.page_size = PAGE_SIZE

    # what the sandbox's tickets call (with its lock held)
    def created(self, ticket: dict) -> None:
        comment = {"comment_present": True, "comment_public": True, "event_type": "Comment"}
        self._record(ticket, ticket["created_at"], [
            comment, {"subject": ticket["subject"], "event_type": "Create"},
            {"requester_id": ticket["requester_id"], "event_type": "Create"},
            {"status": ticket["status"], "event_type": "Create"}])

    def changed(self, ticket: dict, kind: str, inner: dict, at: str) -> None:
        """An update for a ticket event the sandbox applied (`inner`: the webhook's `event`)."""
        if kind == "ticket.status_changed":
            child = {"status": inner["current"].lower(), "previous_value": inner["previous"].lower(),
                     "event_type": "Change"}
        elif kind == "ticket.csat_received":
            score = inner["satisfaction_score"]["score"]
            child = {"satisfaction_score": score,
                     "previous_value": self.scores.get(ticket["id"], "offered"), "event_type": "Change"}
            self.scores[ticket["id"]] = score
        elif kind == "ticket.comment_added":
            child = {"id": int(inner["comment"]["id"]), "comment_present": True,
                     "comment_public": bool(inner["comment"].get("is_public", True)),
                     "event_type": "Comment"}
        else:
            return
        self._record(ticket, at, [child])

    def _record(self, ticket: dict, at: str, children: list[dict]) -> None:
        update_id = next(self._ids)
        for child in children:
            child.setdefault("id", next(self._ids))
            child.update(via=VIA, via_reference_id=None)
        self.updates.append({"id": update_id, "ticket_id": ticket["id"], "timestamp": _unix(at),
                             "created_at": at, "updater_id": ticket["requester_id"], "via": VIA,
                             "system": {}, "merged_ticket_ids": [], "event_type": "Audit",
                             "child_events": children})

    # routes
    def export(self, request):
        self.sandbox.take_export_slot()
        try:
            start = int(request.args["start_time"])
        except (KeyError, ValueError):
            raise ApiFailure(400, {"error": "InvalidValue", "description": "start_time is required"})
        newest = int(time.time()) - self.recent_seconds
        if start > newest:
            raise ApiFailure(422, {"error": "InvalidValue", "description":
                                   "Too recent start_time. Use a start_time older than 1 minute"})
        served = sorted((u for u in self.updates if start <= u["timestamp"] <= newest),
                        key=lambda u: (u["timestamp"], u["id"]))
        page = served[:self.page_size]
        end_time = page[-1]["timestamp"] if page else start
        return json_response({
            "ticket_events": page, "count": len(page), "end_time": end_time,
            "end_of_stream": len(served) <= self.page_size,
            "next_page": f"{request.host_url}api/v2/incremental/ticket_events.json?start_time={end_time}"})

    def show_many(self, request):
        try:
            ids = [int(i) for i in request.args.get("ids", "").split(",") if i.strip()]
        except ValueError:
            raise ApiFailure(400, {"error": "InvalidValue", "description": "ids"})
        if len(ids) > SHOW_MANY_LIMIT:
            raise ApiFailure(400, {"error": "InvalidValue",
                                   "description": f"at most {SHOW_MANY_LIMIT} ids"})
        found = [self.sandbox.tickets[i] for i in ids if i in self.sandbox.tickets]
        return json_response({"tickets": found, "next_page": None, "previous_page": None,
                              "count": len(found)})

    def ctl_config(self, request):
        body = request.get_json(force=True) or {}
        with self.sandbox.lock:
            if "recent_seconds" in body:
                self.recent_seconds = int(body["recent_seconds"])
            if "page_size" in body:
                self.page_size = max(1, int(body["page_size"]))
        return json_response({"ok": True})
