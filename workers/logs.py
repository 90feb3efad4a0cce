"""Process-wide logging: JSON lines in production, text in development.

Every record carries the id of the web request or the job it belongs to (`request_id`, `job_id`),
and passes a scrubber that masks email addresses, phone numbers and profile fields: our own log
calls never pass personal data, this is the safety net for an API's error text or a library's.
"""
from __future__ import annotations

import contextvars
import logging
import sys

from celery.signals import before_task_publish, task_postrun, task_prerun
from celery.utils.saferepr import saferepr
from pythonjsonlogger.json import JsonFormatter

from integration.redaction import FILTERED, PERSONAL_KEYS, scrub, scrub_text

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
job_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_id", default=None)

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id", "job_id"}


class ContextFilter(logging.Filter):
    """Adds request_id / job_id, then masks personal data in the message, extras and traceback."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        if getattr(record, "job_id", None) is None:
            record.job_id = job_id.get()
        try:
            message = record.getMessage()
        except Exception:  # a bad format string is the caller's bug; keep the raw text
            message = str(record.msg)
        record.msg, record.args = scrub_text(message), None
        for key, value in list(vars(record).items()):
            if key in _STANDARD:
                continue
            if key.lower() in PERSONAL_KEYS:
                setattr(record, key, FILTERED)
            elif isinstance(value, (str, dict, list, tuple)):
                setattr(record, key, scrub(value))
        if record.exc_info:  # formatted here, scrubbed; formatters then print exc_text as is
            record.exc_text = self._formatter.formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = scrub_text(record.exc_text)
        return True


def configure_logging(fmt: str = "json", level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                                           rename_fields={"levelname": "level", "asctime": "time"}))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(ids)s] %(message)s"))
    handler.addFilter(ContextFilter())
    if fmt != "json":
        handler.addFilter(_TextIds())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


class _TextIds(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        rid, jid = getattr(record, "request_id", None), getattr(record, "job_id", None)
        record.ids = f"req={rid}" if rid else (f"job={jid}" if jid else "-")
        return True


@task_prerun.connect
def _job_started(task_id=None, **_):
    job_id.set(task_id)


@task_postrun.connect
def _job_finished(**_):
    job_id.set(None)


def shown_args(args, kwargs) -> tuple[str, str]:
    """How a job's arguments appear in task events and so in Flower (`argsrepr`, `kwargsrepr`):
    masked like logs, so a ticket's subject does not outlive the customer's erasure there."""
    return saferepr(scrub(list(args))), saferepr(scrub(dict(kwargs)))


@before_task_publish.connect
def _mask_shown_args(body=None, headers=None, **_):
    """Every job Celery publishes (retries, replays, the CLI's); workers.intake does the same."""
    if headers is not None and isinstance(body, (tuple, list)) and len(body) == 3:
        headers["argsrepr"], headers["kwargsrepr"] = shown_args(body[0], body[1])
