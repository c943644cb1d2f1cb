"""Cancelling a return (until the courier has picked it up), behind the ownership proof."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import backend
from actions.common import (
    CANCEL_SLOTS,
    AsksNextSlot,
    RejectOnInterruption,
    conversation_id,
    proof,
    reset,
    unavailable,
)
from actions.pick_return import AskReturnChoiceMixin, PickReturnMixin, chosen_return, return_label
from actions.verify import OwnershipMixin

CANCELLABLE = ("requested", "under_review", "approved", "pickup_scheduled")


class ValidateCancelForm(
    AsksNextSlot, RejectOnInterruption, PickReturnMixin, OwnershipMixin, FormValidationAction
):
    prefix = "cancel"
    nothing_response = "utter_nothing_to_cancel"

    def name(self) -> str:
        return "validate_cancel_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        if tracker.get_slot("verify_locked") or tracker.get_slot("cancel_blocked"):
            return []
        return ["verify_order_number", "verify_proof", "cancel_rma", "cancel_confirmed"]

    def on_order_changed(self, tracker: Tracker) -> dict[str, Any]:
        return reset(tracker, CANCEL_SLOTS)

    def eligible(self, returns: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in returns if r.get("status") in CANCELLABLE]

    async def validate_cancel_rma(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self.pick_return(slot_value, dispatcher, tracker)

    async def validate_cancel_confirmed(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"cancel_confirmed": slot_value if isinstance(slot_value, bool) else None}


class ActionAskCancelRma(AskReturnChoiceMixin, Action):
    prefix = "cancel"


class ActionAskCancelConfirmed(Action):
    def name(self) -> str:
        return "action_ask_cancel_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        rma = tracker.get_slot("cancel_rma")
        ret = chosen_return(tracker, "cancel") or {}
        dispatcher.utter_message(response="utter_ask_cancel_confirmed", summary=return_label(ret) or rma)
        return []


class ActionCancelReturn(Action):
    """After the cancel form: cancel through the API, or leave it as it is."""

    def name(self) -> str:
        return "action_cancel_return"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        done = [SlotSet(name, None) for name in CANCEL_SLOTS]
        rma = tracker.get_slot("cancel_rma")
        if tracker.get_slot("verify_locked"):
            dispatcher.utter_message(response="utter_offer_handoff")
            return done
        if tracker.get_slot("cancel_blocked") or not rma:
            return done
        if tracker.get_slot("cancel_confirmed") is not True:
            dispatcher.utter_message(response="utter_cancel_kept", rma=rma)
            return done
        try:
            async with backend.client(conversation_id(tracker)) as api:
                await api.cancel_return(rma, proof(tracker))
        except backend.BackendUnavailable:
            unavailable(dispatcher)
            return done
        except backend.BackendError as exc:
            dispatcher.utter_message(response="utter_cancel_refused", detail=exc.detail)
            return done
        dispatcher.utter_message(response="utter_return_cancelled", rma=rma)
        return done
