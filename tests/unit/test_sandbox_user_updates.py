"""The Zendesk sandbox's record of when each user was last written (the latency benchmark's clock)."""
import time

import requests

from integration.profiles import sync


def test_user_updates_names_the_write_time_of_each_synced_user(ctx, sandbox_servers):
    zendesk_url = sandbox_servers[0].url
    for pid in ("p-1", "p-2"):
        requests.post(sandbox_servers[1].url + "/_sandbox/profiles?emit=0",
                      json={"id": pid, "first_name": "Ann", "email": f"{pid}@example.com"},
                      timeout=5).raise_for_status()
    before = time.time()
    sync.sync_profile(ctx, "p-1")
    times = requests.get(zendesk_url + "/_sandbox/user_updates", timeout=5).json()["updated"]
    assert list(times) == ["p-1"]
    assert before <= times["p-1"] <= time.time()

    sync.sync_profile(ctx, "p-2")
    one = requests.get(zendesk_url + "/_sandbox/user_updates", params={"external_id": "p-2"},
                       timeout=5).json()["updated"]
    assert list(one) == ["p-2"]
