"""`omneo-zendesk dlq ...`: list, show, replay and purge the dead-letter store."""
from __future__ import annotations

import functools
import json
import sys
from datetime import datetime, timezone

import click
import redis

from integration.wiring import connect_redis
from integration.store.dead_letters import DeadLetters
from web.cli.context import pass_settings


def _store(settings) -> DeadLetters:
    client = connect_redis(settings)
    try:
        client.ping()
    except redis.RedisError as exc:
        _fail(f"cannot reach Redis at REDIS_URL ({type(exc).__name__})")
    return DeadLetters(client, settings.dlq_retention_days)


def _fail(message: str, code: int = 1):
    click.echo(f"omneo-zendesk: {message}", err=True)
    sys.exit(code)


def _when(ts) -> str:
    if not ts:
        return "-"
    return datetime.fromtimestamp(float(ts), timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def _summary(error: dict) -> str:
    parts = [str(error.get("type", "error"))]
    if error.get("status"):
        parts.append(str(error["status"]))
    if error.get("reason"):
        parts.append(f"({error['reason']})")
    return " ".join(parts)


def _pick(store: DeadLetters, entry_id: str | None, every: bool) -> list[dict]:
    if bool(entry_id) == every:
        raise click.UsageError("give an entry ID or --all (not both)")
    if every:
        return store.list()
    entry = store.get(entry_id)
    if entry is None:
        _fail(f"no dead letter with id {entry_id!r} (see `omneo-zendesk dlq list`)")
    return [entry]


@click.group()
def dlq() -> None:
    """The dead-letter store: jobs that failed for good."""


@dlq.command("list")
@click.option("--json", "as_json", is_flag=True, help="print a JSON array of the entries")
@pass_settings
def list_(settings, as_json: bool) -> None:
    """List dead letters, newest first."""
    entries = _store(settings).list()
    if as_json:
        click.echo(json.dumps(entries, indent=2, default=str))
        return
    if not entries:
        click.echo("no dead letters")
        return
    rows = [("ID", "TASK", "PROFILE", "ATTEMPTS", "FAILED AT", "ERROR")]
    rows += [(e["id"], e["task"], e.get("profile_id") or "-", str(e.get("attempts", "")),
              _when(e.get("failed_at")), _summary(e.get("error") or {})) for e in entries]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1])


@dlq.command()
@click.argument("entry_id")
@pass_settings
def show(settings, entry_id: str) -> None:
    """Show one dead letter in full."""
    entry = _store(settings).get(entry_id)
    if entry is None:
        _fail(f"no dead letter with id {entry_id!r} (see `omneo-zendesk dlq list`)")
    click.echo(json.dumps(entry, indent=2, default=str))


def _on_entries(verb: str):
    """A `dlq` command on one entry (by its ID) or on --all of them, called with the settings,
    the store and the entries chosen."""
    def decorate(command):
        @dlq.command(command.__name__)
        @click.argument("entry_id", required=False)
        @click.option("--all", "every", is_flag=True, help=f"{verb} every dead letter")
        @pass_settings
        @functools.wraps(command)
        def chosen(settings, entry_id: str | None, every: bool) -> None:
            store = _store(settings)
            command(settings, store, _pick(store, entry_id, every))

        return chosen

    return decorate


@_on_entries("replay")
def replay(settings, store: DeadLetters, entries: list[dict]) -> None:
    """Run dead letters again; each leaves the store once its job succeeds."""
    from workers import enqueue
    from workers.celery_app import create_celery

    app = create_celery(settings)
    for entry in entries:
        store.mark_replayed(entry["id"])
        try:
            job_id = enqueue.replay(app, entry)
        except KeyError as exc:
            _fail(f"cannot replay {entry['id']}: {exc.args[0]}")
        click.echo(f"replayed {entry['id']} ({entry['task']}) as job {job_id}")
    if not entries:
        click.echo("no dead letters")


@_on_entries("purge")
def purge(settings, store: DeadLetters, entries: list[dict]) -> None:
    """Delete dead letters without running them."""
    for entry in entries:
        store.remove(entry["id"])
    click.echo(f"purged {len(entries)} dead letter{'s' if len(entries) != 1 else ''}")
