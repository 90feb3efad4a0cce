"""The sidebar as a server-side app: the page `POST /sidebar/app` answers, and its assets.

It is the app's own `assets/iframe.html`, with a `<base>` pointing its scripts and styles at
`GET /sidebar/assets/...` (the same files Zendesk's CDN serves to the packaged app) and the
agent's session in `<meta name="oz-session">`, which sidebar.js uses to ask what the agent may do
and to act. The read-only view still goes through Zendesk's proxy, as in the packaged app.
"""
from __future__ import annotations

import html
from importlib import resources
from pathlib import Path

from flask import Blueprint, abort, request, send_from_directory

bp = Blueprint("sidebar_app_page", __name__)

ASSETS = Path(str(resources.files("web") / "zendesk_app" / "assets"))
SERVED = {".js", ".css", ".json", ".png", ".svg"}


def render(token: str, expires_at: int, agent_id: str) -> str:
    """The sidebar page holding the agent's session."""
    base = request.script_root + "/sidebar"
    head = (f'<base href="{html.escape(base)}/assets/">\n'
            f'  <meta name="oz-session" content="{html.escape(token)}" data-expires="{expires_at}">\n'
            f'  <meta name="oz-agent" content="{html.escape(agent_id)}">\n'
            f'  <meta name="oz-actions" content="{html.escape(base)}">\n  ')
    page = (ASSETS / "iframe.html").read_text()
    return page.replace('<meta charset="utf-8">', '<meta charset="utf-8">\n  ' + head.rstrip() , 1)


@bp.get("/sidebar/assets/<path:name>")
def asset(name: str):
    if Path(name).suffix not in SERVED:
        abort(404)
    response = send_from_directory(ASSETS, name, max_age=300)  # refuses paths leaving the folder
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
