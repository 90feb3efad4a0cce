"""Prometheus metrics of the jobs, the API calls they make, and the queues they wait in.

Several processes record: gunicorn's workers (webhooks, jobs enqueued) and Celery's pool
processes (jobs, API calls). With `PROMETHEUS_MULTIPROC_DIR` set (the CLI, the Procfile, the
compose file and `dev` set it), prometheus-client keeps each process's values in files in that
directory and `render()` sums every process of the host: one scrape of the receiver's `/metrics`
shows the workers' jobs too, when they share the directory (same machine, or a shared volume).
A worker on another machine serves its own with `omneo-zendesk metrics`. Queue depths and the
dead-letter count are read from Redis at scrape time, so every scrape sees the shared truth.
"""
from __future__ import annotations

import os

from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter,
                               Histogram, generate_latest)
from prometheus_client.core import GaugeMetricFamily

from integration import keys

JOBS = Counter("oz_jobs_total", "Jobs by task and outcome (succeeded, retried, dead_lettered)",
               ["task", "outcome"])
JOBS_ENQUEUED = Counter("oz_jobs_enqueued_total", "Jobs put on a queue, by task", ["task"])
JOB_SECONDS = Histogram("oz_job_seconds", "Time a job ran, by task", ["task"],
                        buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
TICKET_EVENTS = Counter("oz_ticket_events_total",
                        "Zendesk ticket events by what the interaction job did "
                        "(created, duplicate, recovered, skipped)", ["outcome"])
API_CALLS = Counter("oz_api_calls_total", "API calls by API and status class (429 apart)",
                    ["api", "status"])

CONTENT_TYPE = CONTENT_TYPE_LATEST
# kombu's Redis transport keeps priorities 1-9 in lists named "<queue>\x06\x16<priority>"
_PRIORITY_SUFFIXES = ("",) + tuple(f"\x06\x16{n}" for n in (3, 6, 9))


def record_api_call(api: str, status: int | None) -> None:
    label = "error" if status is None else ("429" if status == 429 else f"{status // 100}xx")
    API_CALLS.labels(api, label).inc()


class RedisGauges:
    """Collected at scrape time: messages waiting per queue, jobs taken but not acknowledged,
    dead letters kept, whether Zendesk takes our credentials."""

    def __init__(self, client, queues, auth_fingerprint: str | None = None):
        """`auth_fingerprint`: the deployment's OAuth credentials' (integration.zendesk_auth);
        None without them (nothing to refuse)."""
        self.r, self.queues = client, tuple(queues)
        self.auth_key = keys.zendesk_auth_problem(auth_fingerprint) if auth_fingerprint else None

    def collect(self):
        depth = GaugeMetricFamily("oz_queue_depth", "Messages waiting in a Celery queue", labels=["queue"])
        up = GaugeMetricFamily("oz_redis_up", "1 when Redis answered this scrape")
        try:
            pipe = self.r.pipeline()
            for queue in self.queues:
                for suffix in _PRIORITY_SUFFIXES:
                    pipe.llen(queue + suffix)
            pipe.hlen("unacked")
            pipe.zcard(keys.DLQ_INDEX)
            if self.auth_key:
                pipe.exists(self.auth_key)
            values = pipe.execute() + ([] if self.auth_key else [0])
        except Exception:  # a scrape must answer even when Redis does not
            up.add_metric([], 0)
            yield up
            return
        n = len(_PRIORITY_SUFFIXES)
        for i, queue in enumerate(self.queues):
            depth.add_metric([queue], sum(values[i * n:(i + 1) * n]))
        up.add_metric([], 1)
        yield depth
        yield up
        yield GaugeMetricFamily("oz_jobs_unacked", "Jobs taken by a worker and not yet acknowledged",
                                value=values[-3])
        yield GaugeMetricFamily("oz_dead_letters", "Entries in the dead-letter store", value=values[-2])
        yield GaugeMetricFamily("oz_zendesk_auth_ok", "0 while Zendesk refuses our credentials "
                                "(/readyz says why), else 1", value=0 if values[-1] else 1)


def render(redis_client=None, queues=(), auth_fingerprint: str | None = None) -> bytes:
    """The text exposition of every process of this host, plus Redis-derived gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    body = generate_latest(registry)
    if redis_client is not None:
        extra = CollectorRegistry()
        extra.register(RedisGauges(redis_client, queues, auth_fingerprint))
        body += generate_latest(extra)
    return body


def ensure_multiproc_dir(path: str | None) -> None:
    """Create the directory prometheus-client writes to, before any metric is touched."""
    if path:
        os.makedirs(path, exist_ok=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
