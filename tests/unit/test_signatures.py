from integration.apis import signatures

ZENDESK_TEST_SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="


def test_omneo_hex_hmac():
    body = b'{"id":"p1"}'
    sig = signatures.omneo_signature("s3cret", body)
    assert signatures.verify_omneo("s3cret", body, sig)
    assert signatures.verify_omneo("s3cret", body, sig.upper())
    assert not signatures.verify_omneo("s3cret", body + b" ", sig)
    assert not signatures.verify_omneo("s3cret", body, None)


def test_zendesk_base64_over_timestamp_and_body_with_skew_limit():
    body, ts = b'{"type":"zen:event-type:ticket.created"}', "2026-11-27T10:00:00Z"
    now = 1795773600.0  # 2026-11-27T10:00:00Z
    sig = signatures.zendesk_signature(ZENDESK_TEST_SECRET, ts, body)
    assert signatures.verify_zendesk(ZENDESK_TEST_SECRET, body, sig, ts, now=now)
    assert signatures.verify_zendesk(ZENDESK_TEST_SECRET, body, sig, ts, now=now + 299)
    assert not signatures.verify_zendesk(ZENDESK_TEST_SECRET, body, sig, ts, now=now + 301)
    assert not signatures.verify_zendesk(ZENDESK_TEST_SECRET, body + b"x", sig, ts, now=now)
    assert not signatures.verify_zendesk(ZENDESK_TEST_SECRET, body, sig, None, now=now)
