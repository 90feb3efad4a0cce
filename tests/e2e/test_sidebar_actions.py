"""An agent issues a goodwill reward from the sidebar, over HTTP against the real receiver
(gunicorn), a real Celery worker, real Redis and the Omneo and Zendesk sandbox processes: the
ZAF JWT Zendesk would post, our session, the job, and its three records."""
from __future__ import annotations

import json
import uuid

import pytest
import requests

from integration.sandbox.zaf import SAMPLE_AGENTS, ZafSigner
from tests.e2e.helpers import INSTALLATION, ZAF_KEY

pytestmark = pytest.mark.e2e

ADMIN, AGENT, LEAD = (a["id"] for a in SAMPLE_AGENTS[:3])


@pytest.fixture
def stack(actions_stack):
    return actions_stack


@pytest.fixture
def signer(stack):
    return ZafSigner(stack.env["ZENDESK_BASE_URL"], INSTALLATION, key=ZAF_KEY)


def customer(stack) -> int:
    stack.zendesk_add_user(id=777, name="Grace Hopper", email="grace@example.com")
    stack.put_profile(id="p-grace", first_name="Grace", email="grace@example.com",
                      identities=[{"handle": "zendesk", "identifier": "777"}])
    return stack.zendesk_add_ticket(777, "My parcel arrived a week late")["id"]


def session_for(stack, signer, agent_id, ticket_id) -> str:
    page = requests.post(stack.receiver + "/sidebar/app", data={"token": signer.token(agent_id)}, timeout=20)
    assert page.status_code == 200, page.text
    agent_session = page.text.split('name="oz-session" content="', 1)[1].split('"', 1)[0]
    resp = requests.post(stack.receiver + "/sidebar/session", json={"ticket_id": ticket_id}, timeout=20,
                         headers={"Authorization": f"Bearer {agent_session}"})
    assert resp.status_code == 200, resp.text
    return resp.json()["token"]


def issue(stack, token, ticket_id, key, **fields) -> requests.Response:
    body = {"idempotency_key": key, "reward_definition_id": "7", "value": 20, "expiry_days": 60,
            "reason": "late_delivery", "note": "sorry about the delay", **fields}
    return requests.post(f"{stack.receiver}/sidebar/tickets/{ticket_id}/rewards", json=body, timeout=20,
                         headers={"Authorization": f"Bearer {token}"})


def status(stack, token, ticket_id, action_id) -> dict:
    resp = requests.get(f"{stack.receiver}/sidebar/tickets/{ticket_id}/actions/{action_id}", timeout=20,
                        headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.text
    return resp.json()


def rewards(stack) -> list[dict]:
    return requests.get(stack.omneo + "/_sandbox/rewards", timeout=5).json()["data"]


def notes(stack, ticket_id) -> list[dict]:
    return requests.get(f"{stack.zendesk}/_sandbox/tickets/{ticket_id}/comments", timeout=5).json()["comments"]


def audit(stack) -> list[dict]:
    out = stack.cli("actions", "list", "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_an_allowed_agent_issues_one_reward_recorded_three_times(stack, signer):
    ticket_id = customer(stack)
    token = session_for(stack, signer, LEAD, ticket_id)
    key = uuid.uuid4().hex
    first = issue(stack, token, ticket_id, key)
    assert first.status_code == 202, first.text
    action_id = first.json()["id"]
    second = issue(stack, token, ticket_id, key)  # the same request again: a double click
    assert second.status_code == 202 and second.json()["id"] == action_id
    stack.wait(lambda: status(stack, token, ticket_id, action_id)["status"] == "done", what="action done")
    assert issue(stack, token, ticket_id, key).json()["status"] == "done"  # and once more, after it ran
    [reward] = rewards(stack)
    assert (reward["profile_id"], reward["definition"]["id"], reward["value_initial"]) == ("p-grace", 7, 20)
    [interaction] = [i for i in stack.interactions() if i["action"] == "goodwill-reward"]
    assert interaction["meta"]["zendesk_ticket_id"] == str(ticket_id)
    assert interaction["meta"]["reason"] == "late_delivery"
    [note] = notes(stack, ticket_id)
    assert note["public"] is False and "sorry about the delay" in note["body"]
    [row] = audit(stack)
    assert (row["id"], row["status"], row["value"], row["reward_id"]) == (action_id, "done", 20, str(reward["id"]))
    assert "@" not in json.dumps(row) and "hopper" not in json.dumps(row).lower()


def test_refusals_write_nothing_to_omneo(stack, signer):
    ticket_id = customer(stack)
    plain = session_for(stack, signer, AGENT, ticket_id)
    assert issue(stack, plain, ticket_id, uuid.uuid4().hex).status_code == 403
    lead = session_for(stack, signer, LEAD, ticket_id)
    assert issue(stack, lead, ticket_id, uuid.uuid4().hex, reward_definition_id="9").status_code == 422
    assert issue(stack, lead, ticket_id, uuid.uuid4().hex, value=51).status_code == 422
    forged = ZafSigner(stack.env["ZENDESK_BASE_URL"], INSTALLATION).token(ADMIN)
    assert requests.post(stack.receiver + "/sidebar/app", data={"token": forged}, timeout=20).status_code == 401
    assert rewards(stack) == [] and stack.interactions() == []


def test_with_omneo_down_the_action_waits_pending_then_completes(stack, signer):
    ticket_id = customer(stack)
    token = session_for(stack, signer, ADMIN, ticket_id)
    stack.configure("omneo", fail=[{"path": "/rewards$", "method": "POST", "status": 503, "count": 1000}])
    action_id = issue(stack, token, ticket_id, uuid.uuid4().hex).json()["id"]
    stack.wait(lambda: stack.stats("omneo").get("injected_failures", 0) >= 2, what="retries against Omneo")
    assert status(stack, token, ticket_id, action_id)["status"] == "pending"
    stack.configure("omneo", fail=[])
    stack.wait(lambda: status(stack, token, ticket_id, action_id)["status"] == "done", what="action done")
    assert len(rewards(stack)) == 1 and len(notes(stack, ticket_id)) == 1
    assert [r["id"] for r in audit(stack)] == [action_id]


def test_a_benefit_claim_clicked_twice_with_omneo_down_is_claimed_once_when_omneo_is_back(stack, signer):
    ticket_id = customer(stack)
    token = session_for(stack, signer, LEAD, ticket_id)
    offered = requests.get(f"{stack.receiver}/sidebar/tickets/{ticket_id}/benefits/claimable", timeout=20,
                           headers={"Authorization": f"Bearer {token}"}).json()["benefits"]
    assert "31" in [b["id"] for b in offered]
    stack.configure("omneo", fail=[{"path": "/benefits/claim$", "method": "POST", "status": 503, "count": 1000}])
    body = {"idempotency_key": uuid.uuid4().hex, "reason": "damaged_item", "note": "box crushed"}
    url = f"{stack.receiver}/sidebar/tickets/{ticket_id}/benefits/31/claim"
    first, second = (requests.post(url, json=body, timeout=20, headers={"Authorization": f"Bearer {token}"})
                     for _ in range(2))
    assert first.status_code == second.status_code == 202 and first.json()["id"] == second.json()["id"]
    action_id = first.json()["id"]
    stack.wait(lambda: stack.stats("omneo").get("injected_failures", 0) >= 2, what="retries against Omneo")
    assert status(stack, token, ticket_id, action_id)["status"] == "pending"
    stack.configure("omneo", fail=[])
    stack.wait(lambda: status(stack, token, ticket_id, action_id)["status"] == "done", what="claim done")
    [claimed] = requests.get(stack.omneo + "/_sandbox/claimed-benefits", timeout=5).json()["data"]
    assert (claimed["profile_id"], claimed["definition"]["id"]) == ("p-grace", "31")
    [interaction] = [i for i in stack.interactions() if i["action"] == "benefit-claim"]
    assert interaction["meta"]["zendesk_ticket_id"] == str(ticket_id) and interaction["meta"]["reason"] == "damaged_item"
    [note] = notes(stack, ticket_id)
    assert note["public"] is False and "box crushed" in note["body"]
    [row] = audit(stack)
    assert (row["id"], row["kind"], row["benefit_id"]) == (action_id, "benefit_claim", str(claimed["id"]))
