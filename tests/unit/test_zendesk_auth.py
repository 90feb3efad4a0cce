"""The shared OAuth token provider: the grant, the encrypted cache, one renewer at a time,
invalid tokens, refusals. Against the in-process Zendesk sandbox, or `responses` where a test
needs to hold the grant still."""
from __future__ import annotations

import json
import threading
import time

import fakeredis
import pytest
import requests
import responses

from integration.store import keys
from integration.errors import AuthFailure, PermanentError, RateLimited, TransientError
from integration.apis.zendesk import ZendeskClient
from integration.sandbox.base import ServerThread
from integration.sandbox.zendesk import ZendeskSandbox
from integration.apis.zendesk_auth import ClientCredentials, TokenProvider
from integration import retry

CLIENT_ID, SECRET = "omneo_zendesk_test", "the-client-secret-0123"
SCOPES = "users:read users:write tickets:read"
ZD = "https://acme.zendesk.com"


@pytest.fixture
def sandbox():
    app = ZendeskSandbox(client_id=CLIENT_ID, client_secret=SECRET)
    server = ServerThread(app).start()
    yield app, server.url
    server.stop()


def provider(redis, url, secret=SECRET, **kwargs) -> TokenProvider:
    creds = ClientCredentials(url + "/oauth/tokens", CLIENT_ID, secret, SCOPES, 3600, timeout=3)
    return TokenProvider(redis, creds, **kwargs)


def problem_of(p: TokenProvider) -> dict | None:
    """The standing auth problem of that provider's credentials."""
    value = p.r.get(p.problem_key)
    return json.loads(value) if value else None


def test_grant_is_shared_through_redis_encrypted_and_reused(sandbox):
    app, url = sandbox
    r = fakeredis.FakeRedis()
    first = provider(r, url).token()
    assert provider(r, url).token() == first  # another process: same token, no second grant
    assert app.stats["oauth_grants"] == 1
    assert app.oauth.tokens[first]["scopes"] == SCOPES.split()
    stored = r.get(provider(r, url).token_key)
    assert first.encode() not in stored and SECRET.encode() not in stored
    assert 3590 < r.pttl(provider(r, url).token_key) / 1000 <= 3600  # Redis drops it when it expires


def test_other_credentials_cannot_read_the_cached_token(sandbox):
    app, url = sandbox
    r = fakeredis.FakeRedis()
    provider(r, url).token()
    with pytest.raises(AuthFailure) as refused:
        provider(r, url, secret="a-wrong-secret-here").token()
    assert refused.value.setting == "ZENDESK_CLIENT_SECRET" and refused.value.status == 401


def test_refusal_is_one_grant_attempt_shared_and_a_new_secret_is_not_held_to_it(sandbox):
    app, url = sandbox
    r = fakeredis.FakeRedis()
    wrong = [provider(r, url, secret="a-wrong-secret-here") for _ in range(5)]
    for p in wrong:
        with pytest.raises(AuthFailure, match="ZENDESK_CLIENT_SECRET"):
            p.token()
    assert app.stats["oauth_grants_refused"] == 1  # one attempt for all five "processes"
    problem = problem_of(wrong[0])
    assert problem["error"] == "invalid_client" and problem["setting"] == "ZENDESK_CLIENT_SECRET"
    assert "a-wrong-secret-here" not in json.dumps(problem) + str(r.get(wrong[0].refused_key))
    right = provider(r, url)
    assert right.token()  # restarted with the right secret: not held to the refusal
    assert problem_of(right) is None


def test_scope_outside_the_clients_allowed_ones_names_the_scopes_setting(sandbox):
    app, url = sandbox
    app.oauth.allowed_scopes = ("users:read",)
    with pytest.raises(AuthFailure) as refused:
        provider(fakeredis.FakeRedis(), url).token()
    assert refused.value.setting == "ZENDESK_OAUTH_SCOPES"


def test_renewed_ahead_of_expiry_trusting_the_lifetime_zendesk_answers(sandbox):
    app, url = sandbox
    app.oauth.configure({"token_lifetime_seconds": 400})  # asked 3600, granted 400
    now = [time.time()]
    p = provider(fakeredis.FakeRedis(), url, clock=lambda: now[0])
    first = p.token()
    now[0] += 350  # 50 s left: not yet inside the margin (a tenth of 400 s)
    assert p.token() == first
    now[0] += 20  # 30 s left: renewed now
    second = p.token()
    assert second != first and app.stats["oauth_grants"] == 2


def test_expires_in_missing_from_the_answer_means_1800_seconds(sandbox):
    app, url = sandbox
    app.oauth.configure({"omit_expires_in": True})
    r = fakeredis.FakeRedis()
    provider(r, url).token()
    assert 1790 < r.pttl(provider(r, url).token_key) / 1000 <= 1800


def test_discard_drops_only_that_token(sandbox):
    app, url = sandbox
    r = fakeredis.FakeRedis()
    p = provider(r, url)
    old = p.token()
    p.discard(old)
    new = p.token()
    assert new != old
    p.discard(old)  # a late report about the old token must not drop the fresh one
    assert p.token() == new and app.stats["oauth_grants"] == 2


@responses.activate
def test_one_renewer_at_a_time_with_threads():
    grants = []

    def grant(request):
        grants.append(json.loads(request.body))
        time.sleep(0.3)  # a slow grant: every other thread arrives while it runs
        return 200, {}, json.dumps({"access_token": f"tok-{len(grants)}", "token_type": "bearer",
                                    "scope": SCOPES, "expires_in": 3600})

    responses.add_callback(responses.POST, f"{ZD}/oauth/tokens", callback=grant)
    r = fakeredis.FakeRedis()
    got, errors = [], []

    def worker():
        try:
            got.append(provider(r, ZD).token())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors and got == ["tok-1"] * 12
    assert len(grants) == 1
    assert grants[0] == {"grant_type": "client_credentials", "client_id": CLIENT_ID,
                         "client_secret": SECRET, "scope": SCOPES, "expires_in": 3600}


@responses.activate
def test_while_one_renews_the_others_keep_the_current_token():
    responses.post(f"{ZD}/oauth/tokens", json={"access_token": "fresh", "expires_in": 3600})
    r = fakeredis.FakeRedis()
    now = [time.time()]
    p = provider(r, ZD, clock=lambda: now[0])
    p._write("current", 400, SCOPES)
    now[0] += 370  # 30 s left: due for renewal, still valid
    r.set(p.renewal_key, "someone-else", px=10_000)
    assert p.token() == "current" and len(responses.calls) == 0


def zendesk(url, r) -> ZendeskClient:
    return ZendeskClient(url, token_provider=provider(r, url), timeout=3)


def test_invalid_token_gets_one_new_token_and_one_retry(sandbox):
    app, url = sandbox
    r = fakeredis.FakeRedis()
    client = zendesk(url, r)
    assert client.list_user_fields() == []
    app.oauth.revoke_all()
    assert client.list_user_fields() == []  # 401 invalid_token, new token, same call again
    assert app.stats["oauth_grants"] == 2 and app.stats["oauth_invalid_token"] == 1


def test_a_fresh_token_refused_is_an_auth_failure_not_a_loop(sandbox):
    app, url = sandbox
    r = fakeredis.FakeRedis()
    client = zendesk(url, r)
    client.list_user_fields()
    app.oauth.configure({"token_lifetime_seconds": 0.001})  # every new token dead on arrival
    app.oauth.revoke_all()
    with pytest.raises(AuthFailure):
        client.list_user_fields()
    assert app.stats["oauth_grants"] == 2  # the first token, one renewal: no third
    assert problem_of(client.token_provider)["error"] == "api_unauthorized"


def test_403_is_not_retried_with_a_new_token(sandbox):
    app, url = sandbox
    client = zendesk(url, fakeredis.FakeRedis())
    app.failures = [{"path": "/user_fields", "status": 403, "count": 5,
                     "body": {"error": "Forbidden", "description": "You do not have access"}}]
    with pytest.raises(PermanentError) as exc:
        client.list_user_fields()
    assert exc.value.status == 403 and not isinstance(exc.value, AuthFailure)
    assert app.stats["oauth_grants"] == 1 and app.stats["injected_failures"] == 1


def test_marketplace_headers_are_sent_when_set(sandbox):
    app, url = sandbox
    client = ZendeskClient(url, token_provider=provider(fakeredis.FakeRedis(), url), timeout=3,
                           marketplace={"X-Zendesk-Marketplace-Name": "Omneo"})
    seen = {}
    original = client.session.request

    def spy(method, u, **kw):
        resp = original(method, u, **kw)
        seen.update(resp.request.headers)
        return resp

    client.session.request = spy
    client.list_user_fields()
    assert seen["X-Zendesk-Marketplace-Name"] == "Omneo"


def test_auth_failure_waits_and_is_never_dead_lettered(settings):
    exc = AuthFailure("zendesk", "setting ZENDESK_CLIENT_SECRET: refused", "ZENDESK_CLIENT_SECRET")
    for failures, waits in ((0, 0), (50, 500), (settings.task_max_attempts, 10_000)):
        decision = retry.decide(exc, failures, waits, settings)
        assert decision.action == "retry" and not decision.counts_as_failure
        assert 0 <= decision.countdown <= settings.retry_max_seconds


def test_secret_stays_out_of_reprs():
    p = provider(fakeredis.FakeRedis(), ZD)
    assert SECRET not in repr(p) + repr(p.creds)


def test_sandbox_grant_refuses_a_lifetime_outside_zendesks_range(sandbox):
    app, url = sandbox
    body = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET,
            "scope": "users:read", "expires_in": 60}
    resp = requests.post(url + "/oauth/tokens", json=body, timeout=3)
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_request"


def test_settings_pair_the_client_credentials_and_bound_the_lifetime(settings):
    from integration.settings.declared import SettingsError, load_settings

    base = {"REDIS_URL": "redis://x:6379/0", "OMNEO_TENANT": "acme", "OMNEO_API_TOKEN": "t",
            "OMNEO_WEBHOOK_SECRET": "12345678", "ZENDESK_SUBDOMAIN": "acme",
            "ZENDESK_WEBHOOK_SECRET": "12345678", "ZENDESK_APP_SECRET": "s" * 32}
    with pytest.raises(SettingsError, match="^setting ZENDESK_CLIENT_ID: required"):
        load_settings(base)
    with pytest.raises(SettingsError, match="^setting ZENDESK_CLIENT_SECRET"):
        load_settings(dict(base, ZENDESK_CLIENT_ID=CLIENT_ID))
    for bad in ("299", "172801", "soon"):
        with pytest.raises(SettingsError, match="ZENDESK_TOKEN_LIFETIME_SECONDS: seconds, from 300"):
            load_settings(dict(base, ZENDESK_CLIENT_ID=CLIENT_ID, ZENDESK_CLIENT_SECRET=SECRET,
                               ZENDESK_TOKEN_LIFETIME_SECONDS=bad))
    with pytest.raises(SettingsError, match="ZENDESK_OAUTH_SCOPES") as exc:
        load_settings(dict(base, ZENDESK_CLIENT_ID=CLIENT_ID, ZENDESK_CLIENT_SECRET=SECRET,
                           ZENDESK_OAUTH_SCOPES="users:read, everything"))
    assert SECRET not in str(exc.value)
    ok = load_settings(dict(base, ZENDESK_CLIENT_ID=CLIENT_ID, ZENDESK_CLIENT_SECRET=SECRET,
                            ZENDESK_API_TOKEN="old", ZENDESK_EMAIL="a@b.example"))
    assert ok.zendesk_auth_mode == "client_credentials" and SECRET not in repr(ok)
    assert ok.zendesk_token_lifetime_seconds == 1800


def test_deprecated_ways_in_warn_at_start_naming_the_date(settings, caplog):
    from integration.onboarding.zendesk_auth_check import warn_if_deprecated

    with caplog.at_level("WARNING"):
        warn_if_deprecated(settings, "worker")
    assert "30 Apr 2027" in caplog.text and "ZENDESK_CLIENT_ID" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        warn_if_deprecated(settings.replace(zendesk_client_id=CLIENT_ID, zendesk_client_secret=SECRET),
                           "worker")
    assert caplog.text == ""


@responses.activate
def test_a_refused_renewal_keeps_the_current_token_while_it_lasts():
    responses.post(f"{ZD}/oauth/tokens", status=401, json={"error": "invalid_client"})
    r = fakeredis.FakeRedis()
    now = [time.time()]
    p = provider(r, ZD, clock=lambda: now[0])
    p._write("current", 400, SCOPES)
    now[0] += 370  # due for renewal: the grant is refused, the token still works for 30 s
    assert p.token() == "current" and len(responses.calls) == 1
    assert p.token() == "current" and len(responses.calls) == 1  # the refusal is remembered
    now[0] += 31
    with pytest.raises(AuthFailure, match="ZENDESK_CLIENT_SECRET"):
        p.token()


# issue 30, the lower findings: one Redis shared by two credential sets, failed grants, the flag,
# Zendesk's expires_in range

@responses.activate
def test_two_credential_sets_on_one_redis_keep_their_own_token():
    def grant(request):
        client = json.loads(request.body)["client_id"]
        return 200, {}, json.dumps({"access_token": f"tok-{client}", "expires_in": 3600})

    responses.add_callback(responses.POST, f"{ZD}/oauth/tokens", callback=grant)
    r = fakeredis.FakeRedis()
    mine = provider(r, ZD)
    theirs = TokenProvider(r, ClientCredentials(f"{ZD}/oauth/tokens", "another_client", "their-secret-0123",
                                                SCOPES, 3600, timeout=3))
    assert mine.token() == f"tok-{CLIENT_ID}" and theirs.token() == "tok-another_client"
    assert mine.token() == f"tok-{CLIENT_ID}" and theirs.token() == "tok-another_client"
    assert len(responses.calls) == 2  # neither overwrote the other's


@pytest.mark.parametrize("status, retry_after, waited", [(503, "7", 7), (429, "12", 12), (503, None, 5),
                                                          (502, "soon", 5), (429, "1e9", 300)])
@responses.activate
def test_a_failed_grant_is_remembered_for_its_retry_after(status, retry_after, waited):
    headers = {"Retry-After": retry_after} if retry_after else {}
    responses.post(f"{ZD}/oauth/tokens", status=status, json={"error": "unavailable"}, headers=headers)
    r = fakeredis.FakeRedis()
    now = [time.time()]
    callers = [provider(r, ZD, clock=lambda: now[0]) for _ in range(5)]
    for p in callers:  # every process asking at once: one grant, the same answer for all
        with pytest.raises(TransientError) as failed:
            p.token()
        assert isinstance(failed.value, RateLimited) == (status == 429)
    assert len(responses.calls) == 1
    assert waited - 1 < r.pttl(callers[0].failed_key) / 1000 <= waited
    if status == 429:
        assert waited - 1 < failed.value.retry_after <= waited
    now[0] += waited + 0.1
    r.delete(callers[0].failed_key)  # what its expiry does
    responses.replace(responses.POST, f"{ZD}/oauth/tokens", json={"access_token": "t", "expires_in": 3600})
    assert callers[0].token() == "t" and len(responses.calls) == 2


@responses.activate
def test_a_failed_renewal_keeps_the_current_token_meanwhile():
    responses.post(f"{ZD}/oauth/tokens", status=503, json={})
    r = fakeredis.FakeRedis()
    now = [time.time()]
    p = provider(r, ZD, clock=lambda: now[0])
    p._write("current", 400, SCOPES)
    now[0] += 370  # due for renewal
    assert p.token() == "current" and p.token() == "current"
    assert len(responses.calls) == 1


@pytest.mark.parametrize("expires_in, kept", [
    (1e300, 172_800), ("Infinity", 172_800), ("-Infinity", 300), ("NaN", 1800), ("garbage", 1800),
    (10, 300), (10**9, 172_800), (True, 1800), ([3600], 1800), (7200, 7200), ("7200", 7200)])
@responses.activate
def test_expires_in_is_held_to_zendesks_range(expires_in, kept):
    responses.post(f"{ZD}/oauth/tokens", json={"access_token": "t", "expires_in": expires_in})
    r = fakeredis.FakeRedis()
    p = provider(r, ZD)
    assert p.token() == "t" and p.token() == "t"
    assert kept - 5 < r.pttl(p.token_key) / 1000 <= kept
    assert len(responses.calls) == 1


def test_the_auth_flag_is_the_deployments_own_and_expires(sandbox, settings):
    from integration.onboarding.zendesk_auth_check import auth_problem

    app, url = sandbox
    r = fakeredis.FakeRedis()
    deployment = settings.replace(zendesk_base_url=url, zendesk_client_id=CLIENT_ID,
                                  zendesk_client_secret=SECRET, zendesk_oauth_scopes=SCOPES)
    # someone runs `check` with a wrong secret against the same Redis
    with pytest.raises(AuthFailure):
        provider(r, url, secret="a-wrong-secret-here").token()
    assert auth_problem(r, deployment) is None
    # the deployment's own credentials refused: reported, for a while
    app.oauth.configure({"client_secret": "rotated-0123456789"})
    mine = provider(r, url)
    with pytest.raises(AuthFailure):
        mine.token()
    assert auth_problem(r, deployment)["setting"] == "ZENDESK_CLIENT_SECRET"
    assert 0 < r.ttl(mine.problem_key) <= 3600
