"""What user events leave for the next sync expires: the email-change record has a TTL."""
from __future__ import annotations

from integration.profiles import user_changes
from integration.store import keys


def test_the_email_change_record_expires_after_its_newest_change(ctx):
    change = {"event_id": "ev-1", "kind": "created", "time": "2026-11-01T10:00:00Z", "user_id": "42"}
    assert user_changes.record_email_change(ctx, "p-1", change) is True
    assert user_changes.record_email_change(ctx, "p-1", change) is False
    key = keys.zendesk_email_changes("p-1")
    assert 0 < ctx.redis.ttl(key) <= user_changes.EMAIL_CHANGES_SECONDS == 30 * 86400
    ctx.redis.expire(key, 100)
    user_changes.record_email_change(ctx, "p-1", dict(change, event_id="ev-2"))
    assert ctx.redis.ttl(key) > 100  # a newer change keeps the record longer
    assert [c["event_id"] for c in user_changes.pending_email_changes(ctx, "p-1")] == ["ev-1", "ev-2"]
