"""Reconciliation and backfill over the real stack: redis-server, both sandboxes as processes, the
Celery worker running the reconcile task, and the real `omneo-zendesk` CLI as a subprocess."""
from __future__ import annotations

import json
import signal
import subprocess

import pytest
import requests

from integration.sandbox.devstack import cli_argv

pytestmark = pytest.mark.e2e


def cli(stack, *args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(cli_argv(*args), env={**stack.env, **(env or {})}, capture_output=True,
                          text=True, timeout=timeout)


def synced_user(stack, profile_id: str) -> dict:
    return stack.wait(lambda: (u := stack.zendesk_user(profile_id)) and
                      any(i["handle"] == "zendesk" for i in stack.profile(profile_id)["identities"]) and u,
                      what=f"the sync of {profile_id}")


def test_reconciliation_repairs_drifted_missing_and_orphaned_users(stack):
    # three profiles synced the ordinary way
    for pid, first in (("r-drift", "Dora"), ("r-orphan", "Otto"), ("r-keep", "Kim")):
        assert stack.post_omneo("profile.created", stack.put_profile(
            id=pid, first_name=first, last_name="Recon", email=f"{pid}@example.com",
            tier="gold")).status_code == 202
    drifted, orphan = synced_user(stack, "r-drift"), synced_user(stack, "r-orphan")
    synced_user(stack, "r-keep")
    # an agent edits a user by hand; a webhook is lost; a profile is deleted without a webhook
    requests.put(f"{stack.zendesk}/_sandbox/users/{drifted['id']}",
                 json={"name": "Edited By Hand", "user_fields": {"omneo_tier": "bronze"}},
                 timeout=5).raise_for_status()
    stack.put_profile(id="r-missing", first_name="Mia", last_name="Lost", email="r-missing@example.com")
    requests.delete(f"{stack.omneo}/_sandbox/profiles/r-orphan?emit=0", timeout=5).raise_for_status()

    queued = cli(stack, "reconcile", "run", "--queue")  # the worker's reconcile task does it
    assert queued.returncode == 0, queued.stderr
    report = stack.wait(lambda: stack.redis.lindex("oz:reconcile:runs", 0), 60, what="a reconciliation report")
    report = json.loads(report)
    counts = report["counts"]
    assert report["complete"] and counts["errors"] == 0, report
    assert counts["drifted_repaired"] == 1 and counts["missing_created"] == 1
    assert counts["orphans_erased"] == 1

    repaired = stack.zendesk_user("r-drift")
    assert repaired["id"] == drifted["id"]
    assert repaired["name"] == "Dora Recon" and repaired["user_fields"]["omneo_tier"] == "gold"
    created = stack.zendesk_user("r-missing")
    assert created and created["name"] == "Mia Lost"
    assert [i["identifier"] for i in stack.profile("r-missing")["identities"]] == [str(created["id"])]
    # the orphan goes by the erasure rules (the erasure job): soft delete, then permanent deletion
    from workers import tasks
    if hasattr(tasks, "erase_profile"):
        stack.wait(lambda: orphan["id"] in stack.zendesk_state()["purged"], 60, what="the orphan's erasure")
    else:  # the erasure job is not in this checkout yet: it was queued by name
        stack.wait(lambda: "omneo_zendesk.erase_profile" in stack.worker_log(), 30, what="the erasure job")
    assert stack.zendesk_user("r-keep") is not None

    status = cli(stack, "reconcile", "status")
    assert status.returncode == 0, status.stderr
    assert "Omneo watermark: 20" in status.stdout and "manual" in status.stdout


def test_orphan_still_claimed_by_a_live_profile_is_not_erased(stack):
    for pid in ("r-loser", "r-winner"):
        assert stack.post_omneo("profile.created", stack.put_profile(
            id=pid, first_name="Merge", email=f"{pid}@example.com")).status_code == 202
    loser_user = synced_user(stack, "r-loser")
    synced_user(stack, "r-winner")
    # Omneo merged them: the loser's identity moved to the winner and the loser is gone, and our
    # merge job has not run yet
    stack.put_profile(id="r-winner", identities=[{"handle": "zendesk", "identifier": str(loser_user["id"])}])
    requests.delete(f"{stack.omneo}/_sandbox/profiles/r-loser?emit=0", timeout=5).raise_for_status()

    done = cli(stack, "reconcile", "run", "--json")
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout)["counts"]
    assert counts["orphans_claimed"] == 1 and counts["orphans_erased"] == 0
    assert loser_user["id"] not in stack.zendesk_state()["purged"]
    assert any(u["id"] == loser_user["id"] for u in stack.zendesk_users())


def test_backfill_of_1000_profiles_resumes_after_an_interruption(stack):
    r = requests.post(f"{stack.omneo}/_sandbox/profiles/bulk", json={"count": 1000, "prefix": "bf-"}, timeout=30)
    assert r.status_code == 201 and r.json()["created"] == 1000
    # a modest Zendesk budget and one job in flight make the run long enough to stop midway
    env = {**stack.env, "ZENDESK_REQUESTS_PER_MINUTE": "240", "OMNEO_REQUESTS_PER_MINUTE": "100000"}
    first = subprocess.Popen(cli_argv("backfill", "--jobs", "1"), env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        def progress():
            raw = stack.redis.get("oz:backfill:checkpoint")
            return raw and json.loads(raw)["totals"]["done"] >= 200
        stack.wait(progress, 60, what="the backfill to get going")
        first.send_signal(signal.SIGTERM)
        out, err = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 130, err
    assert "--resume" in out
    checkpoint = json.loads(stack.redis.get("oz:backfill:checkpoint"))
    assert not checkpoint["finished"] and 200 <= checkpoint["totals"]["done"] < 1000
    assert len(stack.zendesk_users()) == checkpoint["totals"]["done"]

    resumed = cli(stack, "backfill", "--resume", env={"OMNEO_REQUESTS_PER_MINUTE": "100000"})
    assert resumed.returncode == 0, resumed.stderr
    assert "backfill done (bulk): 1000 profiles" in resumed.stdout

    ids = [u["external_id"] for u in stack.zendesk_users()]
    assert len(ids) == 1000 and set(ids) == {f"bf-{n:05d}" for n in range(1, 1001)}  # each once
    zstats, ostats = stack.stats("zendesk"), stack.stats("omneo")
    assert zstats["writes:POST /api/v2/users/create_or_update_many"] == 10  # no page sent twice
    assert ostats["writes"] == 1000  # one zendesk identity per profile
    # links and watermarks are in place: a webhook about an unchanged profile writes nothing
    writes = zstats["writes"]
    r = stack.post_omneo("profile.updated", stack.profile("bf-00500"))
    assert r.status_code == 202
    assert stack.wait(lambda: stack.job_outcome(r.json()["job_id"]), 30, what="the sync job") == "unchanged"
    assert stack.stats("zendesk")["writes"] == writes

    # a customer changed their email since: backfilling again makes the new address primary and
    # retires the old one (Zendesk itself would keep the old one primary)
    requests.post(f"{stack.omneo}/_sandbox/profiles/bulk", timeout=10, json={
        "profiles": [{"id": "bf-00007", "email": "bf-7-new@example.com"}]}).raise_for_status()
    again = cli(stack, "backfill", env={"OMNEO_REQUESTS_PER_MINUTE": "100000"})
    assert again.returncode == 0, again.stderr
    user = stack.zendesk_user("bf-00007")
    r = requests.get(f"{stack.zendesk}/api/v2/users/{user['id']}/identities", timeout=5,
                     auth=stack.zendesk_auth)
    assert user["email"] == "bf-7-new@example.com"
    assert [i["value"] for i in r.json()["identities"] if i["type"] == "email"] == ["bf-7-new@example.com"]
    assert "1000 updated" in again.stdout and "1 changed emails made primary" in again.stdout


def test_two_beats_make_one_reconciliation_an_interval(stack):
    """Two `omneo-zendesk beat` processes (a deployment that runs one too many) both send the
    reconciliation when it falls due; the task's own lease lets one of them run."""
    from integration.sandbox.devstack import Process

    env = {**stack.env, "RECONCILE_INTERVAL_SECONDS": "10"}
    seen = len(stack.worker_log())

    def reconcile_outcomes() -> list[str]:
        out = []
        for line in stack.worker_log()[seen:].splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("message") == "job done" and record.get("task") == "omneo_zendesk.reconcile":
                    out.append(record.get("outcome"))
        return out

    beats = [Process(f"beat-{n}", cli_argv("beat", "--schedule-file",
                                           str(stack.dev.log_dir / f"beat-{n}-schedule")),
                     env, stack.dev.log_dir).start() for n in (1, 2)]
    try:
        for beat in beats:
            beat.wait_for_log("beat: Starting", 60)
        outcomes = stack.wait(lambda: len(reconcile_outcomes()) >= 2 and reconcile_outcomes(), 60,
                              what="both beats' reconciliations")
    finally:
        for beat in beats:
            beat.stop()
    assert sorted(outcomes[:2]) == ["done", "skipped"]
    assert stack.redis.llen("oz:reconcile:runs") == 1
    # let every reconciliation the beats sent finish here, not during a later test
    sent = sum(b.log().count("Sending due task reconcile") for b in beats)
    assert sent >= 2
    stack.wait(lambda: len(reconcile_outcomes()) >= sent, 60, what="the beats' last jobs")
    assert reconcile_outcomes().count("done") == 1


def test_adoption_after_redis_was_replaced_writes_nothing_and_restores_the_marks(stack):
    from integration.store import keys

    r = requests.post(f"{stack.omneo}/_sandbox/profiles/bulk", json={"count": 250, "prefix": "ad-"}, timeout=30)
    assert r.status_code == 201
    env = {"OMNEO_REQUESTS_PER_MINUTE": "100000"}
    assert cli(stack, "backfill", env=env).returncode == 0
    # Redis replaced (or an earlier integration made the links): users and identities stay, marks go
    for key in stack.redis.scan_iter(match=keys.synced_marks(0).rsplit(":", 1)[0] + ":*"):
        stack.redis.delete(key)
    assert stack.synced_mark("ad-00100") is None
    requests.post(f"{stack.omneo}/_sandbox/profiles/bulk", timeout=10, json={
        "profiles": [{"id": "ad-00007", "first_name": "Changed"}]}).raise_for_status()
    zwrites, owrites, zcalls = (stack.stats("zendesk")["writes"], stack.stats("omneo")["writes"],
                                stack.stats("zendesk")["calls"])

    adopted = cli(stack, "backfill", "--adopt", env=env)

    assert adopted.returncode == 0, adopted.stderr
    assert "249 marked as in step, 1 out of step" in adopted.stdout
    assert stack.stats("zendesk")["writes"] == zwrites and stack.stats("omneo")["writes"] == owrites
    assert stack.stats("zendesk")["calls"] - zcalls == 3  # one show_many a page of 100
    assert stack.synced_mark("ad-00100")["zendesk_user_id"] == str(stack.zendesk_user("ad-00100")["id"])
    assert stack.synced_mark("ad-00007") is None
    # a webhook about an adopted, unchanged profile writes nothing
    r = stack.post_omneo("profile.updated", stack.profile("ad-00100"))
    assert stack.wait(lambda: stack.job_outcome(r.json()["job_id"]), 30, what="the sync job") == "unchanged"
    assert stack.stats("zendesk")["writes"] == zwrites
