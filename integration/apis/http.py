"""One HTTP session per API: timeouts, auth, User-Agent, rate limiting and error mapping."""
from __future__ import annotations

from typing import Any, Callable

import requests

from integration.errors import JobLimitReached, NotFound, PermanentError, RateLimited, TransientError

USER_AGENT = "omneo-zendesk/0.1 (+https://github.com/omneo-zendesk)"
DEFAULT_RETRY_AFTER = 10.0


class Limiter:
    """What a client needs of a rate limiter; `integration.apis.ratelimit` provides the shared one."""

    def acquire(self) -> None:  # pragma: no cover - interface
        pass

    def pause(self, seconds: float) -> None:  # pragma: no cover - interface
        pass

    def observe(self, headers) -> None:  # pragma: no cover - interface
        """A response's headers, for a limiter that follows the API's own rate-limit headers."""

    def paused_for(self) -> float:
        """Seconds left of a pause a 429 set (0 when none)."""
        return 0.0


class ApiClient:
    api = "api"
    job_limit_error: str | None = None  # the `error` of a 429 that refuses a job, not the budget

    def _endpoint_limited(self, headers) -> bool:
        """Whether a 429 with these headers is an endpoint's own limit rather than the account's
        budget (the account-wide pause is only for the latter). None here."""
        return False

    def __init__(self, base_url: str, timeout: float, limiter: Limiter | None = None,
                 on_call: Callable[[str, int | None], None] | None = None):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.limiter = limiter or Limiter()
        self.on_call = on_call
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=16)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def request(self, method: str, path: str, *, json: Any = None, params: dict | None = None,
                url: str | None = None, with_status: bool = False,
                headers: dict | None = None, endpoint: tuple[str, Limiter] | None = None) -> Any:
        """Make one call; return the decoded JSON body (or None), or raise an ApiError.

        With `with_status`, return (status, body) instead. `headers` add to the session's.
        `endpoint`: (name, limiter) of an endpoint with a limit of its own, taken before the
        account's and paused alone when that limit answers 429."""
        if endpoint is not None:
            endpoint[1].acquire()
        self.limiter.acquire()
        try:
            resp = self.session.request(method, url or self.url(path), json=json, params=params,
                                        headers=headers, timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            self._record(None)
            raise TransientError(self.api, f"{method} {path}: {type(exc).__name__}") from None
        self._record(resp.status_code)
        self.limiter.observe(resp.headers)
        body = self._decode(method, path, resp, endpoint)
        return (resp.status_code, body) if with_status else body

    def _record(self, status: int | None) -> None:
        if self.on_call:
            self.on_call(self.api, status)

    def _decode(self, method: str, path: str, resp: requests.Response,
                endpoint: tuple[str, Limiter] | None = None) -> Any:
        status = resp.status_code
        body = _body(resp)
        if status < 300:
            return body
        what = f"{method} {path} -> {status}"
        if status == 429:
            wait = _retry_after(resp.headers.get("Retry-After"))
            if self.job_limit_error and isinstance(body, dict) and body.get("error") == self.job_limit_error:
                raise JobLimitReached(self.api, wait, body=body)
            if self._endpoint_limited(resp.headers):
                name = endpoint[0] if endpoint else path
                if endpoint is not None:
                    endpoint[1].pause(wait)
                raise RateLimited(self.api, wait, body=body, endpoint=name)
            self.limiter.pause(wait)
            raise RateLimited(self.api, wait, body=body)
        if status == 404:
            raise NotFound(self.api, what, status, body)
        if status >= 500 or status in (408, 409):
            raise TransientError(self.api, what, status, body)
        raise PermanentError(self.api, what, status, body)


def _body(resp: requests.Response) -> Any:
    if not resp.content:
        return None
    try:
        return resp.json()
    except ValueError:
        return resp.text[:500]


def _retry_after(value: str | None) -> float:
    try:
        return max(1.0, float(value)) if value else DEFAULT_RETRY_AFTER
    except ValueError:
        return DEFAULT_RETRY_AFTER
