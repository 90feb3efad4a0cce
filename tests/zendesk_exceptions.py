"""Where Zendesk's OpenAPI description is silent or wrong and Zendesk's documentation says
otherwise: every exception the conformance check (tests/zendesk_conformance.py) makes, each with
the doc it comes from. This is the one place they are listed.

An entry names a method and path template ("*": every call) and what it changes: `nullable`
(properties Zendesk answers with null), `one_of_as_any_of`, `query` (parameters every list
takes), `as` (validate a path the description lacks as a documented operation of the same
shape), `path_values` (a documented word where the description wants a number),
`request_schema` / `response_schema` (replace the description's schema), `user_body` (hold the
user sent against a user schema's own attribute types), `cursor_pages` (a query parameter the
description requires that the pages after the first leave out, giving `cursor` instead).

Answers a test forges on purpose (a stand-in record with ids Zendesk never sends, to prove the
product survives them; the sandbox tags them `X-Sandbox-Forged`) are counted, not validated.
"""
from __future__ import annotations

_INCREMENTAL_TICKET_EVENTS = {
    "type": "object", "required": ["ticket_events", "end_of_stream"],
    "properties": {
        "ticket_events": {"type": "array", "items": {
            "type": "object", "required": ["id", "ticket_id", "timestamp", "child_events"],
            "properties": {"id": {"type": "integer"}, "ticket_id": {"type": "integer"},
                           "timestamp": {"type": "integer"}, "created_at": {"type": "string"},
                           "updater_id": {"type": ["integer", "null"]},
                           "event_type": {"type": "string"},
                           "child_events": {"type": "array", "items": {"type": "object"}}}}},
        "end_time": {"type": ["integer", "null"]}, "end_of_stream": {"type": "boolean"},
        "next_page": {"type": ["string", "null"]}, "count": {"type": "integer"}}}
_CLIENT_CREDENTIALS_GRANT = {
    "type": "object", "required": ["grant_type", "client_id", "client_secret"],
    "properties": {
        "grant_type": {"enum": ["authorization_code", "refresh_token", "client_credentials"]},
        "client_id": {"type": "string"}, "client_secret": {"type": "string"},
        "scope": {"type": "string"}, "expires_in": {"type": "integer", "minimum": 300, "maximum": 172800},
        "refresh_token": {"type": "string"}, "code": {"type": "string"},
        "redirect_uri": {"type": "string"}, "refresh_token_expires_in": {"type": "integer"}}}
_TOKEN_ANSWER = {"type": "object", "required": ["access_token", "token_type"],
                 "properties": {"access_token": {"type": "string"}, "token_type": {"enum": ["bearer"]},
                                "scope": {"type": "string"}, "expires_in": {"type": ["integer", "null"]},
                                "refresh_token": {"type": ["string", "null"]}}}
PAGINATION = ("page", "per_page", "page[size]", "page[after]", "page[before]", "sort_by",
              "sort_order", "sort", "include")
# properties Zendesk answers with null though the description types them without `nullable`
NULLABLE = {"UserForAdmin": ("email", "phone"), "UserForEndUser": ("email", "phone"),
            "DeletedUserObject": ("email", "organization_id"),
            "TicketObject": ("assignee_id", "priority", "type", "satisfaction_rating", "organization_id"),
            "OauthTokenObject": ("refresh_token",)}
EXCEPTIONS = [
    {"method": "*", "path": "*", "nullable": NULLABLE,
     "what": "null for a user with no email or phone (a WhatsApp or mobile-only customer), a ticket "
             "with no assignee, priority, type, rating or organization, a token with no refresh token",
     "doc": "Zendesk API reference, Users and Tickets JSON format (these attributes are optional; the "
            "examples show null), and 'OAuth Tokens for Grant Types' (the client credentials grant "
            "issues no refresh token)"},
    {"method": "*", "path": "*", "one_of_as_any_of": True,
     "what": "oneOf read as anyOf: a job status result {id, action, status, success} fits both the "
             "description's create and update result schemas, which are not exclusive",
     "doc": "Zendesk API reference, Job Statuses, 'Show Job Status' (results of a create_or_update_many)"},
    {"method": "*", "path": "*", "what": "security: OAuth bearer tokens as well as basic auth",
     "doc": "Zendesk developer docs, 'Creating and using OAuth access tokens with the API' "
            "('Authorization: Bearer {access_token}')"},
    {"method": "*", "path": "*", "query": PAGINATION,
     "what": "cursor and offset pagination and sideload parameters on every list endpoint",
     "doc": "Zendesk developer docs, 'Pagination' (page[size], page[after], per_page, page) and "
            "'Sideloading related records' (include)"},
    {"method": "GET", "path": "/api/v2/users/{user_id}/tickets/requested", "as": "/api/v2/tickets",
     "what": "the description lacks the requested-tickets listing; its answer has the tickets list's shape",
     "doc": "Zendesk API reference, Tickets, 'List Tickets' (GET /api/v2/users/{user_id}/tickets/requested)"},
    {"method": "POST", "path": "/oauth/tokens", "request_schema": _CLIENT_CREDENTIALS_GRANT,
     "response_schema": _TOKEN_ANSWER, "statuses": (200, 201),
     "what": "the description knows only the authorization-code and refresh-token grants (no body schema)",
     "doc": "Zendesk API reference, 'OAuth Tokens for Grant Types' (client_credentials grant: "
            "client_id, client_secret, scope, expires_in 300 to 172,800 seconds)"},
    {"method": "GET", "path": "/api/v2/oauth/tokens/{oauth_token_id}", "path_values": {"oauth_token_id": "current"},
     "what": "`current` names the token in use",
     "doc": "Zendesk API reference, OAuth Tokens, 'Show Token' (GET /api/v2/oauth/tokens/current)"},
    {"method": "POST", "path": "/api/v2/users/create_or_update", "user_body": "UserForAdmin",
     "what": "the description's request schema (UserInput) is anyOf a create input that requires an "
             "email and merge inputs that take anything; the user is held against the user object's "
             "own attribute types instead (name required, email optional)",
     "doc": "Zendesk API reference, Users, 'Create Or Update User' and the Users JSON format (only "
            "name is required; an end user may have no email)"},
    {"method": "PUT", "path": "/api/v2/users/{user_id}", "user_body": "UserForAdmin", "optional_name": True,
     "what": "as for create_or_update: the user's attributes held against their types",
     "doc": "Zendesk API reference, Users, 'Update User' and the Users JSON format"},
    {"method": "POST", "path": "/api/v2/users/create_or_update_many", "user_body": "UserForAdmin", "many": True,
     "what": "as for create_or_update, each of `users` (at most 100)",
     "doc": "Zendesk API reference, Users, 'Create Or Update Many Users' (accepts up to 100 users)"},
    {"method": "PUT", "path": "/api/v2/users/{user_id}/merge", "user_body": "UserMergeByIdInput", "require": ["id"],
     "what": "a merge names the target by `user.id` (an integer), which the description's anyOf does "
             "not require",
     "doc": "Zendesk API reference, Users, 'Merge End Users' ({\"user\": {\"id\": <target>}})"},
    {"method": "GET", "path": "/api/v2/incremental/users/cursor", "cursor_pages": "start_time",
     "what": "the first request gives start_time, the next pages only the cursor",
     "doc": "Zendesk developer docs, 'Using the Incremental Exports API', 'Incremental export "
            "workflow' (a start time is a one-time requirement) and 'Cursor-based incremental exports'"},
    {"method": "GET", "path": "/api/v2/incremental/ticket_events", "response_schema": _INCREMENTAL_TICKET_EVENTS,
     "what": "the description's answer schema is the ticket metric events' one",
     "doc": "Zendesk developer docs, 'Using the Incremental Exports API', 'Exporting ticket events'"},
]
