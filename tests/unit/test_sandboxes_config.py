"""The sandboxes' /_sandbox/config route applies every setting it documents."""
import requests


def test_zendesk_sandbox_config_sets_bulk_imports_export_rate_and_merge_limit(sandbox_servers, zendesk_sandbox):
    url = sandbox_servers[0].url
    try:
        r = requests.post(url + "/_sandbox/config", json={"bulk_imports": False, "export_rate_per_minute": 3,
                                                          "merge_ticket_limit": 2}, timeout=5)
        assert r.ok
        assert zendesk_sandbox.bulk_imports is False
        assert zendesk_sandbox.export_rate_per_minute == 3
        assert zendesk_sandbox.merge_ticket_limit == 2
    finally:
        requests.post(url + "/_sandbox/reset", timeout=5)
        zendesk_sandbox.bulk_imports = True
