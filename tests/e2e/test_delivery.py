"""Delivery guarantees on the real stack: retries, dead letters and their CLI, duplicates, order."""
from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from integration.store.dead_letters import DeadLetters
from tests.e2e.helpers import CREATE_OR_UPDATE

pytestmark = pytest.mark.e2e



def identities(stack, profile_id):
    return [i["identifier"] for i in stack.profile(profile_id)["identities"] if i["handle"] == "zendesk"]


def records(stack, job_id, message):
    return [r for r in stack.log_records(job_id) if r.get("message") == message]


def dead_letters(stack) -> list[dict]:
    """The store as the CLI shows it (`dlq list --json`)."""
    done = stack.cli("dlq", "list", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def stored(stack) -> list[dict]:
    """The store read directly, for cheap polling."""
    return DeadLetters(stack.redis).list()


def test_5xx_is_retried_with_the_attempt_count_carried_until_the_user_arrives(stack):
    # the stack allows 4 attempts (TASK_MAX_ATTEMPTS=4): three 503s, then success
    stack.configure("zendesk", fail=[{"path": CREATE_OR_UPDATE, "method": "POST", "status": 503,
                                      "count": 3}])
    profile = stack.put_profile(id="p-300", first_name="Retry", email="retry@example.com")
    job_id = stack.post_omneo("profile.created", profile).json()["job_id"]
    user = stack.wait(lambda: stack.zendesk_user("p-300"), 30, what="the user after three 503s")
    assert user["name"] == "Retry"
    assert stack.stats()["injected_failures"] == 3
    retried = records(stack, job_id, "job will retry")
    assert [r["attempt"] for r in retried] == [1, 2, 3]  # the counter survived each retry
    assert {r["status"] for r in retried} == {503}
    done = stack.wait(lambda: records(stack, job_id, "job done"), what="the job's end")
    assert done[0]["attempt"] == 4 and done[0]["outcome"] == "created"
    assert stored(stack) == []


def test_exhausted_retries_dead_letter_and_a_replay_after_the_fix_delivers(stack):
    stack.configure("zendesk", fail=[{"path": CREATE_OR_UPDATE, "method": "POST", "status": 503,
                                      "count": 50, "body": {"error": "ServiceUnavailable"}}])
    profile = stack.put_profile(id="p-301", first_name="Outage", email="outage@example.com")
    job_id = stack.post_omneo("profile.created", profile).json()["job_id"]
    stack.wait(lambda: records(stack, job_id, "job dead-lettered"), 30, what="the dead letter")
    [entry] = dead_letters(stack)
    assert entry["task"] == "omneo_zendesk.sync_profile" and entry["args"] == ["p-301"]
    assert entry["attempts"] == 4
    assert entry["error"]["status"] == 503 and entry["error"]["api_error"] == {"error": "ServiceUnavailable"}
    assert entry["error"]["reason"] == "gave up after 4 attempts"
    assert entry["first_attempt_at"] <= entry["failed_at"]
    assert stack.zendesk_user("p-301") is None

    stack.configure("zendesk", fail=[])  # the outage ends
    done = stack.cli("dlq", "replay", entry["id"])
    assert done.returncode == 0, done.stderr
    assert entry["id"] in done.stdout
    stack.wait(lambda: stack.zendesk_user("p-301"), 30, what="the replayed user")
    stack.wait(lambda: stored(stack) == [], what="the entry to leave the store")
    assert dead_letters(stack) == []


def test_invalid_email_dead_letters_at_once_and_replays_once_fixed(stack):
    profile = stack.put_profile(id="p-302", first_name="Typo", email="typo-at-example.com")
    job_id = stack.post_omneo("profile.created", profile).json()["job_id"]
    stack.wait(lambda: records(stack, job_id, "job dead-lettered"), 30, what="the dead letter")
    assert records(stack, job_id, "job will retry") == []  # straight there, no retries
    [entry] = dead_letters(stack)
    assert entry["attempts"] == 1 and entry["error"]["status"] == 422
    # the API's error code and the fields it names, never its body (which quotes the address)
    assert entry["error"]["api_error"]["error"] == "RecordInvalid" and "body" not in entry["error"]
    assert "typo-at-example.com" not in json.dumps(entry)
    assert entry["error"]["reason"] == "permanent error"
    assert stack.env["ZENDESK_CLIENT_SECRET"] not in json.dumps(entry)

    shown = stack.cli("dlq", "show", entry["id"])
    assert shown.returncode == 0 and json.loads(shown.stdout)["id"] == entry["id"]
    table = stack.cli("dlq", "list")
    assert entry["id"] in table.stdout and "422" in table.stdout

    stack.put_profile(id="p-302", email="typo@example.com")  # fixed in Omneo
    assert stack.cli("dlq", "replay", "--all").returncode == 0
    user = stack.wait(lambda: stack.zendesk_user("p-302"), 30, what="the replayed user")
    assert user["email"] == "typo@example.com"
    stack.wait(lambda: stored(stack) == [], what="the entry to leave the store")
    assert dead_letters(stack) == []


def test_a_replay_that_fails_again_stays_in_the_store(stack):
    profile = stack.put_profile(id="p-303", first_name="Still", email="still-broken")
    job_id = stack.post_omneo("profile.created", profile).json()["job_id"]
    stack.wait(lambda: records(stack, job_id, "job dead-lettered"), 30, what="the dead letter")
    [entry] = stored(stack)
    assert stack.cli("dlq", "replay", entry["id"]).returncode == 0
    replayed = stack.wait(lambda: [e for e in stored(stack) if e.get("replays") == 1
                                   and e["failed_at"] > entry["failed_at"]], 30,
                          what="the replay to fail again")
    assert [e["id"] for e in replayed] == [entry["id"]] and len(stored(stack)) == 1


def test_dlq_cli_refuses_unknown_ids_clearly_and_purges(stack):
    for args in (("show", "nope"), ("replay", "nope")):
        done = stack.cli("dlq", *args)
        assert done.returncode != 0, args
        assert "no dead letter with id 'nope'" in done.stderr and "Traceback" not in done.stderr
    neither = stack.cli("dlq", "replay")
    assert neither.returncode == 2 and "--all" in neither.stderr

    for pid in ("p-304", "p-305"):
        profile = stack.put_profile(id=pid, first_name="Bad", email="bad-email")
        job_id = stack.post_omneo("profile.created", profile).json()["job_id"]
        stack.wait(lambda: records(stack, job_id, "job dead-lettered"), 30, what="a dead letter")
    first, second = stored(stack)
    assert stack.cli("dlq", "purge", first["id"]).returncode == 0
    assert [e["id"] for e in stored(stack)] == [second["id"]]
    assert stack.cli("dlq", "purge", "--all").returncode == 0
    assert dead_letters(stack) == []


def test_one_webhook_delivered_three_times_at_once_makes_one_zendesk_write(stack):
    profile = stack.put_profile(id="p-306", first_name="Echo", email="echo@example.com")
    barrier = threading.Barrier(3)

    def deliver(_):
        barrier.wait()
        return stack.post_omneo("profile.created", profile)

    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(deliver, range(3)))
    assert sorted(a.status_code for a in answers) == [200, 200, 202]
    stack.wait(lambda: identities(stack, "p-306"), what="the sync")
    assert len([u for u in stack.zendesk_users() if u.get("external_id") == "p-306"]) == 1
    stats = stack.stats()
    # one user write (the tier user field is created once per account, not per delivery)
    assert stats["writes:POST " + CREATE_OR_UPDATE] == 1, stats
    assert stats["writes"] - stats.get("writes:POST /api/v2/user_fields", 0) == 1, stats


def test_an_older_update_arriving_late_leaves_the_newer_state(stack):
    older = stack.put_profile(id="p-307", first_name="Older", email="order@example.com")
    newer = stack.put_profile(id="p-307", first_name="Newer")
    assert newer["updated_at"] > older["updated_at"]
    stack.post_omneo("profile.updated", newer)
    stack.wait(lambda: (u := stack.zendesk_user("p-307")) and u["name"].startswith("Newer"),
               what="the newer state")
    late = stack.post_omneo("profile.updated", older)
    assert late.status_code == 202
    outcome = stack.wait(lambda: stack.job_outcome(late.json()["job_id"]), what="the late job")
    assert outcome in ("unchanged", "skipped")
    assert stack.zendesk_user("p-307")["name"].startswith("Newer")
