"""Ownership proof, shared by every form that shows order data (returns, status, cancel, reschedule).

The order number alone reveals nothing: the number is only checked for its shape, then the email
or postcode on the order is asked, and both go to `POST /api/v1/orders/lookup` together. A wrong
number and a wrong proof get the same answer. Three failures lock the conversation out of
lookups and offer a person.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import backend
from actions.common import MAX_PROOF_ATTEMPTS, conversation_id, interruption, reset, unavailable
from actions.parsing import parse_order_number, parse_proof

log = logging.getLogger(__name__)


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[-1] if value else None
    return None if value is None else str(value)


class OwnershipMixin:
    """`validate_verify_order_number` and `validate_verify_proof` for a FormValidationAction."""

    async def on_verified(
        self, order: dict[str, Any], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Extra slots once the order is proven (a form's own next steps). Override per form.

        Called after a lookup and whenever a form meets an order proven earlier in the
        conversation, so it must do its work once: return {} when it has already been done.
        """
        return {}

    def on_order_changed(self, tracker: Tracker) -> dict[str, Any]:
        """Slots to clear when the shopper switches to another order. Override per form."""
        return {}

    async def validate_verify_order_number(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("verify_locked"):
            return {"verify_order_number": None}
        number = parse_order_number(_text(slot_value))
        if number is None:
            if rejected := interruption(tracker, "verify_order_number"):
                return rejected
            if "verify_proof" in tracker.slots_to_validate():
                return {"verify_order_number": None}  # an email instead: kept; the number is asked again
            dispatcher.utter_message(response="utter_invalid_order_number")
            return {"verify_order_number": None}
        identity = tracker.get_slot("verify_identity") or {}
        if identity.get("order_number") == number:
            # Same order as the one already proven (earlier in this conversation): keep the proof.
            return await self._still_proven(identity, dispatcher, tracker, domain)
        slots: dict[str, Any] = {
            "verify_order_number": number,
            **reset(tracker, ("verify_order", "verify_identity")),
            **self.on_order_changed(tracker),
        }
        if "verify_proof" in tracker.slots_to_validate():
            return slots  # the proof came in the same message: its validator does the lookup
        pending = parse_proof(_text(tracker.get_slot("verify_proof")))
        if pending and not identity:
            # The proof came before the number (e.g. in the first message): check them now.
            tracker.slots.update(slots)
            return {**slots, **await self._lookup(number, pending, dispatcher, tracker, domain)}
        return {**slots, **reset(tracker, ("verify_proof", "verify_proof_kind"))}

    async def validate_verify_proof(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("verify_locked"):
            return {"verify_proof": None}
        identity = tracker.get_slot("verify_identity") or {}
        number = tracker.get_slot("verify_order_number")
        asked = tracker.get_slot("requested_slot") == "verify_proof"
        offered = parse_proof(_text(slot_value))
        if (
            identity
            and identity.get("order_number") == number
            and (not asked or offered == (identity.get("kind"), identity.get("value")))
        ):
            # Already proven for this order; an email or postcode mentioned later changes nothing.
            return await self._still_proven(identity, dispatcher, tracker, domain)
        if offered is None:
            if rejected := interruption(tracker, "verify_proof"):
                return rejected
            if asked:
                dispatcher.utter_message(response="utter_invalid_proof")
            return {"verify_proof": None, "verify_proof_kind": None}
        kind, value = offered
        if not number:
            return {"verify_proof": value, "verify_proof_kind": kind}  # checked once the number comes
        return await self._lookup(str(number), offered, dispatcher, tracker, domain)

    async def _still_proven(
        self, identity: dict[str, Any], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        slots = {
            "verify_order_number": identity.get("order_number"),
            "verify_proof": identity.get("value"),
            "verify_proof_kind": identity.get("kind"),
        }
        order = tracker.get_slot("verify_order")
        if not isinstance(order, dict):
            return slots
        tracker.slots.update(slots)
        return {**slots, **await self.on_verified(order, dispatcher, tracker, domain)}

    async def _lookup(
        self,
        number: str,
        offered: tuple[str, str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        kind, value = offered
        attempts = int(tracker.get_slot("verify_attempts") or 0)
        try:
            async with backend.client(conversation_id(tracker)) as api:
                order = await api.lookup_order(number, {kind: value})
        except backend.BackendUnavailable:
            unavailable(dispatcher)
            return {"verify_proof": None, "verify_proof_kind": None}
        except backend.RateLimited:
            dispatcher.utter_message(response="utter_verify_rate_limited")
            return {
                "verify_locked": True,
                "verify_proof": None,
                "verify_proof_kind": None,
                "verify_order_number": None,
            }
        except backend.NotFound:
            attempts += 1
            cleared = {
                "verify_attempts": float(attempts),
                "verify_order_number": None,
                "verify_proof": None,
                "verify_proof_kind": None,
            }
            if attempts >= MAX_PROOF_ATTEMPTS:
                dispatcher.utter_message(response="utter_verify_locked")
                return {**cleared, "verify_locked": True}
            left = MAX_PROOF_ATTEMPTS - attempts
            dispatcher.utter_message(
                response="utter_verify_failed",
                proof_kind=_proof_word(kind),
                attempts_left=left,
                tries_left=f"{left} more {'try' if left == 1 else 'tries'}",
            )
            return cleared
        except backend.BackendError as exc:
            log.info("order lookup refused: %s", exc)
            dispatcher.utter_message(response="utter_invalid_proof")
            return {"verify_proof": None, "verify_proof_kind": None}

        number = str(order.get("order_number") or number)
        slots: dict[str, Any] = {
            "verify_order_number": number,
            "verify_proof": value,
            "verify_proof_kind": kind,
            "verify_order": order,
            "verify_identity": {"order_number": number, "kind": kind, "value": value},
        }
        dispatcher.utter_message(response="utter_verified", order_number=number)
        tracker.slots.update(slots)
        return {**slots, **await self.on_verified(order, dispatcher, tracker, domain)}


def _proof_word(kind: str) -> str:
    return "email address" if kind == "email" else "postcode"
