"""The receivers' intake writes the message Kombu's Redis transport itself would write, so a
Celery worker of the installed versions reads it as it reads a `send_task` (every other e2e test
has real workers run such messages)."""
import base64
import json

import pytest
import redis
import sentry_sdk
from celery import Celery
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.transport import Transport

from integration import jobs
from integration.sandbox.devstack import DevStack
from workers.intake import Intake, Job

# The Kombu versions this comparison has passed on; pyproject.toml pins the same range. Widen both
# only once the test has passed on the new version: the intake writes Kombu's envelope by hand.
KOMBU_TESTED = ">=5.7,<5.8"


def test_kombu_is_pinned_to_the_range_this_test_checked():
    from importlib.metadata import version
    from pathlib import Path

    from packaging.specifiers import SpecifierSet

    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    assert f'"kombu{KOMBU_TESTED}"' in pyproject
    assert version("kombu") in SpecifierSet(KOMBU_TESTED), "the installed Kombu was never checked"


# differ per message or per process by design
PER_MESSAGE = {"id", "root_id", "correlation_id", "delivery_tag", "reply_to", "origin",
               "sentry-task-enqueued-time"}


@pytest.fixture
def broker(tmp_path):
    dev = DevStack(tmp_path)
    url = dev.start_redis(prefer="redis-server")
    yield url
    dev.stop()


def fields(raw: bytes) -> dict:
    message = json.loads(raw)
    flat = {("properties", k): v for k, v in message.pop("properties").items()}
    flat.update({("headers", k): v for k, v in message.pop("headers").items()})
    flat.update({("message", k): v for k, v in message.items()})
    flat[("message", "body")] = json.loads(base64.b64decode(message["body"]))
    inner = flat.pop(("headers", "headers"), None)
    if inner is not None:  # what the worker's Sentry reads
        flat.update({("inner headers", k): v for k, v in inner.items()})
    return {k: v for k, v in flat.items() if k[1] not in PER_MESSAGE}


class Discard(Transport):
    def capture_envelope(self, envelope):
        pass


@pytest.fixture(params=["sentry off", "sentry on"])
def sentry(request):
    """With Sentry on, send_task carries the trace to the job: the intake must carry it too."""
    if request.param == "sentry on":
        sentry_sdk.init(dsn="https://key@sentry.invalid/1", transport=Discard,
                        integrations=[CeleryIntegration()])
    else:
        sentry_sdk.init()
    yield request.param
    sentry_sdk.init()


@pytest.mark.parametrize("job", [
    Job(jobs.SYNC_PROFILE, ["p-1"]),
    Job(jobs.ERASE_PROFILE, ["p-2"], {"zendesk_user_id": "42", "requested_at": 1.5}),
    Job(jobs.TICKET_INTERACTION, [{"event_id": "e", "subject": "Ünïcode ✓"}]),
])
def test_intake_message_matches_what_send_task_writes(broker, sentry, job):
    app = Celery("omneo_zendesk", broker=broker)
    app.conf.update(task_queues=None, task_serializer="json", task_send_sent_event=False)
    r = redis.Redis.from_url(broker)
    queue = job.task.queue
    assert queue in jobs.QUEUES

    app.send_task(job.task.name, args=job.args, kwargs=job.kwargs, task_id="by-kombu", queue=queue)
    Intake(app, r).accept("test", "delivery-1", job)

    ours, kombus = r.lpop(queue), r.lpop(queue)
    assert r.llen(queue) == 0, "both messages land in the queue's own list (priority 0)"
    assert fields(ours) == fields(kombus)
    assert "Ünïcode" not in json.loads(ours)["headers"]["argsrepr"], "Flower never shows a subject"
    if sentry == "sentry on":
        assert ("inner headers", "sentry-trace") in fields(ours)
