"""The few outcomes of an API call that the rest of the product decides on."""
from __future__ import annotations


class ApiError(Exception):
    """An API call failed. `api` is "omneo" or "zendesk"; `status` the HTTP status if any."""

    def __init__(self, api: str, message: str, status: int | None = None, body=None):
        super().__init__(f"{api}: {message}")
        self.api = api
        self.status = status
        self.body = body

    def describe(self) -> dict:
        """A JSON-safe summary for dead letters: status and the API's error body, nothing else."""
        return {"type": type(self).__name__, "api": self.api, "status": self.status,
                "message": str(self), "body": self.body}


class TransientError(ApiError):
    """Worth retrying: connection errors, timeouts, 5xx."""


class RateLimited(TransientError):
    """429: wait `retry_after` seconds before calling this API again. `endpoint` names the limit
    of one endpoint (Zendesk's permanent deletion, its exports) when that was the one met: only
    calls to that endpoint wait, and the wait is a known, finite one."""

    def __init__(self, api: str, retry_after: float, status: int = 429, body=None,
                 endpoint: str | None = None):
        what = f"{endpoint} rate limited" if endpoint else "rate limited"
        super().__init__(api, f"{what}, retry after {retry_after:g}s", status, body)
        self.retry_after = retry_after
        self.endpoint = endpoint


class JobLimitReached(RateLimited):
    """429 for a background job over the account's limit of jobs queued or running (Zendesk's
    30): only new jobs wait, so no pause of the API's other calls."""


class PermanentError(ApiError):
    """A 4xx that retrying cannot fix; `body` holds the API's error body."""


class NotFound(PermanentError):
    """404: the resource does not exist (or no longer does)."""


class Conflict(PermanentError):
    """A state we refuse to resolve by ourselves (e.g. an email owned by another profile's user)."""

    def __init__(self, api: str, message: str, body=None):
        super().__init__(api, message, status=None, body=body)


class AuthFailure(ApiError):
    """Zendesk refused our credentials (a refused grant, or a 401 a fresh token did not cure): a
    fault of the deployment, not of the job. `setting` names what to fix."""

    def __init__(self, api: str, message: str, setting: str, status: int | None = None, body=None):
        super().__init__(api, message, status, body)
        self.setting = setting


class LockBusy(Exception):
    """Another job holds this profile's lock; try again shortly."""
