"""What an operator relies on, over the real stack: /metrics moves when jobs run, and the logs of a
failing job carry its id but no personal data."""
from __future__ import annotations

import json

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.e2e

PERSON = {"first_name": "Zephyrine", "last_name": "Quillfeather", "email": "zephyrine.q@example.com",
          "mobile_phone": "+61411222333"}


def scrape(stack) -> dict[tuple, float]:
    text = requests.get(stack.receiver + "/metrics", timeout=5).text
    values = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            values[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return values


def value(metrics: dict, name: str, **labels) -> float:
    return metrics.get((name, tuple(sorted(labels.items()))), 0.0)


SYNC = "omneo_zendesk.sync_profile"


def test_metrics_move_when_jobs_run(stack):
    before = scrape(stack)
    stack.configure("zendesk", fail=[{"path": "/users/create_or_update", "method": "POST", "status": 429,
                                      "retry_after": 1, "count": 1}])
    profile = stack.put_profile(id="p-metrics", first_name="Metric", email="m@example.com")
    assert stack.post_omneo("profile.created", profile).status_code == 202
    stack.wait(lambda: stack.zendesk_user("p-metrics"), 60, what="the sync after a 429")

    after = stack.wait(lambda: (m := scrape(stack)) and value(m, "oz_jobs_total", task=SYNC, outcome="succeeded")
                       > value(before, "oz_jobs_total", task=SYNC, outcome="succeeded") and m,
                       30, what="the succeeded counter to move")

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("oz_webhooks_total", source="omneo", status="202", outcome="accepted") == 1
    assert moved("oz_jobs_enqueued_total", task=SYNC) == 1
    assert moved("oz_jobs_total", task=SYNC, outcome="retried") == 1
    assert moved("oz_jobs_total", task=SYNC, outcome="succeeded") == 1
    assert moved("oz_api_calls_total", api="zendesk", status="429") == 1
    assert moved("oz_api_calls_total", api="zendesk", status="2xx") >= 1
    assert moved("oz_api_calls_total", api="omneo", status="2xx") >= 2  # the profile, the identity
    assert moved("oz_job_seconds_count", task=SYNC) == 2  # the attempt that met the 429, and the next
    assert value(after, "oz_queue_depth", queue="sync") == 0
    assert value(after, "oz_redis_up") == 1


def test_dead_lettered_job_is_counted_and_its_logs_hold_no_personal_data(stack):
    before = scrape(stack)
    # Zendesk's 422 text quotes the address, as it does when an email belongs to another user
    stack.configure("zendesk", fail=[{
        "path": "/users/create_or_update", "method": "POST", "status": 422, "count": 1,
        "body": {"error": "RecordInvalid", "description": "Record validation errors", "details": {
            "email": [{"description": f"Email {PERSON['email']} is already being used by "
                                      f"{PERSON['first_name']} {PERSON['last_name']}"}]}}}])
    profile = stack.put_profile(id="p-pii", **PERSON)
    r = stack.post_omneo("profile.created", profile)
    assert r.status_code == 202
    job_id = r.json()["job_id"]
    assert stack.wait(lambda: stack.redis.zcard("oz:dlq:index"), 30, what="the dead letter")

    after = stack.wait(lambda: (m := scrape(stack)) and value(m, "oz_dead_letters") >= 1 and m, 30,
                       what="the dead-letter gauge")
    assert value(after, "oz_jobs_total", task=SYNC, outcome="dead_lettered") - value(
        before, "oz_jobs_total", task=SYNC, outcome="dead_lettered") == 1

    lines = [json.loads(line) for line in stack.worker_log().splitlines() if line.startswith("{")]
    mine = [rec for rec in lines if job_id in json.dumps(rec)]
    assert any(rec.get("message") == "job dead-lettered" and rec.get("job_id") == job_id for rec in mine)
    assert all(rec.get("job_id") == job_id for rec in mine if rec.get("name") == "omneo_zendesk.jobs")
    logs = "".join(p.log() for p in stack.dev.processes if p.name in ("worker", "receiver"))
    for secret in ("zephyrine", "Quillfeather", "411222333", "411 222 333"):
        assert secret.lower() not in logs.lower(), secret


def test_each_request_is_one_json_access_line_with_its_request_and_job_ids(stack):
    profile = stack.put_profile(id="p-access", **PERSON)
    r = stack.post_omneo("profile.created", profile, headers={"X-Request-Id": "req-access-1"})
    assert r.status_code == 202 and r.headers["X-Job-Id"] == r.json()["job_id"]
    requests.get(stack.receiver + "/healthz?probe=lb-check", timeout=5).raise_for_status()

    receiver = next(p for p in stack.dev.processes if p.name == "receiver")

    def access_lines():
        lines = [json.loads(line) for line in receiver.log().splitlines() if line.startswith("{")]
        return [rec for rec in lines if rec.get("name") == "omneo_zendesk.access"]

    health = stack.wait(lambda: [rec for rec in access_lines() if rec.get("path") == "/healthz"], 10,
                        what="the health check's access line")
    [webhook] = [rec for rec in access_lines() if rec.get("request_id") == "req-access-1"]
    assert (webhook["method"], webhook["path"], webhook["status"]) == ("POST", "/webhooks/omneo", 202)
    assert webhook["job_id"] == r.json()["job_id"] and webhook["duration_ms"] >= 0
    assert "lb-check" not in json.dumps(health), "query strings stay out of the access log"
    assert PERSON["email"] not in receiver.log() and "127.0.0.1" not in json.dumps(webhook)
