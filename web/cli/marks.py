"""`omneo-zendesk marks migrate`: move sync watermarks of the old one-key-a-profile layout into
their buckets (integration.store.marks), while everything keeps running."""
from __future__ import annotations

import click

from integration.wiring import connect_redis
from integration.store.state import State
from web.cli.context import pass_settings

PASSES = 3  # a pass that finds none ends it; old processes still writing the old layout need more


@click.group()
def marks() -> None:
    """The compact marks in Redis."""


@marks.command()
@pass_settings
def migrate(settings) -> None:
    """Move every old-layout sync watermark to its bucket; once a whole pass finds none, reads
    stop looking for them. Safe to run while the product runs, and again."""
    state = State(connect_redis(settings), int(settings.profile_lock_ttl_seconds * 1000))
    total = 0
    for _ in range(PASSES):
        cursor, found = 0, 0
        while True:
            cursor, step = state.migrate_marks(cursor)
            found += step
            if cursor == 0:
                break
        total += found
        if not found:
            state.legacy_marks_gone()
            click.echo(f"moved {total} watermark(s); none of the old layout left.")
            return
    click.echo(f"moved {total} watermark(s); some were still being written in the old layout: "
               "run it again once every process runs this version.")
    raise SystemExit(1)
