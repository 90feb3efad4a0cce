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

from integration.store import keys
from integration.apis import zendesk_auth
from integration.store import keys, pending_erasures, redis_memory

JOBS = Counter("oz_jobs_total", "Jobs by task and outcome (succeeded, retried, dead_lettered)",
               ["task", "outcome"])
JOBS_ENQUEUED = Counter("oz_jobs_enqueued_total", "Jobs put on a queue, by task", ["task"])
JOB_SECONDS = Histogram("oz_job_seconds", "Time a job ran, by task", ["task"],
                        buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
TICKET_EVENTS = Counter("oz_ticket_events_total",
                        "Zendesk ticket events by what the interaction job did "
                        "(created, duplicate, recovered, skipped)", ["outcome"])
AGENT_ACTIONS = Counter("oz_agent_actions_total",
                        "Agents' sidebar actions by kind (goodwill_reward, benefit_claim) and outcome "
                        "(accepted, refused at the door; done, failed, refused by the job)", ["kind", "outcome"])
API_CALLS = Counter("oz_api_calls_total", "API calls by API and status class (429 apart)",
                    ["api", "status"])

CONTENT_TYPE = CONTENT_TYPE_LATEST
# kombu's Redis transport keeps priorities 1-9 in lists named "<queue>\x06\x16<priority>"
_PRIORITY_SUFFIXES = ("",) + tuple(f"\x06\x16{n}" for n in (3, 6, 9))


_recovered: Counter | None = None


def interactions_recovered() -> Counter:
    """oz_interactions_recovered_total, made on first use: a counter without labels makes its
    value at once, and in a process whose metrics directory is not set up yet (at import) it
    would not be the shared one."""
    global _recovered
    if _recovered is None:
        _recovered = Counter("oz_interactions_recovered_total",
                             "Interactions reconciliation made from Zendesk's ticket event export, "
                             "their webhooks having been lost")
    return _recovered


def record_api_call(api: str, status: int | None) -> None:
    label = "error" if status is None else ("429" if status == 429 else f"{status // 100}xx")
    API_CALLS.labels(api, label).inc()


class RedisGauges:
    """Collected at scrape time: messages waiting per queue, jobs taken but not acknowledged,
    dead letters kept, whether Zendesk takes our credentials, the share of the Zendesk account's
    budget last seen left, pending erasures, when reconciliation last completed, how far behind the
    ticket event export's watermark is, Redis's memory and eviction policy; with `settings`, the figures the alerts compare those with
    (budgets, reserve, reconcile interval)."""

    def __init__(self, client, queues, settings=None):
        """`settings`: the deployment's (its OAuth credentials name the auth flag read here, its
        budgets and intervals are exported for the alerts); None exports neither."""
        self.r, self.queues, self.settings = client, tuple(queues), settings
        fingerprint = zendesk_auth.fingerprint(settings) if settings is not None else None
        self.auth_key = keys.zendesk_auth_problem(fingerprint) if fingerprint else None

    def collect(self):
        if self.settings is not None:
            yield from self._configured()
        depth = GaugeMetricFamily("oz_queue_depth", "Messages waiting in a Celery queue", labels=["queue"])
        up = GaugeMetricFamily("oz_redis_up", "1 when Redis answered this scrape")
        try:
            pipe = self.r.pipeline()
            for queue in self.queues:
                for suffix in _PRIORITY_SUFFIXES:
                    pipe.llen(queue + suffix)
            for queue in self.queues:
                pipe.zcard(keys.due(queue))
            pipe.get(keys.ratelimit_observed("zendesk"))
            pipe.hget(keys.RECONCILE_STATE, "last_finished_at")
            pipe.hlen("unacked")
            pipe.zcard(keys.DLQ_INDEX)
            if self.auth_key:
                pipe.exists(self.auth_key)
            else:
                pipe.echo(0)  # no OAuth credentials: nothing to refuse
            pipe.hget(keys.RECONCILE_STATE, keys.TICKET_EVENTS_WATERMARK)
            pipe.time()
            *values, watermark, (seconds, micros) = pipe.execute()
            pending, oldest = pending_erasures.summary(self.r)
        except Exception:  # a scrape must answer even when Redis does not
            up.add_metric([], 0)
            yield up
            return
        n, q = len(_PRIORITY_SUFFIXES), len(self.queues)
        due = GaugeMetricFamily("oz_jobs_due", "Jobs waiting out a retry delay before going back on "
                                "their queue", labels=["queue"])
        for i, queue in enumerate(self.queues):
            depth.add_metric([queue], sum(values[i * n:(i + 1) * n]))
            due.add_metric([queue], values[q * n + i])
        up.add_metric([], 1)
        yield depth
        yield due
        yield up
        left, finished = values[q * n + q], values[q * n + q + 1]
        if left is not None:  # a Zendesk answer within the last few seconds said what is left
            yield GaugeMetricFamily("oz_zendesk_budget_left_ratio", "Share of the Zendesk account's "
                                    "per-minute budget its last answer said was left (with a reserve set)",
                                    value=float(left))
        if finished is not None:  # no series before the first complete run
            yield GaugeMetricFamily("oz_reconcile_last_complete_timestamp_seconds",
                                    "Unix time the last complete reconciliation finished",
                                    value=float(finished))
        yield GaugeMetricFamily("oz_jobs_unacked", "Jobs taken by a worker and not yet acknowledged",
                                value=values[-3])
        yield GaugeMetricFamily("oz_dead_letters", "Entries in the dead-letter store", value=values[-2])
        yield GaugeMetricFamily("oz_zendesk_auth_ok", "0 while Zendesk refuses our credentials "
                                "(/readyz says why), else 1", value=0 if values[-1] else 1)
        yield GaugeMetricFamily("oz_erasures_pending", "Erasures waiting for the customer's Zendesk "
                                "tickets to close", value=pending)
        yield GaugeMetricFamily("oz_erasure_oldest_pending_seconds", "Age of the oldest pending erasure "
                                "(0 when none)", value=oldest)
        if watermark:  # none before the first reconciliation
            yield GaugeMetricFamily("oz_ticket_events_export_lag_seconds",
                                    "Seconds between now (Redis's clock) and the ticket event "
                                    "export's watermark: how far back lost ticket events may be "
                                    "not yet recovered",
                                    value=max(0.0, seconds + micros / 1e6 - float(watermark)))
        yield from self._memory()

    def _memory(self):
        try:
            memory = redis_memory.read(self.r)
        except Exception:  # INFO refused (an ACL without it; the in-process fakeredis of `dev`)
            return
        if memory.used is not None:
            yield GaugeMetricFamily("oz_redis_used_memory_bytes", "Redis used_memory (INFO memory)",
                                    value=memory.used)
        if memory.maxmemory is not None:
            yield GaugeMetricFamily("oz_redis_maxmemory_bytes", "Redis maxmemory (0: no limit); "
                                    "writes are refused beyond it", value=memory.maxmemory)
        yield GaugeMetricFamily("oz_redis_noeviction", "1 when Redis's maxmemory-policy is "
                                "noeviction; 0: it may drop our keys", value=int(
                                    redis_memory.eviction_problem(memory) is None and memory.policy is not None))

    def _configured(self):
        s = self.settings
        budget = GaugeMetricFamily("oz_api_budget_per_minute", "Calls a minute we allow ourselves, "
                                   "by API (*_REQUESTS_PER_MINUTE)", labels=["api"])
        budget.add_metric(["zendesk"], s.zendesk_requests_per_minute)
        budget.add_metric(["omneo"], s.omneo_requests_per_minute)
        yield budget
        yield GaugeMetricFamily("oz_zendesk_budget_reserve_ratio", "Share of the Zendesk account's "
                                "budget left to others (ZENDESK_BUDGET_RESERVE_PERCENT / 100)",
                                value=s.zendesk_budget_reserve_percent / 100.0)
        yield GaugeMetricFamily("oz_reconcile_interval_seconds", "How often beat queues a "
                                "reconciliation (RECONCILE_INTERVAL_SECONDS)",
                                value=s.reconcile_interval_seconds)


def render(redis_client=None, queues=(), settings=None) -> bytes:
    """The text exposition of every process of this host, plus Redis-derived gauges and, with
    `settings`, the configured figures alerts compare with."""
    interactions_recovered()  # shown from the start, at 0 until a run recovers something
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    body = generate_latest(registry)
    if redis_client is not None:
        extra = CollectorRegistry()
        extra.register(RedisGauges(redis_client, queues, settings))
        body += generate_latest(extra)
    return body


def ensure_multiproc_dir(path: str | None) -> None:
    """Create the directory prometheus-client writes to, before any metric is touched."""
    if path:
        os.makedirs(path, exist_ok=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
