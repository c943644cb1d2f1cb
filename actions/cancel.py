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
    RejectOnInterruption,
    button_payload,
    conversation_id,
    interruption,
    proof,
    reset,
    unavailable,
)
from actions.pickup import _return_label, choose_return
from actions.verify import OwnershipMixin

CANCELLABLE = ("requested", "under_review", "approved", "pickup_scheduled")


class ValidateCancelForm(RejectOnInterruption, OwnershipMixin, FormValidationAction):
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

    async def on_verified(
        self, order: dict[str, Any], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("cancel_candidates") is not None:
            return {}
        try:
            async with backend.client(conversation_id(tracker)) as api:
                returns = await api.lookup_returns(order["order_number"], proof(tracker))
        except backend.RateLimited:
            dispatcher.utter_message(response="utter_verify_rate_limited")
            return {"cancel_blocked": True}
        except (backend.BackendUnavailable, backend.BackendError):
            unavailable(dispatcher)
            return {"cancel_blocked": True}
        candidates = [r for r in returns if r.get("status") in CANCELLABLE]
        if not candidates:
            dispatcher.utter_message(response="utter_nothing_to_cancel", order_number=order["order_number"])
            return {"cancel_blocked": True, "cancel_candidates": []}
        slots: dict[str, Any] = {"cancel_candidates": candidates}
        if len(candidates) == 1:
            slots["cancel_rma"] = candidates[0]["rma"]
        return slots

    async def validate_cancel_rma(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        picked = choose_return(slot_value, tracker.get_slot("cancel_candidates") or [])
        if picked is None:
            if rejected := interruption(tracker, "cancel_rma"):
                return rejected
            dispatcher.utter_message(response="utter_return_choice_not_understood")
            return {"cancel_rma": None}
        return {"cancel_rma": picked["rma"]}

    async def validate_cancel_confirmed(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"cancel_confirmed": slot_value if isinstance(slot_value, bool) else None}


class ActionAskCancelRma(Action):
    def name(self) -> str:
        return "action_ask_cancel_rma"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        buttons = [
            {"title": _return_label(r), "payload": button_payload("choice", r["rma"])}
            for r in tracker.get_slot("cancel_candidates") or []
        ]
        dispatcher.utter_message(response="utter_ask_cancel_rma", buttons=buttons)
        return []


class ActionAskCancelConfirmed(Action):
    def name(self) -> str:
        return "action_ask_cancel_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        rma = tracker.get_slot("cancel_rma")
        candidates: list[dict[str, Any]] = tracker.get_slot("cancel_candidates") or []
        ret = next((r for r in candidates if r.get("rma") == rma), {})
        dispatcher.utter_message(response="utter_ask_cancel_confirmed", summary=_return_label(ret) or rma)
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
