"""Prometheus metrics of the jobs and the API calls they make."""
from __future__ import annotations

from prometheus_client import Counter, Histogram

JOBS = Counter("oz_jobs_total", "Jobs by task and outcome", ["task", "outcome"])
JOB_SECONDS = Histogram("oz_job_seconds", "Time a job ran, by task", ["task"],
                        buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
TICKET_EVENTS = Counter("oz_ticket_events_total",
                        "Zendesk ticket events by what the interaction job did "
                        "(created, duplicate, recovered, skipped)", ["outcome"])
API_CALLS = Counter("oz_api_calls_total", "API calls by API and status class", ["api", "status"])


def record_api_call(api: str, status: int | None) -> None:
    label = "error" if status is None else ("429" if status == 429 else f"{status // 100}xx")
    API_CALLS.labels(api, label).inc()
