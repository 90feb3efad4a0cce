"""`omneo-zendesk check` and `setup` against the sandbox APIs (over HTTP) and a Redis over TCP."""
from __future__ import annotations

import re

import pytest
import requests
from click.testing import CliRunner

from web.cli import main
from integration.sandbox.fakeredis_server import serve


@pytest.fixture(scope="module")
def redis_url():
    server = serve("127.0.0.1", 0)
    yield f"redis://127.0.0.1:{server.server_address[1]}/0"
    server.shutdown()


@pytest.fixture
def env(sandbox_servers, redis_url):
    z, o = sandbox_servers
    for server in sandbox_servers:
        requests.post(server.url + "/_sandbox/reset", timeout=5).raise_for_status()
    return {
        "REDIS_URL": redis_url, "OMNEO_TENANT": "acme", "OMNEO_BASE_URL": o.url + "/api/v3",
        "OMNEO_API_TOKEN": "om-token", "OMNEO_WEBHOOK_SECRET": "om-hook-secret",
        "ZENDESK_BASE_URL": z.url, "ZENDESK_EMAIL": "agent@example.com", "ZENDESK_API_TOKEN": "zd-token",
        "ZENDESK_WEBHOOK_SECRET": "zd-hook-secret", "ZENDESK_APP_SECRET": "zd-app-secret-0123456789abcdef012345",
        "PUBLIC_URL": None, "OMNEO_NAMESPACE": None,
    }


def run(env, *args):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def statuses(output: str) -> list[str]:
    """The status column of the table the command printed."""
    lines = output.split("\n\n")[0].splitlines()[2:]
    return [re.split(r"\s{2,}", line)[1] for line in lines]


def row(output: str, item: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(item))


def test_setup_registers_everything_once_even_when_run_twice(env, omneo_sandbox, zendesk_sandbox):
    first = run(env, "setup", "--public-url", "https://oz.example.com")
    assert first.exit_code == 0, first.output
    # Omneo triggers, user field, Zendesk ticket and user webhooks
    assert statuses(first.output) == ["created"] * (6 + 1 + 1 + 1)
    second = run(env, "setup", "--public-url", "https://oz.example.com")
    assert second.exit_code == 0, second.output
    assert statuses(second.output) == ["unchanged"] * 9

    hooks = list(omneo_sandbox.webhooks.values())
    assert sorted(h["trigger"] for h in hooks) == sorted([
        "profile.created", "profile.updated", "profile.deleted", "profile.merged",
        "identity.created", "identity.updated"])
    assert {h["url"] for h in hooks} == {"https://oz.example.com/webhooks/omneo"}
    assert {h["namespace"] for h in hooks} == {"zendesk"}
    zhook, uhook = sorted(zendesk_sandbox.webhooks.values(), key=lambda h: h["name"])
    assert zhook["endpoint"] == uhook["endpoint"] == "https://oz.example.com/webhooks/zendesk"
    assert zhook["http_method"] == "POST" and zhook["request_format"] == "json"
    assert "zen:event-type:ticket.created" in zhook["subscriptions"]
    assert {"zen:event-type:user.merged", "zen:event-type:user.deleted",
            "zen:event-type:user.external_id_changed"} <= set(uhook["subscriptions"])
    assert uhook["_secret"] == zhook["_secret"]  # one ZENDESK_WEBHOOK_SECRET verifies both
    assert [f["key"] for f in zendesk_sandbox.fields] == ["omneo_tier"]


def test_setup_moves_our_webhooks_to_a_new_url_and_leaves_others_alone(env, omneo_sandbox):
    requests.post(env["OMNEO_BASE_URL"] + "/webhooks", headers={"Authorization": "Bearer om-token"},
                  json={"trigger": "profile.updated", "url": "https://crm.example.com/hook",
                        "namespace": "crm"}, timeout=5).raise_for_status()
    run(env, "setup", "--public-url", "https://old.example.com")
    moved = run(env, "setup", "--public-url", "https://new.example.com/")
    assert moved.exit_code == 0
    assert statuses(moved.output) == ["updated"] * 6 + ["unchanged", "updated", "updated"]
    ours = [h for h in omneo_sandbox.webhooks.values() if h["namespace"] == "zendesk"]
    assert len(ours) == 6 and {h["url"] for h in ours} == {"https://new.example.com/webhooks/omneo"}
    assert [h["url"] for h in omneo_sandbox.webhooks.values() if h["namespace"] == "crm"] == [
        "https://crm.example.com/hook"]


def test_setup_needs_a_public_url(env):
    result = run(env, "setup")
    assert result.exit_code == 2 and "--public-url" in result.output


def test_check_passes_once_set_up_and_the_secret_is_in_place(env):
    result = run(env, "check")
    assert result.exit_code == 0, result.output  # nothing registered yet: warnings, not failures
    assert "warn" in row(result.output, "omneo: webhooks")
    out = run(env, "setup", "--public-url", "https://oz.example.com", "--show-secret").output
    assert "Set ZENDESK_WEBHOOK_SECRET" in out
    secret = re.search(r"^ZENDESK_WEBHOOK_SECRET=(\S+)$", out, re.M).group(1)

    result = run(dict(env, ZENDESK_WEBHOOK_SECRET=secret), "check")
    assert result.exit_code == 0, result.output
    for item in ("settings", "redis", "omneo: auth", "omneo: webhooks", "omneo: identity handle",
                 "zendesk: auth", "zendesk: user fields", "zendesk: ticket webhook",
                 "zendesk: user webhook"):
        assert " ok " in row(result.output, item), result.output
    assert "secret matches" in row(result.output, "zendesk: ticket webhook")


def test_check_names_what_to_fix_and_fails(env):
    run(env, "setup", "--public-url", "https://oz.example.com")
    bad = dict(env, OMNEO_API_TOKEN="wrong-omneo-token", REDIS_URL="redis://127.0.0.1:1/0")
    result = run(bad, "check")
    assert result.exit_code == 1
    assert "FAIL" in row(result.output, "redis") and "REDIS_URL" in row(result.output, "redis")
    omneo = row(result.output, "omneo: auth")
    assert "FAIL" in omneo and "401" in omneo and "OMNEO_API_TOKEN" in omneo
    # the old secret no longer matches the registered webhook's
    assert "FAIL" in row(result.output, "zendesk: ticket webhook")
    assert "FAIL" in row(result.output, "zendesk: user webhook")
    assert "wrong-omneo-token" not in result.output


def test_setup_recreates_a_user_webhook_signed_with_another_secret(env, zendesk_sandbox):
    run(env, "setup", "--public-url", "https://oz.example.com")
    ticket_hook = next(h for h in zendesk_sandbox.webhooks.values() if h["name"].endswith("ticket events"))
    user_hook = next(h for h in zendesk_sandbox.webhooks.values() if h["name"].endswith("user events"))
    user_hook["_secret"] = "another-secret"  # made by hand, or before the ticket webhook was re-made
    again = run(env, "setup", "--public-url", "https://oz.example.com")
    assert "re-created" in row(again.output, "zendesk user webhook"), again.output
    users = [h for h in zendesk_sandbox.webhooks.values() if h["name"].endswith("user events")]
    assert len(users) == 1 and users[0]["id"] != user_hook["id"]
    assert users[0]["_secret"] == ticket_hook["_secret"]


def test_check_refuses_bad_settings_with_one_line(env):
    result = run(dict(env, ZENDESK_APP_SECRET="short"), "check")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "omneo-zendesk: setting ZENDESK_APP_SECRET: a secret of at least 32 characters (HS256 wants a 256-bit key)"]
