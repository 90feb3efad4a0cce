"""Logs and Sentry events carry ids but no personal data; queue gauges read Redis at scrape time."""
from __future__ import annotations

import io
import json
import logging
import os

import pytest
import requests
import sentry_sdk
from prometheus_client import CollectorRegistry, generate_latest
from sentry_sdk.transport import Transport

from integration.store.keys import DLQ_INDEX
from workers import logs, metrics, runtime
from workers.sentry import init_sentry, scrub_event

EMAIL, FIRST, LAST, PHONE = "zephyrine.q@example.com", "Zephyrine", "Quillfeather", "+61 411 222 333"


def no_personal_data(text: str) -> bool:
    lowered = text.lower()
    return not any(s.lower() in lowered for s in (EMAIL, FIRST, LAST, "411 222 333", "411222333"))


@pytest.fixture
def captured_log():
    stream = io.StringIO()
    logs.configure_logging("json")
    logging.getLogger().handlers[0].stream = stream
    yield stream
    logs.configure_logging("text")


def test_log_records_are_scrubbed_and_carry_the_job_id(captured_log):
    logs.job_id.set("job-123")
    try:
        raise ValueError(f"Email {EMAIL} is already being used, phone {PHONE}")
    except ValueError:
        logging.getLogger("omneo_zendesk.test").exception(
            "zendesk said %s", f"{EMAIL} / {PHONE}",
            extra={"first_name": FIRST, "body": {"user": {"name": f"{FIRST} {LAST}", "id": 7}}})
    logs.job_id.set(None)
    record = json.loads(captured_log.getvalue())
    assert record["job_id"] == "job-123"
    assert record["message"] == "zendesk said [email] / [phone]"
    assert record["first_name"] == "[Filtered]" and record["body"]["user"] == {"name": "[Filtered]", "id": 7}
    assert "ValueError" in record["exc_info"]
    assert no_personal_data(captured_log.getvalue())


def test_scrubber_keeps_ids_and_timestamps():
    text = "user 36000000001 synced at 2025-06-15 14:32:00, job 5f1c0e9ab2"
    assert logs.scrub_text(text) == text


def test_before_send_masks_profile_fields_everywhere():
    event = {
        "message": f"sync failed for {EMAIL}",
        "exception": {"values": [{"type": "PermanentError", "value": f"422 Email {EMAIL} taken"}]},
        "extra": {"profile": {"first_name": FIRST, "last_name": LAST, "mobile": PHONE, "id": "p-1"}},
        "request": {"data": {"email": EMAIL, "phone": PHONE}, "url": "https://oz.example.com/webhooks/omneo"},
        "breadcrumbs": {"values": [
            {"category": "httplib", "data": {"url": f"https://acme.zendesk.com/api/v2/users/search?query=email%3A{EMAIL}"}},
            {"category": "log", "message": f"{FIRST} {LAST} called from {PHONE}", "data": {"name": FIRST}}]},
    }
    clean = scrub_event(event, {})
    assert clean["extra"]["profile"]["id"] == "p-1"
    assert clean["request"]["url"] == "https://oz.example.com/webhooks/omneo"
    assert clean["breadcrumbs"]["values"][1]["data"]["name"] == "[Filtered]"
    # a name in free text is beyond any pattern; the keys that hold names are masked
    clean["breadcrumbs"]["values"][1]["message"] = clean["breadcrumbs"]["values"][1]["message"].replace(
        f"{FIRST} {LAST}", "")
    assert no_personal_data(json.dumps(clean))


class CaptureTransport(Transport):
    events: list = []

    def capture_envelope(self, envelope):
        for item in envelope.items:
            if item.headers.get("type") == "event":
                CaptureTransport.events.append(json.loads(item.get_bytes()))


@pytest.fixture
def sentry_events(settings):
    CaptureTransport.events = []
    assert init_sentry(settings.replace(sentry_dsn="https://key@sentry.example.com/1"), "test",
                       transport=CaptureTransport)
    yield CaptureTransport.events
    sentry_sdk.get_client().close()
    sentry_sdk.init()


def test_a_dead_lettered_job_reaches_sentry_without_personal_data(ctx, sentry_events, monkeypatch):
    from workers.celery_app import create_celery
    from workers.tasks import sync_profile

    app = create_celery(ctx.settings)
    app.conf.task_always_eager = True
    monkeypatch.setattr(runtime, "_context", ctx)
    monkeypatch.setattr(runtime, "_pid", os.getpid())
    omneo, zendesk = (ctx.settings.omneo_base_url.rsplit("/api/v3", 1)[0], ctx.settings.zendesk_base_url)
    requests.post(omneo + "/_sandbox/profiles?emit=0", json={
        "id": "p-sentry", "first_name": FIRST, "last_name": LAST, "email": EMAIL, "mobile_phone": PHONE},
        timeout=5).raise_for_status()
    requests.post(zendesk + "/_sandbox/config", timeout=5, json={"fail": [{
        "path": "/users/create_or_update", "status": 422, "count": 1,
        "body": {"error": "RecordInvalid", "details": {"email": [
            {"description": f"Email {EMAIL} is already being used by {FIRST} {LAST}"}]}}}]}).raise_for_status()

    result = sync_profile.apply(args=["p-sentry"], task_id="job-sentry-1").get()
    sentry_sdk.flush()

    assert result["outcome"] == "dead_lettered"
    [event] = [e for e in sentry_events if e.get("logentry", {}).get("message") == "job dead-lettered"]
    assert event["level"] == "error" and event["tags"]["component"] == "test"
    assert no_personal_data(json.dumps(sentry_events))


def test_queue_gauges_read_redis_at_scrape_time(fake_redis):
    fake_redis.lpush("sync", "a", "b")
    fake_redis.lpush("sync\x06\x163", "c")
    fake_redis.lpush("erasure", "d")
    fake_redis.zadd(DLQ_INDEX, {"x": 1})
    registry = CollectorRegistry()
    registry.register(metrics.RedisGauges(fake_redis, ("sync", "erasure", "interactions")))
    text = generate_latest(registry).decode()
    assert 'oz_queue_depth{queue="sync"} 3.0' in text
    assert 'oz_queue_depth{queue="erasure"} 1.0' in text
    assert 'oz_queue_depth{queue="interactions"} 0.0' in text
    assert "oz_dead_letters 1.0" in text and "oz_redis_up 1.0" in text


def test_queue_gauges_say_when_redis_is_down():
    import redis

    registry = CollectorRegistry()
    registry.register(metrics.RedisGauges(redis.Redis(port=1, socket_connect_timeout=0.2), ("sync",)))
    assert "oz_redis_up 0.0" in generate_latest(registry).decode()


def test_gauges_for_the_alerts_read_redis_and_the_settings(fake_redis, settings):
    from integration.store import keys

    registry = CollectorRegistry()
    registry.register(metrics.RedisGauges(fake_redis, ("sync",), settings))
    text = generate_latest(registry).decode()
    # nothing seen yet: no budget share, no reconciliation time (a 0 would read as "1970")
    assert "oz_zendesk_budget_left_ratio" not in text
    assert "oz_reconcile_last_complete_timestamp_seconds" not in text
    assert 'oz_jobs_due{queue="sync"} 0.0' in text

    fake_redis.zadd(keys.due("sync"), {"job-1": 1, "job-2": 2})
    fake_redis.set(keys.ratelimit_observed("zendesk"), "0.1800")
    fake_redis.hset(keys.RECONCILE_STATE, "last_finished_at", "1767225600.5")
    text = generate_latest(registry).decode()
    assert 'oz_jobs_due{queue="sync"} 2.0' in text
    assert "oz_zendesk_budget_left_ratio 0.18" in text
    assert "oz_reconcile_last_complete_timestamp_seconds 1.7672256005e+09" in text
    assert f"oz_reconcile_interval_seconds {float(settings.reconcile_interval_seconds)}" in text
    assert f"oz_zendesk_budget_reserve_ratio {settings.zendesk_budget_reserve_percent / 100}" in text
    assert 'oz_api_budget_per_minute{api="zendesk"} 100000.0' in text
    assert 'oz_api_budget_per_minute{api="omneo"} 100000.0' in text
