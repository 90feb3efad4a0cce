"""Ticket events -> Omneo interactions as plain functions: fakeredis state, in-process sandboxes."""
import json

import pytest

from integration import interactions
from integration.store import keys
from integration.errors import TransientError
from integration.interactions import classify, record_ticket_event, ticket_job
from integration.sandbox.base import omneo_time
from integration.settings.declared import load_settings
from tests.helpers import CREATED, CSAT, STATUS, add_user, event, job_for, put

def put_profile(omneo, **fields):
    with omneo.lock:
        profile = {"id": fields["id"], "first_name": None, "email": None, "identities": [],
                   "profile_type": "active", "updated_at": omneo_time()}
        profile.update(fields)
        omneo.profiles[fields["id"]] = profile
    return profile


@pytest.fixture(autouse=True)
def ticket_100(ctx, zendesk_sandbox):
    """The ticket the events name, as Zendesk has it (the worker reads its subject there)."""
    with zendesk_sandbox.lock:
        zendesk_sandbox.tickets[100] = {"id": 100, "subject": "Where is my order?",
                                        "requester_id": 36000000001, "status": "open"}


# what an event means
@pytest.mark.parametrize("type_, inner, expected", [
    (CREATED, {}, ("created", "Ticket created", 0)),
    (STATUS, {"previous": "OPEN", "current": "SOLVED"}, ("solved", "Ticket solved", 1)),
    (STATUS, {"previous": "open", "current": {"status": "solved"}}, ("solved", "Ticket solved", 1)),
    (STATUS, {"previous": "Open", "current": "Solved"}, ("solved", "Ticket solved", 1)),
    (CSAT, {"satisfaction_score": {"score": "bad"}}, ("rated_bad", "Ticket rated bad", -1)),
    (CSAT, {"current": "BAD_WITH_COMMENT"}, ("rated_bad", "Ticket rated bad", -1)),
    (CSAT, {"score": "good"}, ("rated_good", "Ticket rated good", 1)),
])
def test_classify_maps_events_to_name_and_signal(type_, inner, expected):
    activity = classify(event(type_, inner))
    assert (activity.kind, activity.name, activity.signal) == expected


@pytest.mark.parametrize("type_, inner", [
    (STATUS, {"previous": "NEW", "current": "OPEN"}),
    (STATUS, {"previous": "SOLVED", "current": "SOLVED"}),
    (STATUS, {"previous": "Solved", "current": "solved"}),
    (STATUS, {"previous": "SOLVED", "current": "CLOSED"}),
    (CSAT, {"satisfaction_score": {"score": "offered"}}),
    ("zen:event-type:ticket.priority_changed", {}),
    ("zen:event-type:user.created", {}),
])
def test_classify_ignores_what_is_not_an_interaction(type_, inner):
    assert classify(event(type_, inner)) is None


def test_default_ticket_events_setting_uses_zendesk_names(settings):
    assert settings.ticket_events == (CREATED, STATUS, CSAT)


def test_ticket_events_setting_accepts_short_names_and_refuses_unknown(settings):
    base = {"REDIS_URL": "redis://x:1/0", "OMNEO_TENANT": "acme", "OMNEO_API_TOKEN": "t",
            "OMNEO_WEBHOOK_SECRET": "12345678", "ZENDESK_SUBDOMAIN": "acme",
            "ZENDESK_OAUTH_TOKEN": "o", "ZENDESK_WEBHOOK_SECRET": "12345678",
            "ZENDESK_APP_SECRET": "0123456789abcdef0123456789abcdef"}
    s = load_settings(dict(base, TICKET_EVENTS="ticket.created, zen:event-type:ticket.comment_added"))
    assert s.ticket_events == (CREATED, "zen:event-type:ticket.comment_added")
    with pytest.raises(Exception) as err:
        load_settings(dict(base, TICKET_EVENTS="ticket.solved"))
    assert "TICKET_EVENTS" in str(err.value)


def test_job_carries_ids_only_no_comment_body_nor_subject():
    """Flower shows a job's arguments and a dead letter keeps them: the customer's words stay out."""
    payload = event("zen:event-type:ticket.comment_added", {"comment": {"body": "my card is 4111"}})
    job = ticket_job(payload, classify(payload))
    assert "4111" not in json.dumps(job)
    assert "Where is my order" not in json.dumps(job) and "subject" not in job
    assert job["ticket_id"] == "100" and job["requester_id"] == "36000000001"


def test_interaction_fields(ctx):
    job = job_for("36000000001", STATUS, {"previous": "OPEN", "current": "SOLVED"})
    body = interactions.build_interaction(ctx, dict(job, subject="Where is my order?"), "p-1")
    assert body == {
        "profile_id": "p-1", "action": "service", "channel": "support", "signal": 1,
        "name": "Ticket solved", "namespace": "zendesk", "description": "Where is my order?",
        "url": f"{ctx.settings.zendesk_base_url}/agent/tickets/100",
        "interacted_at": "2026-11-27 10:15:30",
        "meta": {"zendesk_ticket_id": "100", "zendesk_event_id": "01HEVENT0001",
                 "zendesk_event_type": STATUS}}


def test_event_time_with_offset_becomes_utc_omneo_time():
    assert interactions.omneo_time("2026-11-27T20:15:30.123+10:00") == "2026-11-27 10:15:30"


# whose event it is
def test_requester_resolved_by_external_id_first(ctx, omneo_sandbox, zendesk_sandbox):
    put(omneo_sandbox, id="p-ext", email="a@example.com")
    put(omneo_sandbox, id="p-mail", email="b@example.com")
    user = add_user(zendesk_sandbox, email="b@example.com", external_id="p-ext")
    match = interactions.resolve_requester(ctx, str(user["id"]))
    assert (match.profile["id"], match.how) == ("p-ext", "external_id")


def test_requester_resolved_by_identity_before_email(ctx, omneo_sandbox, zendesk_sandbox):
    user = add_user(zendesk_sandbox, email="c@example.com")
    put(omneo_sandbox, id="p-mail", email="c@example.com")
    put(omneo_sandbox, id="p-id", identities=[{"handle": "zendesk", "identifier": str(user["id"]),
                                                       "is_active": True}])
    match = interactions.resolve_requester(ctx, str(user["id"]))
    assert (match.profile["id"], match.how) == ("p-id", "identity")


def test_requester_found_by_email_gets_both_halves_of_the_link(ctx, omneo_sandbox, zendesk_sandbox):
    user = add_user(zendesk_sandbox, email="d@example.com")
    put(omneo_sandbox, id="p-d", email="D@example.com")
    result = record_ticket_event(ctx, job_for(user["id"]))
    assert result["outcome"] == "created" and result["matched_by"] == "email"
    assert sorted(result["linked"]) == ["external_id", "identity"]
    assert zendesk_sandbox.users[user["id"]]["external_id"] == "p-d"
    ids = omneo_sandbox.profiles["p-d"]["identities"]
    assert [(i["handle"], i["identifier"]) for i in ids] == [("zendesk", str(user["id"]))]
    [made] = omneo_sandbox.interactions
    assert (made["profile_id"], made["name"], made["signal"]) == ("p-d", "Ticket created", 0)


def test_link_never_repoints_an_identity_naming_another_user(ctx, omneo_sandbox, zendesk_sandbox):
    user = add_user(zendesk_sandbox, email="e@example.com")
    put(omneo_sandbox, id="p-e", email="e@example.com",
                identities=[{"handle": "zendesk", "identifier": "999", "is_active": True}])
    result = record_ticket_event(ctx, job_for(user["id"]))
    assert result["outcome"] == "created" and result["linked"] == ["external_id"]
    assert [i["identifier"] for i in omneo_sandbox.profiles["p-e"]["identities"]] == ["999"]


def test_unknown_requester_is_skipped_and_counted_once(ctx, omneo_sandbox, zendesk_sandbox):
    user = add_user(zendesk_sandbox, email="nobody@example.com")
    job = job_for(user["id"])
    assert record_ticket_event(ctx, job)["outcome"] == "skipped"
    assert record_ticket_event(ctx, job)["outcome"] == "duplicate"
    assert int(ctx.redis.get(keys.INTERACTIONS_SKIPPED)) == 1
    [raw] = ctx.redis.lrange(keys.INTERACTIONS_SKIPPED_LOG, 0, -1)
    record = json.loads(raw)
    assert record["zendesk_user_id"] == str(user["id"]) and record["ticket_id"] == "100"
    assert "nobody@example.com" not in raw.decode()
    assert omneo_sandbox.interactions == []


def test_missing_requester_and_subject_are_read_from_the_ticket(ctx, omneo_sandbox, zendesk_sandbox):
    user = add_user(zendesk_sandbox, email="f@example.com", external_id="p-f")
    put(omneo_sandbox, id="p-f", email="f@example.com")
    with zendesk_sandbox.lock:
        zendesk_sandbox.tickets[555] = {"id": 555, "subject": "Refund please", "requester_id": user["id"],
                                        "status": "open"}
    job = dict(job_for(user["id"]), ticket_id="555", requester_id=None)
    assert record_ticket_event(ctx, job)["outcome"] == "created"
    assert omneo_sandbox.interactions[0]["description"] == "Refund please"


# once
def test_the_subject_is_read_from_zendesk_not_from_the_job(ctx, omneo_sandbox, zendesk_sandbox):
    user = add_user(zendesk_sandbox, email="s@example.com", external_id="p-s")
    put_profile(omneo_sandbox, id="p-s")
    # a job enqueued before jobs stopped carrying the subject: Zendesk's word is used
    job = dict(job_for(user["id"]), subject="an old subject")
    assert record_ticket_event(ctx, job)["outcome"] == "created"
    assert omneo_sandbox.interactions[0]["description"] == "Where is my order?"


def test_same_event_twice_makes_one_interaction(ctx, omneo_sandbox, zendesk_sandbox):
    user = add_user(zendesk_sandbox, email="g@example.com", external_id="p-g")
    put(omneo_sandbox, id="p-g")
    job = job_for(user["id"])
    assert record_ticket_event(ctx, job)["outcome"] == "created"
    assert record_ticket_event(ctx, job)["outcome"] == "duplicate"
    assert len(omneo_sandbox.interactions) == 1


def test_rerun_after_crash_between_post_and_done_mark_recovers(ctx, omneo_sandbox, zendesk_sandbox,
                                                                  monkeypatch):
    user = add_user(zendesk_sandbox, email="h@example.com", external_id="p-h")
    put(omneo_sandbox, id="p-h")
    job = job_for(user["id"])
    real_create = ctx.omneo.create_interaction

    def created_then_lost(body):  # Omneo stores it, the answer never arrives
        real_create(body)
        raise TransientError("omneo", "POST /interactions: ReadTimeout")

    monkeypatch.setattr(ctx.omneo, "create_interaction", created_then_lost)
    with pytest.raises(TransientError):
        record_ticket_event(ctx, job)
    monkeypatch.setattr(ctx.omneo, "create_interaction", real_create)
    result = record_ticket_event(ctx, job)
    assert result["outcome"] == "recovered"
    assert len(omneo_sandbox.interactions) == 1
    assert record_ticket_event(ctx, job)["outcome"] == "duplicate"


def test_failed_post_is_retried_for_real(ctx, omneo_sandbox, zendesk_sandbox, monkeypatch):
    user = add_user(zendesk_sandbox, email="i@example.com", external_id="p-i")
    put(omneo_sandbox, id="p-i")
    job = job_for(user["id"])

    def refused(body):  # the post never reached Omneo
        raise TransientError("omneo", "POST /interactions -> 503", 503)

    real_create = ctx.omneo.create_interaction
    monkeypatch.setattr(ctx.omneo, "create_interaction", refused)
    with pytest.raises(TransientError):
        record_ticket_event(ctx, job)
    monkeypatch.setattr(ctx.omneo, "create_interaction", real_create)
    assert record_ticket_event(ctx, job)["outcome"] == "created"
    assert len(omneo_sandbox.interactions) == 1


def test_erased_profile_gets_no_interaction(ctx, omneo_sandbox, zendesk_sandbox):
    user = add_user(zendesk_sandbox, email="j@example.com", external_id="p-j")
    put(omneo_sandbox, id="p-j")
    ctx.state.mark_erased("p-j")
    assert record_ticket_event(ctx, job_for(user["id"]))["outcome"] == "skipped"
    assert omneo_sandbox.interactions == []
