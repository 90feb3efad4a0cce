"""A Zendesk Support API stand-in: end users, deletion, merges, user fields, bulk jobs, exports."""
from __future__ import annotations

import base64
import collections
import itertools
import json
import re
import math
import secrets
import threading
import time
import uuid

import requests
from werkzeug.wrappers import Request

from integration.sandbox.base import ApiFailure, SandboxApp, iso_time, json_response
from integration.sandbox.zendesk_oauth import OAuthServer
from integration.sandbox.zendesk_ticket_comments import TicketComments
from integration.sandbox.zendesk_tickets import TicketDeletion
from integration.sandbox.zendesk_ticket_export import TicketHistory
from integration.sandbox.traffic import FORGED_HEADER
from integration.sandbox.zendesk_user_events import UserEvents
from integration.apis.signatures import zendesk_signature

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
API = "/api/v2"
# "at most 30 queued or running jobs per account" (Rate limits, Job limit); over it a 429
JOB_LIMIT = 30
MERGE_TICKET_LIMIT = 10_000  # "must be a requester on 10,000 or fewer tickets" (MergeEndUsers)


def _invalid(field: str, description: str, error: str = "InvalidValue") -> ApiFailure:
    return ApiFailure(422, {"error": "RecordInvalid", "description": "Record validation errors",
                            "details": {field: [{"description": description, "error": error}]}})


def _missing(kind: str = "RecordNotFound") -> ApiFailure:
    return ApiFailure(404, {"error": kind, "description": "Not found"})


class ZendeskSandbox(SandboxApp):
    name = "zendesk"

    def __init__(self, email: str = "agent@example.com", api_token: str = "sandbox-token",
                 oauth_token: str | None = None, rate_per_minute: int | None = None,
                 bulk_imports: bool = True, webhook_secret: str | None = None,
                 client_id: str | None = None, client_secret: str | None = None,
                 token_lifetime: float | None = None):
        self.email, self.api_token, self.oauth_token = email, api_token, oauth_token
        # the client credentials grant of a confidential OAuth client (zendesk_oauth.py)
        self.oauth = OAuthServer(client_id, client_secret, max_lifetime=token_lifetime)
        # signing secret of every webhook created here (random per webhook when None)
        self.webhook_secret = webhook_secret
        self._bulk_imports_default = bulk_imports
        super().__init__(rate_per_minute)
        r = self.route
        r(f"{API}/users/me", ["GET"], self.me)
        r(f"{API}/users/create_or_update", ["POST"], self.create_or_update)
        r(f"{API}/users/create_or_update_many", ["POST"], self.create_or_update_many)
        r(f"{API}/job_statuses/show_many", ["GET"], self.job_statuses_many)
        r(f"{API}/job_statuses/<job_id>", ["GET"], self.job_status)
        r(f"{API}/users/search", ["GET"], self.search)
        r(f"{API}/users/show_many", ["GET"], self.show_many)
        r(f"{API}/users/<int:user_id>", ["GET"], self.get_user)
        r(f"{API}/users/<int:user_id>", ["PUT"], self.put_user)
        r(f"{API}/users/<int:user_id>", ["DELETE"], self.delete_user)
        r(f"{API}/deleted_users/<int:user_id>", ["DELETE"], self.purge_user)
        r(f"{API}/users/<int:user_id>/merge", ["PUT"], self.merge)
        r(f"{API}/users/<int:user_id>/identities", ["GET"], self.identities)
        r(f"{API}/users/<int:user_id>/identities/<int:identity_id>/make_primary", ["PUT"],
          self.make_primary)
        r(f"{API}/users/<int:user_id>/identities/<int:identity_id>", ["DELETE"], self.delete_identity)
        r(f"{API}/user_fields", ["GET"], self.list_fields)
        r(f"{API}/user_fields", ["POST"], self.create_field)
        r(f"{API}/incremental/users/cursor", ["GET"], self.incremental)
        r(f"{API}/tickets/<int:ticket_id>", ["GET"], self.get_ticket)
        r(f"{API}/webhooks", ["GET"], self.list_webhooks)
        r(f"{API}/webhooks", ["POST"], self.create_webhook)
        r(f"{API}/webhooks/<webhook_id>", ["PATCH"], self.patch_webhook)
        r(f"{API}/webhooks/<webhook_id>", ["DELETE"], self.delete_webhook)
        r(f"{API}/webhooks/<webhook_id>/signing_secret", ["GET"], self.signing_secret)
        r(f"{API}/oauth/tokens/current", ["GET"], self.current_token)
        r("/oauth/tokens", ["POST"], self.oauth_grant, control=True)  # no API auth, as Zendesk
        r("/_sandbox/oauth/revoke", ["POST"], self.ctl_revoke_tokens, control=True)
        r("/_sandbox/oauth/tokens", ["GET"], self.ctl_tokens, control=True)
        r("/_sandbox/users", ["GET"], self.ctl_users, control=True)
        r("/_sandbox/users", ["POST"], self.ctl_add_user, control=True)
        r("/_sandbox/user_updates", ["GET"], self.ctl_user_updates, control=True)
        r("/_sandbox/users/<int:user_id>", ["PUT"], self.ctl_edit_user, control=True)
        r("/_sandbox/tickets", ["POST"], self.ctl_add_ticket, control=True)
        r("/_sandbox/tickets/<int:ticket_id>/events", ["POST"], self.ctl_ticket_event, control=True)
        self.user_events = UserEvents(self)  # user events to subscribed webhooks (its own module)
        self.ticket_deletion = TicketDeletion(self)  # tickets for erasure, deletion limits (its own module)
        self.ticket_history = TicketHistory(self)  # the ticket event export (its own module)
        self.ticket_comments = TicketComments(self)  # comments and internal notes (its own module)

    def reset(self) -> None:
        super().reset()
        self.oauth.reset()
        if hasattr(self, "user_events"):
            self.user_events.reset()
        if hasattr(self, "ticket_comments"):
            self.ticket_comments.reset()
        if hasattr(self, "ticket_deletion"):
            self.ticket_deletion.reset()
        if hasattr(self, "ticket_history"):
            self.ticket_history.reset()
        self.bulk_imports = self._bulk_imports_default
        self.export_rate_per_minute = 10  # Zendesk's own limit on incremental exports
        self.users: dict[int, dict] = {}
        self.deleted: dict[int, dict] = {}
        self.purged: set[int] = set()
        self.merged_into: dict[int, int] = {}
        self.identities_by_user: dict[int, list[dict]] = {}
        self._by_external: dict[str, set[int]] = {}  # lowercased external_id -> user ids
        self._by_email: dict[str, set[int]] = {}  # lowercased email -> ids of users that had it
        self.fields: list[dict] = []
        self.jobs: dict[str, dict] = {}
        self.tickets: dict[int, dict] = {}
        self.webhooks: dict[str, dict] = {}
        self._export_calls: collections.deque[float] = collections.deque()
        self._ids = itertools.count(36_000_000_001)
        self.merge_ticket_limit = MERGE_TICKET_LIMIT
        self._identity_ids = itertools.count(5_000_001)
        self.bulk_job_seconds: float | None = None  # None: done by the second poll
        self.job_limit = JOB_LIMIT
        self.other_jobs = 0  # jobs another integration holds queued or running on the account
        self.other_consumer_per_minute = 0
        self._other_generation = getattr(self, "_other_generation", 0) + 1

    def _ctl_config(self, request):
        """Also `bulk_imports` (false: 403 "Data imports are not enabled"),
        `export_rate_per_minute` (the incremental export's own limit), `merge_ticket_limit`
        (to meet the merge refusal without 10,000 tickets), `bulk_job_seconds` (a job's time from
        queued to completed), `job_limit` (30) and `other_jobs` (jobs someone else holds queued or
        running: a job over the limit is refused with 429 TooManyJobs); the permanent deletion
        limit's keys are zendesk_tickets.py's."""
        body = request.get_json(force=True) or {}
        with self.lock:
            if "bulk_imports" in body:
                self.bulk_imports = bool(body["bulk_imports"])
            if "export_rate_per_minute" in body:
                self.export_rate_per_minute = body["export_rate_per_minute"]
            if "merge_ticket_limit" in body:
                self.merge_ticket_limit = int(body["merge_ticket_limit"])
            self.oauth.configure(body)
            self.ticket_deletion.configure(body)
            if "bulk_job_seconds" in body:
                self.bulk_job_seconds = body["bulk_job_seconds"]
            for key in ("job_limit", "other_jobs"):
                if key in body:
                    setattr(self, key, int(body[key]))
            if "other_consumer_per_minute" in body:
                self._start_other_consumer(int(body["other_consumer_per_minute"] or 0))
        return super()._ctl_config(request)

    # the account's budget, which others spend too
    def rate_headers(self) -> dict:
        """Zendesk's account-wide budget headers, on every response (the older `X-Rate-Limit`
        pair and the newer `ratelimit-*` trio; `ratelimit-reset`: seconds until the window frees
        a slot)."""
        if not self.rate_per_minute:
            return {}
        remaining = max(0, self.rate_per_minute - len(self._window))
        reset = max(1, math.ceil(60 - (time.monotonic() - self._window[0]))) if self._window else 60
        return {"X-Rate-Limit": str(self.rate_per_minute), "X-Rate-Limit-Remaining": str(remaining),
                "ratelimit-limit": str(self.rate_per_minute), "ratelimit-remaining": str(remaining),
                "ratelimit-reset": str(reset)}

    def _start_other_consumer(self, per_minute: int) -> None:
        """Another integration on the same account, spending `per_minute` of its budget evenly;
        its calls and the 429s it meets are counted apart from ours (`other_calls`,
        `other_rate_limited`)."""
        self.other_consumer_per_minute = per_minute
        self._other_generation += 1
        if per_minute > 0:
            threading.Thread(target=self._other_consumer, args=(self._other_generation,),
                             daemon=True, name="zendesk-other-consumer").start()

    def _other_consumer(self, generation: int) -> None:
        interval = 60.0 / self.other_consumer_per_minute
        due = time.monotonic()
        while self._other_generation == generation:
            with self.lock:
                self.stats["other_calls"] += 1
                if self._rate_limited():
                    self.stats["other_rate_limited"] += 1
            due += interval
            time.sleep(max(0.0, due - time.monotonic()))

    def authorized(self, request: Request) -> bool:
        auth = request.headers.get("Authorization", "")
        self.oauth.clear_why()
        if self.oauth_token and auth == f"Bearer {self.oauth_token}":
            return True
        if auth.startswith("Bearer "):
            with self.lock:
                return self.oauth.valid(auth[7:])
        if auth.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError:
                return False
            return user == f"{self.email}/token" and password == self.api_token
        return False

    def unauthorized(self):
        invalid_token = self.oauth.unauthorized_body()
        if invalid_token:
            with self.lock:
                self.stats["oauth_invalid_token"] += 1
            return json_response(invalid_token, 401)
        return json_response({"error": "Couldn't authenticate you"}, 401)

    # OAuth
    def oauth_grant(self, request):
        body = request.get_json(silent=True) or request.form.to_dict()
        if "expires_in" in body and isinstance(body["expires_in"], str) and body["expires_in"].isdigit():
            body["expires_in"] = int(body["expires_in"])
        with self.lock:
            return json_response(self.oauth.grant(body, self.stats))

    def current_token(self, request):
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.oauth.tokens:
            raise ApiFailure(404, {"error": "RecordNotFound", "description": "Not found"})
        return json_response({"token": self.oauth.describe(auth[7:])})

    def ctl_tokens(self, request):
        """Every token issued since the last reset (tests look for them where they must not be)."""
        with self.lock:
            return json_response({"tokens": list(self.oauth.tokens)})

    def ctl_revoke_tokens(self, request):
        """Revoke every token issued so far, as an admin would in Admin Center."""
        with self.lock:
            return json_response({"revoked": self.oauth.revoke_all()})

    # user records
    def _now(self) -> str:
        return iso_time()

    # Lookups go through indexes (a scan of every user per upsert made a bulk job of 100 take
    # seconds at 20,000 users); an entry is checked against the user before it is believed, so
    # one left behind by a deletion, a merge or an identity removed is harmless.
    def _find_by_external_id(self, external_id: str) -> dict | None:
        wanted = external_id.lower()
        for user_id in self._by_external.get(wanted, ()):
            user = self.users.get(user_id)
            if user is not None and (user.get("external_id") or "").lower() == wanted:
                return user
        return None

    def _find_by_email(self, email: str) -> dict | None:
        wanted = email.lower()
        for user_id in sorted(self._by_email.get(wanted, ())):
            if user_id in self.users and any(i["type"] == "email" and i["value"].lower() == wanted
                                             for i in self.identities_by_user.get(user_id, [])):
                return self.users[user_id]
        return None

    def _add_email_identity(self, user: dict, email: str, primary: bool) -> dict | None:
        identities = self.identities_by_user.setdefault(user["id"], [])
        if any(i["type"] == "email" and i["value"].lower() == email.lower() for i in identities):
            return None
        if primary:
            for i in identities:
                if i["type"] == "email":
                    i["primary"] = False
        self._by_email.setdefault(email.lower(), set()).add(user["id"])
        identities.append({"id": next(self._identity_ids), "user_id": user["id"], "type": "email",
                           "value": email, "primary": primary, "verified": False,
                           "created_at": self._now(), "updated_at": self._now()})
        if primary:
            user["email"] = email
        return identities[-1]

    def _validate(self, data: dict, creating: bool) -> None:
        email = data.get("email")
        if email is not None and not EMAIL_RE.match(email):
            raise _invalid("email", f"Email: {email} is not properly formatted", "InvalidFormat")
        if creating and not data.get("name"):
            raise _invalid("name", "Name: cannot be blank", "BlankValue")
        if data.get("role") not in (None, "end-user", "agent", "admin"):
            raise _invalid("role", "Role: is not valid")

    def _apply(self, user: dict, data: dict, creating: bool = False) -> None:
        previous_external_id = user.get("external_id")
        known = {f["key"] for f in self.fields}
        for key in ("name", "phone", "external_id", "role", "custom_role_id", "notes", "details"):
            if key in data:
                user[key] = data[key]
        if data.get("external_id"):
            self._by_external.setdefault(str(data["external_id"]).lower(), set()).add(user["id"])
        if "tags" in data:
            user["tags"] = sorted(set(data["tags"] or []))
        if "user_fields" in data:
            for key, value in (data["user_fields"] or {}).items():
                if key in known:
                    user["user_fields"][key] = value
        if data.get("email"):
            primary = not any(i["type"] == "email" for i in self.identities_by_user.get(user["id"], []))
            added = self._add_email_identity(user, data["email"], primary)
            if added and not creating:
                self.user_events.identity("created", user, added)
        user["updated_at"] = self._now()
        user["_updated"] = time.time()
        user["_writes"] = user.get("_writes", 0) + 1
        if not creating:
            self.user_events.external_id_changed(user, previous_external_id)

    def _create(self, data: dict, user_id: int | None = None) -> dict:
        self._validate(data, creating=True)
        now = self._now()
        user = {"id": user_id or next(self._ids), "url": None, "name": None, "email": None, "phone": None,
                "external_id": None, "role": "end-user", "custom_role_id": None, "active": True, "tags": [],
                "user_fields": {f["key"]: None for f in self.fields},
                "created_at": now, "updated_at": now}
        self.users[user["id"]] = user
        self.identities_by_user[user["id"]] = []
        self._apply(user, data, creating=True)
        return user

    def _public(self, user: dict) -> dict:
        public = {k: v for k, v in user.items() if not k.startswith("_")}
        public["url"] = f"{self.url}{API}/users/{user['id']}.json"
        return public

    def _upsert(self, data: dict) -> tuple[dict, bool]:
        """Match by external_id, then by email, as Zendesk does."""
        self._validate(data, creating=False)
        user = self._find_by_external_id(data["external_id"]) if data.get("external_id") else None
        email_owner = self._find_by_email(data["email"]) if data.get("email") else None
        if user is None and email_owner is not None:
            if email_owner.get("external_id") and data.get("external_id"):
                raise _invalid("email", f"Email: {data['email']} is already being used by another user",
                               "DuplicateValue")
            user = email_owner
        elif user is not None and email_owner is not None and email_owner["id"] != user["id"]:
            raise _invalid("email", f"Email: {data['email']} is already being used by another user",
                           "DuplicateValue")
        if user is None:
            return self._create(data), True
        self._apply(user, data)
        return user, False

    # routes: users
    def create_or_update(self, request):
        data = (request.get_json(silent=True) or {}).get("user")
        if not isinstance(data, dict):
            raise ApiFailure(400, {"error": "InvalidJSON", "description": "user is required"})
        user, created = self._upsert(data)
        return json_response({"user": self._public(user)}, 201 if created else 200)

    def create_or_update_many(self, request):
        if not self.bulk_imports:
            raise ApiFailure(403, {"error": "Forbidden", "description": "Data imports are not enabled"})
        users = (request.get_json(silent=True) or {}).get("users")
        if not isinstance(users, list) or not users or len(users) > 100:
            raise ApiFailure(400, {"error": "InvalidJSON", "description": "1 to 100 users"})
        running = sum(1 for j in self.jobs.values() if j["status"] != "completed")
        if running + self.other_jobs >= self.job_limit:
            self.stats["job_limited"] += 1
            raise ApiFailure(429, {"error": "TooManyJobs",
                                   "description": f"Number of allowed queued or running jobs "
                                                  f"({self.job_limit}) exceeded"},
                             headers={"Retry-After": "5"})
        job_id = secrets.token_hex(10)
        job = {"id": job_id, "status": "queued", "total": len(users), "progress": 0,
               "results": None, "_users": users, "_polls": 0, "_at": time.monotonic()}
        self.jobs[job_id] = job
        if self.bulk_job_seconds is None:
            self._run_job(job)
        else:  # done in the background, as Zendesk's job queue does
            timer = threading.Timer(self.bulk_job_seconds, self._run_job_locked, args=(job,))
            timer.daemon = True
            timer.start()
        return json_response({"job_status": {"id": job_id, "status": "queued",
                                             "url": f"{request.host_url}api/v2/job_statuses/{job_id}"}})

    def _run_job_locked(self, job: dict) -> None:
        with self.lock:
            self._run_job(job)

    def _run_job(self, job: dict) -> None:
        if job["status"] == "completed":
            return
        results = []
        for index, data in enumerate(job.pop("_users")):
            try:
                user, created = self._upsert(data)
                results.append({"index": index, "id": user["id"], "status": "Created" if created else "Updated",
                                "action": "create" if created else "update",
                                "external_id": user.get("external_id"), "success": True})
            except ApiFailure as exc:
                details = exc.body.get("details", {})
                results.append({"index": index, "status": "Failed", "action": "create_or_update",
                                "external_id": data.get("external_id"), "success": False,
                                "error": "RecordInvalid", "details": _flatten(details)})
        job.update(status="completed", progress=job["total"], results=results)

    def _job_view(self, job_id: str) -> dict | None:
        job = self.jobs.get(job_id)
        if job is None:
            return None
        job["_polls"] += 1
        if self.bulk_job_seconds is None and job["_polls"] == 1:
            # the first poll still sees it working, as a real job would
            return {"id": job_id, "status": "working", "total": job["total"], "progress": 0,
                    "results": None}
        if job["status"] == "queued" and time.monotonic() - job["_at"] >= (self.bulk_job_seconds or 0) / 3:
            return {"id": job_id, "status": "working", "total": job["total"], "progress": 0,
                    "results": None}
        return {k: v for k, v in job.items() if not k.startswith("_")}

    def job_status(self, request, job_id):
        view = self._job_view(job_id)
        if view is None:
            raise _missing()
        return json_response({"job_status": view})

    def job_statuses_many(self, request):
        ids = [i for i in request.args.get("ids", "").split(",") if i]
        views = [v for v in (self._job_view(i) for i in ids) if v is not None]
        return json_response({"job_statuses": views})

    def search(self, request):
        if "external_id" in request.args:
            user = self._find_by_external_id(request.args["external_id"])
            found = [user] if user else []
        else:
            # `email:value` or, as a quoted phrase, `email:"value"`
            match = re.match(r'^email:"?([^"]+)"?$', request.args.get("query", "").strip())
            user = self._find_by_email(match.group(1)) if match else None
            found = [user] if user else []
        return json_response({"users": [self._public(u) for u in found], "count": len(found),
                              "next_page": None, "previous_page": None})

    def show_many(self, request):
        if "ids" in request.args:
            wanted = [int(i) for i in request.args["ids"].split(",") if i.strip().isdigit()]
            found = [self.users[i] for i in wanted if i in self.users]
        else:
            found = [u for e in request.args.get("external_ids", "").split(",") if e
                     for u in [self._find_by_external_id(e)] if u]
        return json_response({"users": [self._public(u) for u in found]})

    def _user(self, user_id: int) -> dict:
        user = self.users.get(user_id)
        if user is None:
            raise _missing()
        return user

    def get_user(self, request, user_id):
        return json_response({"user": self._public(self._user(user_id))})

    def put_user(self, request, user_id):
        user = self._user(user_id)
        data = (request.get_json(silent=True) or {}).get("user") or {}
        self._validate(data, creating=False)
        if data.get("external_id"):
            other = self._find_by_external_id(data["external_id"])
            if other and other["id"] != user_id:
                raise _invalid("external_id", "External ID: has already been taken", "DuplicateValue")
        if data.get("email"):
            owner = self._find_by_email(data["email"])
            if owner and owner["id"] != user_id:
                raise _invalid("email", f"Email: {data['email']} is already being used by another user",
                               "DuplicateValue")
        self._apply(user, data)
        return json_response({"user": self._public(user)})

    def delete_user(self, request, user_id):
        user = self._user(user_id)
        self.ticket_deletion.refuse_deletion(user_id)
        del self.users[user_id]
        user.update(active=False, updated_at=self._now(), _updated=time.time())
        self.deleted[user_id] = user
        self.user_events.deleted(user)
        return json_response({"user": self._public(user)})

    def purge_user(self, request, user_id):
        self.ticket_deletion.take_purge(request)
        if user_id in self.purged:  # a community report of a real account's answer, not in the docs
            raise _invalid("user_id", "User Only one deletion request needed per user", "DuplicateValue")
        if user_id not in self.deleted:
            raise _missing()
        user = self.deleted.pop(user_id)
        self.identities_by_user.pop(user_id, None)
        self.purged.add(user_id)
        # the deleted user as Zendesk's PermanentlyDeleteUser answers it
        shown = {k: user.get(k) for k in ("id", "name", "email", "phone", "role", "created_at", "updated_at")}
        return json_response({"deleted_user": dict(
            shown, url=f"{self.url}{API}/deleted_users/{user_id}.json", active=False,
            time_zone="UTC", locale="en-US", locale_id=1, organization_id=None,
            shared_phone_number=None, photo=None)})

    def merge(self, request, user_id):
        source = self._user(user_id)
        target_id = ((request.get_json(silent=True) or {}).get("user") or {}).get("id")
        target = self.users.get(int(target_id)) if str(target_id).isdigit() else None
        if target is None or target["id"] == user_id:
            raise _invalid("user", "Target user is not valid")
        if source.get("role") != "end-user" or target.get("role") != "end-user":
            raise ApiFailure(403, {"error": "Forbidden", "description": "Only end users can be merged"})
        requested = sum(1 for t in self.tickets.values() if t["requester_id"] == user_id)
        if requested > self.merge_ticket_limit:
            raise _invalid("user", f"User is a requester on more than {self.merge_ticket_limit} tickets "
                                   "and cannot be merged", "MergeBlocked")
        for identity in self.identities_by_user.pop(user_id, []):
            identity.update(user_id=target["id"], primary=False)
            self.identities_by_user.setdefault(target["id"], []).append(identity)
            if identity["type"] == "email":
                self._by_email.setdefault(identity["value"].lower(), set()).add(target["id"])
        for ticket in self.tickets.values():
            if ticket["requester_id"] == user_id:
                ticket["requester_id"] = target["id"]
        del self.users[user_id]
        self.merged_into[user_id] = target["id"]
        target["updated_at"], target["_updated"] = self._now(), time.time()
        self.user_events.merged(source, target)
        return json_response({"user": self._public(target)})

    def identities(self, request, user_id):
        self._user(user_id)
        return json_response({"identities": self.identities_by_user.get(user_id, [])})

    def make_primary(self, request, user_id, identity_id):
        user = self._user(user_id)
        identities = self.identities_by_user.get(user_id, [])
        chosen = next((i for i in identities if i["id"] == identity_id), None)
        if chosen is None:
            raise _missing()
        before = dict(chosen)
        for i in identities:
            if i["type"] == chosen["type"]:
                i["primary"] = i["id"] == identity_id
        if chosen["type"] == "email":
            user["email"] = chosen["value"]
        user["updated_at"], user["_updated"] = self._now(), time.time()
        self.user_events.identity("changed", user, chosen, before)
        return json_response({"identities": identities})

    def delete_identity(self, request, user_id, identity_id):
        user = self._user(user_id)
        identities = self.identities_by_user.get(user_id, [])
        chosen = next((i for i in identities if i["id"] == identity_id), None)
        if chosen is None:
            raise _missing()
        identities.remove(chosen)
        if chosen["type"] == "email" and chosen["primary"]:
            rest = [i for i in identities if i["type"] == "email"]
            user["email"] = rest[0]["value"] if rest else None
            if rest:
                rest[0]["primary"] = True
        self.user_events.identity("deleted", user, chosen)
        return json_response(None, 204)

    def me(self, request):
        """The signed-in agent: the account's admin, as the API token's owner."""
        return json_response({"user": {"id": 1, "name": "Sandbox Admin", "email": self.email,
                                       "role": "admin", "active": True, "verified": True}})

    # user fields
    def list_fields(self, request):
        return json_response({"user_fields": self.fields, "next_page": None, "count": len(self.fields)})

    def create_field(self, request):
        data = (request.get_json(silent=True) or {}).get("user_field") or {}
        if not data.get("key") or not data.get("title"):
            raise _invalid("key", "Key: cannot be blank", "BlankValue")
        if any(f["key"] == data["key"] for f in self.fields):
            raise _invalid("key", "Key: has already been taken", "DuplicateValue")
        field = {"id": len(self.fields) + 1, "key": data["key"], "title": data["title"],
                 "type": data.get("type", "text"), "active": True}
        self.fields.append(field)
        for user in self.users.values():
            user["user_fields"].setdefault(field["key"], None)
        return json_response({"user_field": field}, 201)

    # incremental export: users ordered by (update time, id); the cursor is the last position read
    def take_export_slot(self) -> None:
        """The incremental exports' own limit, shared by every export endpoint."""
        self._export_calls.append(time.monotonic())
        while self._export_calls and time.monotonic() - self._export_calls[0] >= 60:
            self._export_calls.popleft()
        if self.export_rate_per_minute and len(self._export_calls) > self.export_rate_per_minute:
            self._export_calls.pop()
            self.stats["export_rate_limited"] += 1
            wait = max(1, int(60 - (time.monotonic() - self._export_calls[0])) + 1)
            raise ApiFailure(429, {"error": "TooManyRequests",
                                   "description": "Incremental export rate limit exceeded"},
                             {"Retry-After": str(wait), "zendesk-ratelimit-incremental-exports":
                              f"total={self.export_rate_per_minute}; remaining=0; resets={wait}"})
        self.stats["export_calls"] += 1

    def incremental(self, request):
        self.take_export_slot()
        try:
            per_page = min(max(int(request.args.get("per_page", 1000)), 1), 1000)
        except ValueError:
            raise ApiFailure(400, {"error": "InvalidValue", "description": "per_page"})
        if "cursor" in request.args:
            try:
                ts, last_id = base64.urlsafe_b64decode(request.args["cursor"].encode()).decode().split("|")
                position = (float(ts), int(last_id))
            except ValueError:
                raise ApiFailure(400, {"error": "InvalidCursor"})
        else:
            try:
                position = (float(request.args["start_time"]), -1)
            except (KeyError, ValueError):
                raise ApiFailure(400, {"error": "InvalidValue", "description": "start_time is required"})
        every = sorted(list(self.users.values()) + list(self.deleted.values()),
                       key=lambda u: (u.get("_updated", 0), u["id"]))
        changed = [u for u in every if (u.get("_updated", 0), u["id"]) > position]
        page = changed[:per_page]
        end = len(changed) <= per_page
        if page:
            position = (page[-1].get("_updated", 0), page[-1]["id"])
        cursor = base64.urlsafe_b64encode(f"{position[0]!r}|{position[1]}".encode()).decode()
        after_url = f"{request.host_url}api/v2/incremental/users/cursor?cursor={cursor}"
        return json_response({"users": [self._public(u) for u in page], "after_cursor": cursor,
                              "after_url": after_url, "before_cursor": None, "before_url": None,
                              "end_of_stream": end})

    def get_ticket(self, request, ticket_id):
        ticket = self.tickets.get(ticket_id)
        if ticket is None:
            raise _missing()
        answer = json_response({"ticket": ticket})
        if not isinstance(ticket["requester_id"], int):  # a hostile test's: Zendesk's ids are integers
            answer.headers[FORGED_HEADER] = "1"
        return answer

    # webhooks
    def list_webhooks(self, request):
        return json_response({"webhooks": list(self.webhooks.values()), "meta": {"has_more": False}})

    def create_webhook(self, request):
        data = (request.get_json(silent=True) or {}).get("webhook") or {}
        for key in ("name", "endpoint", "http_method", "request_format", "status"):
            if not data.get(key):
                raise ApiFailure(400, {"errors": [{"code": "InvalidInput", "title": f"{key} is required"}]})
        webhook_id = "01" + secrets.token_hex(12).upper()
        given = (data.pop("signing_secret", None) or {}).get("secret")  # only when creating
        hook = dict(data, id=webhook_id, created_at=self._now(),
                    _secret=given or self.webhook_secret or base64.b64encode(secrets.token_bytes(32)).decode())
        self.webhooks[webhook_id] = hook
        return json_response({"webhook": {k: v for k, v in hook.items() if not k.startswith("_")}}, 201)

    def patch_webhook(self, request, webhook_id):
        if webhook_id not in self.webhooks:
            raise _missing()
        self.webhooks[webhook_id].update((request.get_json(silent=True) or {}).get("webhook") or {})
        return json_response(None, 204)

    def delete_webhook(self, request, webhook_id):
        if self.webhooks.pop(webhook_id, None) is None:
            raise _missing()
        return json_response(None, 204)

    def signing_secret(self, request, webhook_id):
        hook = self.webhooks.get(webhook_id)
        if hook is None:
            raise _missing()
        return json_response({"signing_secret": {"algorithm": "SHA256", "secret": hook["_secret"]}})

    # control routes, for tests and the demo

    def ctl_users(self, request):
        with self.lock:
            return json_response({"users": [self._public(u) for u in self.users.values()],
                                  "deleted": [self._public(u) for u in self.deleted.values()],
                                  "purged": sorted(self.purged),
                                  "merged_into": {str(k): v for k, v in self.merged_into.items()}})

    def ctl_user_updates(self, request):
        """When each user was last written (epoch seconds, this host's clock), by external_id;
        `?external_id=` narrows it to one. The benchmarks time end-to-end latency with it.
        `writes`: how many times each user was created or updated, by user id."""
        wanted = request.args.get("external_id")
        with self.lock:
            times = {u["external_id"]: u["_updated"] for u in self.users.values()
                     if u.get("external_id") and (wanted is None or u["external_id"] == wanted)}
            writes = {str(u["id"]): u.get("_writes", 0) for u in self.users.values()}
        return json_response({"updated": times, "writes": writes})

    def ctl_add_user(self, request):
        """A user made by hand or by a ticket, outside the sync; `id` picks its id (tests)."""
        data = dict(request.get_json(force=True))
        wanted = data.pop("id", None)
        with self.lock:
            if wanted is not None and (not isinstance(wanted, int) or wanted in self.users):
                return json_response({"error": "InvalidValue", "description": "id taken or not a number"}, 422)
            user = self._create(data, wanted)
            return json_response({"user": self._public(user)}, 201)

    def ctl_edit_user(self, request, user_id):
        """An agent edits a user by hand in Zendesk (no API budget spent, no sync involved)."""
        with self.lock:
            user = self.users.get(user_id)
            if user is None:
                return json_response({"error": "RecordNotFound"}, 404)
            data = request.get_json(force=True) or {}
            if "email" in data:  # a hand edit replaces the primary address
                for identity in self.identities_by_user.get(user_id, []):
                    identity["primary"] = False
                added = self._add_email_identity(user, data.pop("email"), primary=True)
                if added:
                    self.user_events.identity("created", user, added)
            self._apply(user, data)
            return json_response({"user": self._public(user)})

    def ctl_add_ticket(self, request):
        data = request.get_json(force=True)
        with self.lock:
            ticket_id = data.get("id") or (max(self.tickets, default=100) + 1)
            ticket = {"id": ticket_id, "url": f"{request.host_url}api/v2/tickets/{ticket_id}.json",
                      "subject": data.get("subject", ""), "description": data.get("description", ""),
                      "status": data.get("status", "new"), "priority": None, "type": None,
                      "requester_id": data["requester_id"], "submitter_id": data["requester_id"],
                      "assignee_id": None, "tags": [], "via": {"channel": "web"},
                      "satisfaction_rating": None, "created_at": self._now(),
                      "updated_at": self._now()}
            self.tickets[ticket_id] = ticket
            self.ticket_history.created(ticket)
            return json_response({"ticket": ticket}, 201)

    # ticket events, sent to event-subscribed webhooks as Zendesk sends them
    def ctl_ticket_event(self, request, ticket_id):
        """Make something happen to a ticket and deliver the event, signed, to every active webhook
        subscribed to it. Body: {"type": "ticket.created" | "ticket.status_changed" (with "status")
        | "ticket.csat_received" (with "score": good|bad) | "ticket.comment_added",
        "times": how often to deliver it (Zendesk may deliver an event more than once)}.
        Answers the event and each delivery's HTTP status."""
        data = request.get_json(force=True) or {}
        kind = str(data.get("type", "")).removeprefix("zen:event-type:")
        with self.lock:
            ticket = self.tickets.get(ticket_id)
            if ticket is None:
                return json_response({"error": "RecordNotFound"}, 404)
            inner = self._apply_ticket_event(ticket, kind, data)
            at = ticket["created_at"] if kind == "ticket.created" else self._now()
            self.ticket_history.changed(ticket, kind, inner, at)
            event = {"type": f"zen:event-type:{kind}", "account_id": 1, "id": str(uuid.uuid4()),
                     "time": at, "zendesk_event_version": "2022-11-06",
                     "subject": f"zen:ticket:{ticket_id}", "detail": _ticket_detail(ticket),
                     "event": inner}
            hooks = [dict(h) for h in self.webhooks.values()
                     if h.get("status", "active") == "active" and event["type"] in (h.get("subscriptions") or [])]
        raw = json.dumps(event).encode()
        deliveries = [self._deliver(hook, raw) for hook in hooks for _ in range(int(data.get("times", 1)))]
        return json_response({"event": event, "deliveries": deliveries})

    def _apply_ticket_event(self, ticket: dict, kind: str, data: dict) -> dict:
        ticket["updated_at"] = self._now()
        if kind == "ticket.created":
            return {"meta": {"sequence": {"id": uuid.uuid4().hex, "position": 1, "total": 1}}}
        if kind == "ticket.status_changed":
            previous, ticket["status"] = ticket["status"], str(data.get("status", "solved")).lower()
            return {"previous": previous.upper(), "current": ticket["status"].upper()}
        if kind == "ticket.csat_received":
            score = str(data.get("score", "good")).lower()
            ticket["satisfaction_rating"] = {"id": next(self._identity_ids), "score": score}
            return {"satisfaction_score": {"id": ticket["satisfaction_rating"]["id"], "score": score}}
        if kind == "ticket.comment_added":
            return {"comment": {"id": str(next(self._identity_ids)), "body": data.get("body", ""),
                                "is_public": True}}
        raise ApiFailure(400, {"error": "InvalidValue", "description": f"unknown ticket event {kind}"})

    def _deliver(self, hook: dict, raw: bytes) -> dict:
        stamp = self._now()
        headers = {"Content-Type": "application/json", "User-Agent": "Zendesk Webhook",
                   "X-Zendesk-Webhook-Id": hook["id"],
                   "X-Zendesk-Webhook-Invocation-Id": str(secrets.randbelow(10**12)),
                   "X-Zendesk-Webhook-Signature": zendesk_signature(hook["_secret"], stamp, raw),
                   "X-Zendesk-Webhook-Signature-Timestamp": stamp}
        try:
            status = requests.post(hook["endpoint"], data=raw, headers=headers, timeout=10).status_code
        except requests.RequestException as exc:
            status = type(exc).__name__
        with self.lock:
            self.stats["webhook_deliveries"] += 1
        return {"webhook_id": hook["id"], "status": status}


def _ticket_detail(ticket: dict) -> dict:
    """A ticket as an event's `detail` shows it: ids as strings, status upper case."""
    def sid(value):
        return None if value is None else str(value)
    return {"id": str(ticket["id"]), "subject": ticket["subject"], "description": ticket["description"],
            "status": ticket["status"].upper(), "priority": ticket["priority"], "type": ticket["type"],
            "requester_id": sid(ticket["requester_id"]), "submitter_id": sid(ticket["submitter_id"]),
            "assignee_id": sid(ticket["assignee_id"]), "actor_id": sid(ticket["requester_id"]),
            "brand_id": "1", "form_id": "1", "group_id": None, "organization_id": None,
            "external_id": None, "is_public": True, "tags": ticket["tags"],
            "via": {"channel": ticket["via"]["channel"]},
            "created_at": ticket["created_at"], "updated_at": ticket["updated_at"]}


def _flatten(details: dict) -> str:
    return "; ".join(d["description"] for items in details.values() for d in items)
