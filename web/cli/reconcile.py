"""`omneo-zendesk reconcile run|status`: reconcile now; show the last runs."""
from __future__ import annotations

import json
import sys

import click

from web.cli.context import pass_settings

COLUMNS = ("missing_created", "drifted_repaired", "orphans_erased", "orphans_claimed",
           "dead_lettered", "errors")


@click.group()
def reconcile() -> None:
    """Compare Omneo and Zendesk and repair what drifted (beat runs this on a schedule)."""


@reconcile.command("run")
@click.option("--queue", "on_queue", is_flag=True,
              help="Hand the run to a worker instead of running it in this process.")
@click.option("--json", "as_json", is_flag=True, help="Print the run's report as JSON.")
@pass_settings
def run_now(settings, on_queue: bool, as_json: bool) -> None:
    """Run a reconciliation now (once across the deployment: waits for no other run)."""
    from integration import jobs
    from integration.reconcile import reconciliation
    from integration.wiring import build_context
    from workers import enqueue
    from workers.celery_app import create_celery

    app = create_celery(settings)
    if on_queue:
        job_id = enqueue.send(app, jobs.RECONCILE, trigger="manual")
        click.echo(f"reconciliation queued as job {job_id}")
        return
    ctx = build_context(settings)

    def erase(profile_id: str, zendesk_user_id: str) -> None:
        enqueue.send(app, jobs.ERASE_PROFILE, profile_id, zendesk_user_id=zendesk_user_id)

    report = reconciliation.run(ctx, erase=erase, trigger="manual")
    if as_json:
        click.echo(json.dumps(report, indent=2))
    elif report.get("outcome") == "skipped":
        click.echo(f"reconciliation skipped: {report['reason']}")
    else:
        _print_run(report)
    if report.get("outcome") == "skipped":
        sys.exit(1)


@reconcile.command()
@click.option("--limit", type=click.IntRange(1, 50), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print state and runs as JSON.")
@pass_settings
def status(settings, limit: int, as_json: bool) -> None:
    """Show where reconciliation stands and its last runs, newest first."""
    from integration.store import keys
    from integration.reconcile import reconciliation
    from integration.wiring import build_context

    ctx = build_context(settings)
    state = reconciliation.read_state(ctx)
    runs = reconciliation.last_runs(ctx, limit)
    running = bool(ctx.redis.exists(keys.RECONCILE_LOCK))
    if as_json:
        click.echo(json.dumps({"state": {"omneo_watermark": state.get("omneo_watermark"),
                                         "zendesk_cursor": bool(state.get("zendesk_cursor")),
                                         "running": running}, "runs": runs}, indent=2))
        return
    click.echo(f"Omneo watermark: {state.get('omneo_watermark') or 'none (next run reads every profile)'}")
    click.echo(f"Zendesk cursor:  {'saved' if state.get('zendesk_cursor') else 'none (next run exports every user)'}")
    click.echo(f"running now:     {'yes' if running else 'no'}")
    if not runs:
        click.echo("no reconciliation has run yet")
        return
    header = ["started (UTC)", "trigger", "secs", "complete", "checked"] + [c.replace("_", " ") for c in COLUMNS]
    rows = [[r["started_at"], r["trigger"], f"{r['duration_seconds']:.1f}",
             "yes" if r["complete"] else "no",
             str(r["counts"]["profiles_checked"] + r["counts"]["users_checked"])]
            + [str(r["counts"][c]) for c in COLUMNS] for r in runs]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for row in rows:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)))


def _print_run(report: dict) -> None:
    counts = report["counts"]
    click.echo(f"reconciliation {report['id']} {'finished' if report['complete'] else 'stopped early'} "
               f"in {report['duration_seconds']:.1f}s")
    click.echo(f"  checked {counts['profiles_checked']} profiles and {counts['users_checked']} Zendesk users; "
               f"{counts['in_step']} in step")
    for name in COLUMNS:
        click.echo(f"  {name.replace('_', ' ')}: {counts[name]}")
    for error in report["errors"]:
        click.echo(f"  error ({error['stage']}): {error['type']} {error.get('status') or ''} "
                   f"{error.get('profile_id') or ''}".rstrip())
