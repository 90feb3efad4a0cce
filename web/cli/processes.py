"""The production processes: `web`, `worker`, `beat`, `flower` and `metrics`."""
from __future__ import annotations

import os
import tempfile

import click

from integration import jobs
from integration.apis import zendesk_auth
from web.cli.context import pass_settings

# each command imports what it runs (Celery, Flask, Sentry) when it runs: `--help` stays quick

DEFAULT_SCHEDULE = os.path.join(tempfile.gettempdir(), "omneo-zendesk-beat-schedule")


def gunicorn_argv(app: str, host: str, port: int, processes: int) -> list[str]:
    """How production serves a WSGI app; the benchmarks serve their baseline app the same way."""
    return ["gunicorn", app, "--bind", f"{host}:{port}", "--workers", str(processes),
            "--worker-class", "gthread", "--threads", "4", "--timeout", "30",
            "--logger-class", "web.access_log.AccessLog"]


@click.command()
@click.option("--port", type=int, default=lambda: int(os.environ.get("PORT", 8000)), show_default="$PORT or 8000")
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--workers", "processes", type=int, default=lambda: int(os.environ.get("WEB_CONCURRENCY", 2)),
              show_default="$WEB_CONCURRENCY or 2")
@pass_settings
def web(settings, port: int, host: str, processes: int) -> None:
    """Serve the receivers and the sidebar API with gunicorn."""
    from workers.metrics import ensure_multiproc_dir

    # each gunicorn worker then starts as startup.receiver says (web.wsgi)
    ensure_multiproc_dir(settings.prometheus_multiproc_dir)
    argv = gunicorn_argv("web.wsgi:application", host, port, processes)
    os.execvp(argv[0], argv)


@click.command()
@click.option("--queues", "-Q", default=",".join(jobs.QUEUES), show_default=True)
@click.option("--concurrency", "-c", type=int, default=None, help="processes (default: one per core)")
@click.option("--loglevel", default="INFO", show_default=True)
@pass_settings
def worker(settings, queues: str, concurrency: int | None, loglevel: str) -> None:
    """Run a Celery worker on the given queues."""
    from web import startup

    app = startup.worker(settings, loglevel)
    argv = ["worker", f"--loglevel={loglevel}", "-Q", queues, "--without-gossip", "--without-mingle"]
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    app.worker_main(argv)


@click.command()
@click.option("--schedule-file", default=DEFAULT_SCHEDULE, show_default=True,
              help="where beat remembers when each entry last ran")
@click.option("--loglevel", default="INFO", show_default=True)
@pass_settings
def beat(settings, schedule_file: str, loglevel: str) -> None:
    """Run Celery beat: puts the periodic jobs (reconciliation) on their queues.

    Run one beat per deployment: a second one queues every periodic job twice."""
    from web import startup

    app = startup.beat(settings, loglevel)
    app.Beat(loglevel=loglevel, schedule=schedule_file, redirect_stdouts=False).run()


@click.command()
@click.option("--port", type=int, default=lambda: int(os.environ.get("PORT", 5555)),
              show_default="$PORT or 5555")
@click.option("--address", default="0.0.0.0", show_default=True)
@pass_settings
def flower(settings, port: int, address: str) -> None:
    """Run Flower, Celery's dashboard (workers, queues, tasks), behind basic auth."""
    if not settings.flower_basic_auth:
        click.echo("omneo-zendesk: setting FLOWER_BASIC_AUTH: user:password, required to run Flower",
                   err=True)
        raise SystemExit(2)
    from web import startup

    app = startup.flower(settings)
    app.start(["flower", f"--port={port}", f"--address={address}",
               f"--basic-auth={settings.flower_basic_auth}", "--purge_offline_workers=600"])


@click.command()
@click.option("--port", type=int, default=9100, show_default=True)
@click.option("--address", default="0.0.0.0", show_default=True)
@pass_settings
def metrics(settings, port: int, address: str) -> None:
    """Serve this host's metrics (PROMETHEUS_MULTIPROC_DIR) for Prometheus, on a worker machine
    that runs no receiver."""
    if not settings.prometheus_multiproc_dir:
        click.echo("omneo-zendesk: setting PROMETHEUS_MULTIPROC_DIR: the directory the workers on "
                   "this host write their metrics to", err=True)
        raise SystemExit(2)
    from wsgiref.simple_server import make_server

    from integration.wiring import connect_redis
    from web.health import METRICS_UNAUTHORIZED, may_read_metrics
    from workers.metrics import CONTENT_TYPE, ensure_multiproc_dir, render

    ensure_multiproc_dir(settings.prometheus_multiproc_dir)
    redis_client = connect_redis(settings)
    from integration.store import redis_memory

    redis_memory.log_at_start(redis_client, "metrics")

    def app(environ, start_response):
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"see /metrics\n"]
        if not may_read_metrics(settings.metrics_token, environ.get("HTTP_AUTHORIZATION")):
            start_response("401 Unauthorized", [("Content-Type", "text/plain"),
                                                ("WWW-Authenticate", "Bearer")])
            return [f"{METRICS_UNAUTHORIZED}\n".encode()]
        body = render(redis_client, jobs.QUEUES, settings)
        start_response("200 OK", [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body)))])
        return [body]

    click.echo(f"metrics on http://{address}:{port}/metrics")
    make_server(address, port, app).serve_forever()
