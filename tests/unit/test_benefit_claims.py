"""An agent claims a claimable benefit for the customer from the sidebar, in process: the same
gates as a goodwill reward (session, role, reason, erased customer, a daily cap), the benefit
Omneo says is claimable, one claim for a double click, and the three records."""
from __future__ import annotations

import time
import uuid

import pytest
import requests

from integration.agent_actions import benefits, ledger, perform
from integration.errors import TransientError
from integration.store import keys
from tests.helpers import (ADMIN, AGENT, LEAD, LIGHT, TICKET_ADA, TICKET_BOB, notes, run_ctx, ticket_token)

SHIPPING, COFFEE, LOUNGE, SUMMER = "31", "32", "33", "34"  # the sandbox's benefit definitions


@pytest.fixture
def client(app_ctx):
    return app_ctx.test_client()


def claim(client, token, benefit=SHIPPING, ticket_id=TICKET_ADA, **fields):
    body = {"idempotency_key": fields.pop("key", None) or uuid.uuid4().hex, "reason": "late_delivery",
            "note": "second late parcel", **fields}
    return client.post(f"/sidebar/tickets/{ticket_id}/benefits/{benefit}/claim", json=body,
                       headers={"Authorization": f"Bearer {token}"})


def omneo_writes(omneo_sandbox) -> tuple[int, int]:
    return len(omneo_sandbox.claimable_benefits.claimed), len(omneo_sandbox.interactions)


def test_the_page_is_offered_what_omneo_says_is_claimable(client, world, signer):
    token = ticket_token(client, signer, LEAD, TICKET_ADA)
    resp = client.get(f"/sidebar/tickets/{TICKET_ADA}/benefits/claimable",
                      headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    assert [(b["id"], b["name"]) for b in resp.get_json()["benefits"]] == [
        (SHIPPING, "Free express shipping"), (COFFEE, "Birthday coffee")]
    plain = ticket_token(client, signer, AGENT, TICKET_ADA)
    assert client.get(f"/sidebar/tickets/{TICKET_ADA}/benefits/claimable",
                      headers={"Authorization": f"Bearer {plain}"}).status_code == 403


def test_a_claim_is_made_once_and_recorded_three_times(client, world, signer, app_ctx, fake_redis,
                                                       omneo_sandbox, zendesk_sandbox):
    token = ticket_token(client, signer, LEAD, TICKET_ADA)
    first = claim(client, token, key="claim-0001")
    assert first.status_code == 202, first.get_json()
    action = first.get_json()
    assert (action["status"], action["kind"], action["benefit_definition_id"]) == ("pending", "benefit_claim",
                                                                                  SHIPPING)
    assert claim(client, token, key="claim-0001").get_json()["id"] == action["id"]  # a double click
    assert fake_redis.llen("actions") == 1
    ctx = run_ctx(app_ctx)
    assert perform.run(ctx, action["id"])["outcome"] == "done"
    # once claimed (not reclaimable) Omneo no longer offers it, yet the same click still answers its action
    again = claim(client, token, key="claim-0001")
    assert again.status_code == 202 and again.get_json()["status"] == "done"
    [made] = omneo_sandbox.claimable_benefits.claimed
    assert (made["profile_id"], made["definition"]["handle"]) == ("p-ada", "free-express-shipping")
    assert made["meta"]["omneo_zendesk_action"] == action["id"]
    assert any(b["id"] == made["id"] for b in ctx.omneo.list_benefits("p-ada"))  # the view shows it
    [interaction] = omneo_sandbox.interactions
    assert interaction["action"] == "benefit-claim"
    assert interaction["meta"]["zendesk_ticket_id"] == str(TICKET_ADA) and interaction["meta"]["reason"] == "late_delivery"
    [note] = notes(zendesk_sandbox, TICKET_ADA)
    assert note["public"] is False and "Free express shipping" in note["body"] and "second late parcel" in note["body"]
    [row] = ledger.audit_rows(fake_redis)
    assert (row["kind"], row["status"], row["benefit_id"], row["agent_id"]) == ("benefit_claim", "done",
                                                                                str(made["id"]), str(LEAD))
    assert "second late" not in str(row) and "@" not in str(row)


@pytest.mark.parametrize("benefit, status, code", [
    (LOUNGE, 422, "benefit_not_claimable"),  # not a claimable benefit
    (SUMMER, 422, "benefit_not_claimable"),  # its claim period is over
    ("999", 422, "benefit_not_claimable"),
    ("../rewards", 404, None),
    ("abc", 400, "bad_request"),
])
def test_a_benefit_omneo_does_not_offer_is_refused(client, world, signer, omneo_sandbox, benefit, status, code):
    resp = claim(client, ticket_token(client, signer, ADMIN, TICKET_ADA), benefit=benefit)
    assert resp.status_code == status
    if code:
        assert resp.get_json()["code"] == code
    assert omneo_writes(omneo_sandbox) == (0, 0)


def test_a_benefit_claimed_already_is_refused(client, world, signer, app_ctx, omneo_sandbox):
    token = ticket_token(client, signer, ADMIN, TICKET_ADA)
    assert perform.run(run_ctx(app_ctx), claim(client, token).get_json()["id"])["outcome"] == "done"
    resp = claim(client, token)  # a new click (a new key) for the same, not reclaimable, benefit
    assert resp.status_code == 422 and resp.get_json()["code"] == "benefit_not_claimable"
    assert claim(client, token, benefit=COFFEE).status_code == 202  # a reclaimable one is still offered
    assert omneo_writes(omneo_sandbox)[0] == 1


@pytest.mark.parametrize("agent_id", [AGENT, LIGHT])
def test_an_agent_whose_role_may_not_act_cannot_claim(client, world, signer, omneo_sandbox, agent_id):
    resp = claim(client, ticket_token(client, signer, agent_id, TICKET_ADA))
    assert resp.status_code == 403 and resp.get_json()["code"] == "role_may_not_act"
    assert omneo_writes(omneo_sandbox) == (0, 0)


@pytest.mark.parametrize("fields, status, code", [
    ({"reason": "because"}, 422, "reason_not_allowed"),
    ({"note": "x" * 501}, 400, "bad_request"),
    ({"key": "short"}, 400, "bad_request"),
])
def test_a_claim_outside_the_settings_is_refused(client, world, signer, omneo_sandbox, fields, status, code):
    resp = claim(client, ticket_token(client, signer, LEAD, TICKET_ADA), **fields)
    assert (resp.status_code, resp.get_json()["code"]) == (status, code)
    assert omneo_writes(omneo_sandbox) == (0, 0)


def test_a_session_for_another_ticket_or_none_is_refused(client, world, signer, omneo_sandbox):
    token = ticket_token(client, signer, ADMIN, TICKET_ADA)
    assert claim(client, token, ticket_id=TICKET_BOB).status_code == 403
    assert claim(client, "not-a-session").status_code == 401
    assert omneo_writes(omneo_sandbox) == (0, 0)


def test_the_daily_claims_cap_refuses_with_what_is_left(client, world, signer, omneo_sandbox):
    token = ticket_token(client, signer, ADMIN, TICKET_ADA)
    assert claim(client, token, benefit=COFFEE).status_code == 202
    assert claim(client, token, benefit=SHIPPING).status_code == 202
    resp = claim(client, token, benefit=COFFEE)
    assert resp.status_code == 422
    assert resp.get_json()["error"] == "over your daily limit: 0 benefit claims left today"
    # claims and rewards have caps of their own: a reward still goes
    reward = client.post(f"/sidebar/tickets/{TICKET_ADA}/rewards", headers={"Authorization": f"Bearer {token}"},
                         json={"idempotency_key": uuid.uuid4().hex, "reward_definition_id": "7", "value": 5,
                               "expiry_days": 30, "reason": "other"})
    assert reward.status_code == 202


def test_an_erased_customer_gets_no_claim(client, world, signer, ctx, omneo_sandbox):
    ctx.state.mark_erased("p-ada")
    resp = claim(client, ticket_token(client, signer, ADMIN, TICKET_ADA))
    assert resp.status_code == 409 and resp.get_json()["code"] == "erased"
    assert omneo_writes(omneo_sandbox) == (0, 0)


def test_a_customer_erased_after_the_claim_gets_nothing_and_the_day_is_given_back(client, world, signer, app_ctx,
                                                                                 ctx, fake_redis, omneo_sandbox):
    action = claim(client, ticket_token(client, signer, ADMIN, TICKET_ADA)).get_json()
    ctx.state.mark_erased("p-ada")
    assert perform.run(run_ctx(app_ctx), action["id"])["outcome"] == "refused"
    assert omneo_writes(omneo_sandbox) == (0, 0)
    day = time.strftime("%Y-%m-%d", time.gmtime())
    assert float(fake_redis.get(keys.agent_daily_claims(str(ADMIN), day))) == 0


def test_omneo_down_leaves_it_pending_and_a_retry_claims_once(client, world, signer, app_ctx, omneo_sandbox,
                                                              zendesk_sandbox, sandbox_servers):
    action = claim(client, ticket_token(client, signer, ADMIN, TICKET_ADA)).get_json()
    requests.post(f"{sandbox_servers[1].url}/_sandbox/config", timeout=5,
                  json={"fail": [{"path": "/benefits/claim$", "method": "POST", "status": 503, "count": 1}]})
    ctx = run_ctx(app_ctx)
    with pytest.raises(TransientError):
        perform.run(ctx, action["id"])
    assert ledger.load(ctx, action["id"])["status"] == "pending"
    assert perform.run(ctx, action["id"])["outcome"] == "done"
    assert omneo_writes(omneo_sandbox) == (1, 1) and len(notes(zendesk_sandbox, TICKET_ADA)) == 1


def test_a_claim_omneo_made_before_a_lost_answer_is_not_made_again(client, world, signer, app_ctx, omneo_sandbox):
    action = claim(client, ticket_token(client, signer, ADMIN, TICKET_ADA), benefit=COFFEE).get_json()
    ctx = run_ctx(app_ctx)
    ctx.omneo.claim_benefit("p-ada", benefits.claim_body(ledger.load(ctx, action["id"])))  # answer lost
    assert perform.run(ctx, action["id"])["outcome"] == "done"
    assert omneo_writes(omneo_sandbox) == (1, 1)


def test_omneo_refusing_the_claim_ends_it_failed(client, world, signer, app_ctx, omneo_sandbox, fake_redis):
    action = claim(client, ticket_token(client, signer, ADMIN, TICKET_ADA)).get_json()
    omneo_sandbox.claimable_benefits.definitions["free-express-shipping"]["is_claimable"] = False
    result = perform.run(run_ctx(app_ctx), action["id"])
    assert result["outcome"] == "failed" and "422" in result["failure"]
    assert omneo_writes(omneo_sandbox) == (0, 0)
    assert ledger.audit_rows(fake_redis)[0]["status"] == "failed"
