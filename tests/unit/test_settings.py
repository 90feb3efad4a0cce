import pytest

from integration.settings.declared import SettingsError, load_settings
from tests.helpers import GOOD

def test_defaults_and_derived_urls():
    s = load_settings(GOOD)
    assert s.omneo_base_url == "https://api.acme.getomneo.com/api/v3"
    assert s.zendesk_base_url == "https://acme.zendesk.com"
    assert s.sync_attributes == ("name", "email", "mobile", "tier")
    assert s.zendesk_requests_per_minute == 400 and s.omneo_requests_per_minute == 600
    assert s.omneo_identity_handle == "zendesk" and s.omneo_namespace == "zendesk"
    assert s.cx_manager_url("p1") == "https://acme.manager.getomneo.com/profiles/p1"
    assert s.cx_manager_search("a+b@example.com") == \
        "https://acme.manager.getomneo.com/profiles?search=a%2Bb%40example.com"
    assert (s.sidebar_last_known_seconds, s.sidebar_omneo_deadline_seconds) == (86400, 1.5)


@pytest.mark.parametrize("name", ["REDIS_URL", "OMNEO_API_TOKEN", "OMNEO_WEBHOOK_SECRET",
                                  "ZENDESK_WEBHOOK_SECRET", "ZENDESK_APP_SECRET"])
def test_missing_variable_is_named_in_one_line(name):
    env = {k: v for k, v in GOOD.items() if k != name}
    with pytest.raises(SettingsError) as err:
        load_settings(env)
    message = str(err.value)
    assert name in message and "\n" not in message


@pytest.mark.parametrize("name,value", [
    ("REDIS_URL", "http://nope"),
    ("ZENDESK_REQUESTS_PER_MINUTE", "lots"),
    ("ZENDESK_REQUESTS_PER_MINUTE", "0"),
    ("SYNC_ATTRIBUTES", "name,shoe_size"),
    ("OMNEO_BASE_URL", "not a url"),
    ("ZENDESK_EMAIL", "not-an-email"),
    ("SIDEBAR_LAST_KNOWN_SECONDS", "-1"),
    ("SIDEBAR_OMNEO_DEADLINE_SECONDS", "0"),
    ("SIDEBAR_OMNEO_DEADLINE_SECONDS", "soon"),
])
def test_malformed_variable_is_named(name, value):
    with pytest.raises(SettingsError) as err:
        load_settings(dict(GOOD, **{name: value}))
    assert name in str(err.value)


def test_secret_values_never_appear_in_the_error():
    env = dict(GOOD, ZENDESK_APP_SECRET="short")  # too short: invalid
    with pytest.raises(SettingsError) as err:
        load_settings(env)
    assert "ZENDESK_APP_SECRET" in str(err.value)
    for secret in ("short", GOOD["OMNEO_API_TOKEN"], GOOD["ZENDESK_API_TOKEN"]):
        assert secret not in str(err.value)


def test_zendesk_auth_needs_token_pair_or_oauth():
    env = {k: v for k, v in GOOD.items() if k != "ZENDESK_API_TOKEN"}
    with pytest.raises(SettingsError, match="ZENDESK_API_TOKEN"):
        load_settings(env)
    env["ZENDESK_OAUTH_TOKEN"] = "oauth-secret"
    assert load_settings(env).zendesk_oauth_token == "oauth-secret"


def test_settings_repr_hides_secrets():
    text = repr(load_settings(GOOD))
    for secret in ("tok-omneo-secret", "omneo-hook-secret", "zd-secret-token", "zd-app-secret"):
        assert secret not in text
