"""Order, return and refund status, behind the same ownership proof as a return."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import backend
from actions.common import (
    STATUS_WORDS,
    AsksNextSlot,
    RejectOnInterruption,
    conversation_id,
    day_label,
    latest_intent,
    money,
    names,
    proof,
    unavailable,
    verified_order,
)
from actions.verify import OwnershipMixin

TOPICS = {"order_status": "order", "return_status": "return", "refund_status": "refund"}


class ValidateStatusForm(AsksNextSlot, RejectOnInterruption, OwnershipMixin, FormValidationAction):
    def name(self) -> str:
        return "validate_status_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        if tracker.get_slot("verify_locked"):
            return []
        return ["verify_order_number", "verify_proof"]


def _order_sentence(order: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    status = order.get("status")
    facts: dict[str, Any] = {
        "order_number": order.get("order_number"),
        "items": names(order.get("items") or []),
    }
    if status == "delivered":
        return "utter_order_status_delivered", {**facts, "day": day_label(order.get("delivered_at"))}
    if status == "shipped":
        return "utter_order_status_shipped", {**facts, "day": day_label(order.get("shipped_at"))}
    if status == "cancelled":
        return "utter_order_status_cancelled", facts
    return "utter_order_status_placed", {**facts, "day": day_label(order.get("ordered_at"))}


def return_line(ret: dict[str, Any], *, refund: bool = False) -> str:
    """One line per return: RMA, items, where it stands (and the money when asked about refunds)."""
    items = ", ".join(str(i.get("name")) for i in ret.get("items") or [])
    status = str(ret.get("status") or "")
    line = f"{ret.get('rma')} ({items}): {STATUS_WORDS.get(status, status.replace('_', ' '))}"
    pickup = ret.get("pickup") or {}
    if (
        pickup
        and status in ("pickup_scheduled", "under_review", "approved")
        and pickup.get("status") != "cancelled"
    ):
        held = " (on hold until approved)" if pickup.get("status") == "on_hold" else ""
        line += (
            f"; pickup {day_label(pickup.get('date'))}, {pickup.get('window')} ({pickup.get('hours', '')}) "
            f"with {pickup.get('carrier')}, reference {pickup.get('reference')}{held}"
        )
    if status == "under_review" and ret.get("review_hours"):
        line += f"; you'll hear from us within {ret['review_hours']} hours"
    if refund:
        amount = money(ret.get("refund_amount"), ret.get("currency"))
        resolution = ret.get("resolution")
        if status == "refunded":
            line += f". Refund of {amount} issued to your original payment method"
        elif status == "credited":
            line += f". {amount} added as store credit"
        elif status in ("cancelled", "rejected"):
            line += ". No refund is due for this one"
        elif resolution == "exchange":
            line += ". It's an exchange, so no refund: your replacement ships once we receive the item"
        elif ret.get("keep_item"):
            line += f". Refund of {amount} is on its way, no need to send anything back"
        else:
            line += f". Refund of {amount} is issued as soon as the item reaches us"
    return line


class ActionAnswerStatus(Action):
    """Answers "where is my order / return / refund" for the proven order."""

    def name(self) -> str:
        return "action_answer_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        topic = TOPICS.get(str(latest_intent(tracker))) or tracker.get_slot("status_topic") or "order"
        order = verified_order(tracker)
        if order is None:
            if tracker.get_slot("verify_locked"):
                dispatcher.utter_message(response="utter_offer_handoff")
            else:
                dispatcher.utter_message(response="utter_status_after_verification")
            return []
        if topic == "order":
            response, facts = _order_sentence(order)
            dispatcher.utter_message(response=response, **facts)
            return []
        try:
            async with backend.client(conversation_id(tracker)) as api:
                returns = await api.lookup_returns(order["order_number"], proof(tracker))
        except backend.RateLimited:
            dispatcher.utter_message(response="utter_verify_rate_limited")
            return []
        except (backend.BackendUnavailable, backend.BackendError):
            unavailable(dispatcher)
            return []
        if not returns:
            dispatcher.utter_message(response="utter_no_returns_yet", order_number=order["order_number"])
            return []
        lines = "\n".join(f"• {return_line(r, refund=topic == 'refund')}" for r in returns)
        dispatcher.utter_message(
            response=f"utter_{topic}_status", order_number=order["order_number"], lines=lines
        )
        return []
