"""The preview's ZAF proxy signs with the app's shared secret, so, like Zendesk's, it sends secure
requests only to the app's service URL and only for a JSON request (no cross-site form post)."""
from __future__ import annotations

import json

import pytest
import responses
from werkzeug.test import Client

from web.sidebar_preview import ZafHost

SERVICE = "http://127.0.0.1:9/"
SECRET = "preview-shared-secret-0123456789abcdef"


@pytest.fixture
def host():
    zaf = ZafHost({"service_url": SERVICE, "shared_secret": SECRET})
    yield zaf
    zaf.server.server_close()


def options(url: str) -> dict:
    return {"url": url, "type": "GET", "secure": True,
            "headers": {"Authorization": "Bearer {{jwt.token}}"},
            "jwt": {"algorithm": "HS256", "secret_key": "{{setting.shared_secret}}", "claims": {}}}


@responses.activate
def test_a_secure_request_to_another_host_is_refused_and_never_sent(host):
    answer = Client(host).post("/_zaf_proxy", json=options("https://elsewhere.example/collect"))
    assert json.loads(answer.data)["status"] == 403
    assert len(responses.calls) == 0


@responses.activate
def test_a_non_json_post_gets_nothing_signed(host):
    answer = Client(host).post("/_zaf_proxy", data=json.dumps(options(SERVICE + "sidebar")),
                               content_type="text/plain")
    assert answer.status_code == 415
    assert len(responses.calls) == 0


@responses.activate
def test_the_service_url_is_proxied_with_a_signed_token(host):
    responses.get(SERVICE + "sidebar/profile", json={"ok": True})
    answer = Client(host).post("/_zaf_proxy", json=options(SERVICE + "sidebar/profile"))
    assert json.loads(answer.data)["status"] == 200
    sent = responses.calls[0].request.headers["Authorization"]
    assert sent.startswith("Bearer ") and SECRET not in sent
