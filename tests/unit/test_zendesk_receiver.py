"""POST /webhooks/zendesk in-process: signature and skew, schema, event filter, dedupe, answers."""
import pytest
import redis

from tests.helpers import jobs, post_zendesk, stamp


def ticket_event(type_="zen:event-type:ticket.created", event_id="01HZX0000000000000000001", **inner):
    return {"type": type_, "account_id": 1, "id": event_id, "time": "2026-11-27T10:00:00Z",
            "zendesk_event_version": "2022-11-06", "subject": "zen:ticket:35436",
            "detail": {"id": "35436", "requester_id": "20978392", "subject": "Broken zip",
                       "status": "NEW", "via": {"channel": "web"}},
            "event": inner}


def test_created_event_is_enqueued_on_the_interactions_queue(client, settings, fake_redis):
    r = post_zendesk(client, settings, ticket_event())
    assert r.status_code == 202, r.json
    [sent] = jobs(fake_redis)
    assert r.json["job_id"] == sent["task_id"]
    assert sent["name"] == "omneo_zendesk.ticket_interaction"
    assert sent["args"][0] == {"event_id": "01HZX0000000000000000001",
                               "event_type": "zen:event-type:ticket.created", "kind": "created",
                               "time": "2026-11-27T10:00:00Z", "ticket_id": "35436",
                               "requester_id": "20978392"}
    assert "Broken zip" not in str(sent)  # Flower shows a job's arguments


def test_repeat_of_an_event_id_is_200_and_not_enqueued_again(client, settings, fake_redis):
    assert post_zendesk(client, settings, ticket_event()).status_code == 202
    again = post_zendesk(client, settings, ticket_event())
    assert again.status_code == 200 and again.json["duplicate"] is True
    assert len(jobs(fake_redis)) == 1


@pytest.mark.parametrize("offset", [-301, 301])
def test_timestamp_more_than_five_minutes_off_is_401(client, settings, offset):
    assert post_zendesk(client, settings, ticket_event(), ts=stamp(offset)).status_code == 401
    assert post_zendesk(client, settings, ticket_event(), ts=stamp(offset // 2)).status_code == 202


def test_wrong_or_missing_signature_is_401(client, settings, fake_redis):
    assert post_zendesk(client, settings, ticket_event(), secret="not-the-secret").status_code == 401
    r = client.post("/webhooks/zendesk", json=ticket_event())
    assert r.status_code == 401
    assert jobs(fake_redis) == []


@pytest.mark.parametrize("mutate, field", [
    (lambda b: b.pop("id"), "id"),
    (lambda b: b.update(time="yesterday"), "time"),
    (lambda b: b["detail"].pop("id"), "detail.id"),
    (lambda b: b.update(detail="35436"), "detail"),
    (lambda b: b.pop("type"), "type"),
])
def test_body_failing_the_schema_is_400_naming_the_field(client, settings, mutate, field):
    body = ticket_event()
    mutate(body)
    r = post_zendesk(client, settings, body)
    assert r.status_code == 400
    assert r.json["error"].startswith(field + ":"), r.json


def test_malformed_json_is_400(client, settings):
    assert post_zendesk(client, settings, b"{nope").status_code == 400


def test_events_not_in_the_setting_or_not_interactions_are_200_ignored(client, settings, fake_redis):
    priority = ticket_event("zen:event-type:ticket.priority_changed", event_id="e-1")
    reopened = ticket_event("zen:event-type:ticket.status_changed", event_id="e-2",
                            previous="SOLVED", current="OPEN")
    for body in (priority, reopened):
        r = post_zendesk(client, settings, body)
        assert r.status_code == 200 and r.json["status"] == "ignored"
    assert jobs(fake_redis) == []


def test_solved_and_bad_rating_are_enqueued(client, settings, fake_redis):
    solved = ticket_event("zen:event-type:ticket.status_changed", event_id="e-3",
                          previous="OPEN", current="SOLVED")
    bad = ticket_event("zen:event-type:ticket.csat_received", event_id="e-4",
                       satisfaction_score={"score": "bad"})
    assert post_zendesk(client, settings, solved).json["kind"] == "solved"
    assert post_zendesk(client, settings, bad).json["kind"] == "rated_bad"
    assert [s["args"][0]["kind"] for s in jobs(fake_redis)] == ["solved", "rated_bad"]


def test_body_over_one_mebibyte_is_413(client, settings):
    body = ticket_event()
    body["detail"]["description"] = "x" * (1024 * 1024)
    assert post_zendesk(client, settings, body).status_code == 413


def test_queue_down_is_503_and_the_retry_is_not_a_duplicate(client, settings, fake_redis, monkeypatch):
    def down(*args, **kwargs):
        raise redis.ConnectionError("broker gone")

    monkeypatch.setattr(fake_redis, "evalsha", down)
    assert post_zendesk(client, settings, ticket_event()).status_code == 503
    monkeypatch.undo()
    assert post_zendesk(client, settings, ticket_event()).status_code == 202
    assert len(jobs(fake_redis)) == 1
