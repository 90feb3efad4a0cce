"""Backfill against in-process sandboxes: bulk jobs, identities and watermarks, checkpoint, 403,
changed emails made primary."""
from __future__ import annotations

import threading
from urllib.parse import parse_qs

import requests

from integration.store import keys
from integration.bulk.backfill import Backfill
from integration.profiles.sync import sync_profile
from tests.helpers import user_of


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
    assert ctx.state.synced_mark("bf-00003")["fingerprint"]
    assert ctx.redis.get(keys.BACKFILL_CHECKPOINT)


def put_profiles(omneo_url: str, *profiles: dict) -> None:
    requests.post(omneo_url + "/_sandbox/profiles/bulk", json={"profiles": list(profiles)},
                  timeout=10).raise_for_status()


def emails_of(zendesk_sandbox, user: dict) -> list[tuple[str, bool]]:
    return [(i["value"], i["primary"]) for i in zendesk_sandbox.identities_by_user[user["id"]]
            if i["type"] == "email"]


def calls_since(zendesk_sandbox, start: int) -> list[dict]:
    return list(zendesk_sandbox.call_log)[start:]


def test_backfill_makes_a_changed_email_primary_and_retires_the_old_one(
        ctx, sandbox_servers, zendesk_sandbox):
    omneo_url = sandbox_servers[1].url
    put_profiles(omneo_url, {"id": "em-moved", "first_name": "Mo", "email": "old@example.com"},
                 {"id": "em-kept", "first_name": "Kit", "email": "kit@example.com"})
    first = Backfill(ctx, poll_seconds=0).run()
    assert first["created"] == 2
    # users the job created cost no lookup and no identity call
    assert not [c for c in calls_since(zendesk_sandbox, 0)
                if "/identities" in c["path"] or c["path"].endswith("/users/show_many")]

    put_profiles(omneo_url, {"id": "em-moved", "email": "new@example.com"},
                 {"id": "em-fresh", "first_name": "Fay", "email": "fay@example.com"})
    start = len(zendesk_sandbox.call_log)
    second = Backfill(ctx, poll_seconds=0).run()

    moved = user_of(zendesk_sandbox, "em-moved")
    assert moved["email"] == "new@example.com"
    assert emails_of(zendesk_sandbox, moved) == [("new@example.com", True)]
    kept = user_of(zendesk_sandbox, "em-kept")
    assert emails_of(zendesk_sandbox, kept) == [("kit@example.com", True)]
    assert (second["created"], second["updated"], second["failed"]) == (1, 2, 0)
    assert second["emails_promoted"] == 1
    calls = calls_since(zendesk_sandbox, start)
    # one lookup for the job's updated users, not its created one; identity calls only for the
    # user whose primary email was not the profile's: read, promote, retire the old address
    [lookup] = [c for c in calls if c["path"].endswith("/users/show_many")]
    looked_up = parse_qs(lookup["query"])["ids"][0].split(",")
    assert sorted(looked_up) == sorted([str(moved["id"]), str(kept["id"])])
    identity_calls = [(c["method"], c["path"]) for c in calls if "/identities" in c["path"]]
    assert [m for m, _ in identity_calls] == ["GET", "PUT", "DELETE"]
    assert all(path.startswith(f"/api/v2/users/{moved['id']}/identities") for _, path in identity_calls)


def test_failed_email_promotion_is_dead_lettered_and_its_replay_finishes_it(
        ctx, sandbox_servers, zendesk_sandbox):
    omneo_url = sandbox_servers[1].url
    put_profiles(omneo_url, {"id": "em-a", "first_name": "Al", "email": "al-old@example.com"},
                 {"id": "em-b", "first_name": "Bea", "email": "bea-old@example.com"})
    Backfill(ctx, poll_seconds=0).run()
    put_profiles(omneo_url, {"id": "em-a", "email": "al-new@example.com"},
                 {"id": "em-b", "email": "bea-new@example.com"})
    a, b = user_of(zendesk_sandbox, "em-a"), user_of(zendesk_sandbox, "em-b")
    requests.post(sandbox_servers[0].url + "/_sandbox/config", timeout=5, json={"fail": [
        # a short outage is waited out by the backfill's own retry ...
        {"path": f"/users/{b['id']}/identities$", "method": "GET", "status": 503, "count": 1},
        # ... a refusal is one user's failure
        {"path": f"/users/{a['id']}/identities/\\d+/make_primary", "status": 422, "count": 1}]}
                  ).raise_for_status()

    result = Backfill(ctx, poll_seconds=0, sleep=lambda s: None).run()

    assert zendesk_sandbox.stats["injected_failures"] == 2
    assert result["finished"] and result["failed"] == 1 and result["emails_promoted"] == 1
    assert emails_of(zendesk_sandbox, b) == [("bea-new@example.com", True)]
    [entry] = ctx.dead_letters.list()
    assert entry["task"] == "omneo_zendesk.sync_profile" and entry["args"] == ["em-a"]
    assert "al-new" not in str(entry["error"]) and "al-old" not in str(entry["error"])
    # the dead letter replays as a full sync, which finishes the job
    assert sync_profile(ctx, "em-a")["outcome"] == "updated"
    assert emails_of(zendesk_sandbox, a) == [("al-new@example.com", True)]
