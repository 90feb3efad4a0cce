"""`omneo-zendesk check` and `omneo-zendesk setup`: the first two commands of a deployment."""
from __future__ import annotations

import click
import requests

from integration.onboarding.checks import (check_agent_actions, check_erasures, check_omneo, check_receiver,
                                           check_redis, check_redis_memory, check_zendesk)
from integration.onboarding.clients import clients, receiver_urls
from integration.onboarding.registration import (ensure_omneo_webhooks, ensure_user_fields,
                                                  ensure_zendesk_user_webhook, ensure_zendesk_webhook)
from integration.onboarding.rows import Row
from integration.errors import ApiError, AuthFailure
from web.cli.app_package import check_service_url
from web.cli.context import pass_settings
from web.tables import render_table


def _shared_redis(settings):
    """The deployment's Redis, for the shared OAuth token; None when it does not answer."""
    from integration.wiring import connect_redis

    client = connect_redis(settings)
    try:
        client.ping()
    except Exception:
        return None
    return client


def _print_rows(rows: list[Row]) -> None:
    click.echo(render_table(["item", "status", "detail", "to fix"],
                            [[r.item, r.status, r.detail, r.fix] for r in rows]))


@click.command()
@click.option("--public-url", default=None, help="where Omneo and Zendesk reach our receiver "
              "(default: PUBLIC_URL)")
@pass_settings
def check(settings, public_url: str | None) -> None:
    """Check the settings and both APIs with these credentials; exit 1 when something fails."""
    from integration.wiring import connect_redis

    rows = [Row("settings", "ok", "every variable valid")]
    client = connect_redis(settings)
    rows.append(check_redis(client))
    if not rows[-1].failed:
        rows.append(check_erasures(settings, client))
        rows.append(check_redis_memory(client))
    omneo, zendesk = clients(settings, _shared_redis(settings) if not rows[1].failed else None)
    rows += check_omneo(settings, omneo)
    rows += check_zendesk(settings, zendesk)
    rows.append(check_agent_actions(settings))
    rows.append(check_receiver(public_url or settings.public_url,
                                          lambda url: requests.get(url, timeout=5)))
    _print_rows(rows)
    failed = [r for r in rows if r.failed]
    click.echo(f"\n{len(failed)} problem(s) to fix." if failed else "\nall good.")
    raise SystemExit(1 if failed else 0)


@click.command()
@click.option("--public-url", default=None, help="the https URL Omneo and Zendesk reach our "
              "receiver at, e.g. https://oz.example.com (default: PUBLIC_URL)")
@click.option("--show-secret", is_flag=True, help="print the Zendesk webhook's signing secret")
@pass_settings
def setup(settings, public_url: str | None, show_secret: bool) -> None:
    """Register our Omneo webhooks and the Zendesk ticket- and user-event
    webhooks (idempotent).

    \b
    First, an admin creates the OAuth client it connects with:
      1. signed in as an admin (the tokens act as that admin): Admin Center >
         Apps and integrations > APIs > OAuth clients > Add OAuth client
      2. a name; no redirect URLs; Client kind: Confidential
      3. allowed scopes: users:read users:write tickets:read webhooks:read webhooks:write
      4. save; Identifier -> ZENDESK_CLIENT_ID, Secret (shown once) -> ZENDESK_CLIENT_SECRET
    """
    public_url = public_url or settings.public_url
    if not public_url:
        click.echo("omneo-zendesk: setup needs the receiver's public URL: pass --public-url or set "
                   "PUBLIC_URL", err=True)
        raise SystemExit(2)
    try:
        public_url = check_service_url(public_url)
    except ValueError as exc:
        click.echo(f"omneo-zendesk: --public-url (or PUBLIC_URL) must be {exc}", err=True)
        raise SystemExit(2)
    urls = receiver_urls(public_url)
    omneo, zendesk = clients(settings, _shared_redis(settings))
    try:
        rows = ensure_omneo_webhooks(omneo, urls["omneo"], settings.omneo_namespace)
        rows += ensure_user_fields(zendesk, settings)
        row, hook_id = ensure_zendesk_webhook(zendesk, urls["zendesk"], settings.ticket_events)
        rows.append(row)
        secret = zendesk.get_webhook_signing_secret(hook_id)
        rows.append(ensure_zendesk_user_webhook(zendesk, urls["zendesk"], secret))
    except AuthFailure as exc:
        click.echo(f"omneo-zendesk: setup stopped: {exc}", err=True)
        raise SystemExit(1)
    except ApiError as exc:
        click.echo(f"omneo-zendesk: setup stopped: {exc.api} answered {exc.status}; "
                   "run `omneo-zendesk check` to see what to fix", err=True)
        raise SystemExit(1)
    _print_rows(rows)
    click.echo("")
    if secret == settings.zendesk_webhook_secret:
        click.echo("ZENDESK_WEBHOOK_SECRET already holds this webhook's signing secret.")
    else:
        click.echo(f"Set ZENDESK_WEBHOOK_SECRET to the signing secret of Zendesk webhook {hook_id} "
                   f"(GET /api/v2/webhooks/{hook_id}/signing_secret, or Admin Center > Apps and "
                   "integrations > Webhooks > the webhook > Reveal secret), then restart `web`.")
    if show_secret:
        click.echo(f"ZENDESK_WEBHOOK_SECRET={secret}")
