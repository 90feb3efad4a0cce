"""Hostile input, class 1 (ids that walk paths): every public method of both API clients, called
with hostile ids against a recording HTTP stub, never sends a request off its route; an id in an
API's answer that does not fit is a permanent error, so the job dead-letters with the reason."""
from __future__ import annotations

import inspect
import json
import re
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import responses

from integration.apis.http import ApiClient
from integration.apis.omneo import OmneoClient
from integration.errors import PermanentError
from integration.apis.zendesk import ZendeskClient
from integration import retry
from tests.helpers import HOSTILE_IDS, Tally

ZENDESK_BASE, OMNEO_BASE = "https://acme.zendesk.com", "https://api.acme.getomneo.com/api/v3"
ID = "{id}"
# An answer every method can read what it wants from.
ANSWER = {"user": {"id": 1}, "users": [], "job_status": {"id": "j"}, "job_statuses": [],
          "identities": [], "user_fields": [], "user_field": {}, "ticket": {"id": 1},
          "webhooks": [], "webhook": {"id": "w"}, "signing_secret": {"secret": "s"}, "token": {"id": 1}, "tickets": [], "ticket_events": [],
          "data": [], "meta": {}, "end_of_stream": True}

# method -> (HTTP method, route with {id} for each id segment, calls: each way of putting a value
# into one of the method's ids). Ids in a query string's comma-separated list count as part of the
# route: the calls always pass two, so a list of any other length left its route.
G = "GET"
ZENDESK_ROUTES = {
    "create_or_update_user": ("POST", "/api/v2/users/create_or_update", []),
    "create_or_update_many": ("POST", "/api/v2/users/create_or_update_many", []),
    "get_user": (G, "/api/v2/users/{id}", [lambda c, v: c.get_user(v)]),
    "find_user": (G, "/api/v2/users/{id}", [lambda c, v: c.find_user(v)]),
    "update_user": ("PUT", "/api/v2/users/{id}", [lambda c, v: c.update_user(v, {"name": "x"})]),
    "find_user_by_external_id": (G, "/api/v2/users/search", [lambda c, v: c.find_user_by_external_id(v)]),
    "find_users_by_email": (G, "/api/v2/users/search", []),
    "search_users_by_email": (G, "/api/v2/users/search", []),
    "show_many": (G, "/api/v2/users/show_many", [lambda c, v: c.show_many(ids=["1", v]),
                                                 lambda c, v: c.show_many(external_ids=["p-1", v])]),
    "delete_user": ("DELETE", "/api/v2/users/{id}", [lambda c, v: c.delete_user(v)]),
    "delete_user_permanently": ("DELETE", "/api/v2/deleted_users/{id}",
                                [lambda c, v: c.delete_user_permanently(v)]),
    "merge_users": ("PUT", "/api/v2/users/{id}/merge", [lambda c, v: c.merge_users(v, "2"),
                                                        lambda c, v: c.merge_users("1", v)]),
    "list_identities": (G, "/api/v2/users/{id}/identities", [lambda c, v: c.list_identities(v)]),
    "make_identity_primary": ("PUT", "/api/v2/users/{id}/identities/{id}/make_primary",
                              [lambda c, v: c.make_identity_primary(v, "2"),
                               lambda c, v: c.make_identity_primary("1", v)]),
    "delete_identity": ("DELETE", "/api/v2/users/{id}/identities/{id}",
                        [lambda c, v: c.delete_identity(v, "2"), lambda c, v: c.delete_identity("1", v)]),
    "list_user_fields": (G, "/api/v2/user_fields", []),
    "create_user_field": ("POST", "/api/v2/user_fields", []),
    "iter_users_since": (G, "/api/v2/incremental/users/cursor",
                         [lambda c, v: list(c.iter_users_since(cursor=v))]),
    "get_job_statuses": (G, "/api/v2/job_statuses/show_many", [lambda c, v: c.get_job_statuses(["j", v])]),
    "get_ticket": (G, "/api/v2/tickets/{id}", [lambda c, v: c.get_ticket(v)]),
    "add_internal_note": ("PUT", "/api/v2/tickets/{id}", [lambda c, v: c.add_internal_note(v, "n")]),
    "requested_tickets": (G, "/api/v2/users/{id}/tickets/requested",
                          [lambda c, v: list(c.requested_tickets(v))]),
    "delete_tickets": ("DELETE", "/api/v2/tickets/destroy_many", [lambda c, v: c.delete_tickets(["1", v])]),
    "delete_tickets_permanently": ("DELETE", "/api/v2/deleted_tickets/destroy_many",
                                   [lambda c, v: c.delete_tickets_permanently(["1", v])]),
    "show_many_tickets": (G, "/api/v2/tickets/show_many", [lambda c, v: c.show_many_tickets(["1", v])]),
    "iter_ticket_events": (G, "/api/v2/incremental/ticket_events", []),
    "list_webhooks": (G, "/api/v2/webhooks", []),
    "create_webhook": ("POST", "/api/v2/webhooks", []),
    "update_webhook": ("PATCH", "/api/v2/webhooks/{id}", [lambda c, v: c.update_webhook(v, {})]),
    "delete_webhook": ("DELETE", "/api/v2/webhooks/{id}", [lambda c, v: c.delete_webhook(v)]),
    "current_token": (G, "/api/v2/oauth/tokens/current", []),
    "get_webhook_signing_secret": (G, "/api/v2/webhooks/{id}/signing_secret",
                                   [lambda c, v: c.get_webhook_signing_secret(v)]),
}
OMNEO_ROUTES = {
    "get_profile": (G, "/api/v3/profiles/{id}", [lambda c, v: c.get_profile(v)]),
    "find_profile": (G, "/api/v3/profiles/{id}", [lambda c, v: c.find_profile(v)]),
    "find_profiles_by_email": (G, "/api/v3/profiles", []),
    "search_profile_by_identity": ("POST", "/api/v3/profiles/search-id",
                                   [lambda c, v: c.search_profile_by_identity("zendesk", v)]),
    "profiles_page": (G, "/api/v3/profiles", [lambda c, v: c.profiles_page(ids=["p-1", v]),
                                              lambda c, v: c.profiles_page(after_id=v)]),
    "find_profiles": (G, "/api/v3/profiles", [lambda c, v: c.find_profiles(["p-1", v])]),
    "list_identities": (G, "/api/v3/profiles/{id}/identities", [lambda c, v: c.list_identities(v)]),
    "add_identity": ("POST", "/api/v3/profiles/{id}/identities",
                     [lambda c, v: c.add_identity(v, "zendesk", "1")]),
    "update_identity": ("PUT", "/api/v3/profiles/{id}/identities/{id}",
                        [lambda c, v: c.update_identity(v, "zendesk", "1"),
                         lambda c, v: c.update_identity("p-1", v, "1")]),
    "delete_identity": ("DELETE", "/api/v3/profiles/{id}/identities/{id}",
                        [lambda c, v: c.delete_identity(v, "zendesk"),
                         lambda c, v: c.delete_identity("p-1", v)]),
    "delete_identity_by_id": ("DELETE", "/api/v3/profiles/{id}/identities/id/{id}",
                              [lambda c, v: c.delete_identity_by_id(v, "i-1"),
                               lambda c, v: c.delete_identity_by_id("p-1", v)]),
    "create_interaction": ("POST", "/api/v3/interactions", []),
    "list_profile_interactions": (G, "/api/v3/profiles/{id}/interactions",
                                  [lambda c, v: c.list_profile_interactions(v)]),
    "get_balances": (G, "/api/v3/profiles/{id}/balances", [lambda c, v: c.get_balances(v)]),
    "list_benefits": (G, "/api/v3/profiles/{id}/benefits", [lambda c, v: c.list_benefits(v)]),
    "list_profile_rewards": (G, "/api/v3/profiles/{id}/rewards", [lambda c, v: c.list_profile_rewards(v)]),
    "list_claimable_benefits": (G, "/api/v3/profiles/{id}/benefits/claimable",
                                [lambda c, v: c.list_claimable_benefits(v)]),
    "claim_benefit": ("POST", "/api/v3/profiles/{id}/benefits/claim",
                      [lambda c, v: c.claim_benefit(v, {"definition": "d"})]),
    "create_reward": ("POST", "/api/v3/rewards", []),
    "find_tier_progress": (G, "/api/v3/profiles/{id}/tiers", [lambda c, v: c.find_tier_progress(v)]),
    "list_transactions": (G, "/api/v3/profiles/{id}/transactions", [lambda c, v: c.list_transactions(v)]),
    "list_webhooks": (G, "/api/v3/webhooks", []),
    "create_webhook": ("POST", "/api/v3/webhooks", []),
    "update_webhook": ("PUT", "/api/v3/webhooks/{id}", [lambda c, v: c.update_webhook(v, {})]),
}
# how each method is called with good ids, to show the route table matches what the clients call
GOOD_CALLS = {
    "create_or_update_user": lambda c: c.create_or_update_user({"email": "a@example.com"}),
    "create_or_update_many": lambda c: c.create_or_update_many([]),
    "find_users_by_email": lambda c: c.find_users_by_email("a@example.com"),
    "search_users_by_email": lambda c: c.search_users_by_email("a@example.com"),
    "list_user_fields": lambda c: c.list_user_fields(),
    "create_user_field": lambda c: c.create_user_field("k", "t"),
    "list_webhooks": lambda c: c.list_webhooks(),
    "current_token": lambda c: c.current_token(),
    "iter_ticket_events": lambda c: list(c.iter_ticket_events(0)),
    "create_webhook": lambda c: c.create_webhook({}),
    "find_profiles_by_email": lambda c: c.find_profiles_by_email("a@example.com"),
    "create_interaction": lambda c: c.create_interaction({}),
    "create_reward": lambda c: c.create_reward({}),
}
COMMA_LISTS = ("ids", "external_ids", "filter[id][in]")
LIST_ITEMS = 2


def public_methods(cls) -> set[str]:
    base = set(dir(ApiClient))
    return {n for n, f in inspect.getmembers(cls, inspect.isfunction)
            if not n.startswith("_") and n not in base}


def on_route(route: str, method: str, sent: tuple[str, str]) -> bool:
    """The request went where the method's route says, and its id segments and id lists carry
    exactly the ids given, no more (no dot segment, no extra segment, no extra list item)."""
    verb, url = sent
    parts = urlsplit(url)
    pattern = "^" + re.escape(route).replace(re.escape(ID), "([^/?#]+)") + "$"
    match = re.match(pattern, parts.path)
    if verb != method or match is None:
        return False
    for segment in match.groups():
        if unquote(segment) in (".", "..") or segment.lower().replace("%2e", ".") in (".", ".."):
            return False
    query = parse_qs(parts.query)
    for name in COMMA_LISTS:
        for value in query.get(name, []):
            if len(value.split(",")) != LIST_ITEMS:
                return False
    return True


@pytest.fixture
def recorder():
    """Every request the clients send, as (method, URL); each is answered 200 with ANSWER."""
    sent: list[tuple[str, str]] = []

    def answer(request):
        sent.append((request.method, request.url))
        return 200, {"Content-Type": "application/json"}, json.dumps(ANSWER)

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for verb in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            mock.add_callback(verb, re.compile(".*"), callback=answer)
        yield sent


def clients():
    return [(ZendeskClient(ZENDESK_BASE, email="a@example.com", api_token="t"), ZENDESK_ROUTES),
            (OmneoClient(OMNEO_BASE, token="t"), OMNEO_ROUTES)]


def test_the_route_table_covers_every_public_client_method():
    assert public_methods(ZendeskClient) == set(ZENDESK_ROUTES)
    assert public_methods(OmneoClient) == set(OMNEO_ROUTES)


def test_good_ids_reach_their_route(recorder):
    for client, routes in clients():
        for name, (method, route, calls) in routes.items():
            recorder.clear()
            if calls:
                calls[0](client, "12")
            else:
                GOOD_CALLS[name](client)
            assert recorder and all(on_route(route, method, s) for s in recorder), (name, recorder)


def test_no_hostile_id_makes_any_client_method_leave_its_route(recorder):
    tally = Tally("class 1: ids that walk paths, every client method")
    for client, routes in clients():
        for name, (method, route, calls) in routes.items():
            for call in calls:
                for value in HOSTILE_IDS:
                    recorder.clear()
                    try:
                        call(client, value)
                        outcome = "called"
                    except PermanentError:  # paths.BadId
                        outcome = "refused"
                    except Exception as exc:  # anything else is a bug of its own
                        outcome = type(exc).__name__
                    tally.saw(outcome)
                    for sent in recorder:
                        if not on_route(route, method, sent):
                            tally.off_route.append((name, repr(value), sent))
    tally.check()
    assert set(tally.statuses) <= {"refused", "called"}, tally.statuses


def test_a_hostile_id_in_an_api_answer_dead_letters_with_the_reason(ctx, zendesk_sandbox, settings):
    """A ticket Zendesk answers with a requester id that would walk the path: the interaction job
    makes no call with it and fails permanently, which the policy sends to the dead-letter store."""
    from integration.interactions import record_ticket_event

    tally = Tally("class 1: hostile ids in API answers")
    for value in ("1/../../tickets", "..", "a?b=c", "a#b", "\ud800"):
        with zendesk_sandbox.lock:
            zendesk_sandbox.tickets[900] = {"id": 900, "requester_id": value, "subject": "s",
                                            "status": "new"}
        job = {"event_id": f"e-{len(value)}-{tally.tried}", "ticket_id": "900", "kind": "created",
               "type": "zen:event-type:ticket.created", "time": "2026-11-27T10:00:00Z",
               "requester_id": None, "subject": None}
        before = len(zendesk_sandbox.call_log)
        with pytest.raises(PermanentError) as raised:
            record_ticket_event(ctx, job)
        decision = retry.decide(raised.value, 0, 0, settings)
        tally.saw(decision.action)
        assert decision.action == "dead_letter" and decision.reason == "permanent error"
        assert "malformed Zendesk user id" in retry.describe(raised.value)["message"]
        tally.off_route += [c for c in list(zendesk_sandbox.call_log)[before:]
                            if c["path"] != "/api/v2/tickets/900"]
    tally.check()
