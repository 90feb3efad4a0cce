"""`omneo-zendesk`: the one command an operator learns.

The group puts a CliContext on click's context object; every command that needs the deployment's
settings takes them from there (web.cli.context.pass_settings), so they are read and validated
once per run, and the commands that need none (`dev`, `app package`, `--help`) run without them.
"""
from __future__ import annotations

import os

import click

from web.cli import (actions, app_package, backfill, dead_letters, dev, erasures, marks, onboard, processes,
                     reconcile)
from web.cli.context import CliContext
from web.cli.errors import OneLineErrors


@click.group(cls=OneLineErrors)
@click.pass_context
def main(ctx: click.Context) -> None:
    """Keep Omneo profiles and Zendesk users in step."""
    if ctx.obj is None:
        ctx.obj = CliContext(os.environ)


for command in (processes.web, processes.worker, processes.beat, processes.flower, processes.metrics,
                onboard.check, onboard.setup, app_package.app_group, dead_letters.dlq, erasures.erasures,
                reconcile.reconcile, backfill.backfill, marks.marks, actions.actions, dev.dev):
    main.add_command(command)
