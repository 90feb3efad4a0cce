"""The sidebar's action forms, checked against the settings before anything is stored.

An agent may act when their Zendesk role (`admin`, `agent`) or custom role id is in
SIDEBAR_ACTION_ROLES. A goodwill reward names a definition in SIDEBAR_REWARD_DEFINITIONS, a value
up to SIDEBAR_REWARD_MAX_VALUE and an expiry; a benefit claim names a benefit definition (whether
Omneo lets this customer claim it is asked of Omneo: integration/agent_actions/benefits.py). Both
carry a reason from SIDEBAR_ACTION_REASONS, an optional note and the page's idempotency key.
`Refusal` (a 4xx) names the first problem.
"""
from __future__ import annotations

from dataclasses import dataclass

from integration.apis.zaf_auth import Agent

NOTE_MAX = 500
EXPIRY_DAYS_MAX = 730
REWARD, CLAIM = "goodwill_reward", "benefit_claim"


class Refusal(Exception):
    """The request is refused; `status` is the HTTP status to answer, the text says why."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code = status, code


@dataclass(frozen=True)
class RewardRequest:
    definition_id: str
    value: float
    expiry_days: int
    reason: str
    note: str
    idempotency_key: str
    kind = REWARD

    def fingerprint(self) -> str:
        return f"{self.definition_id}|{self.value:.2f}|{self.expiry_days}|{self.reason}"

    def fields(self) -> dict:
        return {"reward_definition_id": self.definition_id, "value": self.value,
                "expiry_days": self.expiry_days}


@dataclass(frozen=True)
class ClaimRequest:
    benefit_definition_id: str
    reason: str
    note: str
    idempotency_key: str
    kind = CLAIM
    value = 1  # what a claim counts against the agent's day: one of SIDEBAR_AGENT_DAILY_CLAIMS

    def fingerprint(self) -> str:
        return f"claim|{self.benefit_definition_id}|{self.reason}"

    def fields(self) -> dict:
        return {"benefit_definition_id": self.benefit_definition_id}


def may_act(settings, agent: Agent) -> bool:
    allowed = set(settings.sidebar_action_roles)
    return (agent.role in ("admin", "agent") and agent.role in allowed) or \
        (agent.custom_role_id is not None and str(agent.custom_role_id) in allowed)


def _common(settings, body) -> tuple[str, str, str]:
    """The idempotency key, reason and note every form carries."""
    if not isinstance(body, dict):
        raise Refusal(400, "bad_request", "a JSON object is required")
    key = str(body.get("idempotency_key") or "").strip()
    if not (8 <= len(key) <= 64) or not key.replace("-", "").isalnum():
        raise Refusal(400, "bad_request", "idempotency_key: 8 to 64 letters, digits or dashes")
    reason = str(body.get("reason") or "")
    if reason not in settings.sidebar_action_reasons:
        raise Refusal(422, "reason_not_allowed", "pick one of the reasons offered")
    note = body.get("note") or ""
    if not isinstance(note, str) or len(note) > NOTE_MAX:
        raise Refusal(400, "bad_request", f"note: text of at most {NOTE_MAX} characters")
    return key, reason, note.strip()


def parse_reward(settings, body) -> RewardRequest:
    """The goodwill reward form's fields."""
    key, reason, note = _common(settings, body)
    definition = str(body.get("reward_definition_id") or "").strip()
    if definition not in (settings.sidebar_reward_definitions or ()):
        raise Refusal(422, "definition_not_allowed", "this reward definition is not one agents may issue")
    value = body.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or value != value:
        raise Refusal(400, "bad_request", "value: a positive amount")
    if value > settings.sidebar_reward_max_value:
        raise Refusal(422, "over_action_cap",
                      f"a reward may be worth at most {settings.sidebar_reward_max_value:g}")
    days = body.get("expiry_days")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= EXPIRY_DAYS_MAX:
        raise Refusal(400, "bad_request", f"expiry_days: a whole number from 1 to {EXPIRY_DAYS_MAX}")
    return RewardRequest(definition, round(float(value), 2), days, reason, note, key)


def parse_claim(settings, benefit_definition_id: str, body) -> ClaimRequest:
    """The benefit claim form's fields; the benefit definition comes from the URL."""
    benefit = str(benefit_definition_id or "")
    if not (benefit.isdigit() and len(benefit) <= 20):
        raise Refusal(400, "bad_request", "benefit: an Omneo benefit definition id")
    key, reason, note = _common(settings, body)
    return ClaimRequest(benefit, reason, note, key)
