"""The hostile-input battery in process, one test per class of the review (issue 14): each sends
what an attacker (or a compromised sender) would and checks the answer is a clear 4xx, nothing is
queued or touched that should not be, and prints the class's totals. Class 1's client half is in
test_hostile_paths.py; the receiver over real HTTP under gunicorn in tests/e2e/test_hostile_receiver.py."""
from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
import requests
import responses
from celery import Celery
from prometheus_client import REGISTRY

from integration.store import keys
from integration.bulk.backfill import Backfill
from integration.store import keys, marks
from integration.sidebar.requester import Requester
from integration.bulk.backfill import Backfill
from integration.erasure import erase_profile
from integration.errors import PermanentError
from integration.apis.omneo import OmneoClient
from integration.settings.declared import SettingsError, load_settings
from integration.apis.signatures import omneo_signature, zendesk_signature
from integration.apis.zendesk import ZendeskClient
from web.app import create_app
from tests.helpers import HOSTILE_JSON_IDS, Tally, post_omneo, stamp

APP_SECRET = "zd-app-secret-0123456789abcdef012345"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app(settings, fake_redis, ctx):
    return create_app(settings, celery=Celery("test", broker="memory://"), redis_client=fake_redis)


@pytest.fixture
def client(app):
    return app.test_client()


def queued(fake_redis) -> int:
    return sum(fake_redis.llen(q) for q in ("sync", "erasure", "interactions", "reconcile"))


def post_zendesk(client, raw: bytes | dict, ts: str | None = None, sig: str | None = None):
    raw = raw if isinstance(raw, bytes) else json.dumps(raw).encode()
    ts = ts if ts is not None else stamp()
    sig = sig if sig is not None else zendesk_signature("zd-hook-secret", ts, raw)
    return client.post("/webhooks/zendesk", data=raw, content_type="application/json",
                       headers={"X-Zendesk-Webhook-Signature": sig,
                                "X-Zendesk-Webhook-Signature-Timestamp": ts})


def ticket_event(**detail) -> dict:
    return {"type": "zen:event-type:ticket.created", "account_id": 1, "id": "01HZX0000000000000000001",
            "time": "2026-11-27T10:00:00Z", "subject": "zen:ticket:35436",
            "detail": {"id": "35436", "requester_id": "20978392", "subject": "s", "status": "NEW",
                       **detail}, "event": {}}


def token(**claims) -> str:
    claims.setdefault("zendesk_user_id", 9001)
    claims.setdefault("exp", int(time.time() + 300))
    return jwt.encode(claims, APP_SECRET, algorithm="HS256")


# 1. ids that walk paths, at the receivers
def test_class_1_receivers_refuse_hostile_ids_naming_the_field(client, fake_redis):
    tally = Tally("class 1: hostile ids at the receivers")
    bodies = []
    for value in HOSTILE_JSON_IDS:
        bodies.append(("identity.created", {"profile_id": "p-1", "handle": "zendesk",
                                            "identifier": value}, "identifier"))
        if value == "1" * 21:  # a fine Omneo id, too long only for a Zendesk one
            continue
        bodies += [("profile.updated", {"id": value}, "id"),
                   ("profile.deleted", {"id": value}, "id"),
                   ("profile.merged", {"id": "p-1", "merged_profile_id": [value]}, "merged_profile_id"),
                   ("identity.created", {"profile_id": value, "handle": "zendesk", "identifier": "1"},
                    "profile_id")]
    for event, body, field in bodies:
        r = post_omneo(client, event, body)
        tally.saw(r.status_code)
        assert r.status_code == 400, (event, body, r.get_data(as_text=True))
        error = r.get_json()["error"]
        assert error.startswith(field) or "lone surrogate" in error, error
    for value in HOSTILE_JSON_IDS:
        for where in ("id", "requester_id"):
            r = post_zendesk(client, ticket_event(**{where: value}))
            tally.saw(r.status_code)
            error = r.get_json()["error"]
            assert r.status_code == 400 and (error.startswith(f"detail.{where}")
                                             or "lone surrogate" in error), error
    assert queued(fake_redis) == 0
    tally.check()


# 2. signature and header bytes
def test_class_2_signature_headers_and_the_unsigned_event_name(client, fake_redis):
    tally = Tally("class 2: signature and header bytes")
    raw = json.dumps({"id": "p-1"}).encode()
    good = omneo_signature("om-hook-secret", raw)
    for sig in ("é" * 64, "ü" + good[1:], "\x00" * 64, good + "é", " "):
        r = post_omneo(client, "profile.updated", raw, sig=sig)
        tally.saw(r.status_code)
        assert r.status_code == 401
    body = json.dumps(ticket_event()).encode()
    for ts, sig in [(stamp(), "é" * 44), ("é", None), ("nan", None), ("NaN", None),
                    ("inf", None), ("-inf", None), (str(int(time.time())), None),
                    (f"{time.time():.3f}", None), ("1e10", None), ("2026-11-27", None)]:
        r = post_zendesk(client, body, ts=ts, sig=sig)
        tally.saw(r.status_code)
        assert r.status_code == 401, (ts, r.get_data(as_text=True))
    # a signed body of one event, replayed under another event's name
    live = {"id": "p-1", "first_name": "Ada", "email": "ada@example.com", "profile_type": "active"}
    identity = {"id": "i-1", "profile_id": "p-1", "handle": "zendesk", "identifier": "42"}
    merge = {"id": "p-1", "merged_profile_id": "p-2"}
    for body in (live, identity, merge):
        r = post_omneo(client, "profile.deleted", body)
        tally.saw(r.status_code)
        assert r.status_code == 400, r.get_data(as_text=True)
        assert "profile.deleted" in r.get_json()["error"]
    assert queued(fake_redis) == 0
    # what Omneo sends for a deletion is still taken
    for body in ({"id": "p-1"}, {"id": "p-2", "profile_type": "deleted"},
                 {"id": "p-3", "identities": [{"handle": "zendesk", "identifier": "42"}]}):
        r = post_omneo(client, "profile.deleted", body)
        tally.saw(r.status_code)
        assert r.status_code == 202, r.get_data(as_text=True)
    tally.check()


# 3. bodies
def test_class_3_deep_bodies_lone_surrogates_and_oversized_chunked_bodies(client, fake_redis):
    tally = Tally("class 3: bodies")
    deep = b'{"id": "p-1", "x": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    deep_objects = b'{"id": "p-1", "x": ' + b'{"a": ' * 10_000 + b"1" + b"}" * 10_000 + b"}"
    for raw in (deep, deep_objects):
        r = post_omneo(client, "profile.updated", raw)
        tally.saw(r.status_code)
        assert r.status_code == 400 and "nested" in r.get_json()["error"]
        zraw = raw.replace(b'"id": "p-1"', json.dumps(ticket_event())[1:-1].encode())
        r = post_zendesk(client, zraw)
        tally.saw(r.status_code)
        assert r.status_code == 400
    for raw in (b'{"id": "\\ud800"}', b'{"id": "p-1", "first_name": "\\udfff"}',
                b'{"id": "p-1", "\\ud83d": 1}'):
        r = post_omneo(client, "profile.updated", raw)
        tally.saw(r.status_code)
        assert r.status_code == 400, r.get_data(as_text=True)
    big = b'{"id": "p-1", "pad": "' + b"x" * (1024 * 1024) + b'"}'
    for headers in ({}, {"Content-Length": str(len(big))}):
        # no Content-Length and an input stream the server ends: how a chunked body arrives
        environ = {"wsgi.input_terminated": True} if not headers else {}
        r = client.post("/webhooks/omneo", input_stream=io.BytesIO(big), environ_overrides=environ,
                        headers={"X-Omneo-Event": "profile.updated", "Content-Type": "application/json",
                                 "X-Omneo-Hmac-SHA256": omneo_signature("om-hook-secret", big),
                                 **headers})
        tally.saw(r.status_code)
        assert r.status_code == 413, r.get_data(as_text=True)
    assert queued(fake_redis) == 0
    tally.check()


# 4. search
def test_class_4_search_quotes_the_email_and_takes_only_an_exact_match():
    tally = Tally("class 4: search")
    zendesk = ZendeskClient("https://acme.zendesk.com", email="a@example.com", api_token="t")
    omneo = OmneoClient("https://api.acme.getomneo.com/api/v3", token="t")
    someone_else = {"id": 7, "email": "victim@example.com", "external_id": "p-victim"}
    with responses.RequestsMock() as mock:
        search = mock.get("https://acme.zendesk.com/api/v2/users/search",
                          json={"users": [someone_else], "count": 1})
        filtered = mock.get("https://api.acme.getomneo.com/api/v3/profiles",
                            json={"data": [dict(someone_else, id="p-victim")], "meta": {}})
        for email in ("*@example.com", "v*", "victim@example.com OR name:x", 'a"@example.com',
                      "ctim@example.com", "victim@example.co", "x" * 300 + "@example.com"):
            found = zendesk.find_users_by_email(email) + omneo.find_profiles_by_email(email)
            tally.saw(len(found))
            assert found == [], email
        assert [u["id"] for u in zendesk.find_users_by_email("VICTIM@example.com")] == [7]
        assert [p["id"] for p in omneo.find_profiles_by_email("Victim@Example.com")] == ["p-victim"]
        queries = [c.request.params["query"] for c in search.calls]
        assert queries and all(re.fullmatch(r'email:"[^"*\s]+"', q) for q in queries), queries
        assert filtered.calls
    tally.check()


# 5. metrics
def test_class_5_webhook_series_are_bounded_and_metrics_want_the_token(client, settings, fake_redis):
    tally = Tally("class 5: metrics")

    def series() -> set:
        return {tuple(sorted(s.labels.items())) for m in REGISTRY.collect()
                if m.name == "oz_webhooks" for s in m.samples if s.name == "oz_webhooks_total"}

    before = series()
    for i in range(3000):
        r = client.post(f"/webhooks/omneo/{i}-ada{i}@example.com", data=b"{}")
        tally.saw(r.status_code)
    grown = series() - before
    print(f"distinct paths sent: 3000; new oz_webhooks_total series: {len(grown)}")
    assert len(grown) <= 1, grown
    assert {dict(s)["source"] for s in series()} <= {"omneo", "zendesk", "unknown"}
    guarded = create_app(settings.replace(metrics_token="m" * 24), celery=Celery("t", broker="memory://"),
                         redis_client=fake_redis).test_client()
    for headers, want in (({}, 401), ({"Authorization": "Bearer wrong"}, 401),
                          ({"Authorization": "Bearer é"}, 401),
                          ({"Authorization": "Bearer " + "m" * 24}, 200)):
        r = guarded.get("/metrics", headers=headers)
        tally.saw(r.status_code)
        assert r.status_code == want
    assert "ada1@example.com" not in r.get_data(as_text=True)
    tally.check()


# 6. sidebar claims
def test_class_6_sidebar_claims_and_an_erased_customer(client, fake_redis, ctx, sandbox_servers):
    tally = Tally("class 6: sidebar claims")
    for claims in ({"exp": str(int(time.time() + 60))}, {"exp": f"{time.time() + 60}"},
                   {"zendesk_user_id": "١٢٣"}, {"zendesk_user_id": "１２３"}, {"zendesk_user_id": "1" * 10_000},
                   {"zendesk_user_id": "1/../2"}):
        r = client.get("/sidebar/profile", headers={"Authorization": f"Bearer {token(**claims)}"})
        tally.saw(r.status_code)
        assert r.status_code == 401, (list(claims), r.get_data(as_text=True))
    requests.post(f"{sandbox_servers[0].url}/_sandbox/users", timeout=5, json={
        "id": 9001, "name": "Ada", "email": "ada@example.com"}).raise_for_status()
    # an email claim is not believed, however long: the requester is who Zendesk says
    r = client.get("/sidebar/profile",
                   headers={"Authorization": f"Bearer {token(email='a' * 10_000 + '@example.com')}"})
    tally.saw(r.status_code)
    assert r.status_code == 200 and "aaaa" not in r.get_data(as_text=True)
    # an erased customer whose requester mapping (and cached view) survived the erasure
    omneo = sandbox_servers[1].url
    requests.post(f"{omneo}/_sandbox/profiles?emit=0", json={"id": "p-gone", "first_name": "Ada"},
                  timeout=5).raise_for_status()
    fake_redis.set(keys.sidebar_requester("9001"),
                   Requester("9001", "ada@example.com", None).tag("p-gone"))
    fake_redis.set(keys.sidebar_cache("p-gone"), json.dumps({"found": True, "profile": {"id": "p-gone"}}))
    ctx.state.mark_erased("p-gone")
    r = client.get("/sidebar/profile", headers={"Authorization": f"Bearer {token()}"})
    tally.saw(r.status_code)
    assert r.status_code == 200 and r.get_json()["found"] is False and "profile" not in r.get_json()
    tally.check()


# 7. erasure scope
def test_class_7_erasure_deletes_exactly_that_profiles_keys(ctx, fake_redis, monkeypatch):
    tally = Tally("class 7: erasure scope")
    for profile_id in ("12", "123", "12x", "1"):
        ctx.state.mark_synced(profile_id, fingerprint="f", updated_at=None, zendesk_user_id="")
        fake_redis.set(keys.pending_sync(profile_id), "job")
        fake_redis.sadd(keys.dlq_by_profile(profile_id), "no-such-entry")
        fake_redis.set(keys.sidebar_cache(profile_id), "{}")
    # its watermark is a field of a shared hash, which goes when its last field does
    ours = {*keys.profile_keys("12"), marks.synced_key("12")}
    others = set(fake_redis.keys("*")) - {k.encode() for k in ours}
    scans = []
    for name in ("scan", "scan_iter", "keys"):
        real = getattr(fake_redis, name)
        monkeypatch.setattr(fake_redis, name,
                            lambda *a, _n=name, _real=real, **k: scans.append(_n) or _real(*a, **k))
    erase_profile(ctx, "12")
    tally.saw("erased")
    monkeypatch.undo()
    left = set(fake_redis.keys("*"))
    tally.foreign_keys = sorted(others - left)
    assert not any(fake_redis.exists(k) for k in keys.profile_keys("12"))
    assert ctx.state.synced_mark("12") is None
    assert all(ctx.state.synced_mark(p) for p in ("123", "12x", "1"))
    tally.check()
    assert not scans, f"erasure scanned the keyspace: {scans}"


# 8. settings and the CLI
def cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "REDIS_URL": "redis://:s3cretpw@127.0.0.1:1/0",
            "OMNEO_TENANT": "acme", "OMNEO_API_TOKEN": "t", "OMNEO_WEBHOOK_SECRET": "om-hook-secret",
            "ZENDESK_SUBDOMAIN": "acme", "ZENDESK_EMAIL": "a@example.com", "ZENDESK_API_TOKEN": "t",
            "ZENDESK_WEBHOOK_SECRET": "zd-hook-secret", "ZENDESK_APP_SECRET": APP_SECRET}
    return subprocess.run([sys.executable, "-m", "web.cli", *args], env={**base, **env}, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_class_8_settings_and_every_command_fail_with_one_line(settings, tmp_path):
    tally = Tally("class 8: settings and CLI")
    shown = repr(load_settings({**{k.upper(): v for k, v in {
        "redis_url": "redis://:s3cretpw@redis:6379/0", "omneo_tenant": "acme", "omneo_api_token": "t",
        "omneo_webhook_secret": "om-hook-secret", "zendesk_subdomain": "acme",
        "zendesk_email": "a@example.com", "zendesk_api_token": "t",
        "zendesk_webhook_secret": "zd-hook-secret", "zendesk_app_secret": APP_SECRET}.items()}}))
    assert "s3cretpw" not in shown and "zd-hook-secret" not in shown
    with pytest.raises(SettingsError, match="CX_MANAGER_PROFILE_URL"):
        load_settings({"CX_MANAGER_PROFILE_URL": "https://x.example.com/{customer}",
                       "REDIS_URL": "redis://r",
                       "OMNEO_TENANT": "acme", "OMNEO_API_TOKEN": "t", "OMNEO_WEBHOOK_SECRET": "om-hook-secret",
                       "ZENDESK_SUBDOMAIN": "acme", "ZENDESK_EMAIL": "a@example.com",
                       "ZENDESK_API_TOKEN": "t", "ZENDESK_WEBHOOK_SECRET": "zd-hook-secret",
                       "ZENDESK_APP_SECRET": APP_SECRET})
    (tmp_path / "file").write_text("not a directory")
    (tmp_path / "dir.zip").mkdir()
    runs = [cli("reconcile", "run"), cli("reconcile", "status"), cli("backfill")]
    for output in (tmp_path / "file" / "x.zip", tmp_path / "dir.zip", Path("/proc/no/such/x.zip")):
        runs.append(cli("app", "package", "--service-url", "https://oz.example.com", "-o", str(output)))
    for url in ("https://oz.example.com/../admin", "https://oz.example.com/?x=1",
                "https://oz.example.com/#a", "https://u:p@oz.example.com", "http://oz.example.com",
                "javascript:alert(1)", "https://oz.example.com/a b"):
        runs.append(cli("setup", "--public-url", url))
    for run in runs:
        tally.saw(run.returncode)
        lines = run.stderr.strip().splitlines()
        assert run.returncode != 0 and len(lines) == 1, (run.args, run.stderr)
        assert "Traceback" not in run.stderr and "s3cretpw" not in run.stderr + run.stdout
    # a paging loop whose cursor does not advance (an API that ignores the filter)
    zendesk = ZendeskClient("https://acme.zendesk.com", email="a@example.com", api_token="t")
    with responses.RequestsMock() as mock:
        mock.get("https://acme.zendesk.com/api/v2/incremental/users/cursor",
                 json={"users": [], "after_cursor": "c1", "end_of_stream": False})
        with pytest.raises(PermanentError, match="did not advance|same page"):
            list(zendesk.iter_users_since(cursor="c1"))
        tally.saw("stalled")
        assert len(mock.calls) < 5
    tally.check()


def test_class_8_the_backfill_stops_on_omneo_pages_that_do_not_advance(ctx, monkeypatch):
    """Omneo's keyset pages (`filter[id][gt]`) answered with the same full page again: the
    backfill stops, permanently, after the second read instead of paging forever."""
    page = [{"id": f"p-{i:03d}", "first_name": "Same", "email": f"same{i}@example.com",
             "profile_type": "active", "identities": []} for i in range(100)]
    reads = []
    monkeypatch.setattr(ctx.omneo, "profiles_page", lambda **kw: (reads.append(kw) or page, {}))
    with pytest.raises(PermanentError, match="did not advance|same page"):
        Backfill(ctx, poll_seconds=0, sleep=lambda s: None).run()
    assert len(reads) == 2


# 9. dependencies
ADVISORY_FLOORS = {"gunicorn": "23", "requests": "2.32.4", "werkzeug": "3.0.6", "sentry-sdk": "2.8"}


def test_class_9_dependency_floors_are_past_known_advisories():
    from importlib.metadata import version

    from packaging.requirements import Requirement
    from packaging.version import Version

    import tomllib

    tally = Tally("class 9: dependencies")
    declared = {Requirement(r).name: Requirement(r) for r in
                tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}
    for name, fixed in ADVISORY_FLOORS.items():
        floors = [Version(s.version) for s in declared[name].specifier if s.operator == ">="]
        tally.saw(name)
        assert floors and min(floors) >= Version(fixed), f"{name} floor {floors} is below {fixed}"
        assert Version(version(name)) >= Version(fixed)
    assert "kombu" in declared, "the Kombu range the intake envelope is checked against is pinned"
    tally.check()

