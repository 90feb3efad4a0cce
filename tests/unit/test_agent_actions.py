"""Agent actions from the sidebar in process: the ZAF JWT, our session, the role, the caps, the
idempotency key and the job's three records. fakeredis, the in-process sandboxes over HTTP."""
from __future__ import annotations

import time
import uuid

import jwt
import pytest
import requests

from integration.agent_actions import ledger, perform, rewards
from integration.onboarding.checks import check_agent_actions
from integration.store import keys
from integration.errors import TransientError
from integration.sandbox.zaf import TEAM_LEAD_ROLE, ZafSigner
from integration.apis.zaf_auth import Agent, issue_session
from tests.helpers import (ADA, ADMIN, AGENT, BOB, END_USER, INSTALLATION, LEAD, LIGHT, TICKET_ADA, TICKET_BOB,
                           notes, omneo_writes, open_app, run_ctx, ticket_token)


@pytest.fixture
def client(app_ctx):
    return app_ctx.test_client()


def reward(client, token, ticket_id=TICKET_ADA, **fields):
    body = {"idempotency_key": fields.pop("key", None) or uuid.uuid4().hex, "reward_definition_id": "7",
            "value": 10, "expiry_days": 30, "reason": "late_delivery", "note": "parcel lost twice", **fields}
    return client.post(f"/sidebar/tickets/{ticket_id}/rewards", json=body,
                       headers={"Authorization": f"Bearer {token}"})


# who is acting: the ZAF JWT
@pytest.mark.parametrize("make, reason", [
    (lambda s: ZafSigner(s.base_url, INSTALLATION).token(ADMIN), "invalid ZAF token"),  # forged: another key
    (lambda s: s.token(ADMIN, lifetime=-60), "ZAF token expired"),
    (lambda s: s.token(ADMIN, aud=s.base_url + "/api/v2/apps/installations/999.json"),
     "ZAF token is for another installation"),
    (lambda s: s.token(ADMIN, iss="other.zendesk.com"), "ZAF token is for another account"),
    (lambda s: s.token(ADMIN, sub=f"https://other.zendesk.com/api/v2/users/{ADMIN}.json"),
     "ZAF token names no user of this account"),
    (lambda s: jwt.encode({"sub": str(ADMIN), "exp": int(time.time()) + 60}, "x" * 32, algorithm="HS256"),
     "invalid ZAF token"),
    (lambda s: "", "missing ZAF token"),
])
def test_a_bad_zaf_token_gets_no_session(client, world, signer, omneo_sandbox, make, reason):
    resp = client.post("/sidebar/app", data={"token": make(signer)})
    assert resp.status_code == 401
    assert resp.get_json()["error"] == reason
    assert omneo_writes(omneo_sandbox) == (0, 0)


def test_an_end_user_gets_no_session(client, world, signer):
    assert open_app(client, signer.token(END_USER))[0] == 403


def test_the_page_gets_a_session_naming_the_agent_zendesk_vouched_for(client, world, signer, action_settings):
    status, session = open_app(client, signer.token(LEAD))
    assert status == 200
    claims = jwt.decode(session, options={"verify_signature": False})
    assert (claims["sub"], claims["ins"], claims["role"], claims["crid"]) == (str(LEAD), INSTALLATION, "agent",
                                                                             TEAM_LEAD_ROLE)
    assert claims["exp"] - claims["iat"] == action_settings.sidebar_session_seconds


# our session
def test_a_session_past_its_life_is_refused(client, world, action_settings, omneo_sandbox):
    old, _ = issue_session(action_settings, Agent(str(ADMIN), INSTALLATION, "admin"), str(TICKET_ADA), str(ADA),
                           now=time.time() - action_settings.sidebar_session_seconds - 1)
    resp = reward(client, old)
    assert resp.status_code == 401 and "expired" in resp.get_json()["error"]
    assert omneo_writes(omneo_sandbox) == (0, 0)


def test_a_session_is_refused_against_another_customer(client, world, signer, omneo_sandbox):
    token = ticket_token(client, signer, ADMIN, TICKET_ADA)
    resp = reward(client, token, ticket_id=TICKET_BOB)
    assert resp.status_code == 403
    assert omneo_writes(omneo_sandbox) == (0, 0)


def test_a_session_for_another_installation_or_key_is_refused(client, world, action_settings, omneo_sandbox):
    agent = Agent(str(ADMIN), "999", "admin")
    other, _ = issue_session(action_settings, agent, str(TICKET_ADA), str(ADA))
    assert reward(client, other).status_code == 401
    # a token the Zendesk proxy could sign with the app's shared secret is not a session
    proxy = jwt.encode({"aud": "omneo-zendesk:sidebar-session", "sub": str(ADMIN), "ins": INSTALLATION,
                        "role": "admin", "tkt": str(TICKET_ADA), "req": str(ADA), "exp": int(time.time()) + 60},
                       action_settings.zendesk_app_secret, algorithm="HS256")
    assert reward(client, proxy).status_code == 401
    assert omneo_writes(omneo_sandbox) == (0, 0)


def test_the_requester_changing_under_the_session_is_refused(client, world, signer, zendesk_sandbox, omneo_sandbox):
    token = ticket_token(client, signer, ADMIN, TICKET_ADA)
    zendesk_sandbox.tickets[TICKET_ADA]["requester_id"] = BOB
    resp = reward(client, token)
    assert resp.status_code == 409 and resp.get_json()["code"] == "requester_changed"
    assert omneo_writes(omneo_sandbox) == (0, 0)


# role, caps, definitions
@pytest.mark.parametrize("agent_id", [AGENT, LIGHT])
def test_an_agent_whose_role_may_not_act_is_refused(client, world, signer, omneo_sandbox, agent_id):
    token = ticket_token(client, signer, agent_id, TICKET_ADA)
    resp = reward(client, token)
    assert resp.status_code == 403 and resp.get_json()["code"] == "role_may_not_act"
    assert omneo_writes(omneo_sandbox) == (0, 0)


@pytest.mark.parametrize("fields, status, code", [
    ({"reward_definition_id": "9"}, 422, "definition_not_allowed"),
    ({"value": 50.01}, 422, "over_action_cap"),
    ({"reason": "because"}, 422, "reason_not_allowed"),
    ({"value": -1}, 400, "bad_request"),
    ({"expiry_days": 0}, 400, "bad_request"),
    ({"key": "short"}, 400, "bad_request"),
])
def test_a_request_outside_the_settings_is_refused(client, world, signer, omneo_sandbox, fields, status, code):
    token = ticket_token(client, signer, LEAD, TICKET_ADA)
    resp = reward(client, token, **fields)
    assert (resp.status_code, resp.get_json()["code"]) == (status, code)
    assert omneo_writes(omneo_sandbox) == (0, 0)


def test_the_daily_cap_refuses_with_what_is_left(client, world, signer, app_ctx, omneo_sandbox):
    token = ticket_token(client, signer, ADMIN, TICKET_ADA)
    assert reward(client, token, value=45).status_code == 202
    resp = reward(client, token, value=20)
    assert resp.status_code == 422
    assert resp.get_json() == {"status": "error", "code": "over_daily_cap",
                               "error": "over your daily limit: 15 left today"}
    assert reward(client, token, value=15).status_code == 202
    # another agent has a cap of their own
    assert reward(client, ticket_token(client, signer, LEAD, TICKET_ADA), value=20).status_code == 202


def test_an_erased_customer_is_refused(client, world, signer, ctx, omneo_sandbox):
    ctx.state.mark_erased("p-ada")
    resp = reward(client, ticket_token(client, signer, ADMIN, TICKET_ADA))
    assert resp.status_code == 409 and resp.get_json()["code"] == "erased"
    assert omneo_writes(omneo_sandbox) == (0, 0)


# the action itself
def test_a_reward_is_issued_once_and_recorded_three_times(client, world, signer, app_ctx, fake_redis,
                                                          omneo_sandbox, zendesk_sandbox):
    token = ticket_token(client, signer, LEAD, TICKET_ADA)
    first = reward(client, token, key="click-0001")
    assert first.status_code == 202
    action = first.get_json()
    assert action["status"] == "pending" and action["value"] == 10
    again = reward(client, token, key="click-0001")  # a double click or a retried request
    assert again.status_code == 202 and again.get_json()["id"] == action["id"]
    assert fake_redis.llen("actions") == 1  # one job queued (the intake's dedupe)
    ctx = run_ctx(app_ctx)
    assert perform.run(ctx, action["id"])["outcome"] == "done"
    assert perform.run(ctx, action["id"])["outcome"] == "already done"
    reward(client, token, key="click-0001")
    assert fake_redis.llen("actions") == 1
    issued = omneo_sandbox.issued_rewards.issued
    assert [(r["profile_id"], r["definition"]["id"], r["value_initial"]) for r in issued] == [("p-ada", 7, 10)]
    assert issued[0]["meta"]["omneo_zendesk_action"] == action["id"]
    [interaction] = omneo_sandbox.interactions
    assert interaction["meta"]["zendesk_ticket_id"] == str(TICKET_ADA)
    assert interaction["meta"]["reason"] == "late_delivery" and "late delivery" in interaction["name"]
    [note] = notes(zendesk_sandbox, TICKET_ADA)
    assert note["public"] is False and "parcel lost twice" in note["body"] and "late delivery" in note["body"]
    [row] = ledger.audit_rows(fake_redis)
    assert row["id"] == action["id"] and row["status"] == "done" and row["value"] == 10
    assert row["reward_id"] == str(issued[0]["id"]) and row["agent_id"] == str(LEAD)
    assert "note" not in row and "parcel" not in str(row) and "@" not in str(row)
    status = client.get(f"/sidebar/tickets/{TICKET_ADA}/actions/{action['id']}",
                        headers={"Authorization": f"Bearer {token}"})
    assert status.get_json()["status"] == "done"
    # the agent's free text is not kept once the note carries it
    assert b"parcel" not in b"".join(fake_redis.hvals(keys.agent_action(action["id"])))


def test_the_same_key_for_a_different_request_is_refused(client, world, signer):
    token = ticket_token(client, signer, ADMIN, TICKET_ADA)
    assert reward(client, token, key="click-0002").status_code == 202
    resp = reward(client, token, key="click-0002", value=11)
    assert resp.status_code == 409 and resp.get_json()["code"] == "key_reused"


def test_omneo_down_leaves_it_pending_and_a_retry_finishes_it_once(client, world, signer, app_ctx,
                                                                   omneo_sandbox, zendesk_sandbox, sandbox_servers):
    token = ticket_token(client, signer, ADMIN, TICKET_ADA)
    action = reward(client, token).get_json()
    o = sandbox_servers[1].url
    requests.post(f"{o}/_sandbox/config", timeout=5,
                  json={"fail": [{"path": "/interactions", "method": "POST", "status": 503, "count": 1}]})
    ctx = run_ctx(app_ctx)
    with pytest.raises(TransientError):
        perform.run(ctx, action["id"])
    assert ledger.load(ctx, action["id"])["status"] == "pending"
    assert perform.run(ctx, action["id"])["outcome"] == "done"
    assert omneo_writes(omneo_sandbox) == (1, 1)
    assert len(notes(zendesk_sandbox, TICKET_ADA)) == 1


def test_a_reward_omneo_issued_before_a_lost_answer_is_not_issued_again(client, world, signer, app_ctx,
                                                                         omneo_sandbox):
    token = ticket_token(client, signer, ADMIN, TICKET_ADA)
    action = reward(client, token).get_json()
    ctx = run_ctx(app_ctx)
    ctx.omneo.create_reward(rewards.reward_body(ledger.load(ctx, action["id"])))  # answer lost
    assert perform.run(ctx, action["id"])["outcome"] == "done"
    assert omneo_writes(omneo_sandbox) == (1, 1)


def test_a_customer_erased_after_the_request_gets_nothing(client, world, signer, app_ctx, ctx, fake_redis,
                                                          omneo_sandbox, zendesk_sandbox):
    token = ticket_token(client, signer, ADMIN, TICKET_ADA)
    action = reward(client, token).get_json()
    ctx.state.mark_erased("p-ada")
    assert perform.run(run_ctx(app_ctx), action["id"])["outcome"] == "refused"
    assert omneo_writes(omneo_sandbox) == (0, 0) and notes(zendesk_sandbox, TICKET_ADA) == []
    assert ledger.audit_rows(fake_redis)[0]["status"] == "refused"
    # nothing was issued, so the agent's day is given back the 10 it counted
    day = time.strftime("%Y-%m-%d", time.gmtime())
    assert float(fake_redis.get(keys.agent_daily_total(str(ADMIN), day))) == 0


# tier progress in the view
def test_the_view_shows_omneo_s_tier_progress(omneo_sandbox, ctx, world):
    from integration.sidebar.view import assemble_view
    o = world[1]
    requests.post(f"{o}/_sandbox/profiles/p-ada/rewards", timeout=5, json={
        "tier_progress": {"current": "Silver", "next": "Gold", "next_remain": 120, "next_progress": 380}})
    assert assemble_view(ctx, "p-ada")["tier_progress"] == {"current": "Silver", "next": "Gold",
                                                            "remaining": 120, "progress": 380}
    requests.post(f"{o}/_sandbox/profiles/p-ada/rewards", timeout=5, json={
        "tier_progress": {"current": "Gold", "next": None}})
    assert assemble_view(ctx, "p-ada")["tier_progress"] == {"current": "Gold", "next": None, "remaining": None,
                                                            "progress": None}
    # a tenant without tiers: Omneo has no progress for the profile, the view still comes
    requests.post(f"{o}/_sandbox/profiles/p-ada/rewards", timeout=5, json={})
    view = assemble_view(ctx, "p-ada")
    assert view["found"] is True and view["tier_progress"] is None


# `check` says whether actions are on and whether the token may add their internal note
def test_check_warns_when_the_internal_note_s_scope_is_missing(settings, action_settings):
    assert "read-only" in check_agent_actions(settings).detail
    oauth = action_settings.replace(zendesk_client_id="oz-client", zendesk_client_secret="s" * 16,
                                    zendesk_email=None, zendesk_api_token=None, zendesk_oauth_token=None)
    row = check_agent_actions(oauth.replace(zendesk_oauth_scopes="users:read tickets:read"))
    assert row.status == "warn" and "tickets:write" in row.fix
    assert check_agent_actions(oauth.replace(zendesk_oauth_scopes="users:read tickets:read tickets:write")).status == "ok"
