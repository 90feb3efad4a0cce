"""`omneo-zendesk dev --demo`: sample traffic through a sandbox stack, then a table of what each
system holds."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click
import requests

from integration import jobs
from integration.apis.signatures import omneo_signature
from web.tables import render_table

if TYPE_CHECKING:  # the local stand-ins are imported when the demo runs (see web.cli.dev)
    from integration.sandbox.devstack import DevStack


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
                    rows.append([sample.labels["task"].removeprefix(jobs.PREFIX),
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
