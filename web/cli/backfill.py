"""`omneo-zendesk backfill [--resume | --adopt]`: sync every Omneo profile to Zendesk in bulk, or
take over the links an earlier integration made (integration/bulk/adoption.py)."""
from __future__ import annotations

import signal
import sys
import threading

import click

from web.cli.context import pass_settings


@click.command()
@click.option("--resume", is_flag=True, help="Go on from where an interrupted backfill stopped.")
@click.option("--jobs", type=click.IntRange(1, 25), default=25, show_default=True,
              help="Bulk jobs in flight at once (Zendesk allows 30 per account).")
@click.option("--adopt", is_flag=True,
              help="Write nothing: record sync marks for profiles already linked and in step "
                   "(after migrating from another integration, or replacing Redis).")
@pass_settings
def backfill(settings, resume: bool, jobs: int, adopt: bool) -> None:
    """Sync every Omneo profile to a Zendesk user, 100 users a request, with a progress bar.

    Ctrl-C (or SIGTERM) stops it cleanly: jobs already sent are seen through and the checkpoint
    saved; `--resume` goes on from there. A second Ctrl-C stops at once (the last pages are
    then redone on resume, which is harmless)."""
    from integration.bulk.backfill import Backfill
    from integration.bulk.pipeline import BackfillStopped
    from integration.wiring import build_context

    ctx = build_context(settings)
    stop = threading.Event()
    if adopt:
        return _adopt(ctx, stop)

    def on_signal(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        click.echo("\nstopping: finishing the jobs already sent (again to stop at once)", err=True)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    runner = Backfill(ctx, stop=stop, jobs=jobs)
    previous = runner.load_checkpoint()
    if resume and previous and previous.get("finished"):
        click.echo("the last backfill finished; nothing to resume (run without --resume to sync again)")
        return
    if resume and not previous:
        click.echo("no backfill to resume; starting from the first profile")
    total = runner.total_profiles()
    already = (previous or {}).get("totals", {}).get("done", 0) if resume else 0
    try:
        with click.progressbar(length=total or 0, label="backfill", show_pos=True,
                               show_percent=True, file=sys.stderr) as bar:
            bar.update(min(already, total or 0))
            runner.on_progress = bar.update
            result = runner.run(resume=resume)
    except BackfillStopped as exc:
        click.echo(f"omneo-zendesk: backfill stopped: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("backfill stopped at once; `omneo-zendesk backfill --resume` goes on", err=True)
        sys.exit(130)
    summary = (f"{result['done']} profiles: {result['created']} created, {result['updated']} updated, "
               f"{result['unchanged']} unchanged, {result['skipped']} skipped, "
               f"{result['failed']} failed (in the dead-letter store)")
    if result.get("emails_promoted"):
        summary += f"; {result['emails_promoted']} changed emails made primary"
    if not result["finished"]:
        click.echo(f"backfill interrupted after {summary}; `omneo-zendesk backfill --resume` goes on")
        sys.exit(130)
    click.echo(f"backfill done ({result['mode']}): {summary}")


def _adopt(ctx, stop: threading.Event) -> None:
    from integration.bulk.adoption import adopt
    from integration.errors import ApiError

    signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    try:
        result = adopt(ctx, stop=stop)
    except ApiError as exc:  # a rerun skips what is marked already
        click.echo(f"omneo-zendesk: adoption stopped ({exc}); run it again to go on", err=True)
        sys.exit(1)
    click.echo(f"adoption {'done' if result['finished'] else 'stopped'}: {result['adopted']} marked "
               f"as in step, {result['out_of_step']} out of step (their next sync writes them), "
               f"{result['not_theirs']} linked to a user that is not theirs (folded or "
               f"dead-lettered at their next sync), {result['marked_already']} marked already, "
               f"{result['unlinked']} not linked, {result['skipped']} erased or gone")
    if not result["finished"]:
        sys.exit(130)
