"""erase_profile as a plain function: fakeredis state, in-process sandboxes over HTTP."""
import json

import pytest

from integration import erasure
from integration.store import keys
from integration.erasure import ProfileStillLive, audit_records, erase_profile
from integration.errors import Conflict, LockBusy
from integration.profiles.sync import sync_profile
from tests.helpers import delete_in_omneo, put, synced_user






def merge_in_omneo(omneo, loser, winner):
    """What Omneo does on a merge: the loser's identities move to the winner, the loser goes."""
    with omneo.lock:
        moved = omneo.profiles.pop(loser)["identities"]
        omneo.profiles[winner]["identities"].extend(dict(i, profile_id=winner) for i in moved)


def test_synced_user_is_deleted_then_purged(ctx, omneo_sandbox, zendesk_sandbox):
    user = synced_user(ctx, omneo_sandbox, zendesk_sandbox, "e1")
    delete_in_omneo(omneo_sandbox, "e1")

    record = erase_profile(ctx, "e1", requested_at=1.0, job_id="job-1")

    assert user["id"] in zendesk_sandbox.purged
    assert user["id"] not in zendesk_sandbox.users and user["id"] not in zendesk_sandbox.deleted
    assert (record["outcome"], record["zendesk_user_id"], record["id"]) == ("erased", str(user["id"]), "job-1")
    assert record["requested_at"] == 1.0 and record["started_at"] <= record["finished_at"]
    assert audit_records(ctx.redis) == [record]
    assert ctx.state.is_erased("e1")


def test_no_user_at_all_counts_as_already_gone(ctx):
    record = erase_profile(ctx, "never-synced")
    assert (record["outcome"], record["zendesk_user_id"]) == ("already gone", None)
    assert ctx.state.is_erased("never-synced")


def test_user_soft_deleted_by_hand_is_still_purged(ctx, omneo_sandbox, zendesk_sandbox):
    user = synced_user(ctx, omneo_sandbox, zendesk_sandbox, "e2")
    with zendesk_sandbox.lock:  # an agent deleted it; search no longer shows it, data remains
        zendesk_sandbox.deleted[user["id"]] = zendesk_sandbox.users.pop(user["id"])
    delete_in_omneo(omneo_sandbox, "e2")

    record = erase_profile(ctx, "e2")

    assert user["id"] in zendesk_sandbox.purged
    assert record["outcome"] == "erased"


def test_claimed_user_shown_inactive_is_neither_handed_over_nor_purged(
        ctx, omneo_sandbox, zendesk_sandbox, monkeypatch):
    user = synced_user(ctx, omneo_sandbox, zendesk_sandbox, "e2b")
    put(omneo_sandbox, id="w2b", first_name="Wyn")
    merge_in_omneo(omneo_sandbox, "e2b", "w2b")
    with zendesk_sandbox.lock:  # merged away or deleted by hand: Zendesk shows it inactive by id
        zendesk_sandbox.deleted[user["id"]] = dict(zendesk_sandbox.users.pop(user["id"]), active=False)
    monkeypatch.setattr(ctx.zendesk, "find_user", lambda user_id: dict(user, active=False))

    assert erase_profile(ctx, "e2b")["outcome"] == "already gone"
    assert user["id"] in zendesk_sandbox.deleted and not zendesk_sandbox.purged
    assert not zendesk_sandbox.users  # the live profile got no user made for it here


def test_purged_already_counts_as_done(ctx, omneo_sandbox, zendesk_sandbox):
    user = synced_user(ctx, omneo_sandbox, zendesk_sandbox, "e3")
    with zendesk_sandbox.lock:
        del zendesk_sandbox.users[user["id"]]
        zendesk_sandbox.purged.add(user["id"])
    delete_in_omneo(omneo_sandbox, "e3")
    assert erase_profile(ctx, "e3")["outcome"] == "already gone"


def test_a_retry_after_an_unrecorded_purge_counts_as_done(ctx, omneo_sandbox, zendesk_sandbox):
    """Zendesk answers a second permanent deletion of one user 422 DuplicateValue; a job whose
    first try purged the user but died before recording it must not end as a dead letter."""
    user = synced_user(ctx, omneo_sandbox, zendesk_sandbox, "e3b")
    ctx.zendesk.delete_user(user["id"])
    assert ctx.zendesk.delete_user_permanently(user["id"]) is True
    delete_in_omneo(omneo_sandbox, "e3b")

    record = erase_profile(ctx, "e3b", zendesk_user_id=str(user["id"]))
    assert (record["outcome"], record["zendesk_user_id"]) == ("already gone", str(user["id"]))
    assert ctx.state.is_erased("e3b")


def test_identity_from_the_payload_finds_a_user_without_external_id(ctx, zendesk_sandbox):
    with zendesk_sandbox.lock:
        user = zendesk_sandbox._create({"name": "Walk In", "email": "walk@example.com"})
    record = erase_profile(ctx, "e4", zendesk_user_id=str(user["id"]))
    assert user["id"] in zendesk_sandbox.purged
    assert record["zendesk_user_id"] == str(user["id"])


def test_a_hinted_user_linked_to_another_profile_is_left_alone(ctx, zendesk_sandbox):
    with zendesk_sandbox.lock:
        other = zendesk_sandbox._create({"name": "Other", "external_id": "someone-else"})
    record = erase_profile(ctx, "e5", zendesk_user_id=str(other["id"]))
    assert other["id"] in zendesk_sandbox.users
    assert record["outcome"] == "already gone"


def test_merged_loser_user_is_repointed_to_the_winner(ctx, omneo_sandbox, zendesk_sandbox):
    user = synced_user(ctx, omneo_sandbox, zendesk_sandbox, "loser")
    put(omneo_sandbox, id="winner", first_name="Ada")  # never synced: no Zendesk user of its own
    merge_in_omneo(omneo_sandbox, "loser", "winner")

    record = erase_profile(ctx, "loser")

    assert zendesk_sandbox.users[user["id"]]["external_id"] == "winner"
    assert not zendesk_sandbox.purged and not zendesk_sandbox.deleted
    assert (record["outcome"], record["repointed_to"], record["zendesk_user_id"]) == \
        ("re-pointed", "winner", str(user["id"]))
    # the winner's next sync takes the re-pointed user over instead of creating another
    assert sync_profile(ctx, "winner")["zendesk_user_id"] == str(user["id"])
    assert len(zendesk_sandbox.users) == 1


def test_a_repointed_users_ticket_dead_letters_stay_for_the_live_customer(ctx, omneo_sandbox,
                                                                           zendesk_sandbox):
    user = synced_user(ctx, omneo_sandbox, zendesk_sandbox, "loser2")
    put(omneo_sandbox, id="winner2", first_name="Ada")
    merge_in_omneo(omneo_sandbox, "loser2", "winner2")
    job = {"event_id": "ev-9", "ticket_id": "9", "requester_id": str(user["id"]), "subject": "Late"}
    letter = ctx.dead_letters.add(task="omneo_zendesk.ticket_interaction", args=[job], kwargs={},
                                  error={}, attempts=1, zendesk_user_id=str(user["id"]))
    about_loser = ctx.dead_letters.add(task="omneo_zendesk.sync_profile", args=["loser2"], kwargs={},
                                       error={}, attempts=1, profile_id="loser2")

    assert erase_profile(ctx, "loser2")["outcome"] == "re-pointed"

    assert [e["id"] for e in ctx.dead_letters.list()] == [letter]
    assert ctx.dead_letters.get(about_loser) is None


def test_merged_loser_user_is_folded_when_the_winner_has_its_own(ctx, omneo_sandbox, zendesk_sandbox):
    mine = synced_user(ctx, omneo_sandbox, zendesk_sandbox, "loser2")
    theirs = synced_user(ctx, omneo_sandbox, zendesk_sandbox, "winner2")
    with zendesk_sandbox.lock:
        zendesk_sandbox.tickets[900] = {"id": 900, "subject": "Where is my order", "requester_id": mine["id"]}
    merge_in_omneo(omneo_sandbox, "loser2", "winner2")

    record = erase_profile(ctx, "loser2")

    assert not zendesk_sandbox.purged and not zendesk_sandbox.deleted
    assert zendesk_sandbox.merged_into == {mine["id"]: theirs["id"]}
    assert zendesk_sandbox.tickets[900]["requester_id"] == theirs["id"]  # the tickets follow
    assert (record["outcome"], record["repointed_to"]) == ("re-pointed", "winner2")
    assert record["users"][0]["survivor"] == str(theirs["id"])
    links = [i["identifier"] for i in omneo_sandbox.profiles["winner2"]["identities"] if i["handle"] == "zendesk"]
    assert links == [str(theirs["id"])]


def test_profile_still_live_in_omneo_is_not_erased(ctx, omneo_sandbox, zendesk_sandbox):
    user = synced_user(ctx, omneo_sandbox, zendesk_sandbox, "e6")
    with pytest.raises(ProfileStillLive):
        erase_profile(ctx, "e6")
    assert user["id"] in zendesk_sandbox.users
    assert not ctx.state.is_erased("e6") and audit_records(ctx.redis) == []


def test_staff_user_is_a_conflict_not_a_deletion(ctx, zendesk_sandbox):
    with zendesk_sandbox.lock:
        agent = zendesk_sandbox._create({"name": "Agent", "external_id": "e7", "role": "agent"})
    with pytest.raises(Conflict, match="staff"):
        erase_profile(ctx, "e7")
    assert agent["id"] in zendesk_sandbox.users


def test_erasure_and_sync_of_one_profile_never_interleave(ctx, omneo_sandbox, zendesk_sandbox):
    user = synced_user(ctx, omneo_sandbox, zendesk_sandbox, "e8")
    delete_in_omneo(omneo_sandbox, "e8")
    with ctx.state.profile_lock("e8"):
        with pytest.raises(LockBusy):
            erase_profile(ctx, "e8")
    assert user["id"] in zendesk_sandbox.users
    assert erase_profile(ctx, "e8")["outcome"] == "erased"


def test_tombstone_stops_a_later_sync_even_if_omneo_still_serves_the_profile(
        ctx, omneo_sandbox, zendesk_sandbox):
    synced_user(ctx, omneo_sandbox, zendesk_sandbox, "e9")
    with omneo_sandbox.lock:
        profile = omneo_sandbox.profiles.pop("e9")
    erase_profile(ctx, "e9")
    with omneo_sandbox.lock:  # a stale replica, say: Omneo answers with the old profile
        omneo_sandbox.profiles["e9"] = profile
    assert sync_profile(ctx, "e9") == {"outcome": "skipped", "reason": "erased"}
    assert not zendesk_sandbox.users


def test_our_stores_keep_only_the_tombstone_and_the_audit(ctx, omneo_sandbox, zendesk_sandbox):
    synced_user(ctx, omneo_sandbox, zendesk_sandbox, "e10")
    synced_user(ctx, omneo_sandbox, zendesk_sandbox, "keep-me")
    ctx.dead_letters.add(task="omneo_zendesk.sync_profile", args=["e10"], kwargs={},
                         error={"message": "e10@example.com refused"}, attempts=1, profile_id="e10")
    kept_letter = ctx.dead_letters.add(task="omneo_zendesk.sync_profile", args=["keep-me"], kwargs={},
                                       error={}, attempts=1, profile_id="keep-me")
    ctx.redis.set(keys.pending_sync("e10"), "job-x")
    ctx.redis.set(keys.sidebar_cache("e10"), json.dumps({"email": "e10@example.com"}))
    ctx.redis.set(keys.sidebar_cache("keep-me"), "x")
    user_id = ctx.state.synced_mark("e10")["zendesk_user_id"]
    ctx.redis.set(keys.sidebar_requester(user_id), "e10")
    delete_in_omneo(omneo_sandbox, "e10")

    erase_profile(ctx, "e10")

    left = {k.decode(): ctx.redis.dump(k) for k in ctx.redis.scan_iter(match="oz:*")}
    naming = sorted(k for k, v in left.items() if "e10" in k or b"e10" in v)
    assert naming == [keys.ERASURE_AUDIT, keys.erased("e10")]
    assert ctx.redis.get(keys.erased("e10")) == b"1"
    audit = ctx.redis.lindex(keys.ERASURE_AUDIT, 0)
    assert b"@example.com" not in audit and b"Ada" not in audit
    # another profile's traces stay
    assert ctx.dead_letters.get(kept_letter) and ctx.state.synced_mark("keep-me")
    assert ctx.redis.get(keys.sidebar_cache("keep-me"))


def test_a_redelivered_job_writes_one_audit_record(ctx, omneo_sandbox, zendesk_sandbox):
    synced_user(ctx, omneo_sandbox, zendesk_sandbox, "e11")
    delete_in_omneo(omneo_sandbox, "e11")
    first = erase_profile(ctx, "e11", job_id="job-11")
    again = erase_profile(ctx, "e11", job_id="job-11")
    assert again == first and len(audit_records(ctx.redis)) == 1
    assert erase_profile(ctx, "e11", job_id="job-12")["outcome"] == "already gone"


@pytest.mark.parametrize("erasure_first", [True, False])
def test_erasure_and_the_merge_job_agree_in_either_order(ctx, omneo_sandbox, zendesk_sandbox, erasure_first):
    from integration.profiles.merge import merge_profiles

    mine = synced_user(ctx, omneo_sandbox, zendesk_sandbox, "loser3")
    theirs = synced_user(ctx, omneo_sandbox, zendesk_sandbox, "winner3")
    merge_in_omneo(omneo_sandbox, "loser3", "winner3")
    steps = [lambda: erase_profile(ctx, "loser3"), lambda: merge_profiles(ctx, "winner3", ["loser3"])]
    for step in steps if erasure_first else reversed(steps):
        step()
    assert zendesk_sandbox.merged_into == {mine["id"]: theirs["id"]}
    assert list(zendesk_sandbox.users) == [theirs["id"]]
    assert not zendesk_sandbox.purged and not zendesk_sandbox.deleted
    links = [i["identifier"] for i in omneo_sandbox.profiles["winner3"]["identities"] if i["handle"] == "zendesk"]
    assert links == [str(theirs["id"])]


def test_dead_letters_naming_the_profiles_zendesk_user_are_erased_too(ctx, omneo_sandbox, zendesk_sandbox):
    user = synced_user(ctx, omneo_sandbox, zendesk_sandbox, "e20")
    # a ticket event that failed before its requester was resolved: only the Zendesk user names it
    job = {"event_id": "ev-1", "ticket_id": "7", "requester_id": str(user["id"]),
           "subject": "Rash after the cream"}
    ctx.dead_letters.add(task="omneo_zendesk.ticket_interaction", args=[job], kwargs={},
                         error={}, attempts=1, zendesk_user_id=str(user["id"]))
    kept = ctx.dead_letters.add(task="omneo_zendesk.ticket_interaction",
                                args=[dict(job, requester_id="777")], kwargs={}, error={},
                                attempts=1, zendesk_user_id="777")
    delete_in_omneo(omneo_sandbox, "e20")

    erase_profile(ctx, "e20")

    assert [e["id"] for e in ctx.dead_letters.list()] == [kept]
    assert not ctx.redis.exists(keys.dlq_by_zendesk_user(str(user["id"])))


def test_the_audit_trail_keeps_the_newest_records_only(ctx, monkeypatch):
    monkeypatch.setattr(erasure, "AUDIT_LENGTH", 3)
    for n in range(5):
        erase_profile(ctx, f"never-{n}")
    assert [r["profile_id"] for r in audit_records(ctx.redis)] == ["never-4", "never-3", "never-2"]
