"""A stand-in for Zendesk around the sidebar app in the browser test.

It serves the app's own `assets/` as Zendesk's app CDN would, plus `/_zaf_proxy`: what Zendesk's
request proxy does for `client.request({secure: true, jwt: {...}})`. It fills `{{setting.*}}` in
from the installation's settings (the secure ones never reach the browser), signs an HS256 JWT with
the given claims and `exp` = now + expiry, puts it where `{{jwt.token}}` stands, and calls the
service server-side, over real HTTP.
"""
from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import jwt
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

ASSETS = Path(__file__).resolve().parents[2] / "web" / "zendesk_app" / "assets"
FAKE_SDK = Path(__file__).with_name("fake_zaf_sdk.js")
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css",
         ".png": "image/png", ".svg": "image/svg+xml"}
SETTING = re.compile(r"\{\{setting\.([a-z_]+)\}\}")


class ZafHost:
    def __init__(self, installation_settings: dict):
        self.settings = dict(installation_settings)
        self.clock_offset = 0.0  # seconds added to the proxy's clock (an expired session: < 0)
        self.requests: list[dict] = []  # what the page asked the proxy to do
        self.server = make_server("127.0.0.1", 0, self, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
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
        if request.path == "/_zaf_proxy" and request.method == "POST":
            response = self.proxy(request.get_json(force=True))
        elif request.path.startswith("/assets/"):
            response = self.asset(request.path[len("/assets/"):])
        else:
            response = Response("not found", 404)
        return response(environ, start_response)

    def asset(self, name: str) -> Response:
        path = (ASSETS / name).resolve()
        if ASSETS not in path.parents or not path.is_file():
            return Response("not found", 404)
        return Response(path.read_bytes(), mimetype=TYPES.get(path.suffix, "application/octet-stream"))

    def _fill(self, text: str) -> str:
        return SETTING.sub(lambda m: str(self.settings.get(m.group(1), "")), text)

    def proxy(self, options: dict) -> Response:
        self.requests.append(options)
        if not options.get("secure"):
            return _json({"status": 400, "text": "secure settings need secure: true", "json": None})
        spec = options.get("jwt") or {}
        claims = dict(spec.get("claims") or {})
        claims["exp"] = int(time.time() + self.clock_offset + int(spec.get("expiry", 3600)))
        token = jwt.encode(claims, self._fill(spec.get("secret_key", "")),
                           algorithm=spec.get("algorithm", "HS256"))
        headers = {k: self._fill(v).replace("{{jwt.token}}", token)
                   for k, v in (options.get("headers") or {}).items()}
        url = self._fill(options["url"]).replace("{{jwt.token}}", token)
        resp = requests.request(options.get("type", "GET"), url, headers=headers, timeout=20)
        try:
            body = resp.json()
        except ValueError:
            body = None
        return _json({"status": resp.status_code, "text": resp.text, "json": body})


def _json(body: dict) -> Response:
    return Response(json.dumps(body), mimetype="application/json")
