"""Small helpers every feature module shares: reading the tracker, wording money and dates."""

from __future__ import annotations

import json
import logging
from datetime import date
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, Tracker, utils
from rasa_sdk.events import ActionExecutionRejected, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

# Identity (ownership proof), shared by every flow that shows order data.
VERIFY_SLOTS = (
    "verify_order_number",
    "verify_proof",
    "verify_proof_kind",
    "verify_order",
    "verify_identity",
)
MAX_PROOF_ATTEMPTS = 3

RETURN_SLOTS = (
    "return_items",
    "return_item_hint",
    "return_reason",
    "return_reason_text",
    "return_photos",
    "return_photos_accepted",
    "return_photos_needed",
    "return_photo_items",
    "return_photo_inbox",
    "return_decision",
    "return_resolution",
    "return_preferred_resolution",
    "return_exchange_variant",
    "return_exchange_choices",
    "return_confirmed",
    "return_result",
    "return_blocked",
    "return_reason_catalogue",
)
PICKUP_SLOTS = ("pickup_slot", "pickup_choice", "pickup_slots_offered", "pickup_address_confirmed")
CANCEL_SLOTS = ("cancel_rma", "cancel_candidates", "cancel_confirmed", "cancel_blocked")
RESCHEDULE_SLOTS = (
    "reschedule_rma",
    "reschedule_candidates",
    "reschedule_slot",
    "reschedule_slots_offered",
    "reschedule_blocked",
)

RESOLUTION_LABELS = {"refund": "a refund", "exchange": "an exchange", "store_credit": "store credit"}
STATUS_WORDS = {
    "requested": "received and waiting for a decision",
    "under_review": "being reviewed by our team",
    "approved": "approved",
    "rejected": "not accepted",
    "pickup_scheduled": "approved, with a pickup booked",
    "picked_up": "picked up by the courier and on its way to us",
    "received": "received at our warehouse",
    "refunded": "refunded",
    "exchanged": "exchanged: your replacement is on its way",
    "credited": "settled with store credit",
    "cancelled": "cancelled",
}


# Messages that are not an answer to the form's question when the answer does not parse:
# the form is rejected and a rule answers them (policy question, a person, stop, ...), then the
# form asks again. Text that does parse is taken as the answer whatever the intent.
INTERRUPTING_INTENTS = frozenset(
    {
        "greet",
        "goodbye",
        "thank",
        "bot_challenge",
        "start_return",
        "exchange_request",
        "order_status",
        "return_status",
        "refund_status",
        "return_policy",
        "cancel_return",
        "reschedule_pickup",
        "human_handoff",
        "out_of_scope",
        "deny",
        "photo_uploaded",
    }
)
_INTERRUPTED = "__interrupted__"


def interruption(tracker: Tracker, slot: str) -> dict[str, Any] | None:
    """For a validator whose value did not parse: reject the form if the shopper asked something else."""
    if tracker.get_slot("requested_slot") == slot and latest_intent(tracker) in INTERRUPTING_INTENTS:
        return {slot: None, _INTERRUPTED: True}
    return None


class RejectOnInterruption:
    """Mix into a FormValidationAction (before it): turns `interruption(...)` into a form rejection."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events: list[EventType] = await super().run(dispatcher, tracker, domain)  # type: ignore[misc]
        marker = [e for e in events if e.get("event") == "slot" and e.get("name") == _INTERRUPTED]
        if not marker:
            return events
        kept = [e for e in events if e not in marker]
        return [*kept, ActionExecutionRejected(self.form_name())]  # type: ignore[attr-defined]


# The slot a form validation action sets when it has already asked the form's next question
# (bot/domain/forms.yml); Rasa then skips its own call for that question (bot/channels/speedups.py).
ASKED_SLOT = "form_asked_slot"

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _ask_actions() -> dict[str, type[Action]]:
    """This action server's `action_ask_*` classes by name (the ones rasa-sdk registers)."""
    found: dict[str, type[Action]] = {}
    for cls in utils.all_subclasses(Action):
        if not cls.__module__.startswith("actions.") or getattr(cls, "__abstractmethods__", None):
            continue
        try:
            name = cls().name()
        except Exception:  # a helper base class without a name
            continue
        if name.startswith("action_ask_"):
            found[name] = cls
    return found


def ask_action(domain: DomainDict, form: str, slot: str) -> Action | None:
    """The custom action Rasa would run to ask for `slot`, when it is one of ours.

    Rasa's FormAction looks for, in this order, `action_ask_<form>_<slot>`,
    `utter_ask_<form>_<slot>`, `action_ask_<slot>`, `utter_ask_<slot>` among the domain's actions
    and responses and runs the first one it finds. None when that is a response (Rasa renders it
    itself, no call to this server) or nothing.
    """
    known = set(domain.get("actions") or []) | set(domain.get("responses") or {})
    for name in (
        f"action_ask_{form}_{slot}",
        f"utter_ask_{form}_{slot}",
        f"action_ask_{slot}",
        f"utter_ask_{slot}",
    ):
        if name in known:
            cls = _ask_actions().get(name)
            return cls() if cls is not None else None
    return None


def _slot_asked_next(events: list[EventType], tracker: Tracker, form: str) -> str | None:
    """The slot Rasa's form will ask for after these validation events, when that is certain.

    Only for a form that was already active before this message: on activation Rasa calls the
    validation action twice. Not when the validation rejected the message or ended the form.
    Rasa asks for the first `requested_slot` the validation set; the form ends if the last one
    is empty, so both must name the same slot.
    """
    if (tracker.active_loop or {}).get("name") != form:
        return None
    requested = []
    for event in events:
        kind = event.get("event")
        if kind == "action_execution_rejected" or (kind == "active_loop" and not event.get("name")):
            return None
        if kind == "slot" and event.get("name") == "requested_slot":
            requested.append(event.get("value"))
    if not requested or not requested[0] or requested[0] != requested[-1]:
        return None
    return str(requested[0])


class AsksNextSlot:
    """Mix into a FormValidationAction (first): ask the form's next question in the same call.

    After validating, Rasa's form calls this server again to run `action_ask_<slot>`: a second
    round trip (the whole conversation serialised, sent, parsed) on every form turn. When the next
    slot is certain (see `_slot_asked_next`), this runs that ask action right away, on the
    validated slots, and adds `SlotSet(form_asked_slot, <slot>)`: Rasa's form then does not call
    it again (bot/channels/speedups.py). The shopper sees the same messages in the same order.
    If the ask action fails, its messages are dropped and Rasa asks as before.
    """

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events: list[EventType] = await super().run(dispatcher, tracker, domain)  # type: ignore[misc]
        form = self.form_name()  # type: ignore[attr-defined]
        slot = _slot_asked_next(events, tracker, form)
        action = ask_action(domain, form, slot) if slot else None
        if action is None:
            return events
        tracker.slots["requested_slot"] = slot
        said = len(dispatcher.messages)
        try:
            asked = await utils.call_potential_coroutine(action.run(dispatcher, tracker, domain))
        except Exception:
            log.exception("asking for %s within the validation failed; Rasa will ask", slot)
            del dispatcher.messages[said:]
            return events
        return [*events, *(asked or []), SlotSet(ASKED_SLOT, slot)]


def conversation_id(tracker: Tracker) -> str:
    return str(tracker.sender_id or "unknown")


def channel(tracker: Tracker) -> str:
    return str(tracker.get_latest_input_channel() or "web")[:32]


def latest_intent(tracker: Tracker) -> str | None:
    intent = (tracker.latest_message or {}).get("intent") or {}
    return intent.get("name")


def latest_text(tracker: Tracker) -> str:
    """The shopper's own words in the latest message ('' for a button payload)."""
    text = str((tracker.latest_message or {}).get("text") or "")
    return "" if text.startswith("/") else text


def verified_order(tracker: Tracker) -> dict[str, Any] | None:
    """The order the shopper proved is theirs, for the order number now in play (else None)."""
    identity = tracker.get_slot("verify_identity")
    order = tracker.get_slot("verify_order")
    number = tracker.get_slot("verify_order_number")
    if not (isinstance(identity, dict) and isinstance(order, dict)):
        return None
    if number is not None and str(number) != identity.get("order_number"):
        return None
    return order


def proof(tracker: Tracker) -> dict[str, str]:
    """{"email": ...} or {"postcode": ...}: the proof that verified the current order."""
    identity = tracker.get_slot("verify_identity") or {}
    kind, value = identity.get("kind"), identity.get("value")
    return {kind: value} if kind in ("email", "postcode") and value else {}


def unavailable(dispatcher: CollectingDispatcher) -> None:
    dispatcher.utter_message(response="utter_backend_unavailable")


def button_payload(entity: str, value: str, intent: str = "inform") -> str:
    """`/inform{"choice": "refund"}`: a button that fills a slot through a declared entity."""
    return f"/{intent}{json.dumps({entity: value})}"


def money(amount: Any, currency: str | None = "USD") -> str:
    try:
        value = f"{float(amount):,.2f}"
    except (TypeError, ValueError):
        return str(amount)
    symbol = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$"}.get(currency or "", "")
    return f"{symbol}{value}" if symbol else f"{value} {currency or ''}".strip()


def day_label(iso: str | None) -> str:
    """2026-11-27 -> Thursday 27 November."""
    if not iso:
        return ""
    try:
        day = date.fromisoformat(str(iso)[:10])
    except ValueError:
        return str(iso)
    return f"{day.strftime('%A')} {day.day} {day.strftime('%B')}"


def names(items: list[dict[str, Any]]) -> str:
    """["shoes", "t-shirt", "vase"] -> "shoes, t-shirt and vase"."""
    labels = [str(i.get("name", "item")) for i in items]
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " and " + labels[-1]


def bullet_list(lines: list[str]) -> str:
    return "\n".join(f"• {line}" for line in lines if line)


def reset(tracker: Tracker, names_: tuple[str, ...], keep: tuple[str, ...] = ()) -> dict[str, Any]:
    """None for each of names_ that is set now (so the events only show what changes)."""
    return {name: None for name in names_ if name not in keep and tracker.get_slot(name) is not None}


def as_text(value: Any) -> str | None:
    """A slot value as text: the last of a list (an entity found twice), None stays None."""
    if isinstance(value, list):
        value = value[-1] if value else None
    return None if value is None else str(value)
