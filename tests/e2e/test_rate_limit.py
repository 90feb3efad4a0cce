"""The shared rate limiter across processes: two workers, one Zendesk budget of 120 calls a minute.

One of the slow tests of the suite (over a minute): Zendesk counts its limit over a minute, so
only more calls than a minute's budget show the budget shared; 140 profiles cannot sync faster
than it allows, and that is the point."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import Stack, start_stack

pytestmark = pytest.mark.e2e

BUDGET = 120
PROFILES = 140


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    dev = start_stack(tmp_path_factory.mktemp("rate-stack"), workers=2, concurrency=2,
                      zendesk_rate=BUDGET,
                      extra_env={"ZENDESK_REQUESTS_PER_MINUTE": str(BUDGET),
                                 "BULK_SYNC_THRESHOLD": "0"})  # the single path shares the budget
    try:
        yield Stack(dev)
    finally:
        dev.stop()


def test_two_workers_share_one_budget_and_rarely_meet_a_429(limited):
    stack = limited
    stack.reset()
    stack.configure("zendesk", rate_per_minute=BUDGET)
    ids = [f"p-rl-{n:03d}" for n in range(PROFILES)]
    for pid in ids:
        profile = stack.put_profile(id=pid, first_name="Rate", last_name=pid, email=f"{pid}@example.com")
        assert stack.post_omneo("profile.created", profile).status_code == 202

    def arrived():
        have = {u.get("external_id") for u in stack.zendesk_users()}
        return have.issuperset(ids)

    stack.wait(arrived, 240, what=f"all {PROFILES} users")
    stats = stack.stats()
    assert stats["calls"] >= PROFILES
    assert stats.get("rate_limited", 0) < 0.05 * stats["calls"], stats
    # both worker processes did the work, so the budget was shared, not one worker's alone
    done_by = {p.name for p in stack.dev.processes if p.name.startswith("worker")
               and '"message": "job done"' in p.log()}
    assert done_by == {"worker", "worker-2"}
    print(f"\n{PROFILES} profiles, {stats['calls']} Zendesk calls, "
          f"{stats.get('rate_limited', 0)} met a 429")
