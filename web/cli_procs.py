"""The production processes beside `web` and `worker`: `beat`, `flower` and `metrics`."""
from __future__ import annotations

import os
import tempfile

import click

DEFAULT_SCHEDULE = os.path.join(tempfile.gettempdir(), "omneo-zendesk-beat-schedule")


def _settings():
    from web.cli import settings_or_exit

    return settings_or_exit()


@click.command()
@click.option("--schedule-file", default=DEFAULT_SCHEDULE, show_default=True,
              help="where beat remembers when each entry last ran")
@click.option("--loglevel", default="INFO", show_default=True)
def beat(schedule_file: str, loglevel: str) -> None:
    """Run Celery beat: puts the periodic jobs (reconciliation) on their queues.

    Run one beat per deployment: a second one queues every periodic job twice."""
    from workers.metrics import ensure_multiproc_dir

    settings = _settings()
    ensure_multiproc_dir(settings.prometheus_multiproc_dir)
    from workers.celery_app import create_celery
    from workers.logs import configure_logging
    from workers.sentry import init_sentry

    configure_logging(settings.log_format, loglevel)
    init_sentry(settings, "beat")
    from integration.zendesk_auth import warn_if_deprecated

    warn_if_deprecated(settings, "beat")
    app = create_celery(settings)
    app.Beat(loglevel=loglevel, schedule=schedule_file, redirect_stdouts=False).run()


@click.command()
@click.option("--port", type=int, default=lambda: int(os.environ.get("PORT", 5555)),
              show_default="$PORT or 5555")
@click.option("--address", default="0.0.0.0", show_default=True)
def flower(port: int, address: str) -> None:
    """Run Flower, Celery's dashboard (workers, queues, tasks), behind basic auth."""
    settings = _settings()
    if not settings.flower_basic_auth:
        click.echo("omneo-zendesk: setting FLOWER_BASIC_AUTH: user:password, required to run Flower",
                   err=True)
        raise SystemExit(2)
    from workers.celery_app import create_celery

    app = create_celery(settings)
    app.start(["flower", f"--port={port}", f"--address={address}",
               f"--basic-auth={settings.flower_basic_auth}", "--purge_offline_workers=600"])


@click.command()
@click.option("--port", type=int, default=9100, show_default=True)
@click.option("--address", default="0.0.0.0", show_default=True)
def metrics(port: int, address: str) -> None:
    """Serve this host's metrics (PROMETHEUS_MULTIPROC_DIR) for Prometheus, on a worker machine
    that runs no receiver."""
    settings = _settings()
    if not settings.prometheus_multiproc_dir:
        click.echo("omneo-zendesk: setting PROMETHEUS_MULTIPROC_DIR: the directory the workers on "
                   "this host write their metrics to", err=True)
        raise SystemExit(2)
    from wsgiref.simple_server import make_server

    from integration.context import connect_redis
    from workers.celery_app import QUEUES
    from web.health import may_read_metrics
    from workers.metrics import CONTENT_TYPE, ensure_multiproc_dir, render

    ensure_multiproc_dir(settings.prometheus_multiproc_dir)
    redis_client = connect_redis(settings)

    def app(environ, start_response):
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"see /metrics\n"]
        if not may_read_metrics(settings.metrics_token, environ.get("HTTP_AUTHORIZATION")):
            start_response("401 Unauthorized", [("Content-Type", "text/plain"),
                                                ("WWW-Authenticate", "Bearer")])
            return [b"/metrics wants Authorization: Bearer <METRICS_TOKEN>\n"]
        body = render(redis_client, QUEUES)
        start_response("200 OK", [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body)))])
        return [body]

    click.echo(f"metrics on http://{address}:{port}/metrics")
    make_server(address, port, app).serve_forever()
