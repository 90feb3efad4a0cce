"""Goodwill rewards an agent issues from the sidebar: who may, how much, once, and on the record.

`accept` checks a request against the settings (the agent's role or custom role in
SIDEBAR_ACTION_ROLES, a definition in SIDEBAR_REWARD_DEFINITIONS, a value up to
SIDEBAR_REWARD_MAX_VALUE, a reason from SIDEBAR_ACTION_REASONS) and then, in one Redis script,
either finds the action the agent's idempotency key already made or counts the value against the
agent's SIDEBAR_AGENT_DAILY_CAP and stores a new pending action. Over a cap the action is refused
with the reason (there is no approval queue). `run` (a job) issues it: Omneo `POST /rewards`, an
interaction on the customer's timeline naming the ticket and reason, an internal note on the ticket,
then a row in the audit list; each step is remembered on the action, so a retried job redoes none.
Never for an erased customer.
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from integration.store import keys
from integration.wiring import Context
from integration.errors import PermanentError
from integration.interactions import omneo_time
from integration.store.decoding import text
from integration.apis.zaf_auth import Agent

NOTE_MAX = 500
EXPIRY_DAYS_MAX = 730
ACTION_TTL = 90 * 86400
AUDIT_KEPT = 100_000

# KEYS: idempotency key, daily total, action. ARGV: action id, value, cap, record, ttl, fingerprint.
# Returns {"existing", id, fingerprint} | {"over_cap", total so far} | {"new", id}
_ACCEPT = """
local known = redis.call('GET', KEYS[1])
if known then
  local fp = redis.call('HGET', 'oz:action:' .. known, 'fingerprint')
  return {'existing', known, fp or ''}
end
local total = tonumber(redis.call('GET', KEYS[2]) or '0')
if total + tonumber(ARGV[2]) > tonumber(ARGV[3]) + 1e-9 then
  return {'over_cap', tostring(total)}
end
redis.call('INCRBYFLOAT', KEYS[2], ARGV[2])
redis.call('EXPIRE', KEYS[2], 2 * 86400)
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[5])
redis.call('HSET', KEYS[3], 'record', ARGV[4], 'fingerprint', ARGV[6], 'status', 'pending')
redis.call('EXPIRE', KEYS[3], ARGV[5])
return {'new', ARGV[1]}
"""


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

    def fingerprint(self) -> str:
        return f"{self.definition_id}|{self.value:.2f}|{self.expiry_days}|{self.reason}"


def may_act(settings, agent: Agent) -> bool:
    allowed = set(settings.sidebar_action_roles)
    return (agent.role in ("admin", "agent") and agent.role in allowed) or \
        (agent.custom_role_id is not None and str(agent.custom_role_id) in allowed)


def parse_request(settings, body) -> RewardRequest:
    """The form's fields, checked against the settings; Refusal (4xx) names the first problem."""
    if not isinstance(body, dict):
        raise Refusal(400, "bad_request", "a JSON object is required")
    key = str(body.get("idempotency_key") or "").strip()
    if not (8 <= len(key) <= 64) or not key.replace("-", "").isalnum():
        raise Refusal(400, "bad_request", "idempotency_key: 8 to 64 letters, digits or dashes")
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
    reason = str(body.get("reason") or "")
    if reason not in settings.sidebar_action_reasons:
        raise Refusal(422, "reason_not_allowed", "pick one of the reasons offered")
    note = body.get("note") or ""
    if not isinstance(note, str) or len(note) > NOTE_MAX:
        raise Refusal(400, "bad_request", f"note: text of at most {NOTE_MAX} characters")
    return RewardRequest(definition, round(float(value), 2), days, reason, note.strip(), key)


def accept(ctx: Context, agent: Agent, ticket_id: str, requester_id: str, profile_id: str,
           req: RewardRequest, now: float | None = None) -> tuple[str, bool]:
    """The action's id and whether it is new (False: the same key made it before). Refusal when
    the agent's daily cap would be passed, or the key was used for a different request."""
    now = time.time() if now is None else now
    if ctx.state.is_erased(profile_id):
        raise Refusal(409, "erased", "this customer's data was erased")
    day = time.strftime("%Y-%m-%d", time.gmtime(now))
    action_id = uuid.uuid4().hex
    record = {"id": action_id, "kind": "goodwill_reward", "at": int(now), "agent_id": agent.user_id,
              "installation_id": agent.installation_id, "ticket_id": str(ticket_id),
              "requester_id": str(requester_id), "profile_id": str(profile_id),
              "reward_definition_id": req.definition_id, "value": req.value,
              "expiry_days": req.expiry_days, "reason": req.reason, "note": req.note}
    script = ctx.redis.register_script(_ACCEPT)
    answer = script(keys=[keys.agent_action_key(agent.user_id, agent.installation_id, req.idempotency_key),
                          keys.agent_daily_total(agent.user_id, day), keys.agent_action(action_id)],
                    args=[action_id, req.value, ctx.settings.sidebar_agent_daily_cap, json.dumps(record),
                          ACTION_TTL, req.fingerprint()])
    outcome = text(answer[0])
    if outcome == "existing":
        if text(answer[2]) != req.fingerprint():
            raise Refusal(409, "key_reused", "this idempotency key was used for a different request")
        return text(answer[1]), False
    if outcome == "over_cap":
        left = max(0.0, ctx.settings.sidebar_agent_daily_cap - float(text(answer[1])))
        raise Refusal(422, "over_daily_cap", f"over your daily limit: {left:g} left today")
    return action_id, True


def load(ctx: Context, action_id: str) -> dict | None:
    raw = ctx.redis.hgetall(keys.agent_action(action_id))
    if not raw:
        return None
    fields = {text(k): text(v) for k, v in raw.items()}
    action = json.loads(fields["record"])
    action["status"] = fields.get("status", "pending")
    for name in ("reward_id", "interaction_id", "note_added", "failure"):
        if fields.get(name):
            action[name] = fields[name]
    return action


def shown(action: dict) -> dict:
    """What the page (and the audit list) may see of an action: ids, amounts, state."""
    return {k: action.get(k) for k in ("id", "status", "at", "agent_id", "ticket_id", "profile_id",
                                       "reward_definition_id", "value", "reason", "reward_id", "failure")
            if action.get(k) is not None}


def _step(ctx: Context, action_id: str, **fields) -> None:
    ctx.redis.hset(keys.agent_action(action_id), mapping={k: str(v) for k, v in fields.items()})


def _finish(ctx: Context, action: dict, status: str, **fields) -> dict:
    """The last step: the state, the audit row, and the agent's free text dropped."""
    action.update(status=status, **fields)
    record = {k: v for k, v in action.items() if k not in ("status", "reward_id", "interaction_id",
                                                           "note_added", "failure")}
    record["note"] = ""
    pipe = ctx.redis.pipeline()
    if status != "done":  # nothing was issued: the agent's day is given back what it counted
        day = time.strftime("%Y-%m-%d", time.gmtime(action["at"]))
        pipe.incrbyfloat(keys.agent_daily_total(action["agent_id"], day), -action["value"])
    pipe.hset(keys.agent_action(action["id"]), mapping={"status": status, "record": json.dumps(record),
                                                        **{k: str(v) for k, v in fields.items()}})
    pipe.lpush(keys.AGENT_ACTIONS_AUDIT, json.dumps(shown(action)))
    pipe.ltrim(keys.AGENT_ACTIONS_AUDIT, 0, AUDIT_KEPT - 1)
    pipe.execute()
    return shown(action)


def run(ctx: Context, action_id: str) -> dict:
    """Issue a pending action. Omneo or Zendesk failing raises (the job retries); Omneo refusing
    the reward (a 4xx) ends the action as failed, recorded."""
    action = load(ctx, action_id)
    if action is None:
        return {"outcome": "unknown action"}
    if action["status"] != "pending":
        return {"outcome": f"already {action['status']}"}
    profile_id = action["profile_id"]
    if ctx.state.is_erased(profile_id):
        return dict(_finish(ctx, action, "refused", failure="customer erased"), outcome="refused")
    if not action.get("reward_id"):
        try:
            reward = _issued_before(ctx, action) or ctx.omneo.create_reward(reward_body(action))
        except PermanentError as exc:
            return dict(_finish(ctx, action, "failed", failure=f"Omneo refused the reward ({exc.status})"),
                        outcome="failed")
        action["reward_id"] = str(reward["id"])
        _step(ctx, action_id, reward_id=action["reward_id"])
    if not action.get("interaction_id"):
        interaction = ctx.omneo.create_interaction(interaction_body(ctx, action))
        action["interaction_id"] = str(interaction.get("id"))
        _step(ctx, action_id, interaction_id=action["interaction_id"])
    if not action.get("note_added"):
        ctx.zendesk.add_internal_note(action["ticket_id"], note_body(action))
        _step(ctx, action_id, note_added="1")
    return dict(_finish(ctx, action, "done"), outcome="done")


def _issued_before(ctx: Context, action: dict) -> dict | None:
    """A reward an earlier run issued but could not note (it failed after Omneo's answer)."""
    for reward in ctx.omneo.list_profile_rewards(action["profile_id"]):
        if (reward.get("meta") or {}).get("omneo_zendesk_action") == action["id"]:
            return reward
    return None


def reward_body(action: dict) -> dict:
    expires = datetime.fromtimestamp(action["at"], timezone.utc) + timedelta(days=action["expiry_days"])
    return {"profile_id": action["profile_id"], "reward_definition_id": int(action["reward_definition_id"]),
            "value": action["value"], "expires_at": expires.strftime("%Y-%m-%d %H:%M:%S"),
            "meta": {"omneo_zendesk_action": action["id"], "zendesk_ticket_id": action["ticket_id"],
                     "reason": action["reason"]}}


def interaction_body(ctx: Context, action: dict) -> dict:
    s = ctx.settings
    return {"profile_id": action["profile_id"], "action": "goodwill-reward", "channel": "support",
            "signal": 0, "name": f"Goodwill reward on Zendesk ticket #{action['ticket_id']} "
                                 f"({action['reason'].replace('_', ' ')})",
            "namespace": s.omneo_namespace, "url": f"{s.zendesk_base_url}/agent/tickets/{action['ticket_id']}",
            "interacted_at": omneo_time(datetime.fromtimestamp(action["at"], timezone.utc).isoformat()),
            "meta": {"zendesk_ticket_id": action["ticket_id"], "reason": action["reason"],
                     "reward_id": action.get("reward_id"), "value": action["value"],
                     "zendesk_agent_id": action["agent_id"], "omneo_zendesk_action": action["id"]}}


def note_body(action: dict) -> str:
    lines = [f"Goodwill reward issued from the Omneo sidebar: {action['value']:g} "
             f"(reward definition {action['reward_definition_id']}, Omneo reward {action.get('reward_id')}), "
             f"expires in {action['expiry_days']} days.",
             f"Reason: {action['reason'].replace('_', ' ')}."]
    if action.get("note"):
        lines.append(f"Agent's note: {action['note']}")
    return "\n".join(lines)


def audit_rows(client, limit: int | None = None) -> list[dict]:
    """The audit list, newest first: ids, amounts, reasons, outcomes; no personal data."""
    end = -1 if limit is None else limit - 1
    return [json.loads(row) for row in client.lrange(keys.AGENT_ACTIONS_AUDIT, 0, end)]
