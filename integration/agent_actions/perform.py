"""The job that carries out an accepted action (queue `actions`): the Omneo write (a reward or a
benefit claim), the interaction, the internal note, then the audit row. Each step is remembered
on the action, so a retried job (Omneo or Zendesk down: the page says "pending") redoes none.
Omneo refusing the write (a 4xx) ends the action `failed`; a customer erased meanwhile, `refused`.
"""
from __future__ import annotations

from integration.wiring import Context
from integration.errors import PermanentError
from integration.agent_actions import benefits, ledger, records, rewards
from integration.agent_actions.forms import CLAIM


def run(ctx: Context, action_id: str) -> dict:
    action = ledger.load(ctx, action_id)
    if action is None:
        return {"outcome": "unknown action"}
    if action["status"] != "pending":
        return {"outcome": f"already {action['status']}"}
    if ctx.state.is_erased(action["profile_id"]):
        return dict(ledger.finish(ctx, action, "refused", failure="customer erased"), outcome="refused")
    made = "benefit_id" if action["kind"] == CLAIM else "reward_id"
    if not action.get(made):
        try:
            action[made] = benefits.claim(ctx, action) if action["kind"] == CLAIM else rewards.issue(ctx, action)
        except PermanentError as exc:
            what = "the benefit claim" if action["kind"] == CLAIM else "the reward"
            return dict(ledger.finish(ctx, action, "failed", failure=f"Omneo refused {what} ({exc.status})"),
                        outcome="failed")
        ledger.step(ctx, action_id, **{made: action[made]})
    if not action.get("interaction_id"):
        interaction = ctx.omneo.create_interaction(records.interaction_body(ctx, action))
        action["interaction_id"] = str(interaction.get("id"))
        ledger.step(ctx, action_id, interaction_id=action["interaction_id"])
    if not action.get("note_added"):
        ctx.zendesk.add_internal_note(action["ticket_id"], records.note_body(action))
        ledger.step(ctx, action_id, note_added="1")
    return dict(ledger.finish(ctx, action, "done"), outcome="done")
