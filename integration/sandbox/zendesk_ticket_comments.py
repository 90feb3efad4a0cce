"""The Zendesk sandbox's ticket updates that add a comment: `PUT /api/v2/tickets/{id}` with
`{"ticket": {"comment": {"body", "public"}}}` (an internal note when `public` is false).

As Zendesk: 404 `RecordNotFound` for no such ticket, 422 `RecordInvalid` for a blank comment,
200 with the ticket and the audit of the change.
"""
from __future__ import annotations

import itertools

from integration.sandbox.base import ApiFailure, json_response

API = "/api/v2"


class TicketComments:
    def __init__(self, sandbox):
        self.sb = sandbox
        r = sandbox.route
        r(f"{API}/tickets/<int:ticket_id>", ["PUT"], self.update)
        r("/_sandbox/tickets/<int:ticket_id>/comments", ["GET"], self.ctl_comments, control=True)
        self.reset()

    def reset(self) -> None:
        self.comments: dict[int, list[dict]] = {}
        self._ids = itertools.count(9_000_001)

    def update(self, request, ticket_id):
        body = request.get_json(silent=True)
        ticket_body = body.get("ticket") if isinstance(body, dict) else None
        if not isinstance(ticket_body, dict):
            raise ApiFailure(400, {"error": "InvalidEndpoint", "description": "Parameter ticket is required"})
        with self.sb.lock:
            ticket = self.sb.tickets.get(ticket_id)
            if ticket is None:
                raise ApiFailure(404, {"error": "RecordNotFound", "description": "Not found"})
            comment = ticket_body.get("comment")
            events = []
            if comment is not None:
                text = (comment or {}).get("body") or (comment or {}).get("html_body")
                if not isinstance(text, str) or not text.strip():
                    raise ApiFailure(422, {"error": "RecordInvalid", "description": "Record validation errors",
                                           "details": {"base": [{"description": "Comment: cannot be blank",
                                                                 "error": "BlankValue"}]}})
                row = {"id": next(self._ids), "type": "Comment", "body": text,
                       "public": comment.get("public", True) is not False, "created_at": self.sb._now()}
                self.comments.setdefault(ticket_id, []).append(row)
                events.append(row)
            ticket["updated_at"] = self.sb._now()
            return json_response({"ticket": ticket, "audit": {"id": next(self._ids), "ticket_id": ticket_id,
                                                              "events": events}})

    def ctl_comments(self, request, ticket_id):
        with self.sb.lock:
            return json_response({"comments": list(self.comments.get(ticket_id, []))})
