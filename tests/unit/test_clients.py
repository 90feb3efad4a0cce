import pytest
import requests
import responses

from integration.errors import NotFound, PermanentError, RateLimited, TransientError
from integration.apis.http import USER_AGENT, Limiter
from integration.apis.omneo import OmneoClient
from integration.apis.zendesk import ZendeskClient

ZD = "https://acme.zendesk.com"
OM = "https://api.acme.getomneo.com/api/v3"


class RecordingLimiter(Limiter):
    def __init__(self):
        self.acquired, self.paused = 0, []

    def acquire(self):
        self.acquired += 1

    def pause(self, seconds):
        self.paused.append(seconds)


@responses.activate
def test_zendesk_create_or_update_sends_auth_agent_and_reports_created():
    responses.post(f"{ZD}/api/v2/users/create_or_update", json={"user": {"id": 7}}, status=201)
    client = ZendeskClient(ZD, email="ops@acme.example", api_token="t0k", timeout=3)
    user, created = client.create_or_update_user({"external_id": "p1", "name": "A"})
    assert (user["id"], created) == (7, True)
    sent = responses.calls[0].request
    assert sent.headers["User-Agent"] == USER_AGENT
    assert sent.headers["Authorization"].startswith("Basic ")
    import base64
    assert base64.b64decode(sent.headers["Authorization"][6:]) == b"ops@acme.example/token:t0k"


@responses.activate
def test_zendesk_oauth_uses_bearer():
    responses.get(f"{ZD}/api/v2/users/1", json={"user": {"id": 1}})
    ZendeskClient(ZD, oauth_token="oa").get_user(1)
    assert responses.calls[0].request.headers["Authorization"] == "Bearer oa"


@responses.activate
def test_429_raises_rate_limited_and_pauses_the_limiter():
    responses.get(f"{OM}/profiles/p1", status=429, headers={"Retry-After": "17"}, json={})
    limiter = RecordingLimiter()
    with pytest.raises(RateLimited) as err:
        OmneoClient(OM, "tok", limiter=limiter).get_profile("p1")
    assert err.value.retry_after == 17
    assert limiter.paused == [17] and limiter.acquired == 1


@pytest.mark.parametrize("status,error", [(500, TransientError), (503, TransientError),
                                          (404, NotFound), (422, PermanentError), (401, PermanentError)])
@responses.activate
def test_statuses_map_to_error_types(status, error):
    responses.post(f"{OM}/interactions", status=status, json={"message": "bad", "errors": {"x": ["y"]}})
    with pytest.raises(error) as err:
        OmneoClient(OM, "tok").create_interaction({})
    assert err.value.status == status
    assert err.value.body == {"message": "bad", "errors": {"x": ["y"]}}


@responses.activate
def test_connection_error_and_timeout_are_transient():
    responses.get(f"{OM}/profiles/a", body=requests.ConnectionError("refused"))
    responses.get(f"{OM}/profiles/b", body=requests.Timeout("slow"))
    client = OmneoClient(OM, "tok")
    for pid in ("a", "b"):
        with pytest.raises(TransientError):
            client.get_profile(pid)


def test_every_call_has_a_timeout(monkeypatch):
    seen = {}

    def fake_request(self, method, url, **kwargs):
        seen.update(kwargs)
        raise requests.ConnectionError()

    monkeypatch.setattr(requests.Session, "request", fake_request)
    with pytest.raises(TransientError):
        ZendeskClient(ZD, oauth_token="x", timeout=4.5).get_user(1)
    assert seen["timeout"] == 4.5


@responses.activate
def test_omneo_bearer_and_find_profile_none_on_404():
    responses.get(f"{OM}/profiles/gone", status=404, json={"message": "Not Found"})
    client = OmneoClient(OM, "secret-token")
    assert client.find_profile("gone") is None
    assert responses.calls[0].request.headers["Authorization"] == "Bearer secret-token"
