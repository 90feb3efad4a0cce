"""The Zendesk sandbox's ticket endpoints for erasure, and the limits around deleting people.

- `GET /users/{id}/tickets/requested`: the user's tickets (List Tickets), offset pagination by
  default (`page`, `per_page`; `next_page`, `previous_page`, `count`), cursor pagination with
  `page[size]` (`page[after]`; `meta.has_more`, `meta.after_cursor`, `links.next`), 100 at most.
- `DELETE /tickets/destroy_many?ids=` (Bulk Delete Tickets) and
  `DELETE /deleted_tickets/destroy_many?ids=` (Delete Multiple Tickets Permanently): up to 100
  ids, answered with a job status; only soft-deleted tickets can be deleted permanently.
- `DELETE /users/{id}` of an end user who requests a ticket that is not closed: refused with 422
  ("Deleting end users"; Zendesk does not document that refusal's body: this one has the shape of
  its other validation errors).
- `DELETE /deleted_users/{id}`: "700 users every 10 minutes" (Permanently Delete User), scaled
  down by `/_sandbox/config` (`permanent_deletion_limit`, `permanent_deletion_window_seconds`).
  Over it a 429 with `Retry-After`, while the account's `X-Rate-Limit-Remaining` stays above zero,
  and an endpoint header in the form Zendesk documents for its endpoint limits
  (`zendesk-ratelimit-<endpoint>: total=N; remaining=M; resets=S`; the name for this endpoint is
  ours, Zendesk documents only the form).
- `GET /_sandbox/tickets`: the tickets, the soft-deleted and the purged ones.
"""
from __future__ import annotations

import base64
import collections
import math
import secrets
import time

from integration.sandbox.base import ApiFailure, json_response

API = "/api/v2"
PURGE_LIMIT, PURGE_WINDOW_SECONDS = 700, 600
PURGE_HEADER = "zendesk-ratelimit-permanent-user-deletion"
BULK_MAX = 100
PAGE_MAX = 100


class TicketDeletion:
    def __init__(self, sandbox):
        self.sb = sandbox
        r = sandbox.route
        r(f"{API}/users/<int:user_id>/tickets/requested", ["GET"], self.requested)
        r(f"{API}/tickets/destroy_many", ["DELETE"], self.destroy_many)
        r(f"{API}/deleted_tickets/destroy_many", ["DELETE"], self.destroy_deleted_many)
        r("/_sandbox/tickets", ["GET"], self.ctl_tickets, control=True)
        self.reset()

    def reset(self) -> None:
        self.deleted: dict[int, dict] = {}
        self.purged: set[int] = set()
        self.purge_limit, self.purge_window = PURGE_LIMIT, float(PURGE_WINDOW_SECONDS)
        self._purges: collections.deque[float] = collections.deque()

    def configure(self, body: dict) -> None:
        if "permanent_deletion_limit" in body:
            self.purge_limit = int(body["permanent_deletion_limit"])
            self._purges.clear()
        if "permanent_deletion_window_seconds" in body:
            self.purge_window = float(body["permanent_deletion_window_seconds"])
            self._purges.clear()

    # the limits around deleting a user (called by the sandbox's own user routes, under its lock)
    def refuse_deletion(self, user_id: int) -> None:
        """422 while the user requests a ticket that is not closed."""
        held = [t["id"] for t in self.sb.tickets.values()
                if t["requester_id"] == user_id and t["status"] != "closed"]
        if held:
            self.sb.stats["deletion_refused"] += 1
            raise ApiFailure(422, {"error": "RecordInvalid", "description": "Record validation errors",
                                   "details": {"base": [{
                                       "description": "User is the requester on tickets that are not "
                                                      "closed and cannot be deleted",
                                       "error": "InvalidValue"}]}})

    def take_purge(self, request) -> None:
        """Count one permanent deletion against its own limit; 429 past it."""
        now = time.monotonic()
        while self._purges and now - self._purges[0] >= self.purge_window:
            self._purges.popleft()
        resets = max(1, math.ceil(self.purge_window - (now - self._purges[0]))) if self._purges else \
            math.ceil(self.purge_window)
        if len(self._purges) >= self.purge_limit:
            self.sb.stats["purge_rate_limited"] += 1
            raise ApiFailure(429, {"error": "TooManyRequests",
                                   "description": "Permanent user deletion rate limit exceeded"},
                             {"Retry-After": str(resets), PURGE_HEADER: self._header(0, resets)})
        self._purges.append(now)
        self.sb.stats["purges"] += 1
        budget = request.environ.setdefault("sandbox.budget", {})
        budget[PURGE_HEADER] = self._header(self.purge_limit - len(self._purges), resets)

    def _header(self, remaining: int, resets: int) -> str:
        return f"total={self.purge_limit}; remaining={max(0, remaining)}; resets={resets}"

    # routes
    def requested(self, request, user_id):
        if user_id not in self.sb.users and user_id not in self.sb.deleted:
            raise ApiFailure(404, {"error": "RecordNotFound", "description": "Not found"})
        mine = sorted((t for t in self.sb.tickets.values() if t["requester_id"] == user_id),
                      key=lambda t: t["id"])
        if "page[size]" in request.args or "page[after]" in request.args:
            return self._cursor_page(request, user_id, mine)
        per_page = _number(request.args.get("per_page", PAGE_MAX), 1, PAGE_MAX, "per_page")
        page = _number(request.args.get("page", 1), 1, 10**6, "page")
        chunk = mine[(page - 1) * per_page:page * per_page]
        base = f"{request.host_url}api/v2/users/{user_id}/tickets/requested.json?per_page={per_page}&page="
        return json_response({"tickets": chunk, "count": len(mine),
                              "next_page": base + str(page + 1) if page * per_page < len(mine) else None,
                              "previous_page": base + str(page - 1) if page > 1 else None})

    def _cursor_page(self, request, user_id, mine: list[dict]):
        size = _number(request.args.get("page[size]", PAGE_MAX), 1, PAGE_MAX, "page[size]")
        after = request.args.get("page[after]")
        if after:
            try:
                last = int(base64.urlsafe_b64decode(after.encode()).decode())
            except ValueError:
                raise ApiFailure(400, {"error": "InvalidPaginationParameter",
                                       "description": "page[after] is not a valid cursor"})
            mine = [t for t in mine if t["id"] > last]
        chunk, more = mine[:size], len(mine) > size
        cursor = base64.urlsafe_b64encode(str(chunk[-1]["id"]).encode()).decode() if chunk else None
        first = base64.urlsafe_b64encode(str(chunk[0]["id"] - 1).encode()).decode() if chunk else None
        base = f"{request.host_url}api/v2/users/{user_id}/tickets/requested.json?page%5Bsize%5D={size}"
        return json_response({"tickets": chunk,
                              "meta": {"has_more": more, "after_cursor": cursor, "before_cursor": first},
                              "links": {"next": f"{base}&page%5Bafter%5D={cursor}" if more else None,
                                        "prev": None}})

    def destroy_many(self, request):
        ids = _ids(request)
        results = []
        for ticket_id in ids:
            ticket = self.sb.tickets.pop(ticket_id, None)
            if ticket is None:
                results.append(_failed(ticket_id, "destroy"))
                continue
            self.deleted[ticket_id] = dict(ticket, status="deleted")
            results.append(_done(ticket_id, "destroy", "Deleted"))
        return self._job(request, "bulk_delete_tickets", results)

    def destroy_deleted_many(self, request):
        ids = _ids(request)
        results = []
        for ticket_id in ids:
            if self.deleted.pop(ticket_id, None) is None:
                results.append(_failed(ticket_id, "permanently_destroy"))
                continue
            self.purged.add(ticket_id)
            results.append(_done(ticket_id, "permanently_destroy", "Deleted"))
        return self._job(request, "bulk_permanently_delete_tickets", results)

    def _job(self, request, job_type: str, results: list[dict]):
        """A job status, done at once; the sandbox's job view shows it working at the first poll."""
        job_id = secrets.token_hex(10)
        url = f"{request.host_url}api/v2/job_statuses/{job_id}.json"
        self.sb.jobs[job_id] = {"id": job_id, "job_type": job_type, "url": url, "status": "completed",
                                "total": len(results), "progress": len(results), "message": None,
                                "results": results, "_polls": 0, "_at": time.monotonic()}
        self.sb.stats[f"jobs:{job_type}"] += 1
        return json_response({"job_status": {"id": job_id, "job_type": job_type, "url": url,
                                             "status": "queued", "total": None, "progress": None,
                                             "message": None, "results": None}})

    def ctl_tickets(self, request):
        with self.sb.lock:
            return json_response({"tickets": list(self.sb.tickets.values()),
                                  "deleted": list(self.deleted.values()), "purged": sorted(self.purged)})


def _ids(request) -> list[int]:
    raw = [i.strip() for i in request.args.get("ids", "").split(",") if i.strip()]
    if not raw or not all(i.isdigit() for i in raw):
        raise ApiFailure(400, {"error": "InvalidValue", "description": "ids: a comma-separated list of ticket ids"})
    if len(raw) > BULK_MAX:
        raise ApiFailure(400, {"error": "InvalidValue", "description": f"ids: at most {BULK_MAX}"})
    return [int(i) for i in raw]


def _number(value, lo: int, hi: int, name: str) -> int:
    try:
        return min(max(int(value), lo), hi)
    except (TypeError, ValueError):
        raise ApiFailure(400, {"error": "InvalidValue", "description": f"{name}: a number"})


def _done(ticket_id: int, action: str, status: str) -> dict:
    return {"id": ticket_id, "action": action, "status": status, "success": True}


def _failed(ticket_id: int, action: str) -> dict:
    return {"id": ticket_id, "action": action, "success": False, "error": "RecordNotFound",
            "details": "Ticket not found"}
