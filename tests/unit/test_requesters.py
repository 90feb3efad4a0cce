"""The one requester resolver: external_id, then identity, then a single email match; live only."""
import pytest

from integration import interactions
from integration.profiles import requesters
from integration.sidebar import view
from tests.helpers import add_user, put
from integration.sidebar.requester import from_zendesk


def linked_to(user_id):
    return [{"handle": "zendesk", "identifier": str(user_id), "is_active": True}]


def found(resolution):
    return (resolution.profile and resolution.profile["id"], resolution.how, resolution.reason)


def test_external_id_comes_first(ctx, omneo_sandbox):
    put(omneo_sandbox, id="p-ext")
    put(omneo_sandbox, id="p-id", identities=linked_to(7))
    put(omneo_sandbox, id="p-mail", email="a@example.com")
    assert found(requesters.resolve(ctx, "7", "a@example.com", " p-ext ")) == ("p-ext", "external_id", None)


@pytest.mark.parametrize("gone", ["deleted", "merged"])
def test_an_external_id_naming_a_gone_profile_falls_through_to_the_identity(ctx, omneo_sandbox, gone):
    put(omneo_sandbox, id="p-old", profile_type=gone)
    put(omneo_sandbox, id="p-id", identities=linked_to(7))
    assert found(requesters.resolve(ctx, "7", None, "p-old")) == ("p-id", "identity", None)
    assert found(requesters.resolve(ctx, "7", None, "p-nowhere")) == ("p-id", "identity", None)


def test_without_an_external_id_the_identity_comes_before_the_email(ctx, omneo_sandbox):
    put(omneo_sandbox, id="p-mail", email="b@example.com")
    put(omneo_sandbox, id="p-id", identities=linked_to(8))
    assert found(requesters.resolve(ctx, "8", "b@example.com")) == ("p-id", "identity", None)


@pytest.mark.parametrize("gone", ["deleted", "merged"])
def test_a_gone_profile_is_never_the_answer(ctx, omneo_sandbox, gone):
    put(omneo_sandbox, id="p-gone", email="c@example.com", identities=linked_to(9),
                profile_type=gone)
    assert requesters.linked_profile(ctx, "9") is None
    assert found(requesters.resolve(ctx, "9", "c@example.com")) == (None, None, requesters.NO_PROFILE)
    put(omneo_sandbox, id="p-live", email="c@example.com")
    assert found(requesters.resolve(ctx, "9", "c@example.com")) == ("p-live", "email", None)


def test_email_matches_one_profile_or_none(ctx, omneo_sandbox):
    put(omneo_sandbox, id="p-1", email="twin@example.com")
    assert found(requesters.resolve(ctx, "10", "TWIN@example.com")) == ("p-1", "email", None)
    put(omneo_sandbox, id="p-2", email="twin@example.com")
    assert found(requesters.resolve(ctx, "10", "twin@example.com")) == (None, None,
                                                                       requesters.SEVERAL_BY_EMAIL)
    assert found(requesters.resolve(ctx, "10", "nobody@example.com")) == (None, None, requesters.NO_PROFILE)
    assert found(requesters.resolve(ctx, "10", None)) == (None, None, requesters.NO_PROFILE)


def test_ticket_events_and_the_sidebar_both_resolve_through_it(ctx, omneo_sandbox, zendesk_sandbox,
                                                                monkeypatch):
    calls = []
    real = requesters.resolve

    def spy(ctx_, user_id, email, external_id=None):
        calls.append((user_id, email, external_id))
        return real(ctx_, user_id, email, external_id)

    monkeypatch.setattr(requesters, "resolve", spy)
    user = add_user(zendesk_sandbox, email="d@example.com", external_id="p-d")
    put(omneo_sandbox, id="p-d", email="d@example.com")
    assert interactions.resolve_requester(ctx, str(user["id"])).how == "external_id"
    requester = from_zendesk(ctx, str(user["id"]))
    assert view.requester_view(ctx, requester)["found"] is True
    # both with what Zendesk says of the user: its email and its external_id
    assert calls == [(str(user["id"]), "d@example.com", "p-d")] * 2
