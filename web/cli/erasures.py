"""`omneo-zendesk erasures list [--json]`: the erasure audit trail (ids, counts, times, outcomes only)."""
from __future__ import annotations

import json
import sys
from datetime import datetime, timezone

import click
import redis

from integration.wiring import connect_redis
from integration.erasure import audit_records
from web.cli.context import pass_settings


@click.group()
def erasures() -> None:
    """The audit trail of right-to-be-forgotten erasures."""


@erasures.command("list")
@click.option("--json", "as_json", is_flag=True, help="print a JSON array of the records")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="only the newest N")
@pass_settings
def list_(settings, as_json: bool, limit: int | None) -> None:
    """Erasures, newest first (pending ones on top): profile, Zendesk user, outcome (`pending`
    with the tickets holding it and since when, until `erased`), tickets deleted and times."""
    try:
        records = audit_records(connect_redis(settings), limit)
    except redis.RedisError as exc:
        click.echo(f"omneo-zendesk: cannot read the audit trail from REDIS_URL ({type(exc).__name__})",
                   err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(records, indent=2))
        return
    if not records:
        click.echo("No erasures recorded.")
        return
    rows = [("FINISHED (UTC)", "PROFILE", "ZENDESK USER", "OUTCOME", "TICKETS DELETED", "TOOK")]
    for r in records:
        outcome = r.get("outcome") or "?"
        if r.get("repointed_to"):
            outcome = f"{outcome} -> {r['repointed_to']}"
        if outcome == "pending":
            outcome = (f"pending since {_when(r.get('pending_since'))}: "
                       f"{r.get('open_tickets', 0)} ticket(s) not closed")
        took = ""
        if r.get("finished_at") and (r.get("requested_at") or r.get("started_at")):
            took = f"{r['finished_at'] - (r.get('requested_at') or r['started_at']):.1f}s"
        rows.append((_when(r.get("finished_at")), str(r.get("profile_id")),
                     str(r.get("zendesk_user_id") or "-"), outcome, str(r.get("tickets_deleted", 0)), took))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def _when(ts: float | None) -> str:
    if not ts:
        return "-"
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
