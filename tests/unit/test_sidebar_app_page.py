"""The server-side app's page is the sidebar itself, holding the agent's session, and its assets
are served from the app's own folder only."""
from __future__ import annotations

import pytest

from tests.helpers import LEAD, open_app


@pytest.fixture
def client(app_ctx):
    return app_ctx.test_client()


def test_the_page_is_the_sidebar_with_the_session_and_its_assets_here(client, world, signer):
    resp = client.post("/sidebar/app", data={"token": signer.token(LEAD)})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    assert '<base href="/sidebar/assets/">' in page and 'name="oz-actions" content="/sidebar"' in page
    assert 'data-form="reward"' in page and '<script src="actions.js"></script>' in page
    assert open_app(client, signer.token(LEAD))[1]
    for name in ("sidebar.js", "actions.js", "sidebar.css", "locales/de.json"):
        assert client.get(f"/sidebar/assets/{name}").status_code == 200, name


@pytest.mark.parametrize("name", ["iframe.html", "../sidebar_actions.py", "..%2Fapp.py", "locales/../../app.py",
                                  "nope.js", "/etc/passwd.json"])
def test_nothing_but_the_app_s_assets_is_served(client, name):
    assert client.get(f"/sidebar/assets/{name}", follow_redirects=True).status_code == 404
