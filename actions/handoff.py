"""Handing the conversation to a person: a ticket the merchant sees (POST /api/v1/handoffs)."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import backend
from actions.common import channel, conversation_id, latest_text, unavailable, verified_order


def handoff_note(tracker: Tracker) -> str:
    """What the person taking over needs: what the shopper said and where the chat stood."""
    parts = []
    said = latest_text(tracker)
    if said:
        parts.append(f'Shopper: "{said}"')
    order = verified_order(tracker)
    if order:
        kind = tracker.get_slot("verify_proof_kind")
        parts.append(f"Order {order.get('order_number')} (ownership proven by {kind}).")
    elif tracker.get_slot("verify_locked"):
        parts.append("Ownership proof failed three times; order details were not shown.")
    if tracker.active_loop_name:
        parts.append(f"Was in {tracker.active_loop_name}, at {tracker.get_slot('requested_slot')}.")
    decision = tracker.get_slot("return_decision") or {}
    if decision.get("outcome"):
        parts.append(f"Policy outcome so far: {decision['outcome']}: {decision.get('shopper_summary', '')}")
    return " ".join(parts) or "The shopper asked for a person."


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        order = verified_order(tracker)
        try:
            async with backend.client(conversation_id(tracker)) as api:
                ticket = await api.create_handoff(
                    conversation_id=conversation_id(tracker),
                    channel=channel(tracker),
                    order_number=order.get("order_number") if order else None,
                    message=handoff_note(tracker),
                )
        except (backend.BackendUnavailable, backend.BackendError):
            unavailable(dispatcher)
            return []
        dispatcher.utter_message(response="utter_handoff_created", ticket_id=ticket.get("ticket_id", ""))
        return []
