"""Forms that act on one of an order's existing returns (cancel, reschedule the pickup).

After the ownership proof the form fetches the order's returns, keeps those the form can act on,
and picks the return by itself when only one qualifies; otherwise the shopper chooses one (a
button with the RMA, a typed RMA or a position). Each form names its slots with a prefix:
`{prefix}_candidates`, `{prefix}_blocked`, `{prefix}_rma`, and its responses
`utter_ask_{prefix}_rma` and `nothing_response`.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import backend
from actions.common import (
    as_text,
    button_payload,
    conversation_id,
    day_label,
    interruption,
    proof,
    unavailable,
)
from actions.parsing import parse_rma


def return_label(ret: dict[str, Any]) -> str:
    """'RMA-… · Ceramic vase · pickup Tue 2 Dec morning': how a return is named in buttons."""
    items = ", ".join(str(i.get("name")) for i in ret.get("items") or [])
    pickup = ret.get("pickup") or {}
    when = f"pickup {day_label(pickup.get('date'))} {pickup.get('window', '')}".strip() if pickup else ""
    return " · ".join(p for p in (str(ret.get("rma")), items, when) if p)


def choose_return(value: Any, candidates: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The return the shopper picked among candidates: an RMA (button or typed) or a position."""
    text = as_text(value) or ""
    rma = parse_rma(text)
    if rma:
        return next((r for r in candidates if str(r.get("rma", "")).upper() == rma), None)
    from actions.parsing import parse_item_choice

    options = [{"id": i, "name": return_label(r)} for i, r in enumerate(candidates)]
    picked = parse_item_choice(text, options)
    return candidates[int(picked[0])] if len(picked) == 1 else None


class PickReturnMixin:
    """`on_verified` (called by OwnershipMixin once the proof holds) and the choice validation."""

    prefix: str
    nothing_response: str

    def eligible(self, returns: list[dict[str, Any]]) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def on_verified(
        self, order: dict[str, Any], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        candidates_slot, blocked_slot = f"{self.prefix}_candidates", f"{self.prefix}_blocked"
        if tracker.get_slot(candidates_slot) is not None:
            return {}
        try:
            async with backend.client(conversation_id(tracker)) as api:
                returns = await api.lookup_returns(order["order_number"], proof(tracker))
        except backend.RateLimited:
            dispatcher.utter_message(response="utter_verify_rate_limited")
            return {blocked_slot: True}
        except (backend.BackendUnavailable, backend.BackendError):
            unavailable(dispatcher)
            return {blocked_slot: True}
        candidates = self.eligible(returns)
        if not candidates:
            dispatcher.utter_message(response=self.nothing_response, order_number=order["order_number"])
            return {blocked_slot: True, candidates_slot: []}
        slots: dict[str, Any] = {candidates_slot: candidates}
        if len(candidates) == 1:
            slots[f"{self.prefix}_rma"] = candidates[0]["rma"]
        return slots

    def pick_return(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        rma_slot = f"{self.prefix}_rma"
        picked = choose_return(slot_value, tracker.get_slot(f"{self.prefix}_candidates") or [])
        if picked is None:
            if rejected := interruption(tracker, rma_slot):
                return rejected
            dispatcher.utter_message(response="utter_return_choice_not_understood")
            return {rma_slot: None}
        return {rma_slot: picked["rma"]}


def chosen_return(tracker: Tracker, prefix: str) -> dict[str, Any] | None:
    rma = tracker.get_slot(f"{prefix}_rma")
    return next((r for r in tracker.get_slot(f"{prefix}_candidates") or [] if r.get("rma") == rma), None)


class AskReturnChoiceMixin:
    """`action_ask_{prefix}_rma`: one button per candidate return. A mixin, not an Action: the
    action server registers every Action subclass it can see, so only the concrete ones may be."""

    prefix: str

    def name(self) -> str:
        return f"action_ask_{self.prefix}_rma"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        buttons = [
            {"title": return_label(r), "payload": button_payload("choice", r["rma"])}
            for r in tracker.get_slot(f"{self.prefix}_candidates") or []
        ]
        dispatcher.utter_message(response=f"utter_ask_{self.prefix}_rma", buttons=buttons)
        return []
