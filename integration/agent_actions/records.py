"""What an action leaves on the record besides our audit list: an interaction on the customer's
Omneo timeline naming the ticket and the reason (CX Manager shows it), and the internal note on
the Zendesk ticket (the next agent sees it; the agent's free text goes there only)."""
from __future__ import annotations

from datetime import datetime, timezone

from integration.wiring import Context
from integration.interactions import omneo_time
from integration.agent_actions.forms import CLAIM

# the interaction's `action` and the words naming the action, by kind
ACTIONS = {"goodwill_reward": ("goodwill-reward", "Goodwill reward"), CLAIM: ("benefit-claim", "Benefit claimed")}


def _reason(action: dict) -> str:
    return action["reason"].replace("_", " ")


def interaction_body(ctx: Context, action: dict) -> dict:
    s = ctx.settings
    verb, title = ACTIONS[action["kind"]]
    meta = {"zendesk_ticket_id": action["ticket_id"], "reason": action["reason"],
            "zendesk_agent_id": action["agent_id"], "omneo_zendesk_action": action["id"]}
    if action["kind"] == CLAIM:
        meta.update(benefit_definition_id=action["benefit_definition_id"], benefit_id=action.get("benefit_id"))
    else:
        meta.update(reward_id=action.get("reward_id"), value=action["value"])
    return {"profile_id": action["profile_id"], "action": verb, "channel": "support", "signal": 0,
            "name": f"{title} on Zendesk ticket #{action['ticket_id']} ({_reason(action)})",
            "namespace": s.omneo_namespace, "url": f"{s.zendesk_base_url}/agent/tickets/{action['ticket_id']}",
            "interacted_at": omneo_time(datetime.fromtimestamp(action["at"], timezone.utc).isoformat()),
            "meta": meta}


def note_body(action: dict) -> str:
    if action["kind"] == CLAIM:
        first = (f"Benefit claimed for the customer from the Omneo sidebar: {action.get('benefit_name')} "
                 f"(benefit definition {action['benefit_definition_id']}, Omneo benefit {action.get('benefit_id')}).")
    else:
        first = (f"Goodwill reward issued from the Omneo sidebar: {action['value']:g} "
                 f"(reward definition {action['reward_definition_id']}, Omneo reward {action.get('reward_id')}), "
                 f"expires in {action['expiry_days']} days.")
    lines = [first, f"Reason: {_reason(action)}."]
    if action.get("note"):
        lines.append(f"Agent's note: {action['note']}")
    return "\n".join(lines)
