"""`omneo-zendesk dev [--demo]`: the whole product on one machine.

With no credentials in the environment it runs against the two sandbox APIs, seeded with sample
customers; with no REDIS_URL it starts a Redis of its own (DevStack picks `redis-server`, or the
slow in-process fakeredis server when the binary is missing). With real credentials it runs the
receiver, a worker and beat against the real APIs. `--demo` (sandboxes only) sends sample
webhooks and ticket events, prints what happened in each system, and exits.
"""
from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from integration import jobs
from integration.onboarding.clients import clients, receiver_urls
from integration.onboarding.registration import (ensure_omneo_webhooks, ensure_user_fields,
                                                  ensure_zendesk_user_webhook, ensure_zendesk_webhook)
from integration.wiring import connect_redis
from web.cli.context import CliContext
from web.cli.demo import Demo
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

    zaf_key = None
    if stack.env.get("REDIS_URL"):
        stack.urls["redis"], stack.redis_kind = stack.env["REDIS_URL"], "REDIS_URL"
    else:
        click.echo("starting Redis ...", err=True)
        stack.start_redis(prefer=redis_kind)
    port = port if port and _port_free(port) else free_port()
    receiver = f"http://127.0.0.1:{port}"
    if real:
        CliContext(stack.env).settings  # a bad setting: one line and exit 2, as every command
    else:
        click.echo("starting the Omneo and Zendesk sandboxes ...", err=True)
        stack.start_sandboxes()
        _register_sandbox_webhooks(stack, receiver)
        zaf_key = _sample_agents(stack)
    click.echo("starting the receiver, a worker and beat ...", err=True)
    stack.start_receiver(port)
    stack.start_worker()
    stack.start_beat()
    if not real:
        samples.seed(stack.urls["omneo_sandbox"], emit=not demo)
    if not real and not demo and previews is not None:
        previews.append(_start_preview(stack, preview_port, zaf_key))
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


def _start_preview(stack: DevStack, port: int, zaf_key=None) -> ZafHost:
    """The sidebar beside a ticket of each sample customer, through the browser test's stand-in
    for Zendesk (its proxy signs the app's JWT with this stack's ZENDESK_APP_SECRET). With the
    sandbox's ZAF key, it also opens the server-side app as a sample agent of each role."""
    from integration.sandbox import samples, zaf
    from integration.sandbox.devstack import wait_until
    from web.sidebar_preview import ZafHost, sample_tickets

    port = port if port and _port_free(port) else 0
    tickets = sample_tickets(stack.urls["zendesk_sandbox"], samples.CUSTOMERS)
    # the sidebar asks Zendesk who a requester is: the samples' users should exist first
    try:
        wait_until(tickets.ready, 60, interval=0.2, what="the sample customers' Zendesk users")
    except TimeoutError as exc:
        click.echo(f"sidebar preview: {exc}; customers not synced yet show no requester", err=True)
    signer = zaf_key and zaf.ZafSigner(stack.urls["zendesk_sandbox"], SAMPLE_INSTALLATION, key=zaf_key)
    preview = ZafHost({"service_url": stack.urls["receiver"],
                       "shared_secret": stack.env["ZENDESK_APP_SECRET"]},
                      tickets=tickets, port=port, zaf_token=signer and signer.token,
                      agents=[{"id": a["id"], "label": _role_label(a, CliContext(stack.env).settings)}
                              for a in zaf.SAMPLE_AGENTS if a["role"] != "end-user"]).start()
    stack.urls["sidebar_preview"] = preview.url + "/"
    return preview


SAMPLE_INSTALLATION = "1122334455"


def _sample_agents(stack: DevStack):
    """Agent actions in the sandbox: a test key stands in for the app's (returned, for the
    preview to sign with), and a sample agent of each role is in the Zendesk sandbox
    (integration/sandbox/zaf.py signs their ZAF JWTs)."""
    from integration.sandbox import zaf

    key = zaf.new_key()
    zaf.write_key(key, stack.log_dir / "zaf-test-key.pem")
    stack.env.update({"ZENDESK_APP_PUBLIC_KEY": zaf.public_pem(key), "ZENDESK_APP_INSTALLATION_ID": SAMPLE_INSTALLATION,
                      "SIDEBAR_ACTION_ROLES": f"admin,{zaf.TEAM_LEAD_ROLE}", "SIDEBAR_REWARD_DEFINITIONS": "7,8"})
    zaf.add_sample_agents(stack.urls["zendesk_sandbox"])
    return key


def _role_label(agent: dict, settings) -> str:
    """"Avery Admin (admin, may act)": the sample agent, their role, whether this stack lets them act."""
    from integration.agent_actions.forms import may_act
    from integration.apis.zaf_auth import Agent

    crid = agent.get("custom_role_id")
    may = may_act(settings, Agent(str(agent["id"]), SAMPLE_INSTALLATION, agent["role"], crid and str(crid)))
    return f"{agent['name']} ({f'custom role {crid}' if crid else agent['role']}, {'may' if may else 'may not'} act)"


def _register_sandbox_webhooks(stack: DevStack, receiver: str) -> None:
    """What `setup` does in production: Omneo's webhooks (so edits in the sandbox are delivered
    for real) and Zendesk's ticket and user webhooks, whose signing secret the receiver then uses."""
    settings = CliContext(stack.env).settings
    omneo, zendesk = clients(settings, connect_redis(settings))
    urls = receiver_urls(receiver)
    ensure_omneo_webhooks(omneo, urls["omneo"], settings.omneo_namespace)
    ensure_user_fields(zendesk, settings)
    _, hook_id = ensure_zendesk_webhook(zendesk, urls["zendesk"], settings.ticket_events)
    stack.env["ZENDESK_WEBHOOK_SECRET"] = zendesk.get_webhook_signing_secret(hook_id)
    ensure_zendesk_user_webhook(zendesk, urls["zendesk"], stack.env["ZENDESK_WEBHOOK_SECRET"])


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
             ["worker", "queues " + ",".join(jobs.QUEUES), "", logs["worker"]],
             *([["sidebar preview", stack.urls["sidebar_preview"], "the sidebar beside each "
                 "sample ticket (open in a browser)", ""]] if "sidebar_preview" in stack.urls else []),
             ["beat", "periodic jobs", "", logs["beat"]]]
    text = "\n" + render_table(["what", "where", "", "log"], rows)
    text += f"\n\nother commands join this stack with:  set -a; . {env_file}; set +a"
    if not real:
        text += ("\nedit a customer in the Omneo sandbox (its webhook reaches the receiver):\n"
                 f"  curl -X POST {stack.urls['omneo_sandbox']}/_sandbox/profiles -H 'Content-Type: "
                 "application/json' -d '{\"id\": \"demo-ada\", \"tier\": \"silver\"}'\n"
                 f"  curl {stack.urls['zendesk_sandbox']}/_sandbox/users\n"
                 "open the app as a sample agent (5001 admin, 5002 agent, 5003 team lead, 5004 light agent):\n"
                 f"  curl -X POST {r}/sidebar/app --data-urlencode token=$(python -m integration.sandbox.zaf "
                 f"--key {stack.log_dir / 'zaf-test-key.pem'} --base-url {stack.urls['zendesk_sandbox']} --agent 5003)")
    else:
        text += ("\nto receive webhooks, expose the receiver publicly (a tunnel) and run:\n"
                 "  omneo-zendesk setup --public-url https://<your public host>")
    return text
