"""Agent actions in Redis: accepted once per idempotency key, counted against the agent's day,
their steps remembered, and the audit list (ids and amounts, no personal data).

`accept` runs one Redis script: it finds the action the agent's idempotency key already made, or
counts the action against the agent's day (rewards by value against SIDEBAR_AGENT_DAILY_CAP,
claims one each against SIDEBAR_AGENT_DAILY_CLAIMS) and stores a new pending action. An action
given up on (`refused`, `failed`) gives back what it counted.
"""
from __future__ import annotations

import json
import time
import uuid

from integration.store import keys
from integration.wiring import Context
from integration.store.decoding import text
from integration.apis.zaf_auth import Agent
from integration.agent_actions.forms import CLAIM, Refusal

ACTION_TTL = 90 * 86400
AUDIT_KEPT = 100_000
STEPS = ("reward_id", "benefit_id", "interaction_id", "note_added", "failure")
SHOWN = ("id", "kind", "status", "at", "agent_id", "ticket_id", "profile_id", "reward_definition_id",
         "benefit_definition_id", "value", "reason", "reward_id", "benefit_id", "failure")

# KEYS: idempotency key, daily total, action. ARGV: action id, amount, cap, record, ttl, fingerprint.
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


def _day(at: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(at))


def _counter(kind: str, agent_id: str, at: float) -> str:
    day = _day(at)
    return keys.agent_daily_claims(agent_id, day) if kind == CLAIM else keys.agent_daily_total(agent_id, day)


def existing(ctx: Context, agent: Agent, req) -> str | None:
    """The action this idempotency key already made (a double click), if any; Refusal when the key
    made a different one."""
    known = ctx.redis.get(keys.agent_action_key(agent.user_id, agent.installation_id, req.idempotency_key))
    if not known:
        return None
    action_id = text(known)
    if text(ctx.redis.hget(keys.agent_action(action_id), "fingerprint") or b"") != req.fingerprint():
        raise Refusal(409, "key_reused", "this idempotency key was used for a different request")
    return action_id


def accept(ctx: Context, agent: Agent, ticket_id: str, requester_id: str, profile_id: str,
           req, extra: dict | None = None, now: float | None = None) -> tuple[str, bool]:
    """The action's id and whether it is new (False: the same key made it before). Refusal when the
    customer was erased, the agent's daily cap would be passed, or the key made a different request."""
    now = time.time() if now is None else now
    if ctx.state.is_erased(profile_id):
        raise Refusal(409, "erased", "this customer's data was erased")
    action_id = uuid.uuid4().hex
    record = {"id": action_id, "kind": req.kind, "at": int(now), "agent_id": agent.user_id,
              "installation_id": agent.installation_id, "ticket_id": str(ticket_id),
              "requester_id": str(requester_id), "profile_id": str(profile_id), **req.fields(),
              **(extra or {}), "reason": req.reason, "note": req.note}
    claims = req.kind == CLAIM
    cap = ctx.settings.sidebar_agent_daily_claims if claims else ctx.settings.sidebar_agent_daily_cap
    script = ctx.redis.register_script(_ACCEPT)
    answer = script(keys=[keys.agent_action_key(agent.user_id, agent.installation_id, req.idempotency_key),
                          _counter(req.kind, agent.user_id, now), keys.agent_action(action_id)],
                    args=[action_id, req.value, cap, json.dumps(record), ACTION_TTL, req.fingerprint()])
    outcome = text(answer[0])
    if outcome == "existing":
        if text(answer[2]) != req.fingerprint():
            raise Refusal(409, "key_reused", "this idempotency key was used for a different request")
        return text(answer[1]), False
    if outcome == "over_cap":
        left = max(0.0, cap - float(text(answer[1])))
        if claims:
            raise Refusal(422, "over_daily_cap", f"over your daily limit: {left:g} benefit claims left today")
        raise Refusal(422, "over_daily_cap", f"over your daily limit: {left:g} left today")
    return action_id, True


def load(ctx: Context, action_id: str) -> dict | None:
    raw = ctx.redis.hgetall(keys.agent_action(action_id))
    if not raw:
        return None
    fields = {text(k): text(v) for k, v in raw.items()}
    action = json.loads(fields["record"])
    action.setdefault("kind", "goodwill_reward")
    action["status"] = fields.get("status", "pending")
    for name in STEPS:
        if fields.get(name):
            action[name] = fields[name]
    return action


def shown(action: dict) -> dict:
    """What the page (and the audit list) may see of an action: ids, amounts, state."""
    return {k: action.get(k) for k in SHOWN if action.get(k) is not None}


def step(ctx: Context, action_id: str, **fields) -> None:
    ctx.redis.hset(keys.agent_action(action_id), mapping={k: str(v) for k, v in fields.items()})


def finish(ctx: Context, action: dict, status: str, **fields) -> dict:
    """The last step: the state, the audit row, and the agent's free text dropped."""
    action.update(status=status, **fields)
    record = {k: v for k, v in action.items() if k not in ("status",) + STEPS}
    record["note"] = ""
    pipe = ctx.redis.pipeline()
    if status != "done":  # nothing was issued: the agent's day is given back what it counted
        amount = 1 if action["kind"] == CLAIM else action["value"]
        pipe.incrbyfloat(_counter(action["kind"], action["agent_id"], action["at"]), -amount)
    pipe.hset(keys.agent_action(action["id"]), mapping={"status": status, "record": json.dumps(record),
                                                        **{k: str(v) for k, v in fields.items()}})
    pipe.lpush(keys.AGENT_ACTIONS_AUDIT, json.dumps(shown(action)))
    pipe.ltrim(keys.AGENT_ACTIONS_AUDIT, 0, AUDIT_KEPT - 1)
    pipe.execute()
    return shown(action)


def audit_rows(client, limit: int | None = None) -> list[dict]:
    """The audit list, newest first: ids, amounts, reasons, outcomes; no personal data."""
    end = -1 if limit is None else limit - 1
    return [json.loads(row) for row in client.lrange(keys.AGENT_ACTIONS_AUDIT, 0, end)]
