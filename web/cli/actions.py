"""`omneo-zendesk actions list [--json]`: the audit list of agents' sidebar actions (ids and amounts)."""
from __future__ import annotations

import json
import sys
from datetime import datetime, timezone

import click
import redis

from integration.agent_actions.ledger import audit_rows
from integration.wiring import connect_redis
from web.cli.context import pass_settings

COLUMNS = (("AT (UTC)", "at"), ("ACTION", "id"), ("STATUS", "status"), ("AGENT", "agent_id"),
           ("TICKET", "ticket_id"), ("PROFILE", "profile_id"), ("KIND", "kind"),
           ("DEFINITION", "definition"), ("VALUE", "value"), ("REASON", "reason"), ("OMNEO ID", "made"))


@click.group()
def actions() -> None:
    """What agents did from the sidebar."""


@actions.command("list")
@click.option("--json", "as_json", is_flag=True, help="print a JSON array of the rows")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="only the newest N")
@pass_settings
def list_(settings, as_json: bool, limit: int | None) -> None:
    """Finished actions, newest first: who (Zendesk agent id), on which ticket and profile, which
    kind (goodwill_reward, benefit_claim), reward or benefit definition, how much, why, the Omneo
    reward or benefit, and the outcome (`done`, `refused`, `failed`)."""
    try:
        rows = audit_rows(connect_redis(settings), limit)
    except redis.RedisError as exc:
        click.echo(f"omneo-zendesk: cannot read the audit list from REDIS_URL ({type(exc).__name__})", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No agent actions recorded.")
        return
    table = [tuple(title for title, _ in COLUMNS)]
    for row in rows:
        cells = []
        row = dict(row, definition=row.get("reward_definition_id") or row.get("benefit_definition_id"),
                   made=row.get("reward_id") or row.get("benefit_id"))
        for _, name in COLUMNS:
            value = row.get(name)
            if name == "at" and value:
                value = datetime.fromtimestamp(value, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
            cells.append("-" if value in (None, "") else f"{value:g}" if isinstance(value, float) else str(value))
        table.append(tuple(cells))
    widths = [max(len(r[i]) for r in table) for i in range(len(COLUMNS))]
    for r in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())
