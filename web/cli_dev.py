"""`omneo-zendesk dev [--demo]`: the whole product on one machine.

With no credentials in the environment it runs against the two sandbox APIs, seeded with sample
customers; with no REDIS_URL it starts a Redis of its own (DevStack picks `redis-server`, or the
slow in-process fakeredis server when the binary is missing). With real credentials it runs the
receiver, a worker and beat against the real APIs. `--demo` (sandboxes only) sends sample
webhooks and ticket events, prints what happened in each system, and exits.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click
from integration.context import connect_redis
import requests

from integration import onboarding
from integration.settings import SettingsError, load_settings
from integration.signatures import omneo_signature
from web.tables import render_table

if TYPE_CHECKING:  # the local stand-ins are imported when `dev` runs, never by the other commands
    from integration.sandbox.devstack import DevStack
    from web.sidebar_preview import ZafHost

CREDENTIALS = ("OMNEO_API_TOKEN", "ZENDESK_CLIENT_SECRET", "ZENDESK_API_TOKEN", "ZENDESK_OAUTH_TOKEN")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class _Stop(Exception):
    pass


def _raise_stop(*_):
    raise _Stop()


@click.command()
@click.option("--demo", is_flag=True, help="send sample webhooks and ticket events, print what "
              "happened in each system, then exit (sandboxes only)")
@click.option("--port", type=int, default=8000, show_default=True,
              help="the receiver's port (a free one when it is taken)")
@click.option("--redis", "redis_kind", type=click.Choice(["auto", "redis-server", "fakeredis"]),
              default="auto", show_default=True, help="the embedded Redis, when REDIS_URL is unset")
@click.option("--log-dir", type=click.Path(file_okay=False), default=None,
              help="where each process writes its log (default: a new temporary directory)")
@click.option("--timeout", type=float, default=120.0, show_default=True,
              help="--demo: seconds to wait for the work to finish")
@click.option("--preview-port", type=int, default=8001, show_default=True,
              help="the sidebar preview's port (a free one when it is taken; sandboxes only)")
def dev(demo: bool, port: int, redis_kind: str, log_dir: str | None, timeout: float,
        preview_port: int) -> None:
    """Run the whole product on this machine (embedded Redis and sandbox APIs by default)."""
    from integration.sandbox.devstack import DevStack

    real = any(os.environ.get(k) for k in CREDENTIALS)
    if real and demo:
        click.echo("omneo-zendesk: --demo writes sample customers, so it only runs against the "
                   "sandboxes: unset OMNEO_API_TOKEN and ZENDESK_* to use them", err=True)
        raise SystemExit(2)
    env = dict(os.environ) if real else {
        k: v for k, v in os.environ.items() if not k.startswith(("OMNEO_", "ZENDESK_"))}
    env.setdefault("LOG_FORMAT", "text")
    env.setdefault("ENVIRONMENT", "development")
    stack = DevStack(log_dir, base_env=env)
    signal.signal(signal.SIGTERM, _raise_stop)
    previews: list[ZafHost] = []
    try:
        code = _run(stack, real, demo, port, redis_kind, timeout, preview_port, previews)
    except (_Stop, KeyboardInterrupt):
        code = 0
    except (TimeoutError, RuntimeError) as exc:
        click.echo(f"omneo-zendesk dev: {exc}\nlogs: {stack.log_dir}", err=True)
        code = 1
    finally:
        click.echo("stopping ...", err=True)
        for preview in previews:
            preview.stop()
        stack.stop()
    raise SystemExit(code)


def _run(stack: DevStack, real: bool, demo: bool, port: int, redis_kind: str, timeout: float,
         preview_port: int = 0, previews: list | None = None) -> int:
    from integration.sandbox import samples
    from integration.sandbox.devstack import free_port

    if stack.env.get("REDIS_URL"):
        stack.urls["redis"], stack.redis_kind = stack.env["REDIS_URL"], "REDIS_URL"
    else:
        click.echo("starting Redis ...", err=True)
        stack.start_redis(prefer=redis_kind)
    port = port if port and _port_free(port) else free_port()
    receiver = f"http://127.0.0.1:{port}"
    if real:
        try:
            load_settings(stack.env)
        except SettingsError as exc:
            click.echo(f"omneo-zendesk: {exc}", err=True)
            return 2
    else:
        click.echo("starting the Omneo and Zendesk sandboxes ...", err=True)
        stack.start_sandboxes()
        _register_sandbox_webhooks(stack, receiver)
    click.echo("starting the receiver, a worker and beat ...", err=True)
    stack.start_receiver(port)
    stack.start_worker()
    stack.start_beat()
    if not real:
        samples.seed(stack.urls["omneo_sandbox"], emit=not demo)
    if not real and not demo and previews is not None:
        previews.append(_start_preview(stack, preview_port))
    env_file = _write_env_file(stack)
    click.echo(_where(stack, real, env_file))
    if demo:
        return Demo(stack).run(timeout)
    click.echo("\nrunning; Ctrl-C stops everything.")
    while all(p.alive() for p in stack.processes):
        time.sleep(1)
    dead = [p for p in stack.processes if not p.alive()]
    click.echo(f"{dead[0].name} stopped; see {dead[0].log_path}", err=True)
    return 1


def _start_preview(stack: DevStack, port: int) -> ZafHost:
    """The sidebar beside a ticket of each sample customer, through the browser test's stand-in
    for Zendesk (its proxy signs the app's JWT with this stack's ZENDESK_APP_SECRET)."""
    from integration.sandbox import samples
    from web.sidebar_preview import ZafHost, sample_tickets

    port = port if port and _port_free(port) else 0
    preview = ZafHost({"service_url": stack.urls["receiver"],
                       "shared_secret": stack.env["ZENDESK_APP_SECRET"]},
                      tickets=sample_tickets(stack.urls["zendesk_sandbox"], samples.CUSTOMERS),
                      port=port).start()
    stack.urls["sidebar_preview"] = preview.url + "/"
    return preview


def _register_sandbox_webhooks(stack: DevStack, receiver: str) -> None:
    """What `setup` does in production: Omneo's webhooks (so edits in the sandbox are delivered
    for real) and Zendesk's ticket and user webhooks, whose signing secret the receiver then uses."""
    settings = load_settings(stack.env)
    omneo, zendesk = onboarding.clients(settings, connect_redis(settings))
    urls = onboarding.receiver_urls(receiver)
    onboarding.ensure_omneo_webhooks(omneo, urls["omneo"], settings.omneo_namespace)
    onboarding.ensure_user_fields(zendesk, settings)
    _, hook_id = onboarding.ensure_zendesk_webhook(zendesk, urls["zendesk"], settings.ticket_events)
    stack.env["ZENDESK_WEBHOOK_SECRET"] = zendesk.get_webhook_signing_secret(hook_id)
    onboarding.ensure_zendesk_user_webhook(zendesk, urls["zendesk"], stack.env["ZENDESK_WEBHOOK_SECRET"])


def _write_env_file(stack: DevStack) -> Path:
    """The settings of this stack, so other commands (`dlq list`, `check`) can join it."""
    names = ("REDIS_URL", "OMNEO_TENANT", "OMNEO_BASE_URL", "OMNEO_API_TOKEN", "OMNEO_WEBHOOK_SECRET",
             "ZENDESK_BASE_URL", "ZENDESK_CLIENT_ID", "ZENDESK_CLIENT_SECRET", "ZENDESK_EMAIL",
             "ZENDESK_API_TOKEN", "ZENDESK_WEBHOOK_SECRET",
             "ZENDESK_APP_SECRET", "PROMETHEUS_MULTIPROC_DIR", "LOG_FORMAT")
    path = stack.log_dir / "dev.env"
    sandbox = "OMNEO_BASE_URL" in stack.env and "127.0.0.1" in stack.env["OMNEO_BASE_URL"]
    # real credentials are never written to disk; the sandbox's are made up
    lines = [f"{n}={stack.env[n]}" for n in names if n in stack.env
             and (sandbox or not n.endswith(("TOKEN", "SECRET")))]
    path.write_text("\n".join(lines) + "\n")
    return path


def _where(stack: DevStack, real: bool, env_file: Path) -> str:
    from integration.sandbox import samples

    logs = {p.name: p.log_path for p in stack.processes}
    rows = [["redis", stack.urls.get("redis"), stack.redis_kind, logs.get("redis", "")]]
    if not real:
        rows += [["omneo sandbox", stack.urls["omneo_sandbox"] + "/api/v3", "seeded with "
                  f"{len(samples.CUSTOMERS)} customers", logs["omneo-sandbox"]],
                 ["zendesk sandbox", stack.urls["zendesk_sandbox"] + "/api/v2", "", logs["zendesk-sandbox"]]]
    else:
        rows += [["omneo", stack.env.get("OMNEO_BASE_URL") or f"tenant {stack.env.get('OMNEO_TENANT')}", "real", ""],
                 ["zendesk", stack.env.get("ZENDESK_BASE_URL") or stack.env.get("ZENDESK_SUBDOMAIN"), "real", ""]]
    r = stack.urls["receiver"]
    rows += [["receiver", r, "POST /webhooks/omneo, /webhooks/zendesk", logs["receiver"]],
             ["metrics", r + "/metrics", "/healthz, /readyz", ""],
             ["worker", "queues sync,erasure,interactions,reconcile", "", logs["worker"]],
             *([["sidebar preview", stack.urls["sidebar_preview"], "the sidebar beside each "
                 "sample ticket (open in a browser)", ""]] if "sidebar_preview" in stack.urls else []),
             ["beat", "periodic jobs", "", logs["beat"]]]
    text = "\n" + render_table(["what", "where", "", "log"], rows)
    text += f"\n\nother commands join this stack with:  set -a; . {env_file}; set +a"
    if not real:
        text += ("\nedit a customer in the Omneo sandbox (its webhook reaches the receiver):\n"
                 f"  curl -X POST {stack.urls['omneo_sandbox']}/_sandbox/profiles -H 'Content-Type: "
                 "application/json' -d '{\"id\": \"demo-ada\", \"tier\": \"silver\"}'\n"
                 f"  curl {stack.urls['zendesk_sandbox']}/_sandbox/users")
    else:
        text += ("\nto receive webhooks, expose the receiver publicly (a tunnel) and run:\n"
                 "  omneo-zendesk setup --public-url https://<your public host>")
    return text


class Demo:
    """Sample traffic through a sandbox stack, then a table of what each system holds."""

    def __init__(self, stack: DevStack):
        self.stack = stack
        self.env = stack.env
        self.receiver = stack.urls["receiver"]
        self.omneo = stack.urls["omneo_sandbox"]
        self.zendesk = stack.urls["zendesk_sandbox"]
        self.handle = self.env.get("OMNEO_IDENTITY_HANDLE", "zendesk")
        self.sent: list[list[str]] = []

    # traffic
    def post_omneo(self, event: str, body: dict, label: str) -> None:
        raw = json.dumps(body).encode()
        r = requests.post(self.receiver + "/webhooks/omneo", data=raw, timeout=10, headers={
            "Content-Type": "application/json", "X-Omneo-Event": event,
            "X-Omneo-Hmac-SHA256": omneo_signature(self.env["OMNEO_WEBHOOK_SECRET"], raw)})
        self.sent.append([f"omneo {event}", label, f"{r.status_code} {_answer(r)}"])

    def ticket_event(self, ticket_id, label: str, **event) -> None:
        """Something happens to a ticket in the Zendesk sandbox, which delivers the event, signed,
        to the webhook `dev` registered (as `setup` registers it in production)."""
        r = requests.post(f"{self.zendesk}/_sandbox/tickets/{ticket_id}/events", json=event, timeout=30)
        r.raise_for_status()
        answers = ", ".join(str(d["status"]) for d in r.json()["deliveries"]) or "no webhook subscribed"
        self.sent.append([f"zendesk {event['type']}", label, f"{answers} (sent by Zendesk's webhook)"])

    # state of the two systems
    def zendesk_users(self) -> dict[str, dict]:
        users = requests.get(self.zendesk + "/_sandbox/users", timeout=5).json()["users"]
        return {u["external_id"]: u for u in users if u.get("external_id")}

    def profile(self, profile_id: str) -> dict:
        return requests.get(f"{self.omneo}/api/v3/profiles/{profile_id}", timeout=5, headers={
            "Authorization": f"Bearer {self.env['OMNEO_API_TOKEN']}"}).json()["data"]

    def linked(self, profile_id: str) -> str | None:
        ids = [i["identifier"] for i in self.profile(profile_id)["identities"] if i["handle"] == self.handle]
        return ids[0] if ids else None

    def interactions(self) -> list[dict]:
        return requests.get(self.omneo + "/_sandbox/interactions", timeout=5).json()["data"]

    def _interactions_by_profile(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for interaction in self.interactions():
            counts[interaction["profile_id"]] = counts.get(interaction["profile_id"], 0) + 1
        return counts

    def synced(self, ids: list[str]) -> bool:
        users = self.zendesk_users()
        return all(i in users and self.linked(i) == str(users[i]["id"]) for i in ids)

    def run(self, timeout: float) -> int:
        from integration.sandbox import samples
        from integration.sandbox.devstack import wait_until

        customers = samples.CUSTOMERS
        ids = [c["id"] for c in customers]
        click.echo("\ndemo: sending sample webhooks ...", err=True)
        first = self.profile(ids[0])
        self.post_omneo("profile.created", first, ids[0])
        self.post_omneo("profile.created", first, ids[0] + " (the same delivery again)")
        for profile_id in ids[1:-1]:
            self.post_omneo("profile.created", self.profile(profile_id), profile_id)
        # the last one is edited in Omneo itself, whose webhook delivers profile.updated
        requests.post(self.omneo + "/_sandbox/profiles", json={"id": ids[-1], "tier": "platinum"},
                      timeout=10).raise_for_status()
        try:
            wait_until(lambda: self.synced(ids), timeout, 0.25, what="the sample customers to sync")
        except TimeoutError:
            self._sandbox_deliveries(ids[-1])
            click.echo(self._tables(ids, tickets=False))
            click.echo("\ndemo: not every customer synced in time; see the worker log.", err=True)
            return 1
        self._sandbox_deliveries(ids[-1])
        click.echo("demo: tickets and their events in the Zendesk sandbox ...", err=True)
        users = self.zendesk_users()
        for n, profile_id in enumerate(ids[:2]):
            r = requests.post(self.zendesk + "/_sandbox/tickets", timeout=5, json={
                "subject": f"Where is my order #{5001 + n}?", "requester_id": users[profile_id]["id"]})
            r.raise_for_status()
            ticket_id = r.json()["ticket"]["id"]
            self.ticket_event(ticket_id, f"ticket {ticket_id} of {profile_id}", type="ticket.created")
            if n == 0:
                self.ticket_event(ticket_id, f"ticket {ticket_id} solved", type="ticket.status_changed",
                                  status="solved")
                self.ticket_event(ticket_id, f"ticket {ticket_id} rated", type="ticket.csat_received",
                                  score="good")
        expected = {ids[0]: 3, ids[1]: 1}
        tickets = True
        try:
            wait_until(lambda: self._interactions_by_profile() == expected, timeout, 0.25,
                       what="the ticket events to become Omneo interactions")
        except TimeoutError:
            click.echo(self._tables(ids, tickets=True))
            click.echo("\ndemo: ticket events did not become interactions in time.", err=True)
            return 1
        click.echo(self._tables(ids, tickets))
        click.echo("\ndemo: done: every sample customer is a Zendesk user linked back to Omneo, "
                   "and their tickets are Omneo interactions.")
        return 0

    def _sandbox_deliveries(self, about: str) -> None:
        delivered = requests.get(self.omneo + "/_sandbox/deliveries", timeout=5).json()["data"]
        for d in delivered:
            self.sent.append([f"omneo {d['event']}", f"{about} (edited in Omneo, sent by its webhook)",
                              str(d["status"])])

    def _tables(self, ids: list[str], tickets: bool) -> str:
        users = self.zendesk_users()
        interactions = self.interactions()
        rows = []
        for profile_id in ids:
            profile, user = self.profile(profile_id), users.get(profile_id)
            linked = self.linked(profile_id)
            tier = (profile.get("tier") or {}).get("handle") if isinstance(profile.get("tier"), dict) else profile.get("tier")
            rows.append([
                profile_id, tier or "",
                f"user {user['id']}" if user else "(none)",
                ", ".join(t for t in (user or {}).get("tags", []) if t.startswith("omneo_")) if user else "",
                "synced" if user and linked == str(user["id"]) else ("linked to " + linked if linked else "not linked"),
                str(sum(1 for i in interactions if i.get("profile_id") == profile_id)) if tickets else "-",
            ])
        out = "\nwebhooks sent\n" + render_table(["event", "about", "answer"], self.sent)
        out += "\n\nwhat each system holds\n" + render_table(
            ["omneo profile", "tier", "zendesk user", "zendesk tags", "omneo identity (zendesk)",
             "omneo interactions"], rows)
        out += "\n\njobs (from /metrics)\n" + render_table(["task", "outcome", "count"], self._jobs())
        return out

    def _jobs(self) -> list[list[str]]:
        from prometheus_client.parser import text_string_to_metric_families

        text = requests.get(self.receiver + "/metrics", timeout=5).text
        rows = []
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "oz_jobs_total" and sample.value:
                    rows.append([sample.labels["task"].replace("omneo_zendesk.", ""),
                                 sample.labels["outcome"], str(int(sample.value))])
                elif sample.name in ("oz_dead_letters", "oz_queue_depth") and family.name != sample.name + "_total":
                    label = sample.labels.get("queue", "")
                    if sample.name == "oz_dead_letters" or sample.value:
                        rows.append([sample.name.replace("oz_", "") + (f" {label}" if label else ""), "now",
                                     str(int(sample.value))])
        return sorted(rows)


def _answer(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if body.get("duplicate"):
        return "duplicate, ignored"
    if body.get("job_id"):
        return "job queued"
    return body.get("error") or body.get("status") or ""
