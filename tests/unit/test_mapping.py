from integration.profiles import mapping

PROFILE = {"id": "p1", "first_name": "Ada", "last_name": "Lovelace", "email": " ada@example.com ",
           "mobile_phone": "0400 000 001", "mobile_phone_e164": "+61400000001",
           "tier": {"handle": "gold", "name": "Gold"},
           "identities": [{"handle": "zendesk", "identifier": "77", "is_active": True},
                          {"handle": "shopify", "identifier": "s1"}]}


def test_all_attributes_map_to_a_zendesk_end_user():
    user = mapping.zendesk_user(PROFILE, ("name", "email", "mobile", "tier"))
    assert user == {"external_id": "p1", "role": "end-user", "name": "Ada Lovelace",
                    "email": "ada@example.com", "phone": "+61400000001",
                    "user_fields": {"omneo_tier": "gold"}, "tags": ["omneo_tier_gold"]}


def test_only_configured_attributes_are_sent():
    user = mapping.zendesk_user(PROFILE, ("email",))
    assert set(user) == {"external_id", "role", "email", "name"}
    assert user["name"] == "Omneo customer p1"  # Zendesk requires a name; no personal name sent


def test_fingerprint_changes_with_content_only():
    a = mapping.zendesk_user(PROFILE, ("name", "email"))
    b = mapping.zendesk_user(dict(PROFILE, last_name="King"), ("name", "email"))
    assert mapping.fingerprint(a) == mapping.fingerprint(dict(reversed(list(a.items()))))
    assert mapping.fingerprint(a) != mapping.fingerprint(b)


def test_identity_of_reads_our_handle():
    assert mapping.identity_of(PROFILE, "zendesk") == ["77"]
    assert mapping.identity_of(PROFILE, "other") == []


def test_drift_names_changed_attributes():
    user = mapping.zendesk_user(PROFILE, ("name", "email", "tier"))
    theirs = {"name": "Ada L", "email": "ADA@example.com", "user_fields": {"omneo_tier": "silver"}}
    assert mapping.drifted(user, theirs) == ["name", "tier"]
