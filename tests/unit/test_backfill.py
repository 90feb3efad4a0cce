"""Backfill against in-process sandboxes: bulk jobs, identities and watermarks, checkpoint, 403."""
from __future__ import annotations

import threading

import requests

from integration import keys, mapping
from integration.backfill import Backfill
from integration.sync import sync_profile


def seed(omneo_url: str, count: int, prefix: str = "bf-") -> None:
    requests.post(omneo_url + "/_sandbox/profiles/bulk", json={"count": count, "prefix": prefix},
                  timeout=10).raise_for_status()


def external_ids(zendesk_sandbox) -> list[str]:
    return sorted(u["external_id"] for u in zendesk_sandbox.users.values())


def test_backfill_syncs_every_profile_in_bulk_and_leaves_links_and_watermarks(
        ctx, sandbox_servers, zendesk_sandbox, omneo_sandbox):
    seed(sandbox_servers[1].url, 130)
    result = Backfill(ctx, poll_seconds=0).run()
    assert result["finished"] and result["created"] == 130 and result["failed"] == 0
    assert external_ids(zendesk_sandbox) == [f"bf-{n:05d}" for n in range(1, 131)]
    assert zendesk_sandbox.stats["writes:POST /api/v2/users/create_or_update_many"] == 2
    user = next(u for u in zendesk_sandbox.users.values() if u["external_id"] == "bf-00042")
    identity = [i for i in omneo_sandbox.profiles["bf-00042"]["identities"] if i["handle"] == "zendesk"]
    assert [i["identifier"] for i in identity] == [str(user["id"])]
    # a later sync of the unchanged profile makes no Zendesk write
    writes = zendesk_sandbox.stats["writes"]
    assert sync_profile(ctx, "bf-00042")["outcome"] == "unchanged"
    assert zendesk_sandbox.stats["writes"] == writes


def test_stopped_backfill_resumes_after_its_checkpoint(ctx, sandbox_servers, zendesk_sandbox):
    seed(sandbox_servers[1].url, 250)
    stop = threading.Event()
    seen = []

    def progress(n):
        seen.append(n)
        if sum(seen) >= 100:
            stop.set()

    first = Backfill(ctx, stop=stop, jobs=1, poll_seconds=0, on_progress=progress).run()
    assert not first["finished"] and 100 <= first["done"] < 250
    checkpoint = Backfill(ctx).load_checkpoint()
    assert checkpoint["after_id"] == f"bf-{first['done']:05d}"
    bulk_writes = zendesk_sandbox.stats["writes:POST /api/v2/users/create_or_update_many"]
    second = Backfill(ctx, poll_seconds=0).run(resume=True)
    assert second["finished"] and second["done"] == 250
    # resumed after the checkpoint: no page sent twice, every user there once
    assert zendesk_sandbox.stats["writes:POST /api/v2/users/create_or_update_many"] == bulk_writes + 3 - first["done"] // 100
    assert external_ids(zendesk_sandbox) == [f"bf-{n:05d}" for n in range(1, 251)]


def test_per_user_failures_go_to_dead_letters_as_replayable_syncs(ctx, sandbox_servers, zendesk_sandbox):
    requests.post(sandbox_servers[1].url + "/_sandbox/profiles/bulk", timeout=10, json={"profiles": [
        {"id": "ok-1", "first_name": "Fine", "email": "fine@example.com"},
        {"id": "bad-1", "first_name": "Broken", "email": "not-an-email"}]}).raise_for_status()
    result = Backfill(ctx, poll_seconds=0).run()
    assert result["created"] == 1 and result["failed"] == 1
    [entry] = ctx.dead_letters.list()
    assert entry["task"] == "omneo_zendesk.sync_profile" and entry["args"] == ["bad-1"]
    assert "not-an-email" not in str(entry["error"])  # no personal data kept


def test_account_without_bulk_imports_falls_back_to_one_at_a_time(ctx, sandbox_servers, zendesk_sandbox):
    zendesk_sandbox.bulk_imports = False
    seed(sandbox_servers[1].url, 12)
    result = Backfill(ctx, poll_seconds=0).run()
    assert result["finished"] and result["mode"] == "one at a time" and result["created"] == 12
    assert len(external_ids(zendesk_sandbox)) == 12
    assert ctx.state.get_synced("bf-00003")["fingerprint"]
    assert ctx.redis.get(keys.BACKFILL_CHECKPOINT)
