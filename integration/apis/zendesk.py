"""Zendesk Support API v2 client: users, deletion, merges, user fields, exports, tickets, webhooks."""
from __future__ import annotations

from typing import Iterator

from integration.errors import AuthFailure, NotFound, PermanentError
from integration.apis.http import ApiClient, Limiter
from integration.apis.zendesk_auth import ClientCredentials, TokenProvider, credentials
from integration.apis.paging import advance
from integration.apis.paths import Paths, same_email, search_email

P = Paths("zendesk")


def _user(user_id, *rest: str) -> str:
    return P.path("users", P.zendesk(user_id, "Zendesk user id"), *rest)


def _identity(identity_id) -> str:
    return P.zendesk(identity_id, "Zendesk identity id")


def _webhook(webhook_id, *rest: str) -> str:
    return P.path("webhooks", P.token(webhook_id, "Zendesk webhook id"), *rest)


class ZendeskClient(ApiClient):
    """With `token_provider` every call carries the deployment's shared OAuth token; a 401
    `invalid_token` drops that token and retries the call once with a new one. Without it, the
    deprecated fixed credentials (`oauth_token`, or `email` + `api_token`) are sent. A 401 that
    stands raises AuthFailure: the credentials' fault, not the job's."""

    api = "zendesk"
    job_limit_error = "TooManyJobs"  # the 429 of a job over the account's 30 queued or running

    def __init__(self, base_url: str, *, email: str | None = None, api_token: str | None = None,
                 oauth_token: str | None = None, token_provider: TokenProvider | None = None,
                 marketplace: dict[str, str] | None = None, timeout: float = 10.0,
                 limiter: Limiter | None = None, on_call=None,
                 export_limiter: Limiter | None = None, purge_limiter: Limiter | None = None):
        super().__init__(base_url.rstrip("/") + "/api/v2", timeout, limiter, on_call)
        # endpoints with limits of their own: a 429 there pauses only them
        self.export_limiter: Limiter = export_limiter or Limiter()
        self.purge_limiter: Limiter = purge_limiter or Limiter()
        self.token_provider = token_provider
        self.session.headers.update(marketplace or {})
        if token_provider:
            self._fixed_setting = None
        elif oauth_token:
            self.session.headers["Authorization"] = f"Bearer {oauth_token}"
            self._fixed_setting = "ZENDESK_OAUTH_TOKEN"
        else:
            self.session.auth = (f"{email}/token", api_token or "")
            self._fixed_setting = "ZENDESK_API_TOKEN"

    def _endpoint_limited(self, headers) -> bool:
        """Zendesk answers an endpoint's own limit with a 429 while the account's budget is not
        spent: its `zendesk-ratelimit-<endpoint>` header says `remaining=0`, or the account's
        `X-Rate-Limit-Remaining` / `ratelimit-remaining` is still above zero ("Rate limits":
        check the account-wide headers first, then the endpoint's). A 429 with neither is the
        account's."""
        for name, value in headers.items():
            if name.lower().startswith("zendesk-ratelimit-") and _remaining(value) == 0:
                return True
        account = headers.get("X-Rate-Limit-Remaining") or headers.get("ratelimit-remaining")
        try:
            return account is not None and float(account) > 0
        except ValueError:
            return False

    def request(self, method: str, path: str, **kwargs):
        if self.token_provider is None:
            try:
                return super().request(method, path, **kwargs)
            except PermanentError as exc:
                if exc.status != 401:
                    raise
                raise AuthFailure(self.api, f"setting {self._fixed_setting}: Zendesk refused it "
                                  "(401)", self._fixed_setting, 401, exc.body) from None
        for attempt in (1, 2):
            token = self.token_provider.token()
            try:
                return super().request(method, path, headers={"Authorization": f"Bearer {token}"},
                                       **kwargs)
            except PermanentError as exc:
                if exc.status != 401:
                    raise
                self.token_provider.discard(token)
                if attempt == 1 and _error_code(exc.body) == "invalid_token":
                    continue  # expired or revoked early: one new token, one more try
                raise self.token_provider.refused(
                    "api_unauthorized", "ZENDESK_CLIENT_ID",
                    f"Zendesk answered 401 to a fresh token ({_error_code(exc.body) or 'no error code'}): "
                    "is the OAuth client's user still an active admin?", 401) from None

    def current_token(self) -> dict:
        """`GET /oauth/tokens/current`: the token in use (user_id, scopes, expires_at)."""
        return self.request("GET", "/oauth/tokens/current")["token"]

    # users
    def create_or_update_user(self, user: dict) -> tuple[dict, bool]:
        """Create or update by external_id (then email); return (user, created)."""
        status, body = self.request("POST", "/users/create_or_update", json={"user": user},
                                    with_status=True)
        return body["user"], status == 201

    def create_or_update_many(self, users: list[dict]) -> dict:
        return self.request("POST", "/users/create_or_update_many", json={"users": users})["job_status"]

    def get_user(self, user_id) -> dict:
        return self.request("GET", _user(user_id))["user"]

    def find_user(self, user_id) -> dict | None:
        try:
            return self.get_user(user_id)
        except NotFound:
            return None

    def update_user(self, user_id, changes: dict) -> dict:
        return self.request("PUT", _user(user_id), json={"user": changes})["user"]

    def find_user_by_external_id(self, external_id: str) -> dict | None:
        users = self.request("GET", "/users/search", params={"external_id": P.token(external_id, "external id")})["users"]
        return users[0] if users else None

    def find_users_by_email(self, email: str) -> list[dict]:
        """The users whose address is exactly `email` (case-insensitively). Search matches words
        and wildcards, so its hits are only candidates; the value goes in as a quoted phrase."""
        wanted = search_email(email)
        return [u for u in self.search_users_by_email(email) if same_email(u.get("email"), wanted)]

    def search_users_by_email(self, email: str) -> list[dict]:
        """Users the search finds for `email` (any of their email identities; candidates only)."""
        wanted = search_email(email)
        if wanted is None:
            return []
        return self.request("GET", "/users/search", params={"query": f'email:"{wanted}"'})["users"]

    def show_many(self, *, ids=None, external_ids=None) -> list[dict]:
        if ids:
            params = {"ids": ",".join(P.zendesk(i, "Zendesk user id") for i in ids)}
        else:
            params = {"external_ids": ",".join(P.token(i, "external id") for i in external_ids)}
        return self.request("GET", "/users/show_many", params=params)["users"]

    def delete_user(self, user_id) -> None:
        self.request("DELETE", _user(user_id))

    def delete_user_permanently(self, user_id) -> bool:
        """Limited to 700 users every 10 minutes besides the account's budget: `purge_limiter`.
        A user whose permanent deletion was already requested (a retried job whose first try was
        answered but not recorded) is answered 422 `DuplicateValue` on `user_id`: that is done,
        and False says it was done before."""
        try:
            self.request("DELETE", P.path("deleted_users", P.zendesk(user_id, "Zendesk user id")),
                         endpoint=("permanent user deletion", self.purge_limiter))
        except PermanentError as exc:
            if not (exc.status == 422 and _duplicate_deletion(exc.body)):
                raise
            return False
        return True

    def merge_users(self, source_id, target_id) -> dict:
        """Merge end user `source_id` into `target_id`; the source's tickets move with it."""
        return self.request("PUT", _user(source_id, "merge"), json={"user": {"id": int(P.zendesk(target_id, "Zendesk user id"))}})["user"]

    def list_identities(self, user_id) -> list[dict]:
        return self.request("GET", _user(user_id, "identities"))["identities"]

    def make_identity_primary(self, user_id, identity_id) -> None:
        self.request("PUT", _user(user_id, "identities", _identity(identity_id), "make_primary"))

    def delete_identity(self, user_id, identity_id) -> None:
        self.request("DELETE", _user(user_id, "identities", _identity(identity_id)))

    # custom user fields
    def list_user_fields(self) -> list[dict]:
        return self.request("GET", "/user_fields")["user_fields"]

    def create_user_field(self, key: str, title: str, type_: str = "text") -> dict:
        body = {"user_field": {"key": key, "title": title, "type": type_}}
        return self.request("POST", "/user_fields", json=body)["user_field"]

    # incremental export
    def iter_users_since(self, start_time: int | None = None, cursor: str | None = None,
                         per_page: int | None = None) -> Iterator[tuple[list[dict], dict]]:
        """Pages of the cursor-based incremental user export: (users, page) until end of stream.

        Starts at `cursor` when given (the `after_cursor` of an earlier export), else at
        `start_time` (unix seconds). The export has its own limit (10 requests a minute), held by
        `export_limiter` on top of the account-wide one."""
        params: dict = {"cursor": P.cursor(cursor)} if cursor else {"start_time": int(start_time or 0)}
        if per_page:
            params["per_page"] = per_page
        while True:
            body = self.request("GET", "/incremental/users/cursor", params=params,
                                endpoint=("incremental export", self.export_limiter))
            yield body.get("users", []), body
            if body.get("end_of_stream") or not body.get("after_cursor"):
                return
            cursor = advance("zendesk", "incremental user export", cursor, P.cursor(body["after_cursor"]))
            params = {"cursor": cursor, **({"per_page": per_page} if per_page else {})}

    def iter_ticket_events(self, start_time: int) -> Iterator[dict]:
        """Pages of the time-based incremental ticket event export from `start_time` (unix
        seconds), each the whole answer (`ticket_events`, `end_time`, `end_of_stream`), until the
        end of the stream. The next page starts at the previous `end_time`, so pages overlap by
        the updates of that second. Zendesk leaves out the last minute and refuses a start time
        inside it (422 "Too recent start_time"): that is an empty last page. Held by
        `export_limiter`, as the user export is."""
        while True:
            self.export_limiter.acquire()
            try:
                body = self.request("GET", "/incremental/ticket_events",
                                    params={"start_time": int(start_time)})
            except PermanentError as exc:
                if exc.status == 422 and "too recent" in str(exc.body).lower():
                    yield {"ticket_events": [], "end_time": None, "end_of_stream": True}
                    return
                raise
            yield body
            if body.get("end_of_stream") or body.get("end_time") is None:
                return
            start_time = advance("zendesk", "incremental ticket event export", int(start_time),
                                 int(body["end_time"]))

    def show_many_tickets(self, ticket_ids) -> list[dict]:
        """Up to 100 tickets in one call (`GET /tickets/show_many?ids=`); deleted ones are absent."""
        ids = ",".join(P.zendesk(i, "Zendesk ticket id") for i in ticket_ids)
        return self.request("GET", "/tickets/show_many", params={"ids": ids})["tickets"]

    def get_job_statuses(self, job_ids: list[str]) -> list[dict]:
        """Several bulk jobs' statuses in one call (`GET /job_statuses/show_many`)."""
        return self.request("GET", "/job_statuses/show_many",
                            params={"ids": ",".join(P.token(i, "Zendesk job id") for i in job_ids)}
                            )["job_statuses"]

    # tickets
    def get_ticket(self, ticket_id) -> dict:
        return self.request("GET", P.path("tickets", P.zendesk(ticket_id, "Zendesk ticket id")))["ticket"]

    def add_internal_note(self, ticket_id, body: str) -> dict:
        """An internal note (`comment.public: false`) on a ticket: `PUT /tickets/{id}` (tickets:write)."""
        ticket = {"comment": {"body": body, "public": False}}
        return self.request("PUT", P.path("tickets", P.zendesk(ticket_id, "Zendesk ticket id")),
                            json={"ticket": ticket})["ticket"]

    def requested_tickets(self, user_id) -> Iterator[dict]:
        """Every ticket the user requested (not deleted), by cursor pagination (`page[size]`)."""
        params: dict = {"page[size]": 100}
        while True:
            body = self.request("GET", _user(user_id, "tickets", "requested"), params=params)
            yield from body.get("tickets") or []
            meta = body.get("meta") or {}
            if not meta.get("has_more") or not meta.get("after_cursor"):
                return
            params = {"page[size]": 100, "page[after]": P.cursor(meta["after_cursor"])}

    def delete_tickets(self, ticket_ids: list) -> dict:
        """Bulk Delete Tickets (soft), up to 100 ids; answers the job status."""
        return self.request("DELETE", "/tickets/destroy_many", params={"ids": _ticket_ids(ticket_ids)})["job_status"]

    def delete_tickets_permanently(self, ticket_ids: list) -> dict:
        """Delete Multiple Tickets Permanently (soft-deleted ones), up to 100 ids; the job status."""
        return self.request("DELETE", "/deleted_tickets/destroy_many",
                            params={"ids": _ticket_ids(ticket_ids)})["job_status"]

    # webhooks
    def list_webhooks(self) -> list[dict]:
        return self.request("GET", "/webhooks")["webhooks"]

    def create_webhook(self, webhook: dict) -> dict:
        return self.request("POST", "/webhooks", json={"webhook": webhook})["webhook"]

    def update_webhook(self, webhook_id, webhook: dict) -> None:
        self.request("PATCH", _webhook(webhook_id), json={"webhook": webhook})

    def delete_webhook(self, webhook_id) -> None:
        self.request("DELETE", _webhook(webhook_id))

    def get_webhook_signing_secret(self, webhook_id) -> str:
        return self.request("GET", _webhook(webhook_id, "signing_secret"))["signing_secret"]["secret"]


def _ticket_ids(ticket_ids: list) -> str:
    if not 0 < len(ticket_ids) <= 100:
        raise ValueError("1 to 100 ticket ids a call")
    return ",".join(P.zendesk(i, "Zendesk ticket id") for i in ticket_ids)


def _remaining(value: str) -> float | None:
    """`remaining` of an endpoint header such as `total=100; remaining=99; resets=41`."""
    for part in str(value).split(";"):
        key, _, number = part.strip().partition("=")
        if key == "remaining":
            try:
                return float(number)
            except ValueError:
                return None
    return None


def _error_code(body) -> str | None:
    return str(body.get("error")) if isinstance(body, dict) and body.get("error") else None


def marketplace_headers(settings) -> dict[str, str]:
    """`X-Zendesk-Marketplace-*`, for a partner distributing this through a global OAuth client."""
    pairs = (("Name", settings.zendesk_marketplace_name),
             ("Organization-Id", settings.zendesk_marketplace_organization_id),
             ("App-Id", settings.zendesk_marketplace_app_id))
    return {f"X-Zendesk-Marketplace-{k}": v for k, v in pairs if v}


def zendesk_client(settings, redis=None, **kwargs) -> ZendeskClient:
    """The Zendesk client these settings describe: the shared OAuth token through `redis` with
    client credentials, else the deprecated fixed credentials."""
    provider = None
    if settings.zendesk_auth_mode == "client_credentials":
        if redis is None:
            raise ValueError("OAuth client credentials share their token through Redis")
        provider = TokenProvider(redis, credentials(settings))
    return ZendeskClient(settings.zendesk_base_url, email=settings.zendesk_email,
                         api_token=settings.zendesk_api_token,
                         oauth_token=settings.zendesk_oauth_token, token_provider=provider,
                         marketplace=marketplace_headers(settings),
                         timeout=settings.http_timeout_seconds, **kwargs)


def _duplicate_deletion(body) -> bool:
    """Zendesk's answer to a second permanent deletion of one user ("Only one deletion request
    needed per user")."""
    details = body.get("details") if isinstance(body, dict) else None
    errors = details.get("user_id") if isinstance(details, dict) else None
    return isinstance(errors, list) and any(
        isinstance(e, dict) and e.get("error") == "DuplicateValue" for e in errors)
