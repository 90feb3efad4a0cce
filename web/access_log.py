"""gunicorn's access log as one of our own log lines: JSON (LOG_FORMAT), through the same
personal-data filter, one line a request with the request id and, for an accepted webhook, the
job id the app answered with. The path is logged without its query string, and no client
address is logged.

Served with `--logger-class web.access_log.AccessLog` (web.cli.processes.gunicorn_argv)."""
from __future__ import annotations

import logging
import os

from gunicorn.glogging import Logger

from workers.logs import configure_logging

log = logging.getLogger("omneo_zendesk.access")

REQUEST_ID, JOB_ID = "x-request-id", "x-job-id"


class AccessLog(Logger):
    def setup(self, cfg):
        super().setup(cfg)
        configure_logging(os.environ.get("LOG_FORMAT", "json"))

    def access(self, resp, req, environ, request_time):
        ids = {name.lower(): value for name, value in resp.headers
               if name.lower() in (REQUEST_ID, JOB_ID)}
        log.info("%s %s %s", req.method, req.path, resp.status_code, extra={
            "method": req.method, "path": req.path, "status": resp.status_code,
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "request_id": ids.get(REQUEST_ID), "job_id": ids.get(JOB_ID)})
