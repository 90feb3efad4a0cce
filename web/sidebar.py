"""GET /sidebar/profile: the Zendesk sidebar app's view of the ticket requester.

The app calls us through Zendesk's proxy (`client.request` with `secure: true` and a `jwt`
option): the proxy signs an HS256 JWT with the app's secure `shared_secret` setting, which must
equal ZENDESK_APP_SECRET. The claims are `zendesk_user_id` (the ticket requester, required) and
`exp` (required, at most ten minutes ahead), so one token reveals one customer at most. The page
composes the claims, so nothing else in them is believed (an `email` claim is ignored): who the
requester is, we read from Zendesk with our own credentials (integration/sidebar_requester.py).

`?refresh=1` skips the short caches (the agent's refresh control). Zendesk busy: 503 with
Retry-After; Zendesk refusing or failing: 502/503. Omneo has
SIDEBAR_OMNEO_DEADLINE_SECONDS to answer; past it, or when it errors, the last-known view is
served with `stale` set (see integration/sidebar/deadline.py), else 502/503/504.

No CORS headers: the browser never calls us directly. Zendesk's servers do, so a page on another
origin has no business reading these answers.
"""
from __future__ import annotations

import logging
import time

import jwt
import redis
from flask import Blueprint, current_app, g, jsonify, request
from prometheus_client import Counter, Histogram

from integration.sidebar.deadline import OmneoTimeout, answer
from integration.apis import paths
from integration.wiring import Context, build_context
from integration.errors import ApiError, AuthFailure, RateLimited
from web.responses import problem

log = logging.getLogger("omneo_zendesk.web")
bp = Blueprint("sidebar", __name__)

EXTENSION = "omneo_zendesk_sidebar"
MAX_TOKEN_LIFETIME = 600
LEEWAY_SECONDS = 5
# an agent is waiting: give up on a drained Omneo budget sooner than a background job would
LIMITER_MAX_WAIT = 5.0

ANSWERS = Counter("oz_sidebar_answers_total", "Sidebar answers by outcome", ["outcome"])
SECONDS = Histogram("oz_sidebar_seconds", "Time to answer the sidebar, by outcome", ["outcome"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


class BadToken(Exception):
    """Why a token is refused; the text is safe to answer with (no claim values in it)."""


@bp.record_once
def _build_context(state) -> None:
    from workers import metrics

    ext = state.app.extensions["omneo_zendesk"]
    ctx = build_context(ext.settings, client=ext.redis, on_call=metrics.record_api_call)
    ctx.omneo.limiter.max_wait = LIMITER_MAX_WAIT
    ctx.zendesk.limiter.max_wait = LIMITER_MAX_WAIT
    state.app.extensions[EXTENSION] = ctx


def verify_token(header: str | None, secret: str, now: float | None = None) -> dict:
    """The claims of a valid `Authorization: Bearer <JWT>`; raise BadToken otherwise."""
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise BadToken("missing bearer token")
    now = time.time() if now is None else now
    try:
        claims = jwt.decode(token.strip(), secret, algorithms=["HS256"],
                            options={"require": ["exp"]}, leeway=LEEWAY_SECONDS)
    except jwt.ExpiredSignatureError:
        raise BadToken("token expired") from None
    except jwt.InvalidTokenError:
        raise BadToken("invalid token") from None
    exp = claims["exp"]
    if isinstance(exp, bool) or not isinstance(exp, (int, float)) or exp != exp:
        raise BadToken("exp claim is not a number (NumericDate)")
    if exp > now + MAX_TOKEN_LIFETIME + LEEWAY_SECONDS:
        raise BadToken(f"token lives longer than {MAX_TOKEN_LIFETIME} seconds")
    user_id = claims.get("zendesk_user_id")
    if isinstance(user_id, bool) or not isinstance(user_id, (int, str)) or not str(user_id).strip():
        raise BadToken("token has no zendesk_user_id claim")
    if not paths.is_id(str(user_id).strip(), paths.ZENDESK_ID):
        raise BadToken("zendesk_user_id claim is not a Zendesk user id")
    return {"zendesk_user_id": str(user_id).strip()}


def _unauthorized(reason: str):
    body, status = problem(401, reason)
    body.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return body, status


@bp.before_request
def _start_clock() -> None:
    g.sidebar_started = time.perf_counter()


@bp.after_request
def _count(response):
    body = response.get_json(silent=True) or {}
    found = "stale" if body.get("stale") else "found" if body.get("found") else "not_found"
    outcome = g.get("sidebar_outcome") or {
        200: found, 401: "unauthorized", 502: "omneo_error", 503: "unavailable",
        504: "omneo_timeout"}.get(response.status_code, str(response.status_code))
    ANSWERS.labels(outcome).inc()
    SECONDS.labels(outcome).observe(time.perf_counter() - g.get("sidebar_started", time.perf_counter()))
    return response


def _vendor(exc: ApiError) -> str:
    """Who failed, for the answer's text; a Zendesk failure is also counted as its own outcome."""
    if exc.api == "zendesk":
        g.sidebar_outcome = "zendesk_error"
        return "Zendesk"
    return "Omneo"


@bp.get("/sidebar/profile")
def profile():
    settings = current_app.extensions["omneo_zendesk"].settings
    try:
        claims = verify_token(request.headers.get("Authorization"), settings.zendesk_app_secret)
    except BadToken as exc:
        return _unauthorized(str(exc))
    ctx: Context = current_app.extensions[EXTENSION]
    try:
        view = answer(ctx, claims["zendesk_user_id"], fresh=request.args.get("refresh") == "1")
    except RateLimited as exc:
        body, status = problem(503, f"{_vendor(exc)} is busy; try again shortly")
        body.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        return body, status
    except OmneoTimeout as exc:
        log.warning("sidebar: Omneo missed the deadline", extra={"deadline": exc.deadline})
        return problem(504, "Omneo did not answer in time; try again")
    except AuthFailure as exc:
        g.sidebar_outcome = "zendesk_error"
        log.error("sidebar: Zendesk refused our credentials", extra={"setting": exc.setting})
        return problem(503, "the service cannot read Zendesk; tell your administrator")
    except ApiError as exc:
        log.warning("sidebar: API call failed", extra={"api": exc.api, "status": exc.status,
                                                       "error_type": type(exc).__name__})
        return problem(502, f"{_vendor(exc)} did not answer as expected; try again")
    except redis.RedisError as exc:
        log.error("sidebar: Redis unavailable", extra={"error_type": type(exc).__name__})
        return problem(503, "cache unavailable; try again shortly")
    response = jsonify(view)
    response.headers["Cache-Control"] = "private, no-store"
    return response
