"""`omneo-zendesk`: the one command an operator learns."""
from __future__ import annotations

import os
import sys

import click

from integration.settings import Settings, SettingsError, load_settings
from web.cli_erasures import erasures
from web.cli_backfill import backfill
from web.cli_errors import OneLineErrors
from web.cli_reconcile import reconcile


def settings_or_exit() -> Settings:
    """Validate the environment once; a bad setting ends the command with one line naming it."""
    try:
        return load_settings(os.environ)
    except SettingsError as exc:
        click.echo(f"omneo-zendesk: {exc}", err=True)
        sys.exit(2)


@click.group(cls=OneLineErrors)
def main() -> None:
    """Keep Omneo profiles and Zendesk users in step."""


@main.command()
@click.option("--port", type=int, default=lambda: int(os.environ.get("PORT", 8000)), show_default="$PORT or 8000")
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--workers", "processes", type=int, default=lambda: int(os.environ.get("WEB_CONCURRENCY", 2)),
              show_default="$WEB_CONCURRENCY or 2")
def web(port: int, host: str, processes: int) -> None:
    """Serve the receivers and the sidebar API with gunicorn."""
    from workers.metrics import ensure_multiproc_dir

    ensure_multiproc_dir(settings_or_exit().prometheus_multiproc_dir)
    argv = gunicorn_argv("web.wsgi:application", host, port, processes)
    os.execvp(argv[0], argv)


def gunicorn_argv(app: str, host: str, port: int, processes: int) -> list[str]:
    """How production serves a WSGI app; the benchmarks serve their baseline app the same way."""
    return ["gunicorn", app, "--bind", f"{host}:{port}", "--workers", str(processes),
            "--worker-class", "gthread", "--threads", "4", "--timeout", "30",
            "--logger-class", "web.access_log.AccessLog"]


@main.command()
@click.option("--queues", "-Q", default="sync,erasure,interactions,reconcile", show_default=True)
@click.option("--concurrency", "-c", type=int, default=None, help="processes (default: one per core)")
@click.option("--loglevel", default="INFO", show_default=True)
def worker(queues: str, concurrency: int | None, loglevel: str) -> None:
    """Run a Celery worker on the given queues."""
    from workers.metrics import ensure_multiproc_dir

    settings = settings_or_exit()
    ensure_multiproc_dir(settings.prometheus_multiproc_dir)
    from workers.celery_app import create_celery
    from workers.logs import configure_logging
    from workers.sentry import init_sentry

    configure_logging(settings.log_format, loglevel)
    init_sentry(settings, "worker")
    from integration.zendesk_auth import warn_if_deprecated

    warn_if_deprecated(settings, "worker")
    argv = ["worker", f"--loglevel={loglevel}", "-Q", queues, "--without-gossip", "--without-mingle"]
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    create_celery(settings).worker_main(argv)


from web.cli_app import app_group  # noqa: E402
from web.cli_dlq import dlq  # noqa: E402

main.add_command(app_group)

main.add_command(erasures)
main.add_command(dlq)
from web.cli_procs import beat, flower, metrics  # noqa: E402

main.add_command(beat)
main.add_command(flower)
main.add_command(metrics)
from web.cli_onboard import check, setup  # noqa: E402

main.add_command(check)
main.add_command(setup)
from web.cli_dev import dev  # noqa: E402

main.add_command(dev)
main.add_command(reconcile)
main.add_command(backfill)

if __name__ == "__main__":
    main()
