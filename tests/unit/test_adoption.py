"""`backfill --adopt` against in-process sandboxes: marks for linked profiles in step, read 100 a
call, nothing written."""
from __future__ import annotations

import requests

from integration.profiles import mapping, tier_field
from integration.bulk.adoption import adopt
from integration.profiles.sync import sync_profile


def test_adoption_marks_linked_profiles_in_step_and_writes_nothing(
        ctx, sandbox_servers, zendesk_sandbox, omneo_sandbox):
    zendesk_url, omneo_url = sandbox_servers[0].url, sandbox_servers[1].url
    tier_field.ensure_for_sync(ctx)
    attributes = ctx.settings.sync_attributes
    users = {}
    for n in range(150):
        pid = f"ad-{n:04d}"
        wanted = {"id": pid, "first_name": f"First {n}", "email": f"{pid}@example.com", "tier": "gold"}
        if n == 7:  # edited in Zendesk since: out of step
            shown = dict(mapping.zendesk_user(dict(wanted), attributes), name="Someone else")
        else:
            shown = mapping.zendesk_user(dict(wanted), attributes)
        users[pid] = requests.post(zendesk_url + "/_sandbox/users", json=shown, timeout=5).json()["user"]
        linked_to = users["ad-0001"] if n == 9 else users[pid]  # n 9: another profile's user
        identities = [] if n == 11 else [{"handle": "zendesk", "identifier": str(linked_to["id"])}]
        requests.post(omneo_url + "/_sandbox/profiles?emit=0", json=dict(wanted, identities=identities),
                      timeout=5).raise_for_status()
    zendesk_writes, omneo_writes = zendesk_sandbox.stats["writes"], omneo_sandbox.stats["writes"]
    reads = zendesk_sandbox.stats["calls"]

    result = adopt(ctx)

    assert result == {"finished": True, "adopted": 147, "out_of_step": 1, "not_theirs": 1,
                      "marked_already": 0, "unlinked": 1, "skipped": 0}
    assert zendesk_sandbox.stats["writes"] == zendesk_writes  # nothing written
    assert omneo_sandbox.stats["writes"] == omneo_writes
    assert zendesk_sandbox.stats["calls"] - reads == 2  # one show_many a page of 100
    mark = ctx.state.synced_mark("ad-0042")
    assert mark["zendesk_user_id"] == str(users["ad-0042"]["id"])
    for pid in ("ad-0007", "ad-0009", "ad-0011"):
        assert ctx.state.synced_mark(pid) is None
    # an adopted profile's next sync writes nothing; the out-of-step one is written
    assert sync_profile(ctx, "ad-0042")["outcome"] == "unchanged"
    assert zendesk_sandbox.stats["writes"] == zendesk_writes
    assert sync_profile(ctx, "ad-0007")["outcome"] == "updated"
    # a rerun reads no Zendesk user for the marked ones
    calls = zendesk_sandbox.stats["calls"]
    again = adopt(ctx)
    assert again["adopted"] == 0 and again["marked_already"] == 148
    assert zendesk_sandbox.stats["calls"] - calls == 1  # the two unmarked linked ones, one page
