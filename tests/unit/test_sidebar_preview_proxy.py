"""The preview's ZAF proxy signs with the app's shared secret, so, like Zendesk's, it sends secure
requests only to the app's service URL and only for a JSON request (no cross-site form post), and
answers only requests naming it by its own address (no DNS rebinding)."""
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


def post(host, path: str = "/_zaf_proxy", hostname: str = "127.0.0.1", **kwargs):
    return Client(host).post(path, base_url=f"http://{hostname}:{host.server.server_port}", **kwargs)


def options(url: str) -> dict:
    return {"url": url, "type": "GET", "secure": True,
            "headers": {"Authorization": "Bearer {{jwt.token}}"},
            "jwt": {"algorithm": "HS256", "secret_key": "{{setting.shared_secret}}", "claims": {}}}


@responses.activate
def test_a_secure_request_to_another_host_is_refused_and_never_sent(host):
    answer = post(host, json=options("https://elsewhere.example/collect"))
    assert json.loads(answer.data)["status"] == 403
    assert len(responses.calls) == 0


@responses.activate
def test_a_non_json_post_gets_nothing_signed(host):
    answer = post(host, data=json.dumps(options(SERVICE + "sidebar")),
                               content_type="text/plain")
    assert answer.status_code == 415
    assert len(responses.calls) == 0


@responses.activate
def test_the_service_url_is_proxied_with_a_signed_token(host):
    responses.get(SERVICE + "sidebar/profile", json={"ok": True})
    answer = post(host, json=options(SERVICE + "sidebar/profile"))
    assert json.loads(answer.data)["status"] == 200
    sent = responses.calls[0].request.headers["Authorization"]
    assert sent.startswith("Bearer ") and SECRET not in sent


@pytest.mark.parametrize("hostname", ["attacker.example", "127.0.0.1.nip.io", "localhost.attacker.example"])
@responses.activate
def test_a_request_naming_another_host_is_refused_and_never_sent(host, hostname):
    """A page whose DNS name was rebound to 127.0.0.1 reaches us as same-origin, but its Host
    header still carries its own name."""
    responses.get(SERVICE + "sidebar/profile", json={"ok": True})
    answer = post(host, hostname=hostname, json=options(SERVICE + "sidebar/profile"))
    assert answer.status_code == 421
    assert len(responses.calls) == 0
    assert host.requests == []


@responses.activate
def test_localhost_by_name_is_served(host):
    responses.get(SERVICE + "sidebar/profile", json={"ok": True})
    answer = post(host, hostname="localhost", json=options(SERVICE + "sidebar/profile"))
    assert json.loads(answer.data)["status"] == 200


@pytest.mark.parametrize("jwt_option", [None, "token", []])
@responses.activate
def test_a_call_without_a_jwt_option_is_a_400(host, jwt_option):
    call = options(SERVICE + "sidebar/profile")
    if jwt_option is None:
        del call["jwt"]
    else:
        call["jwt"] = jwt_option
    answer = post(host, json=call)
    assert answer.status_code == 400
    assert len(responses.calls) == 0
