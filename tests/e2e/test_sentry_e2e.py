"""A real worker process reports a dead-lettered job to Sentry (a stand-in ingest server here),
and the event it sends holds no email, name or phone of the customer."""
from __future__ import annotations

import os
import threading
from http.server import ThreadingHTTPServer

import pytest
import requests

from integration import jobs
from integration.settings.declared import load_settings
from tests.e2e.conftest import FAST_RETRIES
from integration.sandbox.devstack import DevStack, wait_until
from workers import enqueue
from workers.celery_app import create_celery
from tests.e2e.helpers import Ingest

pytestmark = pytest.mark.e2e

PERSON = {"first_name": "Zephyrine", "last_name": "Quillfeather", "email": "zephyrine.q@example.com",
          "mobile_phone": "+61411222333"}


@pytest.fixture
def sentry_ingest():
    Ingest.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Ingest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://publickey@127.0.0.1:{server.server_address[1]}/1", Ingest.received
    server.shutdown()


def test_worker_sends_the_dead_letter_to_sentry_without_personal_data(tmp_path, sentry_ingest):
    dsn, received = sentry_ingest
    dev = DevStack(tmp_path, base_env={k: v for k, v in os.environ.items()
                                       if not k.startswith(("OMNEO_", "ZENDESK_", "REDIS_", "SENTRY_"))})
    dev.env.update(FAST_RETRIES, SENTRY_DSN=dsn)
    try:
        dev.start_redis()
        dev.start_sandboxes()
        dev.start_worker(concurrency=1)
        omneo, zendesk = dev.urls["omneo_sandbox"], dev.urls["zendesk_sandbox"]
        requests.post(omneo + "/_sandbox/profiles?emit=0", json=dict(PERSON, id="p-sentry"),
                      timeout=5).raise_for_status()
        requests.post(zendesk + "/_sandbox/config", timeout=5, json={"fail": [{
            "path": "/users/create_or_update", "method": "POST", "status": 422, "count": 1,
            "body": {"error": "RecordInvalid", "details": {"email": [{"description":
                     f"Email {PERSON['email']} is already being used by {PERSON['first_name']}"}]}}}]}
                      ).raise_for_status()
        job_id = enqueue.send(create_celery(load_settings(dev.env)), jobs.SYNC_PROFILE, "p-sentry")

        wait_until(lambda: any(b"job dead-lettered" in body for body in received), 60,
                   what="the Sentry event")
        event = next(body for body in received if b"job dead-lettered" in body)
        assert job_id.encode() in event
        everything = b"".join(received).lower()
        for secret in ("zephyrine", "quillfeather", "411222333"):
            assert secret.encode() not in everything, secret
    finally:
        dev.stop()
