"""The sidebar's agent actions: Zendesk proves who the agent is, our session carries it.

POST /sidebar/app      the server-side app's location: Zendesk posts its ZAF JWT (form `token`);
                       we verify it (integration/apis/zaf_auth.py), read the agent from Zendesk with our
                       own credentials (active, `agent` or `admin`, custom role) and answer the
                       sidebar page holding a session of ours (web/sidebar_app_page.py).
POST /sidebar/session  {ticket_id}: the session bound to that ticket and the requester Zendesk says
                       it has, with what this agent may do there.
POST /sidebar/tickets/<ticket_id>/rewards     issue a goodwill reward (202 pending, a job does it)
POST /sidebar/tickets/<ticket_id>/benefits/<benefit_definition_id>/claim
                                              claim a claimable benefit for the requester (the same)
GET  /sidebar/tickets/<ticket_id>/benefits/claimable  what the requester may claim now
GET  /sidebar/tickets/<ticket_id>/actions/<id> how it went (the page polls)

Every refusal is a 4xx saying why, before anything is written to Omneo.
"""
from __future__ import annotations

import logging

import redis
from flask import Blueprint, current_app, jsonify, request

from integration import jobs
from integration.profiles import requesters
from integration.sidebar import requester as sidebar_requester
from integration.agent_actions import benefits, forms, ledger
from integration.agent_actions.forms import Refusal
from integration.errors import ApiError, AuthFailure, NotFound, RateLimited
from integration.apis.zaf_auth import Agent, Refused, issue_session, verify_session, verify_zaf_jwt
from web import sidebar_app_page
from web.responses import problem
from web.sidebar import EXTENSION
from workers import metrics
from workers.intake import Job

log = logging.getLogger("omneo_zendesk.web")
bp = Blueprint("sidebar_actions", __name__)


def _ctx():
    return current_app.extensions[EXTENSION]


def _settings():
    return current_app.extensions["omneo_zendesk"].settings


def _unauthorized(reason: str):
    body, status = problem(401, reason)
    body.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return body, status


def _refused(exc: Refusal):
    return jsonify(status="error", error=str(exc), code=exc.code), exc.status


def _vendor_failure(exc: Exception):
    if isinstance(exc, RateLimited):
        body, status = problem(503, "busy; try again shortly")
        body.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        return body, status
    if isinstance(exc, AuthFailure):
        log.error("sidebar actions: Zendesk refused our credentials", extra={"setting": exc.setting})
        return problem(503, "the service cannot read Zendesk; tell your administrator")
    if isinstance(exc, ApiError):
        log.warning("sidebar actions: API call failed", extra={"api": exc.api, "status": exc.status})
        return problem(502, f"{'Zendesk' if exc.api == 'zendesk' else 'Omneo'} did not answer as expected")
    log.error("sidebar actions: Redis unavailable", extra={"error_type": type(exc).__name__})
    return problem(503, "unavailable; try again shortly")


@bp.post("/sidebar/app")
def app_page():
    settings = _settings()
    try:
        agent = verify_zaf_jwt(request.form.get("token"), settings)
    except Refused as exc:
        return _unauthorized(str(exc))
    try:
        user = _ctx().zendesk.find_user(agent.user_id)
    except (ApiError, redis.RedisError) as exc:
        return _vendor_failure(exc)
    if not user or not user.get("active", True) or user.get("role") not in ("agent", "admin"):
        return problem(403, "only agents may use this app")
    crid = user.get("custom_role_id")
    agent = Agent(agent.user_id, agent.installation_id, user["role"], str(crid) if crid else None)
    token, exp = issue_session(settings, agent)
    page = sidebar_app_page.render(token, exp, agent.user_id)
    return page, 200, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
                       "Referrer-Policy": "no-referrer"}


@bp.post("/sidebar/session")
def ticket_session():
    settings = _settings()
    try:
        session = verify_session(request.headers.get("Authorization"), settings)
    except Refused as exc:
        return _unauthorized(str(exc))
    body = request.get_json(silent=True) or {}
    ticket_id = str(body.get("ticket_id") or "").strip()
    if not ticket_id.isdigit():
        return problem(400, "ticket_id: a Zendesk ticket id")
    try:
        ticket = _ctx().zendesk.get_ticket(ticket_id)
    except NotFound:
        return problem(404, "no such ticket")
    except (ApiError, redis.RedisError) as exc:
        return _vendor_failure(exc)
    requester_id = str(ticket.get("requester_id") or "")
    token, exp = issue_session(settings, session.agent, ticket_id, requester_id)
    may = forms.may_act(settings, session.agent)
    return jsonify(token=token, expires_at=exp, may_act=may,
                   reasons=list(settings.sidebar_action_reasons) if may else [],
                   reward_definitions=list(settings.sidebar_reward_definitions or ()) if may else [],
                   max_value=settings.sidebar_reward_max_value,
                   daily_cap=settings.sidebar_agent_daily_cap,
                   daily_claims=settings.sidebar_agent_daily_claims), 200, {"Cache-Control": "no-store"}


def _ticket_session(ticket_id: str):
    """The session, if it is bound to this ticket; else the answer refusing it."""
    try:
        session = verify_session(request.headers.get("Authorization"), _settings())
    except Refused as exc:
        return None, _unauthorized(str(exc))
    if session.ticket_id is None or session.ticket_id != str(ticket_id):
        return None, problem(403, "this session is not for this ticket")
    return session, None


def _profile_of_requester(ctx, ticket_id: str, session) -> str:
    """The Omneo profile of the ticket's requester, as Zendesk says it is now: the session's
    requester must still be it."""
    ticket = ctx.zendesk.get_ticket(ticket_id)
    if str(ticket.get("requester_id")) != session.requester_id:
        raise Refusal(409, "requester_changed", "the ticket's requester changed; reopen the app")
    requester = sidebar_requester.from_zendesk(ctx, session.requester_id, fresh=True)
    profile = None if requester is None else requesters.resolve(
        ctx, requester.zendesk_user_id, requester.email, requester.external_id).profile
    if profile is None:
        raise Refusal(409, "no_profile", "this requester has no Omneo profile")
    return str(profile["id"])


def _act(ticket_id: str, parse, prepare=None):
    """An action's common path: the session for this ticket, the role, the form (`parse`), the
    requester's profile, what the action needs from Omneo (`prepare`: extra fields, or Refusal),
    then one pending action and its job. 202 with the action; a 4xx saying why."""
    settings, ctx = _settings(), _ctx()
    session, refusal = _ticket_session(ticket_id)
    if refusal:
        return refusal
    kind = "unknown"
    try:
        if not forms.may_act(settings, session.agent):
            raise Refusal(403, "role_may_not_act", "your Zendesk role may not act from the sidebar")
        req = parse(settings, request.get_json(silent=True))
        kind = req.kind
        action_id = ledger.existing(ctx, session.agent, req)  # a double click: the same action
        if action_id is None:
            profile_id = _profile_of_requester(ctx, ticket_id, session)
            if ctx.state.is_erased(profile_id):
                raise Refusal(409, "erased", "this customer's data was erased")
            extra = prepare(ctx, profile_id, req) if prepare else None
            action_id, _new = ledger.accept(ctx, session.agent, ticket_id, session.requester_id, profile_id,
                                            req, extra)
            job = Job(jobs.AGENT_ACTION, [], {"action_id": action_id, "profile_id": profile_id,
                                              "zendesk_user_id": session.requester_id})
            current_app.extensions["omneo_zendesk"].intake.accept("sidebar_action", action_id, job)
            metrics.AGENT_ACTIONS.labels(kind, "accepted").inc()
    except Refusal as exc:
        metrics.AGENT_ACTIONS.labels(kind, "refused").inc()
        return _refused(exc)
    except (ApiError, redis.RedisError) as exc:
        return _vendor_failure(exc)
    return jsonify(ledger.shown(ledger.load(ctx, action_id))), 202, {"Cache-Control": "no-store"}


@bp.post("/sidebar/tickets/<ticket_id>/rewards")
def issue_reward(ticket_id):
    return _act(ticket_id, forms.parse_reward)


def _claimable(ctx, profile_id: str, req) -> dict:
    benefit = benefits.find_claimable(ctx, profile_id, req.benefit_definition_id)
    return {"benefit_handle": benefit["handle"], "benefit_name": benefit["name"]}


@bp.post("/sidebar/tickets/<ticket_id>/benefits/<benefit_id>/claim")
def claim_benefit(ticket_id, benefit_id):
    return _act(ticket_id, lambda settings, body: forms.parse_claim(settings, benefit_id, body), _claimable)


@bp.get("/sidebar/tickets/<ticket_id>/benefits/claimable")
def claimable_benefits(ticket_id):
    """The benefits the ticket's requester may claim now, for the claim form."""
    session, refusal = _ticket_session(ticket_id)
    if refusal:
        return refusal
    ctx = _ctx()
    try:
        if not forms.may_act(_settings(), session.agent):
            raise Refusal(403, "role_may_not_act", "your Zendesk role may not act from the sidebar")
        rows = benefits.claimable(ctx, _profile_of_requester(ctx, ticket_id, session))
    except Refusal as exc:
        return _refused(exc)
    except (ApiError, redis.RedisError) as exc:
        return _vendor_failure(exc)
    return jsonify(benefits=rows), 200, {"Cache-Control": "no-store"}


@bp.get("/sidebar/tickets/<ticket_id>/actions/<action_id>")
def action_status(ticket_id, action_id):
    session, refusal = _ticket_session(ticket_id)
    if refusal:
        return refusal
    try:
        action = ledger.load(_ctx(), action_id) if action_id.isalnum() else None
    except redis.RedisError as exc:
        return _vendor_failure(exc)
    if action is None or action["agent_id"] != session.agent.user_id or action["ticket_id"] != str(ticket_id):
        return problem(404, "no such action")
    return jsonify(ledger.shown(action)), 200, {"Cache-Control": "no-store"}
