"""What the e2e tests share: polls, a synced customer, the sandboxes' controls, the sidebar's
bearer, a fake Sentry ingest, Chromium's flags and the sidebar page as an agent sees it. Fixtures live in conftest.py; no test file
imports another."""
from __future__ import annotations

import gzip
import json
import os
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import jwt
import requests

from integration.sandbox.zaf import TEAM_LEAD_ROLE, new_key, public_pem
from integration.store import keys
from integration.store.dead_letters import DeadLetters

CREATE_OR_UPDATE = "/api/v2/users/create_or_update"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "sidebar"
SIDEBAR_WIDTH = 320

# agent actions: the app's ZAF key, and a stack's settings for them (conftest's actions_dev_stack)
INSTALLATION = "1122334455"
ZAF_KEY = new_key()
ACTIONS_ENV = {
    "ZENDESK_APP_PUBLIC_KEY": public_pem(ZAF_KEY), "ZENDESK_APP_INSTALLATION_ID": INSTALLATION,
    "SIDEBAR_ACTION_ROLES": f"admin,{TEAM_LEAD_ROLE}", "SIDEBAR_REWARD_DEFINITIONS": "7,8",
    "SIDEBAR_REWARD_MAX_VALUE": "50", "SIDEBAR_AGENT_DAILY_CAP": "100",
    # Omneo down for a while: the job keeps retrying rather than giving up after the usual 4
    "TASK_MAX_ATTEMPTS": "50"}


def processes_of(log_dir: Path) -> list[str]:
    """Live processes started for a DevStack whose logs are in `log_dir` (its children carry the
    stack's metrics directory, under the log directory, in their environment)."""
    mark = str(log_dir).encode()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            proc = Path("/proc", pid)
            if mark in proc.joinpath("cmdline").read_bytes() or mark in proc.joinpath("environ").read_bytes():
                found.append(pid)
        except OSError:
            pass
    return found


def calls_to(stack, which, method, path):
    return sorted((c for c in stack.calls(which) if c["method"] == method and c["path"] == path),
                  key=lambda c: c["started"])


def finished(stack, job_id):
    """The record a worker logged when the job ended: done, or dead-lettered."""
    return next((r for r in stack.log_records(job_id)
                 if r.get("message") in ("job done", "job dead-lettered")), None)


def in_flight(stack, before: int):
    return stack.stats()["calls"] > before


def bearer(stack, lifetime: float | None = 300, secret: str | None = None, **claims) -> dict:
    claims.setdefault("zendesk_user_id", 555)
    if lifetime is not None:
        claims["exp"] = int(time.time() + lifetime)
    signed = jwt.encode(claims, secret or stack.env["ZENDESK_APP_SECRET"], algorithm="HS256")
    return {"Authorization": f"Bearer {signed}"}


def sidebar(stack, headers: dict) -> requests.Response:
    return requests.get(stack.receiver + "/sidebar/profile", headers=headers, timeout=20)


def subscribe(stack, *events):
    """Register the receiver as Omneo's webhook for `events`, as `setup` would."""
    for event in events:
        requests.post(stack.omneo + "/api/v3/webhooks", timeout=5,
                      headers={"Authorization": f"Bearer {stack.env['OMNEO_API_TOKEN']}"},
                      json={"trigger": event, "url": stack.receiver + "/webhooks/omneo"}).raise_for_status()


def until(stack, predicate, what: str):
    """A bounded poll, generous: other suites load this 2-core machine at the same time."""
    return stack.wait(predicate, timeout=60, what=what)


def links(stack, profile_id):
    return [i["identifier"] for i in stack.profile(profile_id)["identities"] if i["handle"] == "zendesk"]


def synced(stack, profile_id, **fields):
    """A profile synced through the receiver and worker; returns its Zendesk user."""
    profile = stack.put_profile(id=profile_id, **fields)
    assert stack.post_omneo("profile.created", profile).status_code == 202
    user = until(stack, lambda: stack.zendesk_user(profile_id), what=f"the user of {profile_id}")
    until(stack, lambda: links(stack, profile_id) == [str(user["id"])], what=f"the link of {profile_id}")
    return user


def hand_made_user(stack, **fields) -> dict:
    r = requests.post(stack.zendesk + "/_sandbox/users", json=dict({"name": "Walk In"}, **fields), timeout=5)
    r.raise_for_status()
    return r.json()["user"]


def user_ids(stack) -> list[int]:
    return sorted(u["id"] for u in stack.zendesk_users())


def dead_letter(stack, task):
    entries = [e for e in DeadLetters(stack.redis).list() if e["task"] == task]
    return entries[0] if entries else None


def omneo_merge(stack, loser_id, winner_id):
    requests.post(f"{stack.omneo}/_sandbox/profiles/{loser_id}/merge", json={"into": winner_id},
                  timeout=5).raise_for_status()


def synced_customer(stack, profile_id, **fields) -> dict:
    profile = stack.put_profile(id=profile_id, first_name="Erin", last_name="Rasure",
                                email=f"{profile_id}@example.com", mobile_phone="+61400000099", **fields)
    assert stack.post_omneo("profile.created", profile).status_code == 202
    user = stack.wait(lambda: stack.zendesk_user(profile_id), what="the synced Zendesk user")
    stack.wait(lambda: stack.synced_mark(profile_id), what="the sync watermark")
    return user


def delete_profile(stack, profile_id) -> None:
    requests.delete(f"{stack.omneo}/_sandbox/profiles/{profile_id}", timeout=5).raise_for_status()


def erase(stack, body: dict) -> str:
    r = stack.post_omneo("profile.deleted", body)
    assert r.status_code == 202, r.text
    return r.json()["job_id"]


def audit(stack) -> list[dict]:
    return [json.loads(raw) for raw in stack.redis.lrange(keys.ERASURE_AUDIT, 0, -1)]


def audit_of(stack, profile_id) -> dict | None:
    return next((r for r in audit(stack) if r["profile_id"] == profile_id), None)


def redis_value(r, key) -> bytes:
    """Everything a key holds, as plain bytes (DUMP may compress, hiding what it holds)."""
    kind = r.type(key)
    if kind == b"string":
        return r.get(key) or b""
    if kind == b"hash":
        return b" ".join(k + b"=" + v for k, v in r.hgetall(key).items())
    if kind == b"list":
        return b" ".join(r.lrange(key, 0, -1))
    if kind == b"set":
        return b" ".join(r.smembers(key))
    if kind == b"zset":
        return b" ".join(r.zrange(key, 0, -1))
    return b""


class Ingest(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        Ingest.received.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


# WCAG 2.x contrast of every visible piece of text against the background it sits on
CONTRAST = """() => {
  function rgb(c) { const m = c.match(/[\\d.]+/g).map(Number); return {r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1}; }
  function lum(c) { return [c.r, c.g, c.b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); })
                      .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0); }
  function background(el) {
    for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor); if (c.a > 0) return c; }
    return {r: 255, g: 255, b: 255, a: 1};
  }
  const failures = [];
  document.querySelectorAll('#app *').forEach(el => {
    const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length || el.closest('[hidden]') || el.closest('.visually-hidden')) return;
    const style = getComputedStyle(el);
    const fg = rgb(style.color), bg = background(el);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
    const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < needed) failures.push(el.textContent.trim().slice(0, 40) + ': ' + ratio.toFixed(2));
  });
  return failures;
}"""


def plain(text: str) -> str:
    """Intl puts no-break spaces in amounts and times."""
    return text.replace("\u202f", " ").replace("\xa0", " ").strip()


class Sidebar:
    """One sidebar iframe as an agent sees it."""

    def __init__(self, browser, zaf, requester: dict | None, locale: str,
                 scheme: str, background: bool, timezone: str = "UTC", agent: int | None = None,
                 ticket_id: int | None = None):
        self.zaf = zaf
        self.scheme = scheme
        self.agent = agent  # None: the packaged app; an agent id: the server-side app, as that agent
        self.context = browser.new_context(viewport={"width": SIDEBAR_WIDTH, "height": 640},
                                           device_scale_factor=2, timezone_id=timezone)
        self.page = self.context.new_page()
        self.outside: list[str] = []
        self.page.route("**/*", self._route)
        # ZAF gives the page only the non-secure settings
        self.page.add_init_script("window.__ZAF_FAKE__ = %s;" % json.dumps({
            "requester": requester, "ticket_id": ticket_id, "locale": locale, "colorScheme": scheme,
            "background": background, "settings": {"service_url": zaf.settings["service_url"]}}))

    def _route(self, route):
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1":
            return route.continue_()
        self.outside.append(url)
        return route.abort()

    def open(self, wait_for: str | None = "found"):
        # Zendesk puts the colour scheme on the iframe's URL, for the first paint
        query = {"origin": "https://acme.zendesk.com", "app_guid": "x", "colorScheme": self.scheme}
        if self.agent is None:
            self.page.goto(self.zaf.url + "/assets/iframe.html?" + urlencode(query))
        else:  # Zendesk posts its signed ZAF JWT to the service, which answers the page
            self.page.goto(self.zaf.url + "/_zaf/app?" + urlencode(dict(query, agent=self.agent)))
        if wait_for:
            self.wait(wait_for)
        return self

    def wait(self, state: str) -> None:
        self.page.wait_for_selector(f'#app[data-state="{state}"]', timeout=30_000)

    def visible_text(self, selector: str) -> str:
        return plain(self.page.locator(selector).inner_text())

    def texts(self, selector: str) -> list[str]:
        return [plain(t) for t in self.page.locator(selector).all_inner_texts()]

    def proxied(self) -> list[str]:
        return [arg for name, arg in self.page.evaluate("window.__ZAF_CALLS__") if name == "request"]

    def contrast_failures(self) -> list[str]:
        return self.page.evaluate(CONTRAST)

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        # the sidebar iframe is sized to its content (the app asks ZAF to resize it)
        self.page.locator("#app").screenshot(path=str(path))
        return path

    def close(self) -> None:
        self.context.close()
