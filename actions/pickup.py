"""Pickup: slot choice and address confirmation inside the return, and moving a booked pickup.

Slots come from `GET /api/v1/pickups/slots?postcode=` (next business days, morning/afternoon);
the move goes through `POST /api/v1/returns/{rma}/reschedule` with the ownership proof.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import backend
from actions.common import (
    RESCHEDULE_SLOTS,
    AsksNextSlot,
    RejectOnInterruption,
    as_text,
    button_payload,
    conversation_id,
    day_label,
    interruption,
    proof,
    reset,
    unavailable,
    verified_order,
)
from actions.parsing import parse_pickup_choice, slot_key
from actions.pick_return import AskReturnChoiceMixin, PickReturnMixin, chosen_return
from actions.verify import OwnershipMixin

log = logging.getLogger(__name__)

MAX_SLOT_BUTTONS = 6


def slot_buttons(slots: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [
        {
            "title": str(s.get("label") or f"{day_label(s['date'])}, {s['window']}"),
            "payload": button_payload("choice", slot_key(s)),
        }
        for s in slots
    ]


def order_postcode(order: dict[str, Any] | None) -> str | None:
    address = (order or {}).get("shipping_address") or {}
    return address.get("postcode")


def address_line(address: dict[str, Any] | None) -> str:
    address = address or {}
    parts = [
        address.get("name"),
        address.get("line1"),
        " ".join(p for p in (address.get("city"), address.get("postcode")) if p),
    ]
    return ", ".join(str(p) for p in parts if p)


async def offer_slots(
    tracker: Tracker, postcode: str | None, exclude: str | None = None
) -> list[dict[str, Any]]:
    """Available slots for the postcode, at most MAX_SLOT_BUTTONS. Raises BackendUnavailable."""
    if not postcode:
        return []
    try:
        async with backend.client(conversation_id(tracker)) as api:
            slots = await api.pickup_slots(postcode)
    except backend.BackendError as exc:
        log.warning("no pickup slots for %s: %s", postcode, exc)
        return []
    return [s for s in slots if s.get("available", True) and slot_key(s) != exclude][:MAX_SLOT_BUTTONS]


class PickupMixin:
    """`validate_pickup_slot` and `validate_pickup_address_confirmed` for the return form."""

    async def validate_pickup_slot(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        offered = tracker.get_slot("pickup_slots_offered") or []
        if not offered:
            try:
                offered = await offer_slots(tracker, order_postcode(verified_order(tracker)))
            except backend.BackendUnavailable:
                unavailable(dispatcher)
                return {"pickup_slot": None}
        choice = parse_pickup_choice(as_text(slot_value), offered)
        if choice is None:
            if rejected := interruption(tracker, "pickup_slot"):
                return rejected
            dispatcher.utter_message(response="utter_pickup_slot_not_understood")
            return {"pickup_slot": None, "pickup_slots_offered": offered}
        return {"pickup_slot": slot_key(choice), "pickup_choice": choice, "pickup_slots_offered": offered}

    async def validate_pickup_address_confirmed(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if slot_value is True:
            return {"pickup_address_confirmed": True}
        if slot_value is not False:
            return {"pickup_address_confirmed": None}
        # Pickups go to the delivery address; another address is arranged by a person.
        order = verified_order(tracker) or {}
        try:
            async with backend.client(conversation_id(tracker)) as api:
                ticket = await api.create_handoff(
                    conversation_id=conversation_id(tracker),
                    channel=str(tracker.get_latest_input_channel() or "web"),
                    order_number=order.get("order_number"),
                    message=(
                        "The shopper wants the pickup from another address than the delivery "
                        f"address ({address_line(order.get('shipping_address'))}). "
                        "Return draft: " + _draft_note(tracker)
                    ),
                )
        except (backend.BackendUnavailable, backend.BackendError):
            unavailable(dispatcher)
            return {"pickup_address_confirmed": None}
        dispatcher.utter_message(
            response="utter_address_change_handoff", ticket_id=ticket.get("ticket_id", "")
        )
        return {"pickup_address_confirmed": False, "return_blocked": True}


def _draft_note(tracker: Tracker) -> str:
    items = tracker.get_slot("return_items") or []
    return (
        f"items {', '.join(map(str, items))}; reason {tracker.get_slot('return_reason')}; "
        f"resolution {tracker.get_slot('return_resolution')}; slot {tracker.get_slot('pickup_slot')}"
    )


class ActionAskPickupSlot(Action):
    def name(self) -> str:
        return "action_ask_pickup_slot"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            slots = await offer_slots(tracker, order_postcode(verified_order(tracker)))
        except backend.BackendUnavailable:
            unavailable(dispatcher)
            return []
        if not slots:
            dispatcher.utter_message(response="utter_no_pickup_slots")
            return [SlotSet("pickup_slots_offered", [])]
        carrier = str(slots[0].get("carrier") or "our courier")
        dispatcher.utter_message(
            response="utter_ask_pickup_slot", carrier=carrier, buttons=slot_buttons(slots)
        )
        return [SlotSet("pickup_slots_offered", slots)]


class ActionAskPickupAddressConfirmed(Action):
    def name(self) -> str:
        return "action_ask_pickup_address_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        order = verified_order(tracker) or {}
        dispatcher.utter_message(
            response="utter_ask_pickup_address_confirmed",
            address=address_line(order.get("shipping_address")) or "your delivery address",
        )
        return []


# --- moving a booked pickup ------------------------------------------------------------------


def _movable(returns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        r
        for r in returns
        if (r.get("pickup") or {}).get("status") in ("scheduled", "on_hold")
        and r.get("status") in ("pickup_scheduled", "under_review", "approved")
    ]


class ValidateRescheduleForm(
    AsksNextSlot, RejectOnInterruption, PickReturnMixin, OwnershipMixin, FormValidationAction
):
    prefix = "reschedule"
    nothing_response = "utter_nothing_to_reschedule"

    def name(self) -> str:
        return "validate_reschedule_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        if tracker.get_slot("verify_locked") or tracker.get_slot("reschedule_blocked"):
            return []
        return ["verify_order_number", "verify_proof", "reschedule_rma", "reschedule_slot"]

    def on_order_changed(self, tracker: Tracker) -> dict[str, Any]:
        return reset(tracker, RESCHEDULE_SLOTS)

    def eligible(self, returns: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return _movable(returns)

    async def validate_reschedule_rma(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self.pick_return(slot_value, dispatcher, tracker)

    async def validate_reschedule_slot(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        offered = tracker.get_slot("reschedule_slots_offered") or []
        choice = parse_pickup_choice(as_text(slot_value), offered)
        if choice is None:
            if rejected := interruption(tracker, "reschedule_slot"):
                return rejected
            dispatcher.utter_message(response="utter_pickup_slot_not_understood")
            return {"reschedule_slot": None}
        return {"reschedule_slot": slot_key(choice)}


def _candidate(tracker: Tracker) -> dict[str, Any] | None:
    return chosen_return(tracker, "reschedule")


class ActionAskRescheduleRma(AskReturnChoiceMixin, Action):
    prefix = "reschedule"


class ActionAskRescheduleSlot(Action):
    def name(self) -> str:
        return "action_ask_reschedule_slot"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        ret = _candidate(tracker) or {}
        pickup = ret.get("pickup") or {}
        postcode = (pickup.get("address") or {}).get("postcode") or order_postcode(verified_order(tracker))
        current = f"{pickup.get('date')}|{pickup.get('window')}" if pickup else None
        try:
            slots = await offer_slots(tracker, postcode, exclude=current)
        except backend.BackendUnavailable:
            unavailable(dispatcher)
            return []
        if not slots:
            dispatcher.utter_message(response="utter_no_pickup_slots")
            return [SlotSet("reschedule_slots_offered", [])]
        dispatcher.utter_message(
            response="utter_ask_reschedule_slot",
            rma=ret.get("rma", ""),
            current=f"{day_label(pickup.get('date'))}, {pickup.get('window', '')}",
            buttons=slot_buttons(slots),
        )
        return [SlotSet("reschedule_slots_offered", slots)]


class ActionReschedulePickup(Action):
    """After the reschedule form: move the pickup, or explain why not."""

    def name(self) -> str:
        return "action_reschedule_pickup"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        done = [SlotSet(name, None) for name in RESCHEDULE_SLOTS]
        rma, key = tracker.get_slot("reschedule_rma"), tracker.get_slot("reschedule_slot")
        if tracker.get_slot("verify_locked"):
            dispatcher.utter_message(response="utter_offer_handoff")
            return done
        if not (rma and key) or "|" not in str(key):
            if not tracker.get_slot("reschedule_blocked"):
                dispatcher.utter_message(response="utter_offer_handoff")
            return done
        day, window = str(key).split("|", 1)
        try:
            async with backend.client(conversation_id(tracker)) as api:
                ret = await api.reschedule_pickup(rma, proof(tracker), day, window)
        except backend.BackendUnavailable:
            unavailable(dispatcher)
            return done
        except backend.BackendError as exc:
            dispatcher.utter_message(response="utter_reschedule_refused", detail=exc.detail)
            return done
        pickup = ret.get("pickup") or {}
        dispatcher.utter_message(
            response="utter_pickup_rescheduled",
            rma=ret.get("rma", rma),
            day=day_label(pickup.get("date")),
            window=pickup.get("window", window),
            hours=pickup.get("hours", ""),
            carrier=pickup.get("carrier", "the courier"),
            reference=pickup.get("reference", ""),
        )
        return done
