"""A stand-in for Zendesk around the sidebar app: the browser test's host, and the page
`omneo-zendesk dev` serves to show the sidebar beside sample tickets with no Zendesk account.

It serves the app's own `assets/` as Zendesk's app CDN would (the ZAF SDK's address pointed at
`fake_zaf_sdk.js` beside this file), plus `/_zaf_proxy`: what Zendesk's request proxy does for
`client.request({secure: true, jwt: {...}})`. It fills `{{setting.*}}` in from the installation's
settings (the secure ones never reach the browser), signs an HS256 JWT with the given claims and
`exp` = now + expiry, puts it where `{{jwt.token}}` stands, and calls the service server-side,
over real HTTP. `/_zaf/context?ticket=N` tells the fake SDK about ticket N; `/` is the preview.
"""
from __future__ import annotations

import html
import json
import re
import threading
import time
from importlib import resources
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import jwt
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

ASSETS = Path(str(resources.files("web") / "zendesk_app" / "assets"))
FAKE_SDK = Path(__file__).with_name("fake_zaf_sdk.js")
ZAF_SDK = "https://static.zdassets.com/zendesk_app_framework_sdk/2.0/zaf_sdk.min.js"
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json",
         ".png": "image/png", ".svg": "image/svg+xml"}
SETTING = re.compile(r"\{\{setting\.([a-z_]+)\}\}")
LOCALES = {"en-US": "English", "de": "Deutsch"}

# a ticket of the preview: {"id", "subject", "requester": {"id", "name", "email"}}
Tickets = Callable[[], list[dict]]


class ZafHost:
    def __init__(self, installation_settings: dict, tickets: Tickets | None = None,
                 port: int = 0, zaf_token: Callable[[str], str] | None = None,
                 agents: list[dict] | None = None):
        self.settings = dict(installation_settings)
        # the preview's "open as" choices: [{"id", "label"}], each opening the server-side app as them
        self.agents = list(agents or []) if zaf_token else []
        self.tickets = tickets or (lambda: [])
        self.zaf_token = zaf_token  # the ZAF JWT Zendesk would sign for an agent (server-side app)
        self.clock_offset = 0.0  # seconds added to the proxy's clock (an expired session: < 0)
        self.requests: list[dict] = []  # what the page asked the proxy to do
        self.server = make_server("127.0.0.1", port, self, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.hosts = {f"{name}:{self.server.server_port}" for name in ("127.0.0.1", "localhost")}
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "ZafHost":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()

    @property
    def fake_sdk(self) -> str:
        return FAKE_SDK.read_text()

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.host not in self.hosts:
            # DNS rebinding: a page whose name came to point at 127.0.0.1 is the same origin as
            # us to the browser, but still says its own name in Host
            response = Response("unknown host", 421)
        elif request.path == "/_zaf_proxy" and request.method == "POST":
            # JSON only: a cross-site form or text/plain post (no preflight) gets nothing signed
            options = request.get_json(silent=True) if request.is_json else None
            response = (self.proxy(options) if isinstance(options, dict)
                        else Response("a JSON object, please", 415))
        elif request.path == "/_zaf/sdk.js":
            response = Response(self.fake_sdk, mimetype="text/javascript")
        elif request.path == "/_zaf/context":
            response = _json(self.context(request.args.get("ticket", ""), request.args))
        elif request.path == "/_zaf/app":
            response = self.server_side_app(request.args)
        elif request.path.startswith("/sidebar/") and request.path != "/sidebar/app":
            response = self.service(request)
        elif request.path.startswith("/assets/"):
            response = self.asset(request.path[len("/assets/"):])
        elif request.path == "/":
            response = Response(self.preview(request.args), mimetype="text/html")
        else:
            response = Response("not found", 404)
        return response(environ, start_response)

    def asset(self, name: str) -> Response:
        path = (ASSETS / name).resolve()
        if ASSETS.resolve() not in path.parents or not path.is_file():
            return Response("not found", 404)
        body = path.read_bytes()
        if path.name == "iframe.html":
            body = body.replace(ZAF_SDK.encode(), b"/_zaf/sdk.js")
        return Response(body, mimetype=TYPES.get(path.suffix, "application/octet-stream"))

    def server_side_app(self, args) -> Response:
        """What Zendesk does to open a server-side app: POST its signed ZAF JWT (for the agent
        `agent`) to the app's location, our `/sidebar/app`, and show the page it answers. The page
        is served here as if from the service's origin: its calls to `/sidebar/...` come back to
        `service` below, and it gets the stand-in SDK."""
        if self.zaf_token is None or not args.get("agent", "").isdigit():
            return Response("no ZAF signer, or no agent", 400)
        url = self.settings.get("service_url", "").rstrip("/") + "/sidebar/app"
        resp = requests.post(url, data={"token": self.zaf_token(args["agent"])}, timeout=20)
        return Response(resp.text.replace(ZAF_SDK, "/_zaf/sdk.js"), resp.status_code,
                        mimetype=resp.headers.get("Content-Type", "text/html").split(";")[0])

    def service(self, request: Request) -> Response:
        """The page's own calls to the service (its origin, in Zendesk): passed on as they are."""
        url = self.settings.get("service_url", "").rstrip("/") + request.full_path.rstrip("?")
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("authorization", "content-type")}
        try:
            resp = requests.request(request.method, url, headers=headers, data=request.get_data(), timeout=20)
        except requests.RequestException as exc:
            return Response(type(exc).__name__, 502)
        return Response(resp.content, resp.status_code,
                        mimetype=resp.headers.get("Content-Type", "application/octet-stream").split(";")[0])

    def context(self, ticket_id: str, args) -> dict:
        ticket = next((t for t in self.tickets() if str(t["id"]) == ticket_id), None)
        return {"requester": ticket and ticket["requester"], "ticket_id": ticket and ticket["id"],
                "locale": args.get("locale") or "en-US",
                "colorScheme": "dark" if args.get("colorScheme") == "dark" else "light",
                "settings": {"service_url": self.settings.get("service_url", "")}}

    def _fill(self, text: str) -> str:
        return SETTING.sub(lambda m: str(self.settings.get(m.group(1), "")), text)

    def proxy(self, options: dict) -> Response:
        self.requests.append(options)
        if not options.get("secure"):
            return _json({"status": 400, "text": "secure settings need secure: true", "json": None})
        spec = options.get("jwt")
        if not isinstance(spec, dict):
            # this stand-in only signs: a request it cannot sign is the page's mistake
            return _json({"status": 400, "text": "a jwt option (an object), please", "json": None},
                         400)
        claims = dict(spec.get("claims") or {})
        claims["exp"] = int(time.time() + self.clock_offset + int(spec.get("expiry", 3600)))
        token = jwt.encode(claims, self._fill(spec.get("secret_key", "")),
                           algorithm=spec.get("algorithm", "HS256"))
        headers = {k: self._fill(v).replace("{{jwt.token}}", token)
                   for k, v in (options.get("headers") or {}).items()}
        url = self._fill(options.get("url", "")).replace("{{jwt.token}}", token)
        if _origin(url) != _origin(self.settings.get("service_url", "")):
            # as Zendesk's proxy keeps secure requests to the app's domain whitelist
            return _json({"status": 403, "text": "secure requests go to the service URL only",
                          "json": None})
        try:
            resp = requests.request(options.get("type", "GET"), url, headers=headers, timeout=20)
        except requests.RequestException as exc:
            return _json({"status": 502, "text": type(exc).__name__, "json": None})
        try:
            body = resp.json()
        except ValueError:
            body = None
        return _json({"status": resp.status_code, "text": resp.text, "json": body})

    def preview(self, args) -> str:
        scheme = "dark" if args.get("scheme") == "dark" else "light"
        locale = args.get("locale") if args.get("locale") in LOCALES else "en-US"
        agent = next((a for a in self.agents if str(a["id"]) == args.get("agent")), None)

        def link(label: str, current: bool, **change) -> str:
            query = {"scheme": scheme, "locale": locale, "agent": agent and agent["id"], **change}
            href = "/?" + "&amp;".join(f"{k}={html.escape(str(v))}" for k, v in query.items() if v)
            return f'<a href="{href}"{" aria-current=page" if current else ""}>{html.escape(label)}</a>'
        switches = " ".join(link(s, s == scheme, scheme=s) for s in ("light", "dark"))
        switches += " · " + " ".join(link(name, code == locale, locale=code) for code, name in LOCALES.items())
        if self.agents:
            switches += "<br>Open as: " + " · ".join(
                [link("the packaged app (read-only)", agent is None, agent="")]
                + [link(a["label"], a is agent, agent=a["id"]) for a in self.agents])
        rows = "\n".join(_ticket_html(t, scheme, locale, agent and agent["id"]) for t in self.tickets())
        return PREVIEW_PAGE.format(scheme=scheme, switches=switches, rows=rows)


def _ticket_html(ticket: dict, scheme: str, locale: str, agent=None) -> str:
    who = ticket["requester"]
    query = f"origin=preview&ticket={ticket['id']}&colorScheme={scheme}&locale={locale}"
    src = f"/_zaf/app?{query}&agent={agent}" if agent else f"/assets/iframe.html?{query}"
    return f"""<section class="ticket" aria-label="Ticket #{ticket['id']}">
  <div class="pane"><p class="meta">Ticket #{ticket['id']}</p><h2>{html.escape(ticket['subject'])}</h2>
    <p class="meta">{html.escape(who.get('name') or '')} &lt;{html.escape(who.get('email') or '')}&gt;</p>
    <p class="comment">Hi, I'm writing about my recent order. Could you have a look? Thanks!</p></div>
  <iframe title="Omneo sidebar for ticket #{ticket['id']}" src="{html.escape(src)}" width="320" height="520"></iframe>
</section>"""


PREVIEW_PAGE = """<!DOCTYPE html>
<html lang="en" data-scheme="{scheme}"><head><meta charset="utf-8"><title>Sidebar preview</title>
<style>
body {{ margin: 0; padding: 16px 24px; font: 14px/20px system-ui, sans-serif; background: #f8f9f9; color: #2f3941; }}
[data-scheme=dark] body {{ background: #0a0d0e; color: #d8dcde; }}
a {{ color: inherit; }} a[aria-current] {{ font-weight: 700; }}
.ticket {{ display: flex; gap: 16px; margin: 16px 0; align-items: flex-start; }}
.pane {{ flex: 1; max-width: 560px; padding: 16px; border: 1px solid #d8dcde; border-radius: 4px; background: #fff; }}
[data-scheme=dark] .pane {{ background: #151a1e; border-color: #39434b; }}
.meta {{ margin: 0; opacity: .8; font-size: 12px; }} h2 {{ margin: 4px 0; font-size: 16px; }}
iframe {{ border: 1px solid #d8dcde; border-radius: 4px; background: transparent; }}
</style></head>
<body><h1>Omneo sidebar preview</h1>
<p>What agents see beside each sample ticket, served by the real receiver and the Omneo sandbox
through a stand-in for Zendesk. Scheme and language: {switches}</p>
{rows}
<script>
// the ZAF iframe resizes itself through `client.invoke('resize')`; here the frame follows its page
setInterval(function () {{
  document.querySelectorAll('iframe').forEach(function (f) {{
    try {{ var h = f.contentDocument.getElementById('app').getBoundingClientRect().height;
          if (h) f.style.height = Math.ceil(h) + 2 + 'px'; }} catch (e) {{}}
  }});
}}, 500);
</script></body></html>"""


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body), status, mimetype="application/json")


STRANGER = {"name": "Walk-in Visitor", "email": "visitor@example.com"}


def sample_tickets(zendesk_sandbox_url: str, customers: list[dict]) -> Tickets:
    """A ticket for each sample customer, its requester their Zendesk user (the service reads who
    they are from Zendesk, so only a real user of the sandbox shows a customer; `ready` says when
    every one is synced), and one from a stranger (a user of the sandbox with no profile)."""

    def users() -> list[dict]:
        try:
            return requests.get(zendesk_sandbox_url + "/_sandbox/users", timeout=5).json()["users"]
        except (requests.RequestException, ValueError, KeyError):
            return []

    def stranger(known: list[dict]) -> dict:
        found = next((u for u in known if u.get("email") == STRANGER["email"]), None)
        if found is None:
            r = requests.post(zendesk_sandbox_url + "/_sandbox/users", json=STRANGER, timeout=5)
            r.raise_for_status()
            found = r.json()["user"]
        return found

    made: set[int] = set()

    def in_zendesk(ticket: dict) -> dict:
        """The ticket in the Zendesk sandbox too, once its requester is a user there (agent
        actions ask Zendesk who the ticket's requester is)."""
        if ticket["id"] not in made and ticket["requester"].get("id"):
            requests.post(zendesk_sandbox_url + "/_sandbox/tickets", timeout=5, json={
                "id": ticket["id"], "requester_id": ticket["requester"]["id"],
                "subject": ticket["subject"]}).raise_for_status()
            made.add(ticket["id"])
        return ticket

    def tickets() -> list[dict]:
        known = users()
        by_profile = {u.get("external_id"): u for u in known}
        out = []
        for n, customer in enumerate(customers, 1):
            user = by_profile.get(customer["id"]) or {}
            name = " ".join(p for p in (customer.get("first_name"), customer.get("last_name")) if p)
            out.append(in_zendesk({"id": 5000 + n, "subject": f"Where is my order #{70000 + n}?",
                                   "requester": {"id": user.get("id"), "name": name,
                                                 "email": customer.get("email")}}))
        visitor = stranger(known)
        out.append(in_zendesk({"id": 5000 + len(customers) + 1, "subject": "Do you ship to New Zealand?",
                               "requester": {"id": visitor["id"], **STRANGER}}))
        return out

    def ready() -> bool:
        synced = {u.get("external_id") for u in users()}
        return all(c["id"] in synced for c in customers)

    tickets.ready = ready  # type: ignore[attr-defined]
    return tickets
